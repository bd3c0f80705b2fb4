// The host-side knobs that container escapes aim at. Every e2e test snapshots them first and
// restores them in an after hook, so an attempt that got through (or a broken enforcement
// path) cannot leave the host with a hostile core_pattern or release_agent for the next test.
import { readdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Kernel files snapshotted when present (absent ones depend on the kernel config). */
export const HOST_SYSCTL_FILES: readonly string[] = [
  '/proc/sys/kernel/core_pattern',
  '/proc/sys/kernel/modprobe',
  '/proc/sys/kernel/randomize_va_space',
  '/proc/sys/kernel/sysrq',
  '/proc/sys/kernel/core_uses_pid',
  '/proc/sys/kernel/hotplug',
  '/sys/kernel/uevent_helper',
];

const CGROUP_ROOT = '/sys/fs/cgroup';
const BINFMT_DIR = '/proc/sys/fs/binfmt_misc';

/** binfmt_misc as seen at /proc/sys/fs/binfmt_misc. */
export interface BinfmtState {
  mounted: boolean;
  /** Whether binfmt_misc as a whole is enabled (its `status` file); false when not mounted. */
  enabled: boolean;
  /** Registered entries by name, each with its enabled flag. */
  entries: Record<string, boolean>;
}

/** What {@link snapshotHostState} records. */
export interface HostStateSnapshot {
  /**
   * Absolute path to value (one trailing newline dropped) for every writable text knob: the
   * {@link HOST_SYSCTL_FILES} that exist and, for each cgroup-v1 hierarchy mounted under
   * /sys/fs/cgroup, its root's `release_agent` and `notify_on_release`.
   */
  files: Record<string, string>;
  binfmt: BinfmtState;
  /** /proc/self/mountinfo, one line per mount. */
  mounts: string[];
}

type CodedError = Error & { code: string };

function codedError(code: string, message: string): CodedError {
  return Object.assign(new Error(message), { code });
}

function errno(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string' ? e.code : undefined;
}

function readValue(path: string): string | undefined {
  try {
    const v = readFileSync(path, 'utf8');
    return v.endsWith('\n') ? v.slice(0, -1) : v;
  } catch (e) {
    if (errno(e) === 'ENOENT') return undefined;
    throw e;
  }
}

// Every knob here strips surrounding whitespace on write, and a zero-length write leaves it
// unchanged: an empty release_agent or core_pattern can only be set by writing "\n".
function writeValue(path: string, value: string): void {
  writeFileSync(path, `${value}\n`);
}

function cgroupV1Roots(): string[] {
  let names: string[];
  try {
    names = readdirSync(CGROUP_ROOT);
  } catch (e) {
    if (errno(e) === 'ENOENT') return [];
    throw e;
  }
  const roots = new Set<string>();
  for (const name of names.sort()) {
    // cpu and cpuacct are often symlinks to one "cpu,cpuacct" hierarchy; count it once.
    let dir: string;
    try {
      dir = realpathSync(join(CGROUP_ROOT, name));
    } catch {
      continue;
    }
    if (readValue(join(dir, 'release_agent')) !== undefined) roots.add(dir);
  }
  return [...roots];
}

function binfmtState(): BinfmtState {
  const status = readValue(join(BINFMT_DIR, 'status'));
  if (status === undefined) return { mounted: false, enabled: false, entries: {} };
  const entries: Record<string, boolean> = {};
  for (const name of readdirSync(BINFMT_DIR).sort()) {
    if (name === 'status' || name === 'register') continue;
    const text = readValue(join(BINFMT_DIR, name));
    if (text !== undefined) entries[name] = text.split('\n')[0] === 'enabled';
  }
  return { mounted: true, enabled: status.trim() === 'enabled', entries };
}

/** Records the host knobs listed in {@link HostStateSnapshot}. Needs root for some files. */
export function snapshotHostState(): HostStateSnapshot {
  const files: Record<string, string> = {};
  for (const root of cgroupV1Roots()) {
    for (const f of ['release_agent', 'notify_on_release']) {
      const p = join(root, f);
      const v = readValue(p);
      if (v !== undefined) files[p] = v;
    }
  }
  for (const p of HOST_SYSCTL_FILES) {
    const v = readValue(p);
    if (v !== undefined) files[p] = v;
  }
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l !== '');
  return { files, binfmt: binfmtState(), mounts };
}

// A mount's identity without the ids the kernel hands out afresh on every mount and without
// the propagation tags, so that the same filesystem at the same place compares equal.
function mountKey(line: string): string {
  const [pre, post = ''] = line.split(' - ');
  const f = (pre ?? '').split(' ');
  const [fsType = '', source = '', superOpts = ''] = post.split(' ');
  return `${f[4] ?? '?'} type ${fsType} from ${source} root ${f[3] ?? '?'} (${f[5] ?? ''}; ${superOpts})`;
}

function countKeys(lines: readonly string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const l of lines) {
    const k = mountKey(l);
    m.set(k, (m.get(k) ?? 0) + 1);
  }
  return m;
}

/**
 * Lists the differences from `a` to `b`, one readable line each ("<path>: "x" -> "y"",
 * "binfmt_misc entry added: name", "mount added: /x type proc from proc ..."). Empty when equal.
 */
export function diffHostState(a: HostStateSnapshot, b: HostStateSnapshot): string[] {
  const out: string[] = [];
  const paths = new Set([...Object.keys(a.files), ...Object.keys(b.files)]);
  for (const p of [...paths].sort()) {
    const va = a.files[p];
    const vb = b.files[p];
    if (va === vb) continue;
    if (va === undefined) out.push(`${p}: appeared with ${JSON.stringify(vb)}`);
    else if (vb === undefined) out.push(`${p}: disappeared (was ${JSON.stringify(va)})`);
    else out.push(`${p}: ${JSON.stringify(va)} -> ${JSON.stringify(vb)}`);
  }
  if (a.binfmt.mounted !== b.binfmt.mounted) {
    out.push(`binfmt_misc: ${a.binfmt.mounted ? 'mounted' : 'not mounted'} -> ${b.binfmt.mounted ? 'mounted' : 'not mounted'}`);
  }
  if (a.binfmt.mounted && b.binfmt.mounted && a.binfmt.enabled !== b.binfmt.enabled) {
    out.push(`binfmt_misc status: ${a.binfmt.enabled ? 'enabled' : 'disabled'} -> ${b.binfmt.enabled ? 'enabled' : 'disabled'}`);
  }
  const names = new Set([...Object.keys(a.binfmt.entries), ...Object.keys(b.binfmt.entries)]);
  for (const n of [...names].sort()) {
    const ea = a.binfmt.entries[n];
    const eb = b.binfmt.entries[n];
    if (ea === eb) continue;
    if (ea === undefined) out.push(`binfmt_misc entry added: ${n}`);
    else if (eb === undefined) out.push(`binfmt_misc entry removed: ${n}`);
    else out.push(`binfmt_misc entry ${n}: ${ea ? 'enabled' : 'disabled'} -> ${eb ? 'enabled' : 'disabled'}`);
  }
  const ma = countKeys(a.mounts);
  const mb = countKeys(b.mounts);
  for (const k of [...new Set([...ma.keys(), ...mb.keys()])].sort()) {
    const d = (mb.get(k) ?? 0) - (ma.get(k) ?? 0);
    for (let i = 0; i < Math.abs(d); i++) out.push(`mount ${d > 0 ? 'added' : 'removed'}: ${k}`);
  }
  return out;
}

/**
 * Puts back every knob of `snap` that changed since: file values, binfmt_misc's status and
 * entry flags, and unregisters binfmt_misc entries added since. Returns one line per thing it
 * restored (empty when nothing had changed). Mounts are not undone (the Docker daemon adds and
 * removes its own as containers come and go); compare them with {@link diffHostState}. Throws
 * `ACES_E_TEST_RESTORE_FAILED` after trying everything if something could not be restored.
 */
export function restoreHostState(snap: HostStateSnapshot): string[] {
  const restored: string[] = [];
  const failed: string[] = [];
  const attempt = (what: string, fn: () => void) => {
    try {
      fn();
      restored.push(what);
    } catch (e) {
      failed.push(`${what}: ${e instanceof Error ? e.message : String(e)}`);
    }
  };

  for (const [path, want] of Object.entries(snap.files)) {
    let now: string | undefined;
    try {
      now = readValue(path);
    } catch (e) {
      failed.push(`${path}: cannot read: ${e instanceof Error ? e.message : String(e)}`);
      continue;
    }
    if (now === undefined) {
      failed.push(`${path}: disappeared (was ${JSON.stringify(want)})`);
    } else if (now !== want) {
      attempt(`${path}: ${JSON.stringify(now)} restored to ${JSON.stringify(want)}`, () => writeValue(path, want));
    }
  }

  const now = binfmtState();
  if (now.mounted) {
    for (const [name, enabled] of Object.entries(now.entries)) {
      const want = snap.binfmt.mounted ? snap.binfmt.entries[name] : undefined;
      if (want === undefined) {
        attempt(`binfmt_misc entry ${name} unregistered`, () => writeFileSync(join(BINFMT_DIR, name), '-1'));
      } else if (want !== enabled) {
        attempt(`binfmt_misc entry ${name} ${want ? 'enabled' : 'disabled'} again`, () =>
          writeFileSync(join(BINFMT_DIR, name), want ? '1' : '0'),
        );
      }
    }
    if (snap.binfmt.mounted) {
      for (const name of Object.keys(snap.binfmt.entries)) {
        if (!(name in now.entries)) failed.push(`binfmt_misc entry ${name} was removed and cannot be re-registered`);
      }
      if (snap.binfmt.enabled !== now.enabled) {
        attempt(`binfmt_misc ${snap.binfmt.enabled ? 'enabled' : 'disabled'} again`, () =>
          writeFileSync(join(BINFMT_DIR, 'status'), snap.binfmt.enabled ? '1' : '0'),
        );
      }
    }
  }

  if (failed.length > 0) {
    throw codedError(
      'ACES_E_TEST_RESTORE_FAILED',
      `host state not fully restored:\n  ${failed.join('\n  ')}${restored.length ? `\nrestored:\n  ${restored.join('\n  ')}` : ''}`,
    );
  }
  return restored;
}
