// The issue-3 rules that have an LSM hook (bpf/lsm.bpf.c), each performed from a fake container
// and asserted on whatever tier this kernel gives the rule: on BPF LSM kernels (the vm tier) the
// system call fails with EPERM, the process lives on and the event says deny at tier lsm; where
// LSM programs do not run (this machine's 6.18, Debian 6.12 booted without bpf) the tracepoint
// kills the process before it returns to user space.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRoot, skipUnlessRoot } from '../helpers/root.js';
import { readyTier, startAces, type AcesRun, type EventLine } from '../helpers/aces-daemon.js';
import { runInPidns, testCgroupKey, testCgroupSet, type PidnsResult, type TestCgroup } from '../helpers/fake-container.js';
import { buildTool } from '../helpers/tools.js';
import { detectCgroupLayout } from '../../src/containers/cgroup-layout.js';
import { RUNTIME_SOCKET_PATHS } from '../../src/kernel/host-objects.js';

const keyOf = testCgroupKey;

/** A registered runtime socket path that nothing listens on here (the test listens on it). */
function freeRuntimeSocketPath(): string | undefined {
  return RUNTIME_SOCKET_PATHS.find((p) => p.startsWith('/run/') && p.split('/').length === 3 && !existsSync(p));
}

describe('issue-3 rules on their LSM hooks, or on the signal tier without LSM (enforce)', { concurrency: false }, () => {
  let aces: AcesRun | undefined;
  let work = '';
  let socketServer: ChildProcess | undefined;
  let socketPath: string | undefined;
  const cgroups = testCgroupSet();
  const cg = cgroups.make;

  before(async () => {
    if (!isRoot()) return;
    work = mkdtempSync(join(tmpdir(), 'aces-lsm-hooks-'));
    // A stand-in for a runtime's API socket at one of the paths the daemon registers at start.
    socketPath = freeRuntimeSocketPath();
    if (socketPath) {
      socketServer = spawn(process.execPath, ['-e',
        `require('net').createServer((s) => { s.on('error', () => {}); s.end('HTTP/1.0 200 OK\\r\\n\\r\\nApiVersion'); }).listen(${JSON.stringify(socketPath)}, () => console.log('listening'))`],
      { stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise<void>((res) => socketServer!.stdout!.once('data', () => res()));
    }
    aces = await startAces({ mode: 'enforce' });
  });
  after(async () => {
    if (socketServer?.pid && socketServer.exitCode === null) process.kill(socketServer.pid, 'SIGKILL');
    if (socketPath) rmSync(socketPath, { force: true });
    if (aces) assert.equal(await aces.stop(), 0);
    cgroups.cleanup();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  /**
   * What the rule's tier does to the script's operation, which prints status=$? after it:
   * lsm: refused with EPERM (the message matches `refused`), the process lives on to return
   * non-zero, the event says deny at tier lsm; signal: the process is killed (status=137).
   */
  async function assertRefusedOrKilled(rule: string, c: TestCgroup, r: PidnsResult,
    refused: RegExp = /Operation not permitted/): Promise<EventLine> {
    const out = `${r.stdout}\n${r.stderr}`;
    const ev = await aces!.waitForEvent((e) => e.rule === rule && e.container?.key === keyOf(c))
      .catch((err: Error) => assert.fail(`${err.message.split('\n')[0]}; the script said:\n${out}`));
    const status = /status=(\d+)/.exec(r.stdout)?.[1];
    if (readyTier(aces!, rule) === 'lsm') {
      assert.match(r.stderr, refused, out);
      assert.ok(status !== undefined && status !== '0' && status !== '137', `the call fails and the process lives on: ${out}`);
      assert.equal(ev.action, 'deny');
      assert.equal(ev.tier, 'lsm');
    } else {
      assert.equal(status, '137', out);
      assert.equal(ev.action, 'kill');
      assert.equal(ev.tier, 'signal');
    }
    return ev;
  }

  test('signal to a task of another container: refused before it is queued (lsm), or the sender killed', async (t) => {
    if (!skipUnlessRoot(t)) return;
    const c = cg();
    const other = cg();
    const mark = join(work, 'got-usr1');
    // The target records the signals it gets; it lives in another container's cgroup.
    const r = runInPidns(`sh -c 'trap "echo got >> ${mark}" USR1; while :; do sleep 0.1; done' & tg=$!; ` +
      `echo $tg > ${other.dir}/cgroup.procs; sleep 0.3; /bin/kill -USR1 $tg; echo status=$?; sleep 0.6`, { cgroup: c });
    const ev = await assertRefusedOrKilled('signal-host', c, r);
    assert.equal((ev.object as { flags?: number }).flags, 10, 'SIGUSR1');
    if (readyTier(aces!, 'signal-host') === 'lsm') {
      assert.equal(existsSync(mark), false, 'the target got the signal');
    } else {
      // The signal tier's documented limit (docs/rules.md): the signal was already queued.
      assert.match(readFileSync(mark, 'utf8'), /got/);
    }
  });

  test('bpf(BPF_PROG_LOAD)', async (t) => {
    if (!skipUnlessRoot(t)) return;
    const c = cg();
    const r = runInPidns(`${buildTool('bpf-load')}; echo status=$?`, { cgroup: c });
    assert.doesNotMatch(r.stdout, /loaded/);
    await assertRefusedOrKilled('bpf-load', c, r);
  });

  test('perf_event_open for every task of a CPU (pid -1)', async (t) => {
    if (!skipUnlessRoot(t)) return;
    const c = cg();
    const r = runInPidns(`${buildTool('perf-open')}; echo status=$?`, { cgroup: c });
    assert.doesNotMatch(r.stdout, /opened/);
    await assertRefusedOrKilled('perf-system-wide', c, r);
  });

  test('perf_event_open on its own task is not touched', async (t) => {
    if (!skipUnlessRoot(t)) return;
    const c = cg();
    const r = runInPidns(`${buildTool('perf-open', { PERF_PID: '0' })}; echo status=$?`, { cgroup: c });
    assert.match(r.stdout, /opened \d+\nstatus=0/, r.stderr);
    assert.deepEqual(aces!.events().filter((e) => e.container?.key === keyOf(c)), []);
  });

  test('syslog(2) read of the kernel log', async (t) => {
    if (!skipUnlessRoot(t)) return;
    const c = cg();
    const r = runInPidns(`${buildTool('klog')}; echo status=$?`, { cgroup: c });
    assert.doesNotMatch(r.stdout, /read \d+/);
    await assertRefusedOrKilled('syslog-read', c, r);
  });

  test("chroot into the host's root", async (t) => {
    if (!skipUnlessRoot(t)) return;
    const c = cg();
    // The fake container shares the host's root: "/" is the host root it must not make its own.
    const r = runInPidns('/usr/sbin/chroot / /bin/echo inside; echo status=$?', { cgroup: c });
    assert.doesNotMatch(r.stdout, /inside/);
    await assertRefusedOrKilled('host-root-chroot', c, r);
  });

  test("pivot_root into a bind mount of the host's root", async (t) => {
    if (!skipUnlessRoot(t)) return;
    const c = cg();
    // The bind mount is made by the test, outside the container: only the pivot_root is judged.
    const hostRoot = join(work, 'hostroot');
    mkdirSync(hostRoot);
    const bind = spawnSync('mount', ['--bind', '/', hostRoot], { encoding: 'utf8' });
    assert.equal(bind.status, 0, bind.stderr);
    try {
      // Its own mount namespace, so the pivot changes the root of this test's tasks only.
      const r = runInPidns(`cd ${hostRoot} && /usr/sbin/pivot_root . tmp; echo status=$?`, { cgroup: c, mountNs: true });
      if (readyTier(aces!, 'host-root-chroot') === 'lsm') {
        await assertRefusedOrKilled('host-root-chroot', c, r);
      } else {
        // sys_exit_pivot_root: the caller dies as the call returns. The container's shell, whose
        // root the kernel moved too, may be quarantined (host-ns-held) before it can print.
        const ev = await aces!.waitForEvent((e) => e.rule === 'host-root-chroot' && e.container?.key === keyOf(c));
        assert.equal(ev.action, 'kill');
        assert.equal(ev.tier, 'signal');
        assert.doesNotMatch(r.stdout, /status=0/, `${r.stdout}\n${r.stderr}`);
      }
    } finally {
      const un = spawnSync('umount', [hostRoot], { encoding: 'utf8' });
      assert.equal(un.status, 0, un.stderr);
    }
  });

  test("the host's keyring, reached by uid 0 in the initial user namespace", async (t) => {
    if (!skipUnlessRoot(t)) return;
    const c = cg();
    const desc = `aces-kernel-${process.pid}`;
    const add = spawnSync(buildTool('keyring'), ['add', desc, 'host-key-secret'], { encoding: 'utf8' });
    assert.equal(add.status, 0, add.stderr);
    try {
      const r = runInPidns(`${buildTool('keyring')} steal ${desc}; echo status=$?`, { cgroup: c });
      assert.doesNotMatch(r.stdout, /host-key-secret/);
      // A refusal inside the kernel's own keyring lookups (the session and user keyrings it
      // finds or makes for the call) reaches the caller as ENOKEY, not EPERM.
      await assertRefusedOrKilled('keyctl-host', c, r, /Operation not permitted|Required key not available/);
    } finally {
      spawnSync(buildTool('keyring'), ['unlink', desc]);
    }
  });

  test('connect to a runtime socket', async (t) => {
    if (!skipUnlessRoot(t)) return;
    if (!socketPath) {
      // Every /run path ACES registers is taken by a real runtime here: its own test covers it.
      t.skip('no free runtime socket path under /run');
      return;
    }
    const c = cg();
    const r = runInPidns(`${buildTool('unix-get')} ${socketPath}; echo status=$?`, { cgroup: c });
    assert.doesNotMatch(r.stdout, /connected|ApiVersion/);
    await assertRefusedOrKilled('runtime-socket', c, r);
  });

  test('mounting debugfs (a kernel interface filesystem)', async (t) => {
    if (!skipUnlessRoot(t)) return;
    const c = cg();
    const dir = mkdtempSync(join(work, 'debugfs-'));
    const r = runInPidns(`mount -t debugfs none ${dir}; echo status=$?`, { cgroup: c, mountNs: true });
    // util-linux reports EPERM from mount(2) as "permission denied".
    const ev = await assertRefusedOrKilled('kernel-fs-mount', c, r, /permission denied|not permitted/i);
    assert.equal(ev.object.name, 'debugfs');
  });

  test('overlayfs in a user namespace made in the container', async (t) => {
    if (!skipUnlessRoot(t)) return;
    const c = cg();
    const d = mkdtempSync(join(work, 'ovl-'));
    // tmpfs in the new user namespace is allowed (sandboxes); the overlay on it is the rule.
    // Two lower layers and no upper one: no xattrs needed, so the mount itself works on every
    // kernel here (tmpfs has user xattrs only from 6.6).
    const inner = `mount -t tmpfs none ${d} && mkdir ${d}/a ${d}/b ${d}/m && ` +
      `mount -t overlay ovl -o lowerdir=${d}/a:${d}/b ${d}/m; echo status=$?`;
    const r = runInPidns(`unshare -U -r -m sh -c '${inner}'`, { cgroup: c });
    const ev = await assertRefusedOrKilled('userns-mount', c, r, /permission denied|not permitted/i);
    assert.equal(ev.object.name, 'overlay');
  });

  test("moving into a cgroup hierarchy's root", async (t) => {
    if (!skipUnlessRoot(t)) return;
    const c = cg();
    const procs = join(detectCgroupLayout().keyDir, 'cgroup.procs');
    const r = runInPidns(`sh -c 'echo $$ > ${procs} && echo moved'; echo status=$?`, { cgroup: c });
    assert.doesNotMatch(r.stdout, /moved/);
    await assertRefusedOrKilled('cgroup-root-move', c, r);
  });

  // Last: the default action is quarantine, which stops the daemon's other work on the
  // container (and attaches the quarantine hook) for the rest of the run.
  test('a program started with its cwd on a host mount (CVE-2024-21626 shape): never runs', async (t) => {
    if (!skipUnlessRoot(t)) return;
    const c = cg();
    const sock = join(work, 'fdpass.sock');
    // A host process hands the container an fd of a host directory, as runc leaked one.
    const server = spawn(buildTool('fd-pass'), ['send', sock, work], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((res) => server.stdout!.once('data', () => res()));
      // Its own mount namespace: the host's mounts are foreign to it, as to a real container.
      const r = runInPidns(`${buildTool('fd-pass')} recv ${sock} /bin/echo ran; echo status=$?`, { cgroup: c, mountNs: true });
      const ev = await aces!.waitForEvent((e) => e.rule === 'exec-cwd-outside' && e.container?.key === keyOf(c));
      assert.doesNotMatch(r.stdout, /ran/, 'the program ran with the host directory as its cwd');
      assert.equal(ev.action, 'quarantine');
      // lsm: the exec is refused at bprm_check_security (and the task killed, level 3); signal:
      // killed at sched_process_exec before its first instruction.
      assert.equal(ev.tier, readyTier(aces!, 'exec-cwd-outside'));
      assert.equal(ev.object.name, 'echo');
    } finally {
      if (server.pid && server.exitCode === null) server.kill('SIGKILL');
    }
  });
});
