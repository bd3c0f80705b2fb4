// Namespace escapes from containers that share the host pid namespace (--pid host): nsenter
// into a host task, walking /proc/<pid>/root, signalling host tasks, reading their environ,
// the host root's keyring, ptrace and /proc/<pid>/mem of a host task, and the routes to a host
// task's memory, fds and signals without ptrace(2) or kill(2): process_vm_writev/readv,
// pidfd_getfd, pidfd_send_signal.
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isRoot } from '../../helpers/root.js';
import { buildTool } from '../../helpers/tools.js';
import { defineEscapeCases, type CaseContext, type EscapeCase } from '../../helpers/escape-cases.js';

const PRIV = ['--pid', 'host', '--cap-add', 'SYS_ADMIN', '--cap-add', 'SYS_PTRACE', '--security-opt', 'apparmor=unconfined', '--security-opt', 'seccomp=unconfined'];
const MARK = (tag: string) => `/var/tmp/aces-e2e-${tag}-${process.pid}`;
const alive = (pid: number) => existsSync(`/proc/${pid}`);

let sleeper: ChildProcess | undefined;
before(() => {
  if (!isRoot()) return;
  // A host process the container can see through the shared pid namespace.
  sleeper = spawn('sleep', ['3600'], { stdio: 'ignore', env: { ...process.env, ACES_E2E_SECRET: 'host-env-secret' } });
});
after(() => {
  if (sleeper?.pid) process.kill(sleeper.pid, 'SIGKILL');
});

const cases: EscapeCase[] = [
  {
    tag: 'nsenter',
    rule: 'setns-host',
    args: () => PRIV,
    script: (c) => `nsenter -t ${c.hostPid} -m -u -i -n -p sh -c 'echo escaped > ${MARK('nsenter')}'; echo status=$?`,
    escaped: () => assert.equal(readFileSync(MARK('nsenter'), 'utf8').trim(), 'escaped'),
    contained: (r) => {
      assert.equal(existsSync(MARK('nsenter')), false, 'a command ran in the host namespaces');
      assert.match(r.stdout, /status=137/, 'nsenter was killed');
    },
    cleanup: () => rmSync(MARK('nsenter'), { force: true }),
  },
  {
    tag: 'proc-root-walk',
    rule: 'foreign-mount-open',
    args: () => ['--pid', 'host', '--cap-add', 'SYS_PTRACE'],
    // An existing host file (say /etc/crontab) appended to through the host task's root.
    setup: () => {
      writeFileSync(MARK('root'), 'original\n');
      return {};
    },
    script: (c) => `echo pwned >> /proc/${c.hostPid}/root${MARK('root')}; echo status=$?`,
    escaped: () => assert.equal(readFileSync(MARK('root'), 'utf8'), 'original\npwned\n'),
    contained: (r) => {
      assert.equal(readFileSync(MARK('root'), 'utf8'), 'original\n', 'a host file was written through /proc/<pid>/root');
      assert.equal(r.code, 137, 'the shell that opened the host file was killed');
    },
    cleanup: () => rmSync(MARK('root'), { force: true }),
  },
  {
    tag: 'io-uring-proc-root-walk',
    rule: 'foreign-mount-open',
    args: () => ['--pid', 'host', '--cap-add', 'SYS_PTRACE'],
    // The same host file written by IORING_OP_OPENAT + IORING_OP_WRITE: no open or write
    // system call for the tracepoints; the io_uring completion of the open is judged instead.
    setup: () => {
      writeFileSync(MARK('uring-root'), 'original\n');
      return {};
    },
    script: (c) => `/t/uring-write /proc/${c.hostPid}/root${MARK('uring-root')} pwned; echo status=$?`,
    escaped: () => assert.match(readFileSync(MARK('uring-root'), 'utf8'), /^pwned/),
    contained: (r, _c, ev) => {
      assert.equal(readFileSync(MARK('uring-root'), 'utf8'), 'original\n', 'a host file was written through io_uring');
      assert.match(r.stdout, /status=137/);
      assert.equal(ev.via, 'io_uring');
    },
    cleanup: () => rmSync(MARK('uring-root'), { force: true }),
  },
  {
    tag: 'io-uring-direct-proc-root-walk',
    rule: 'foreign-mount-open',
    args: () => ['--pid', 'host', '--cap-add', 'SYS_PTRACE'],
    // Opened into the ring's own file table (no fd) and written by a request linked to the open,
    // in a single io_uring_enter: the file is read back from the ring's table at the open's
    // completion, and the kill lands before the linked write runs.
    setup: () => {
      writeFileSync(MARK('uring-direct'), 'original\n');
      return {};
    },
    script: (c) => `/t/uring-write -d /proc/${c.hostPid}/root${MARK('uring-direct')} pwned; echo status=$?`,
    escaped: () => assert.match(readFileSync(MARK('uring-direct'), 'utf8'), /^pwned/),
    contained: (r, _c, ev) => {
      assert.equal(readFileSync(MARK('uring-direct'), 'utf8'), 'original\n', 'a host file was written through a direct descriptor');
      assert.match(r.stdout, /status=137/);
      assert.equal(ev.via, 'io_uring');
    },
    cleanup: () => rmSync(MARK('uring-direct'), { force: true }),
  },
  {
    tag: 'proc-cwd-walk',
    rule: 'foreign-mount-open',
    args: () => ['--pid', 'host', '--cap-add', 'SYS_PTRACE'],
    script: (c) => `ls /proc/${c.hostPid}/cwd/ > /dev/null && echo listed`,
    escaped: (r) => assert.match(r.stdout, /listed/),
    contained: (r) => assert.doesNotMatch(r.stdout, /listed/),
  },
  {
    tag: 'kill-host-task',
    rule: 'signal-host',
    args: () => ['--pid', 'host'],
    setup: () => {
      // A host task that records the signals it gets.
      const p = spawn('sh', ['-c', `trap 'echo got >> ${MARK('sig')}' USR1; while :; do sleep 0.1; done`], { stdio: 'ignore', detached: true });
      p.unref();
      spawnSync('sleep', ['0.3']);
      return { pid: String(p.pid) };
    },
    script: (c) => `kill -USR1 ${c.data.pid}; echo sent`,
    escaped: async () => {
      await waitFor(() => existsSync(MARK('sig')));
      assert.match(readFileSync(MARK('sig'), 'utf8'), /got/);
    },
    // Without LSM (task_kill) a signal cannot be refused: it is already queued when the
    // tracepoint sees it. The sender dies and is recorded (docs/rules.md).
    contained: (r) => assert.equal(r.code, 137, 'the sender was killed'),
    cleanup: (c) => {
      if (c.data.pid) try { process.kill(-Number(c.data.pid), 'SIGKILL'); } catch { try { process.kill(Number(c.data.pid), 'SIGKILL'); } catch { /* gone */ } }
      rmSync(MARK('sig'), { force: true });
    },
  },
  {
    tag: 'read-host-environ',
    rule: 'proc-foreign-read',
    level: 1,
    action: 'alert',
    args: () => ['--pid', 'host', '--cap-add', 'SYS_PTRACE'],
    script: (c) => `tr '\\0' '\\n' < /proc/${c.hostPid}/environ | grep ACES_E2E_SECRET`,
    escaped: (r) => assert.match(r.stdout, /host-env-secret/),
    contained: (r, _c, ev) => {
      assert.equal(ev.object.name, 'environ');
      assert.match(r.stdout, /host-env-secret/, 'a level-1 probe is reported, not stopped');
    },
  },
  {
    tag: 'io-uring-read-host-environ',
    rule: 'proc-foreign-read',
    level: 1,
    action: 'alert',
    args: () => ['--pid', 'host', '--cap-add', 'SYS_PTRACE'],
    script: (c) => `/t/uring-write -r /proc/${c.hostPid}/environ | grep ACES_E2E_SECRET`,
    escaped: (r) => assert.match(r.stdout, /host-env-secret/),
    contained: (r, _c, ev) => {
      assert.equal(ev.via, 'io_uring');
      assert.match(r.stdout, /host-env-secret/, 'a level-1 probe is reported, not stopped');
    },
  },
  {
    tag: 'host-keyring',
    rule: 'keyctl-host',
    args: () => ['--security-opt', 'seccomp=unconfined'],
    setup: () => {
      const desc = `aces-e2e-${process.pid}`;
      const r = spawnSync(buildTool('keyring'), ['add', desc, 'host-key-secret'], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      return { desc };
    },
    script: (c) => `/t/keyring steal ${c.data.desc}`,
    escaped: (r) => assert.match(r.stdout, /stolen:host-key-secret/),
    contained: (r) => assert.doesNotMatch(r.stdout, /host-key-secret/),
    cleanup: (c) => { if (c.data.desc) spawnSync(buildTool('keyring'), ['unlink', c.data.desc]); },
  },
  {
    tag: 'ptrace-host-task',
    rule: 'ptrace-foreign',
    args: () => ['--pid', 'host', '--cap-add', 'SYS_PTRACE'],
    script: (c) => `/t/ptrace-poke ${c.hostPid}; echo status=$?`,
    escaped: (r) => assert.match(r.stdout, /attached\npeeked/),
    contained: (r, c) => {
      assert.doesNotMatch(r.stdout, /peeked/);
      assert.match(r.stdout, /status=137/);
      assert.ok(alive(c.hostPid), 'the traced host task survives the tracer');
    },
  },
  {
    tag: 'host-proc-mem',
    rule: 'proc-mem-write',
    args: () => ['--pid', 'host', '--cap-add', 'SYS_PTRACE'],
    script: (c) => `exec 3<>/proc/${c.hostPid}/mem && echo opened`,
    escaped: (r) => assert.match(r.stdout, /opened/),
    contained: (r) => assert.doesNotMatch(r.stdout, /opened/),
  },
  {
    tag: 'process-vm-write-host',
    rule: 'ptrace-foreign',
    args: () => ['--pid', 'host', '--cap-add', 'SYS_PTRACE'],
    setup: () => startMemoryTarget('pvm-write'),
    script: (c) => `/t/process-vm write ${c.data.pid} ${c.data.addr} pwned; echo status=$?`,
    escaped: async (r, c) => {
      assert.match(r.stdout, /wrote 6/);
      await waitFor(() => targetMemory(c) === 'pwned');
      assert.equal(targetMemory(c), 'pwned');
    },
    contained: async (r, c) => {
      assert.match(r.stdout, /status=137/, 'the writer was killed');
      await new Promise((ok) => setTimeout(ok, 200));
      assert.equal(targetMemory(c), 'untouched', "the host task's memory changed");
    },
    cleanup: stopMemoryTarget,
  },
  {
    tag: 'process-vm-read-host',
    rule: 'proc-foreign-read',
    level: 1,
    action: 'alert',
    args: () => ['--pid', 'host', '--cap-add', 'SYS_PTRACE'],
    setup: () => startMemoryTarget('pvm-read'),
    script: (c) => `/t/process-vm read ${c.data.pid} ${c.data.addr} 9`,
    escaped: (r) => assert.match(r.stdout, /read: untouched/),
    contained: (r, _c, ev) => {
      assert.equal(ev.object.name, 'process-vm', 'the event names the target');
      assert.match(r.stdout, /read: untouched/, 'a level-1 probe is reported, not stopped');
    },
    cleanup: stopMemoryTarget,
  },
  {
    tag: 'pidfd-getfd-host',
    rule: 'ptrace-foreign',
    args: () => ['--pid', 'host', '--cap-add', 'SYS_PTRACE'],
    setup: async () => {
      writeFileSync(MARK('fd-secret'), 'host-fd-secret\n');
      return startMemoryTarget('pvm-getfd', MARK('fd-secret'));
    },
    script: (c) => `/t/process-vm getfd ${c.data.pid} 3; echo status=$?`,
    escaped: (r) => assert.match(r.stdout, /got: host-fd-secret/),
    contained: (r) => {
      assert.doesNotMatch(r.stdout, /host-fd-secret/, "a host task's fd was stolen and read");
      assert.match(r.stdout, /status=137/);
    },
    cleanup: (c) => {
      stopMemoryTarget(c);
      rmSync(MARK('fd-secret'), { force: true });
    },
  },
  {
    tag: 'pidfd-signal-host',
    rule: 'signal-host',
    args: () => ['--pid', 'host'],
    setup: () => {
      const p = spawn('sh', ['-c', `trap 'echo got >> ${MARK('pidfd-sig')}' USR1; while :; do sleep 0.1; done`], { stdio: 'ignore', detached: true });
      p.unref();
      spawnSync('sleep', ['0.3']);
      return { pid: String(p.pid) };
    },
    script: (c) => `/t/process-vm signal ${c.data.pid} 10; echo status=$?`,
    escaped: async (r) => {
      assert.match(r.stdout, /sent/);
      await waitFor(() => existsSync(MARK('pidfd-sig')));
      assert.match(readFileSync(MARK('pidfd-sig'), 'utf8'), /got/);
    },
    // As kill(2): already queued when the tracepoint sees it (no LSM task_kill on this tier).
    contained: (r) => {
      assert.doesNotMatch(r.stdout, /sent/);
      assert.match(r.stdout, /status=137/, 'the sender was killed');
    },
    cleanup: (c) => {
      if (c.data.pid) try { process.kill(-Number(c.data.pid), 'SIGKILL'); } catch { /* gone */ }
      rmSync(MARK('pidfd-sig'), { force: true });
    },
  },
  {
    tag: 'io-uring-host-proc-mem',
    rule: 'proc-mem-write',
    args: () => ['--pid', 'host', '--cap-add', 'SYS_PTRACE'],
    // Exit 3: the fd was opened for write (the one-byte write at address 0 then fails with EIO).
    script: (c) => `/t/uring-write /proc/${c.hostPid}/mem x; echo status=$?`,
    escaped: (r) => assert.match(r.stdout, /status=3/, r.stderr),
    contained: (r, _c, ev) => {
      assert.match(r.stdout, /status=137/);
      assert.equal(ev.via, 'io_uring');
    },
  },
];

/** A host process holding the text "untouched" in memory (and FILE open on fd 3). */
async function startMemoryTarget(tag: string, file?: string): Promise<Record<string, string>> {
  const state = MARK(tag);
  const p = spawn(buildTool('process-vm'), ['target', state, ...(file ? [file] : [])], { stdio: 'ignore', detached: true });
  p.unref();
  await waitFor(() => existsSync(state));
  return { pid: String(p.pid), addr: readFileSync(`${state}.addr`, 'utf8').trim(), state };
}

function stopMemoryTarget(c: CaseContext): void {
  if (c.data.pid) try { process.kill(Number(c.data.pid), 'SIGKILL'); } catch { /* gone */ }
  for (const s of ['', '.addr', '.tmp']) if (c.data.state) rmSync(c.data.state + s, { force: true });
}

const targetMemory = (c: CaseContext) => readFileSync(c.data.state!, 'utf8').trim();

async function waitFor(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
}

defineEscapeCases('namespace escapes', cases, () => sleeper?.pid ?? 0);
