// Host-global sysctls written from a container, by every route that reaches /proc/sys:
// a bind-mounted host /proc, a fresh procfs mount, /proc/sys remounted read-write, and io_uring
// (which no syscall tracepoint sees). The payload is the core_pattern escape: point the core
// pipe at a file in the container's upper layer, crash, and the kernel runs it as host root.
// Plus binfmt_misc registration through the host /proc.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { isRoot, skipUnlessRoot } from '../../helpers/root.js';
import { runContainer } from '../../helpers/docker.js';
import { buildTool } from '../../helpers/tools.js';
import { containerName, withAces, type Mode } from '../../helpers/escape-suite.js';

const MARKER = '/tmp/aces-e2e-core-marker';
const CORE_PATTERN = '/proc/sys/kernel/core_pattern';

function payload(write: string): string {
  return `
cp /tools/${basename(buildTool('host-marker', { MARKER_PATH: MARKER }))} /cmd && chmod 755 /cmd
host_path=$(sed -n 's/.*upperdir=\\([^,]*\\).*/\\1/p' /proc/mounts | head -1)
${write.replace(/PATTERN/g, '"|$host_path/cmd"')} && echo written
sh -c 'kill -SEGV $$'
sleep 1
echo done
`;
}

const ROUTES = [
  { tag: 'host-proc', args: ['-v', '/proc:/host/proc'], write: 'echo PATTERN > /host/proc/sys/kernel/core_pattern' },
  {
    tag: 'fresh-procfs',
    args: ['--cap-add', 'SYS_ADMIN', '--security-opt', 'apparmor=unconfined'],
    write: 'mkdir -p /p && mount -t proc proc /p && echo PATTERN > /p/sys/kernel/core_pattern',
  },
  {
    tag: 'remount-rw',
    args: ['--cap-add', 'SYS_ADMIN', '--security-opt', 'apparmor=unconfined'],
    write: 'mount -o remount,rw /proc/sys && echo PATTERN > /proc/sys/kernel/core_pattern',
  },
  { tag: 'io-uring', args: ['-v', '/proc:/host/proc'], write: '/tools/uring-write /host/proc/sys/kernel/core_pattern PATTERN' },
];

function toolArgs(): string[] {
  const marker = buildTool('host-marker', { MARKER_PATH: MARKER });
  buildTool('uring-write');
  return ['-v', `${dirname(marker)}:/tools:ro`];
}

for (const mode of ['monitor', 'enforce'] as Mode[]) {
  describe(`core_pattern escape through host sysctls (${mode})`, { concurrency: false }, () => {
    const aces = withAces(mode);
    for (const route of ROUTES) {
      test(route.tag, async (t) => {
        if (!skipUnlessRoot(t)) return;
        const original = readFileSync(CORE_PATTERN, 'utf8');
        rmSync(MARKER, { force: true });
        const name = containerName(`core-${route.tag}`);
        try {
          const r = await runContainer({ name, args: [...route.args, ...toolArgs()], cmd: ['sh', '-c', payload(route.write)] });
          const ev = await aces().waitForEvent((e) => e.rule === 'sysctl-host-write' && e.container?.name === name);
          assert.equal(ev.object.name, 'kernel/core_pattern');
          assert.equal(ev.tier, 'cgroup');
          if (mode === 'monitor') {
            assert.match(r.stdout, /written/, r.stderr);
            await waitFor(() => existsSync(MARKER), 5000);
            assert.match(readFileSync(MARKER, 'utf8'), /uid=0/, 'the core pipe ran as host root');
            assert.equal(ev.action, 'alert');
            assert.equal(ev.policy_action, 'deny');
          } else {
            assert.doesNotMatch(r.stdout, /written/);
            assert.match(r.stdout, /done/, 'a denied write leaves the process running');
            assert.equal(readFileSync(CORE_PATTERN, 'utf8'), original, 'core_pattern changed');
            assert.equal(existsSync(MARKER), false);
            assert.equal(ev.action, 'deny');
          }
        } finally {
          writeFileSync(CORE_PATTERN, original);
          rmSync(MARKER, { force: true });
        }
      });
    }
  });
}

// binfmt_misc registration through the host's /proc (binfmt_misc mounted at its usual place).
const BINFMT = '/proc/sys/fs/binfmt_misc';
for (const mode of ['monitor', 'enforce'] as Mode[]) {
  describe(`binfmt_misc registration from a container (${mode})`, { concurrency: false }, () => {
    const aces = withAces(mode);
    let mountedHere = false;
    before(() => {
      if (!isRoot()) return;
      if (!existsSync(`${BINFMT}/register`)) {
        mountedHere = spawnSync('mount', ['-t', 'binfmt_misc', 'binfmt_misc', BINFMT]).status === 0;
      }
    });
    after(() => {
      if (existsSync(`${BINFMT}/aces-e2e`)) writeFileSync(`${BINFMT}/aces-e2e`, '-1');
      if (mountedHere) spawnSync('umount', [BINFMT]);
    });
    // Through write(2), and through io_uring (IORING_OP_OPENAT + IORING_OP_WRITE), which no open
    // or write system call tracepoint sees: its completion is judged instead.
    const routes = [
      { how: 'write(2)', via: 'syscall', write: (entry: string) => `echo "${entry}" > /host/proc/sys/fs/binfmt_misc/register` },
      { how: 'io_uring', via: 'io_uring', write: (entry: string) => `/tools/uring-write /host/proc/sys/fs/binfmt_misc/register "${entry}"` },
    ];
    for (const route of routes) test(`register a handler living in the container (${route.how})`, async (t) => {
      if (!skipUnlessRoot(t)) return;
      const name = containerName('binfmt');
      const script = `host_path=$(sed -n 's/.*upperdir=\\([^,]*\\).*/\\1/p' /proc/mounts | head -1)
${route.write(':aces-e2e:E::acese2e::$host_path/bin/busybox:')} && echo registered
echo done`;
      const r = await runContainer({ name, args: ['-v', '/proc:/host/proc', ...toolArgs()], cmd: ['sh', '-c', script] });
      const ev = await aces().waitForEvent((e) => e.rule === 'binfmt-misc-write' && e.container?.name === name);
      assert.equal(ev.object.fs, 'binfmt_misc');
      assert.equal(ev.via, route.via);
      if (mode === 'monitor') {
        assert.match(r.stdout, /registered/, r.stderr);
        assert.equal(existsSync(`${BINFMT}/aces-e2e`), true);
        assert.equal(ev.action, 'alert');
        writeFileSync(`${BINFMT}/aces-e2e`, '-1');
      } else {
        // echo is the shell's own builtin: the shell itself dies; uring-write is a child.
        assert.doesNotMatch(r.stdout, route.via === 'syscall' ? /registered|done/ : /registered/);
        assert.equal(existsSync(`${BINFMT}/aces-e2e`), false, 'handler registered on the host');
        assert.equal(ev.action, 'kill');
        assert.ok(readdirSync(BINFMT).every((f) => f !== 'aces-e2e'));
      }
    });
  });
}

async function waitFor(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
}
