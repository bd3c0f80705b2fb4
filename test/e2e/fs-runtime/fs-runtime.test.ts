// File-system and runtime escapes: shocker (open_by_handle_at), chroot and pivot_root into a
// bind-mounted host root, writing the runtime's binary (bind mount, io_uring, /proc/<pid>/exe), the
// runtime's socket (by any path), and a program started with its working directory on a host
// directory (CVE-2024-21626 shape).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { buildTool } from '../../helpers/tools.js';
import { defineEscapeCases, toolsMount, type EscapeCase } from '../../helpers/escape-cases.js';
import { containerName, withAces, type Mode } from '../../helpers/escape-suite.js';
import { runContainer } from '../../helpers/docker.js';
import { skipUnless, skipUnlessRoot } from '../../helpers/root.js';
import { runtimeBinaries } from '../../../src/kernel/host-objects.js';

const TOKEN = randomBytes(6).toString('hex');
const TOKEN_FILE = `/var/tmp/aces-e2e-token-${process.pid}`;
const DOCKER_SOCK = '/var/run/docker.sock';
// runc itself is busy (ETXTBSY) whenever a container starts, so the test targets a runtime
// binary that no process runs: the rule is the same for every registered runtime binary.
const idleRuntimeBinary = () => {
  const all = runtimeBinaries().map((b) => b.path);
  return all.find((p) => p.endsWith('/ctr')) ?? all.find((p) => p.endsWith('/docker-proxy')) ?? all[0]!;
};

let fdServer: ChildProcess | undefined;
const FD_DIR = `/var/tmp/aces-e2e-fdpass-${process.pid}`;

const cases: EscapeCase[] = [
  {
    tag: 'shocker',
    rule: 'open-by-handle',
    args: () => ['--cap-add', 'DAC_READ_SEARCH', '--security-opt', 'seccomp=unconfined'],
    setup: () => {
      writeFileSync(TOKEN_FILE, TOKEN);
      return {};
    },
    // /etc/hosts is bind-mounted from the host's /var/lib/docker: a mount fd on the host disk.
    script: () => `/t/shocker /etc/hosts ${TOKEN_FILE.slice(1)}; echo status=$?`,
    escaped: (r) => assert.match(r.stdout, new RegExp(`read:${TOKEN}`), r.stderr),
    contained: (r) => {
      assert.doesNotMatch(r.stdout, new RegExp(TOKEN));
      assert.match(r.stdout, /status=137/);
    },
    cleanup: () => rmSync(TOKEN_FILE, { force: true }),
  },
  {
    tag: 'chroot-host-root',
    rule: 'host-root-chroot',
    args: () => ['-v', '/:/host'],
    setup: () => {
      writeFileSync(TOKEN_FILE, TOKEN);
      return {};
    },
    script: () => `chroot /host /bin/sh -c 'cat ${TOKEN_FILE}'; s=$?; echo; echo status=$s`,
    escaped: (r) => assert.match(r.stdout, new RegExp(TOKEN), r.stderr),
    contained: (r) => {
      assert.doesNotMatch(r.stdout, new RegExp(TOKEN), 'a host binary ran from the host root');
      assert.match(r.stdout, /status=137/);
    },
    cleanup: () => rmSync(TOKEN_FILE, { force: true }),
  },
  {
    tag: 'pivot-root-host-root',
    rule: 'host-root-chroot',
    // pivot_root(2) moves the root of every task of the mount namespace whose root was the old
    // one, so the shell that ran the pivot_root applet now has the host's root too: its next
    // program is the host's /bin/sh.
    // Docker's default seccomp profile refuses pivot_root even with SYS_ADMIN.
    args: () => ['-v', '/:/host', '--cap-add', 'SYS_ADMIN', '--security-opt', 'apparmor=unconfined', '--security-opt', 'seccomp=unconfined'],
    setup: () => {
      writeFileSync(TOKEN_FILE, TOKEN);
      return {};
    },
    script: () => `cd /host && pivot_root . tmp; s=$?; /bin/sh -c 'cat ${TOKEN_FILE}'; echo; echo status=$s`,
    escaped: (r) => assert.match(r.stdout, new RegExp(`${TOKEN}\nstatus=0`), r.stderr),
    contained: (r) => {
      assert.doesNotMatch(r.stdout, new RegExp(TOKEN), 'a host binary ran from the host root');
      // pivot_root's process dies; the shell, which now holds the host root as well, is
      // quarantined (host-ns-held) at its next exec if it gets that far.
      assert.ok(/status=137/.test(r.stdout) || r.code === 137, `exit ${r.code}: ${r.stdout}`);
    },
    cleanup: () => rmSync(TOKEN_FILE, { force: true }),
  },
  {
    tag: 'runtime-binary-overwrite',
    rule: 'runtime-binary-write',
    // The host's runtime binary reachable from the container (bind mount; /proc/<pid>/exe of a
    // runtime process, CVE-2019-5736, is the same inode). Opened for append and never written:
    // the test must not damage the host.
    args: () => ['-v', `${idleRuntimeBinary()}:/hostrunc`],
    setup: () => ({ before: String(statSync(idleRuntimeBinary()).mtimeMs) }),
    script: () => 'exec 3>>/hostrunc && echo opened-for-write',
    escaped: (r) => assert.match(r.stdout, /opened-for-write/),
    contained: (r, c) => {
      assert.doesNotMatch(r.stdout, /opened-for-write/);
      assert.equal(String(statSync(idleRuntimeBinary()).mtimeMs), c.data.before);
    },
  },
  {
    tag: 'io-uring-runtime-binary',
    rule: 'runtime-binary-write',
    // Opened O_WRONLY by IORING_OP_OPENAT and written with zero bytes: no syscall tracepoint sees
    // either, and the host binary is never changed.
    args: () => ['-v', `${idleRuntimeBinary()}:/hostrunc`],
    setup: () => ({ before: String(statSync(idleRuntimeBinary()).mtimeMs) }),
    script: () => "/t/uring-write /hostrunc ''; echo status=$?",
    escaped: (r) => assert.match(r.stdout, /status=0/, r.stderr),
    contained: (r, c, ev) => {
      assert.match(r.stdout, /status=137/);
      assert.equal(ev.via, 'io_uring');
      assert.equal(String(statSync(idleRuntimeBinary()).mtimeMs), c.data.before);
    },
  },
  {
    tag: 'docker-sock',
    rule: 'runtime-socket',
    args: () => ['-v', `${DOCKER_SOCK}:/var/run/docker.sock`],
    script: () => '/t/unix-get /var/run/docker.sock /version; echo status=$?',
    escaped: (r) => assert.match(r.stdout, /ApiVersion/),
    contained: (r) => {
      assert.doesNotMatch(r.stdout, /ApiVersion/);
      assert.match(r.stdout, /status=137/);
    },
  },
  {
    tag: 'docker-sock-renamed',
    rule: 'runtime-socket',
    // Keyed on the socket's inode: any name inside the container.
    args: () => ['-v', `${DOCKER_SOCK}:/tmp/innocent.sock`],
    script: () => '/t/unix-get /tmp/innocent.sock /containers/json; echo status=$?',
    escaped: (r) => assert.match(r.stdout, /HTTP\/1\.[01] 200/),
    contained: (r) => assert.doesNotMatch(r.stdout, /HTTP/),
  },
  {
    tag: 'io-uring-docker-sock',
    rule: 'runtime-socket',
    // IORING_OP_CONNECT: no connect system call for the tracepoints.
    args: () => ['-v', `${DOCKER_SOCK}:/var/run/docker.sock`],
    script: () => '/t/uring-write -c /var/run/docker.sock /version; echo status=$?',
    escaped: (r) => assert.match(r.stdout, /ApiVersion/, r.stderr),
    contained: (r, _c, ev) => {
      assert.doesNotMatch(r.stdout, /ApiVersion/);
      assert.match(r.stdout, /status=137/);
      assert.equal(ev.via, 'io_uring');
    },
  },
  {
    tag: 'leaked-host-dir-cwd',
    rule: 'exec-cwd-outside',
    level: 3,
    action: 'quarantine',
    args: () => ['-v', `${FD_DIR}:/fdpass`],
    setup: async () => {
      mkdirSync(FD_DIR, { recursive: true });
      writeFileSync(TOKEN_FILE, TOKEN);
      // A host process hands an fd of the host's /var/tmp to the container, as runc leaked its
      // /sys/fs/cgroup fd in CVE-2024-21626.
      fdServer = spawn(buildTool('fd-pass'), ['send', `${FD_DIR}/sock`, '/var/tmp'], { stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise<void>((res) => fdServer!.stdout!.once('data', () => res()));
      return {};
    },
    script: () => `/t/fd-pass recv /fdpass/sock /bin/sh -c 'cat ${TOKEN_FILE.split('/').pop()}'; s=$?; echo; echo status=$s`,
    escaped: (r) => assert.match(r.stdout, new RegExp(TOKEN), r.stderr),
    contained: (r) => {
      assert.doesNotMatch(r.stdout, new RegExp(TOKEN));
      // The program started with the leaked cwd dies before its first instruction; the
      // quarantine then takes the container's shell too, unless it finished first.
      assert.ok(/status=137/.test(r.stdout) || r.code === 137, `exit ${r.code}: ${r.stdout}`);
    },
    cleanup: () => {
      if (fdServer?.pid && fdServer.exitCode === null) fdServer.kill('SIGKILL');
      rmSync(FD_DIR, { recursive: true, force: true });
      rmSync(TOKEN_FILE, { force: true });
    },
  },
];

defineEscapeCases('file-system and runtime escapes', cases, () => 0);

// CVE-2019-5736 by its literal route: a host process runs a runtime binary (tini, Docker's
// docker-init); the container opens it through /proc/<pid>/exe (O_PATH or O_RDONLY: a write open
// fails with ETXTBSY while it runs) and, once the process has exited, reopens that fd for write
// through /proc/self/fd/<n>. The first open already reaches a file on a host mount
// (foreign-mount-open, level 2): enforce stops the attack there; monitor lets it run and reports
// both steps, the reopen as runtime-binary-write. Nothing is ever written to the binary.
const TINI = runtimeBinaries().map((b) => b.path).find((p) => /\/(tini-static|tini|docker-init)$/.test(p));
for (const mode of ['monitor', 'enforce'] as Mode[]) {
  describe(`CVE-2019-5736 through /proc/<pid>/exe (${mode})`, { concurrency: false }, () => {
    const aces = withAces(mode);
    for (const route of ['path', 'rdonly'] as const) {
      test(`${route === 'path' ? 'O_PATH' : 'O_RDONLY'} open of /proc/<pid>/exe, reopened for write via /proc/self/fd`, async (t) => {
        if (!skipUnlessRoot(t)) return;
        if (!skipUnless(t, TINI !== undefined, 'no tini/docker-init among the runtime binaries')) return;
        const before = statSync(TINI!).mtimeMs;
        const host = spawn(TINI!, ['-s', '--', 'sleep', '3'], { stdio: 'ignore' });
        try {
          const name = containerName(`exe-${route}`);
          const r = await runContainer({
            name,
            args: [...toolsMount(), '--pid', 'host', '--cap-add', 'SYS_PTRACE'],
            cmd: ['sh', '-c', `/t/exe-reopen ${host.pid} ${route}; echo status=$?`],
          });
          const first = await aces().waitForEvent((e) => e.rule === 'foreign-mount-open' && e.container?.name === name);
          if (mode === 'monitor') {
            assert.match(r.stdout, /held\nopened-for-write\nstatus=0/, r.stderr);
            const reopen = await aces().waitForEvent((e) => e.rule === 'runtime-binary-write' && e.container?.name === name);
            assert.equal(reopen.action, 'alert');
            assert.equal(first.action, 'alert');
          } else {
            assert.doesNotMatch(r.stdout, /held|opened-for-write/, 'the runtime binary was reached');
            assert.match(r.stdout, /status=137/);
            assert.equal(first.action, 'kill');
          }
          assert.equal(statSync(TINI!).mtimeMs, before, 'the runtime binary changed');
        } finally {
          host.kill('SIGKILL');
        }
      });
    }
  });
}
