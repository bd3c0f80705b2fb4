// Docker for the e2e tier. Every container a test starts is isolated from the network (tests
// never use it) and labelled, so one sweep removes whatever a failed test left behind. All
// commands are argument arrays: nothing from a caller ever reaches a shell.
import { spawn } from 'node:child_process';
import {
  accessSync,
  chmodSync,
  closeSync,
  constants as fsConstants,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { constants as osConstants, tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { isRoot } from './root.js';

/** Label every test container carries; {@link removeTestContainers} selects on it. */
export const TEST_LABEL = 'aces.test=1';
/** Default image for {@link runContainer}, built by {@link ensureBusyboxImage}. */
export const BUSYBOX_IMAGE = 'aces-busybox:test';
/** Where a dockerd started by {@link ensureDocker} writes its log. */
export const DOCKERD_LOG = '/tmp/aces-dockerd.log';

// Bumped whenever the image layout below changes, so an image built by an older helper (or by
// hand) under the same tag is rebuilt rather than trusted. `docker import --change` accepts no
// LABEL, hence an environment variable.
const IMAGE_REV_ENV = 'ACES_TEST_IMAGE_REV=1';
const DOCKERD_ARGS = ['--bridge=none', '--iptables=false', '--ip6tables=false'];
const DOCKERD_WAIT_MS = 30_000;
const DEFAULT_TIMEOUT_MS = 60_000;
const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** Exit status and output of a finished command. */
export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Result of a foreground {@link runContainer}: the container stays until it is removed. */
export interface ContainerResult extends ExecResult {
  id: string;
}

export interface RunContainerOptions {
  /** Extra `docker run` flags, placed before the image. Network flags are refused. */
  args?: string[];
  /** Command run in the container; empty runs the image's default. */
  cmd: string[];
  /** Image to run; defaults to {@link BUSYBOX_IMAGE}. */
  image?: string;
  name?: string;
  detach?: boolean;
  /** For a foreground run, how long the container may run before it is removed; default 60 s. */
  timeoutMs?: number;
}

/** The fields of `docker inspect` that tests read. */
export interface ContainerInspect {
  Id: string;
  Name: string;
  State: { Status: string; Running: boolean; Pid: number; ExitCode: number };
  HostConfig: { NetworkMode: string; Privileged: boolean };
  Config: { Labels: Record<string, string> | null; Image: string };
}

type CodedError = Error & { code: string };

function codedError(code: string, message: string): CodedError {
  return Object.assign(new Error(message), { code });
}

interface RunOptions {
  timeoutMs?: number;
  input?: string;
  // Called when the timeout fires, before the promise rejects: lets callers clean up what the
  // killed client left running (a container keeps going when `docker run` dies).
  onTimeout?: () => Promise<void>;
}

function run(file: string, args: readonly string[], opts: RunOptions = {}): Promise<ExecResult> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(codedError('ACES_E_TEST_EXEC_FAILED', `cannot run ${file}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      if (timedOut) {
        const fail = codedError(
          'ACES_E_TEST_DOCKER_TIMEOUT',
          `${file} ${args.join(' ')} ran longer than ${timeoutMs} ms; stderr: ${stderr.trim()}`,
        );
        (opts.onTimeout ?? (async () => {}))().then(
          () => reject(fail),
          () => reject(fail),
        );
        return;
      }
      const sigNum = signal ? osConstants.signals[signal] : undefined;
      resolve({ code: code ?? 128 + (sigNum ?? 0), stdout, stderr });
    });
    child.stdin.on('error', () => {
      // The child may exit before reading its input; that is reported through its exit status.
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** Runs the docker client with `args`; never throws on a non-zero exit, only on a timeout. */
export function docker(args: readonly string[], opts: { timeoutMs?: number; input?: string } = {}): Promise<ExecResult> {
  return run('docker', args, opts);
}

async function dockerOk(args: readonly string[], what: string, timeoutMs?: number): Promise<string> {
  const r = await docker(args, { timeoutMs });
  if (r.code !== 0) {
    throw codedError('ACES_E_TEST_DOCKER_FAILED', `${what} failed (exit ${r.code}): ${r.stderr.trim()}`);
  }
  return r.stdout;
}

// Resolves to undefined when the daemon answers, else to why not.
async function dockerProblem(): Promise<string | undefined> {
  try {
    const r = await docker(['info', '--format', '{{.ServerVersion}}'], { timeoutMs: 10_000 });
    if (r.code === 0 && r.stdout.trim() !== '') return undefined;
    return r.stderr.trim() || `docker info exited with status ${r.code}`;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

function findExecutable(name: string): string | undefined {
  const dirs = (process.env.PATH ?? '').split(delimiter).concat(['/usr/sbin', '/usr/bin', '/sbin', '/bin']);
  for (const dir of dirs) {
    if (dir === '') continue;
    const p = join(dir, name);
    try {
      accessSync(p, fsConstants.X_OK);
      return p;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

// A dockerd that is still starting holds its pid file; starting a second one would fail on it.
function dockerdStarting(): boolean {
  try {
    const pid = Number.parseInt(readFileSync('/var/run/docker.pid', 'utf8').trim(), 10);
    if (!Number.isInteger(pid) || pid <= 0) return false;
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'dockerd';
  } catch {
    return false;
  }
}

function logTail(path: string, lines = 20): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Makes sure a Docker daemon answers. If none does, starts
 * `dockerd --bridge=none --iptables=false --ip6tables=false` detached (log in
 * {@link DOCKERD_LOG}) and waits up to 30 s. A daemon found running is never stopped; the one
 * started here is left running for later tests.
 */
export async function ensureDocker(): Promise<void> {
  const problem = await dockerProblem();
  if (problem === undefined) return;
  // Without root the usual cause is the socket's permissions, which waiting will not change.
  if (!isRoot()) throw codedError('ACES_E_TEST_NO_DOCKER', `Docker is not usable without root: ${problem}`);
  let started: { exited: boolean; code: number | null } | undefined;
  if (!dockerdStarting()) {
    const dockerd = findExecutable('dockerd');
    if (dockerd === undefined) {
      throw codedError('ACES_E_TEST_NO_DOCKER', 'dockerd not found: run scripts/setup.sh (installs docker.io)');
    }
    const fd = openSync(DOCKERD_LOG, 'a');
    try {
      const child = spawn(dockerd, DOCKERD_ARGS, { detached: true, stdio: ['ignore', fd, fd] });
      const state = { exited: false, code: null as number | null };
      child.on('exit', (code) => {
        state.exited = true;
        state.code = code;
      });
      child.on('error', () => {
        state.exited = true;
      });
      child.unref();
      started = state;
    } finally {
      closeSync(fd);
    }
  }
  const deadline = Date.now() + DOCKERD_WAIT_MS;
  while (Date.now() < deadline) {
    if (started?.exited) {
      throw codedError(
        'ACES_E_TEST_NO_DOCKER',
        `dockerd exited with status ${started.code} while starting; last lines of ${DOCKERD_LOG}:\n${logTail(DOCKERD_LOG)}`,
      );
    }
    if (existsSync('/var/run/docker.sock') && (await dockerProblem()) === undefined) return;
    await sleep(250);
  }
  throw codedError(
    'ACES_E_TEST_NO_DOCKER',
    `dockerd did not answer within ${DOCKERD_WAIT_MS / 1000} s; last lines of ${DOCKERD_LOG}:\n${logTail(DOCKERD_LOG)}`,
  );
}

// A dynamically linked busybox would not run in an image that holds nothing else, so check the
// ELF program headers for PT_INTERP rather than trusting the package name.
function isStaticElf(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return false;
  }
  try {
    const eh = Buffer.alloc(64);
    if (readSync(fd, eh, 0, 64, 0) < 64) return false;
    if (eh.readUInt32BE(0) !== 0x7f454c46 || eh[4] !== 2 || eh[5] !== 1) return false;
    const phoff = Number(eh.readBigUInt64LE(0x20));
    const phentsize = eh.readUInt16LE(0x36);
    const phnum = eh.readUInt16LE(0x38);
    const ph = Buffer.alloc(phentsize * phnum);
    if (readSync(fd, ph, 0, ph.length, phoff) < ph.length) return false;
    for (let i = 0; i < phnum; i++) {
      const PT_INTERP = 3;
      if (ph.readUInt32LE(i * phentsize) === PT_INTERP) return false;
    }
    return true;
  } finally {
    closeSync(fd);
  }
}

// Resolves to the id of the image tagged `tag` and whether it has the current layout.
async function imageState(tag: string): Promise<{ id: string; current: boolean } | undefined> {
  const r = await docker(['image', 'inspect', '--format', '{{.Id}} {{json .Config.Env}}', tag], { timeoutMs: 15_000 });
  if (r.code !== 0) return undefined;
  const out = r.stdout.trim();
  const space = out.indexOf(' ');
  let env: unknown;
  try {
    env = JSON.parse(out.slice(space + 1));
  } catch {
    env = null;
  }
  return { id: out.slice(0, space), current: Array.isArray(env) && env.includes(IMAGE_REV_ENV) };
}

/**
 * Builds `tag` with `docker import` from the host's static busybox: applet links in /bin and
 * /sbin (/usr/bin and /usr/sbin link to them), /etc/passwd and /etc/group with root and nobody,
 * /tmp with mode 1777. Does nothing if an image of the current layout already has the tag.
 * Returns the tag.
 */
export async function ensureBusyboxImage(tag: string = BUSYBOX_IMAGE): Promise<string> {
  if (typeof tag !== 'string' || tag === '') throw new TypeError(`expected an image tag for tag, got ${String(tag)}`);
  const existing = await imageState(tag);
  if (existing?.current === true) return tag;
  const busybox = ['/bin/busybox', '/usr/bin/busybox'].find(isStaticElf);
  if (busybox === undefined) {
    throw codedError('ACES_E_TEST_NO_BUSYBOX', 'no static busybox in /bin or /usr/bin: apt-get install busybox-static');
  }
  const list = await run(busybox, ['--list-full'], { timeoutMs: 10_000 });
  if (list.code !== 0) throw codedError('ACES_E_TEST_NO_BUSYBOX', `${busybox} --list-full failed: ${list.stderr.trim()}`);

  const work = mkdtempSync(join(tmpdir(), 'aces-busybox-'));
  try {
    const root = join(work, 'rootfs');
    for (const d of ['bin', 'sbin', 'etc', 'root', 'tmp', 'proc', 'sys', 'dev', 'usr', 'var']) {
      mkdirSync(join(root, d), { recursive: true });
    }
    copyFileSync(busybox, join(root, 'bin/busybox'));
    chmodSync(join(root, 'bin/busybox'), 0o755);
    symlinkSync('../bin', join(root, 'usr/bin'));
    symlinkSync('../sbin', join(root, 'usr/sbin'));
    const seen = new Set<string>();
    for (const line of list.stdout.split('\n')) {
      const entry = line.trim();
      if (entry === '') continue;
      const slash = entry.lastIndexOf('/');
      const name = entry.slice(slash + 1);
      const dir = entry.slice(0, Math.max(slash, 0)).endsWith('sbin') ? 'sbin' : 'bin';
      const link = `${dir}/${name}`;
      if (name === 'busybox' || seen.has(link)) continue;
      seen.add(link);
      symlinkSync('/bin/busybox', join(root, link));
    }
    writeFileSync(
      join(root, 'etc/passwd'),
      'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n',
    );
    writeFileSync(join(root, 'etc/group'), 'root:x:0:\nnobody:x:65534:\n');
    chmodSync(join(root, 'tmp'), 0o1777);
    chmodSync(join(root, 'root'), 0o700);

    const tarball = join(work, 'rootfs.tar');
    const tar = await run('tar', ['--numeric-owner', '--owner=0', '--group=0', '-C', root, '-cf', tarball, '.'], {
      timeoutMs: 30_000,
    });
    if (tar.code !== 0) throw codedError('ACES_E_TEST_DOCKER_FAILED', `tar of the busybox rootfs failed: ${tar.stderr.trim()}`);
    await dockerOk(
      [
        'import',
        '--change', `ENV ${IMAGE_REV_ENV}`,
        '--change', 'ENV PATH=/bin:/sbin',
        '--change', 'CMD ["/bin/sh"]',
        tarball,
        tag,
      ],
      `docker import of ${tag}`,
      120_000,
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  // The outdated image lost its tag to the new one; drop it unless a container still uses it.
  if (existing !== undefined) await docker(['image', 'rm', existing.id], { timeoutMs: 60_000 });
  return tag;
}

function isNetworkFlag(arg: string): boolean {
  return /^--(network|net)(=|$)/.test(arg);
}

/**
 * Runs a container with `--network none` and the {@link TEST_LABEL} label always added.
 * Detached, resolves to the container id. In the foreground, resolves to its exit code and
 * output plus its id (the container is kept so tests can inspect it; remove it afterwards);
 * past `timeoutMs` the container is removed and the promise rejects with
 * `ACES_E_TEST_DOCKER_TIMEOUT`.
 */
export function runContainer(opts: RunContainerOptions & { detach: true }): Promise<string>;
export function runContainer(opts: RunContainerOptions & { detach?: false }): Promise<ContainerResult>;
export function runContainer(opts: RunContainerOptions): Promise<string | ContainerResult>;
export async function runContainer(opts: RunContainerOptions): Promise<string | ContainerResult> {
  const extra = opts.args ?? [];
  if (!Array.isArray(opts.cmd) || !opts.cmd.every((c) => typeof c === 'string')) {
    throw new TypeError(`expected an array of strings for cmd, got ${JSON.stringify(opts.cmd)}`);
  }
  if (!extra.every((a) => typeof a === 'string')) {
    throw new TypeError(`expected an array of strings for args, got ${JSON.stringify(extra)}`);
  }
  const net = extra.find(isNetworkFlag);
  if (net !== undefined) {
    throw new TypeError(`expected no network flag in args (test containers always run with --network none), got ${net}`);
  }
  if (opts.name !== undefined && !NAME_RE.test(opts.name)) {
    throw new TypeError(`expected a container name matching ${NAME_RE} for name, got ${JSON.stringify(opts.name)}`);
  }
  const image = opts.image ?? BUSYBOX_IMAGE;
  const work = mkdtempSync(join(tmpdir(), 'aces-run-'));
  const cidfile = join(work, 'cid');
  const readCid = () => (existsSync(cidfile) ? readFileSync(cidfile, 'utf8').trim() : '');
  try {
    const args = ['run', '--network', 'none', '--label', TEST_LABEL, '--cidfile', cidfile];
    if (opts.name !== undefined) args.push('--name', opts.name);
    if (opts.detach === true) args.push('--detach');
    args.push(...extra, image, ...opts.cmd);
    const r = await run('docker', args, {
      timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      onTimeout: async () => {
        const cid = readCid();
        if (cid !== '') await removeContainer(cid);
      },
    });
    const id = readCid();
    if (opts.detach === true) {
      if (r.code !== 0 || id === '') {
        throw codedError('ACES_E_TEST_DOCKER_FAILED', `docker run --detach failed (exit ${r.code}): ${r.stderr.trim()}`);
      }
      return id;
    }
    return { id, code: r.code, stdout: r.stdout, stderr: r.stderr };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Runs `cmd` in a running container with `docker exec`; resolves to its exit code and output. */
export function execInContainer(
  nameOrId: string,
  cmd: string[],
  opts: { user?: string; timeoutMs?: number } = {},
): Promise<ExecResult> {
  if (cmd.length === 0) throw new TypeError('expected a non-empty command for cmd, got []');
  const args = ['exec'];
  if (opts.user !== undefined) args.push('--user', opts.user);
  args.push('--', nameOrId, ...cmd);
  return docker(args, { timeoutMs: opts.timeoutMs });
}

/** Removes a container and its anonymous volumes, running or not; a missing one is no error. */
export async function removeContainer(nameOrId: string): Promise<void> {
  const r = await docker(['rm', '--force', '--volumes', nameOrId], { timeoutMs: 60_000 });
  if (r.code !== 0 && !/no such container/i.test(r.stderr)) {
    throw codedError('ACES_E_TEST_DOCKER_FAILED', `docker rm ${nameOrId} failed (exit ${r.code}): ${r.stderr.trim()}`);
  }
}

/** Removes every container labelled {@link TEST_LABEL}; resolves to how many there were. */
export async function removeTestContainers(): Promise<number> {
  const out = await dockerOk(['ps', '--all', '--quiet', '--no-trunc', '--filter', `label=${TEST_LABEL}`], 'docker ps');
  const ids = out.split('\n').map((s) => s.trim()).filter((s) => s !== '');
  for (const id of ids) await removeContainer(id);
  return ids.length;
}

/** `docker inspect` of one container, reduced to {@link ContainerInspect}. */
export async function inspectContainer(nameOrId: string): Promise<ContainerInspect> {
  const out = await dockerOk(['inspect', '--type', 'container', nameOrId], `docker inspect ${nameOrId}`);
  const parsed: unknown = JSON.parse(out);
  if (!Array.isArray(parsed) || parsed.length !== 1 || typeof parsed[0] !== 'object' || parsed[0] === null) {
    throw codedError('ACES_E_TEST_DOCKER_FAILED', `docker inspect ${nameOrId}: expected one object, got ${out.slice(0, 200)}`);
  }
  const c = parsed[0] as ContainerInspect;
  if (typeof c.Id !== 'string' || typeof c.State?.Pid !== 'number' || typeof c.HostConfig?.NetworkMode !== 'string') {
    throw codedError('ACES_E_TEST_DOCKER_FAILED', `docker inspect ${nameOrId}: unexpected shape`);
  }
  return c;
}

/** Host pid of the container's init process; throws if the container is not running. */
export async function containerPid(nameOrId: string): Promise<number> {
  const c = await inspectContainer(nameOrId);
  if (!c.State.Running || c.State.Pid <= 0) {
    throw codedError('ACES_E_TEST_DOCKER_FAILED', `container ${nameOrId} is not running (status ${c.State.Status})`);
  }
  return c.State.Pid;
}
