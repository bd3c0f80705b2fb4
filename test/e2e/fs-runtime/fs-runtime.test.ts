// File-system and runtime escapes: shocker (open_by_handle_at), chroot into a bind-mounted host
// root, writing the runtime's binary, the runtime's socket (by any path, also via io_uring), and
// a program started with its working directory on a host directory (CVE-2024-21626 shape).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { buildTool } from '../../helpers/tools.js';
import { defineEscapeCases, type EscapeCase } from '../../helpers/escape-cases.js';
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
