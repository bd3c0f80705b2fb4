// The last line: a usermode helper that the kernel starts as host root (here the cgroup-v1
// release_agent) to run a file that lives in a container's root is stopped before that file's
// code runs: an ELF at its exec, a script when the host shell opens it.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, rmdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isRoot, skipUnlessRoot } from '../helpers/root.js';
import { startAces, type AcesRun } from '../helpers/aces-daemon.js';
import { makeTestCgroup, runInPidns, startInPidns, type TestCgroup } from '../helpers/fake-container.js';
import { snapshotHostState, restoreHostState, type HostStateSnapshot } from '../helpers/host-state.js';
import { detectCgroupLayout } from '../../src/containers/cgroup-layout.js';

const ROOT = `/tmp/aces-umh-root-${process.pid}`;

function buildRoot(): void {
  mkdirSync(join(ROOT, 'bin'), { recursive: true });
  copyFileSync('/bin/busybox', join(ROOT, 'bin', 'busybox'));
  chmodSync(join(ROOT, 'bin', 'busybox'), 0o755);
  for (const a of ['sh', 'sleep']) symlinkSync('busybox', join(ROOT, 'bin', a));
  const src = join(ROOT, 'marker.c');
  writeFileSync(src, '#include <fcntl.h>\n#include <stdlib.h>\nint main(int c, char **v){ (void)c; (void)v; int fd = open(getenv("X") ? getenv("X") : "/tmp/aces-umh-marker-elf", O_CREAT|O_WRONLY, 0644); return fd < 0; }\n');
  const cc = spawnSync('cc', ['-O2', '-static', '-o', join(ROOT, 'cmd-elf'), src], { encoding: 'utf8' });
  assert.equal(cc.status, 0, cc.stderr);
  writeFileSync(join(ROOT, 'cmd'), '#!/bin/sh\necho pwned > /tmp/aces-umh-marker-sh\n');
  chmodSync(join(ROOT, 'cmd'), 0o755);
}

/** A container whose root is ROOT: a chroot'd shell in its own pid namespace, sleeping. */
function startContainer(c: TestCgroup): void {
  startInPidns('sleep 60', { cgroup: c, chroot: ROOT });
}

/** Make the key hierarchy run `agent` as its release_agent, by emptying a notify_on_release cgroup. */
async function fireReleaseAgent(agent: string): Promise<void> {
  const layout = detectCgroupLayout();
  writeFileSync(join(layout.keyDir, 'release_agent'), agent);
  const rel = join(layout.keyDir, `aces-rel-${process.pid}`);
  mkdirSync(rel, { recursive: true });
  try {
    writeFileSync(join(rel, 'notify_on_release'), '1');
    spawnSync('/bin/sh', ['-c', `echo $$ > ${rel}/cgroup.procs; exit 0`]);
    await new Promise((r) => setTimeout(r, 1500));
  } finally {
    writeFileSync(join(layout.keyDir, 'release_agent'), '\n');
    try { rmdirSync(rel); } catch { /* the release agent may remove it */ }
  }
}

for (const mode of ['monitor', 'enforce'] as const) {
  describe(`usermode helper running a container file (${mode})`, { concurrency: false }, () => {
    let aces: AcesRun | undefined;
    let snap: HostStateSnapshot;
    const cgroups: TestCgroup[] = [];
    before(async () => {
      if (!isRoot()) return;
      snap = snapshotHostState();
      rmSync(ROOT, { recursive: true, force: true });
      buildRoot();
      aces = await startAces({ mode });
    });
    after(async () => {
      if (!aces) return;
      assert.equal(await aces.stop(), 0);
      cgroups.forEach((c) => c.cleanup());
      restoreHostState(snap);
      rmSync(ROOT, { recursive: true, force: true });
      rmSync('/tmp/aces-umh-marker-sh', { force: true });
      rmSync('/tmp/aces-umh-marker-elf', { force: true });
    });

    for (const kind of ['sh', 'elf'] as const) {
      test(`release_agent -> ${kind === 'sh' ? 'script' : 'ELF binary'} in the container root`, async (t) => {
        if (!skipUnlessRoot(t)) return;
        const marker = `/tmp/aces-umh-marker-${kind}`;
        rmSync(marker, { force: true });
        const c = makeTestCgroup();
        cgroups.push(c);
        startContainer(c);
        await new Promise((r) => setTimeout(r, 500));
        const key = statSync(c.dir, { bigint: true }).ino.toString();
        await fireReleaseAgent(join(ROOT, kind === 'sh' ? 'cmd' : 'cmd-elf'));
        const ev = await aces!.waitForEvent((e) => e.rule === 'umh-container-exec' && e.container?.key === key);
        assert.equal(ev.process.host_task, true);
        assert.equal(ev.level, 3);
        if (mode === 'monitor') {
          assert.equal(existsSync(marker), true, 'in monitor mode the helper runs');
          assert.equal(ev.action, 'alert');
          assert.equal(ev.policy_action, 'quarantine');
        } else {
          assert.equal(existsSync(marker), false, 'the helper ran the container file as host root');
          assert.equal(ev.action, 'quarantine');
          assert.ok(ev.kernel_ns.exit, 'the helper was killed');
          // The container it came from is quarantined: its sleeping task goes too.
          const deadline = Date.now() + 5000;
          while (Date.now() < deadline && readFileSync(join(c.dir, 'cgroup.procs'), 'utf8').trim()) {
            await new Promise((r) => setTimeout(r, 100));
          }
          assert.equal(readFileSync(join(c.dir, 'cgroup.procs'), 'utf8').trim(), '');
        }
      });
    }
  });
}

// A core dump handler is a usermode helper too, and it reads the crashed container binary
// (through /proc/<pid>/exe): that is not an escape and must not be stopped.
describe('core dump handler reading the crashed container binary (enforce)', { concurrency: false }, () => {
  let aces: AcesRun | undefined;
  let snap: HostStateSnapshot;
  const handler = `/tmp/aces-coredump-handler-${process.pid}.sh`;
  const marker = `/tmp/aces-coredump-marker-${process.pid}`;
  let cgroup: TestCgroup | undefined;
  before(async () => {
    if (!isRoot()) return;
    snap = snapshotHostState();
    rmSync(ROOT, { recursive: true, force: true });
    buildRoot();
    writeFileSync(handler, `#!/bin/sh\nexec 3< /proc/$1/exe && read -r x <&3; echo handled > ${marker}\n`);
    chmodSync(handler, 0o755);
    aces = await startAces({ mode: 'enforce' });
  });
  after(async () => {
    if (!aces) return;
    assert.equal(await aces.stop(), 0);
    cgroup?.cleanup();
    restoreHostState(snap);
    rmSync(ROOT, { recursive: true, force: true });
    rmSync(handler, { force: true });
    rmSync(marker, { force: true });
  });

  test('the handler runs to completion', async (t) => {
    if (!skipUnlessRoot(t)) return;
    cgroup = makeTestCgroup();
    writeFileSync('/proc/sys/kernel/core_pattern', `|${handler} %P`);
    const r = runInPidns("sh -c 'kill -SEGV $$'; echo status=$?", { cgroup, chroot: ROOT });
    assert.match(r.stdout, /status=139/);
    const deadline = Date.now() + 5000;
    while (!existsSync(marker) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 100));
    assert.equal(existsSync(marker), true, 'the core dump handler was stopped');
    const key = statSync(cgroup.dir, { bigint: true }).ino.toString();
    assert.deepEqual(aces!.events().filter((e) => e.container?.key === key && e.level >= 2), []);
  });
});
