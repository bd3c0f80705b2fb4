// The host's cgroup layout, and with it what the kernel's container_key means (DESIGN §4).
//
// On a cgroup-v2 host the key is the id of the task's v2 cgroup. On a v1 host (hybrid or
// legacy) the BPF side reads task->cgroups->subsys[key_subsys_id]->cgroup->kn->id, the kernfs
// id of the task's cgroup in one v1 hierarchy; either way the key equals st_ino of that cgroup's
// directory under the hierarchy's mount, which is how user space finds the cgroup again.
//
// key_subsys_id must be the kernel's enum cgroup_subsys_id value. /proc/cgroups lists the
// subsystems in id order, so its Nth row is id N, but only while every compiled-in subsystem is
// listed: since commit af000ce85293b ("cgroup: Do not report unavailable v1 controllers in
// /proc/cgroups", 6.12) subsystems without v1 files are left out and later rows shift. The row
// index is therefore checked against the enum in the kernel's BTF when BTF is readable.

import { readFileSync } from 'node:fs';
import { parseProcCgroup } from './cgroup-path.js';

/** 'v2': /sys/fs/cgroup is cgroup2. 'v1-hybrid': v1 controllers plus a v2 mount. 'v1-legacy': v1 only. */
export type CgroupMode = 'v2' | 'v1-hybrid' | 'v1-legacy';

/** Which cgroup ids the BPF side reports as container_key (aces_config.key_source). */
export type KeySource = 'cgroup-v2' | 'cgroup-v1';

/** How keySubsysId was established. */
export type SubsysIdCheck =
  | 'confirmed'   // the /proc/cgroups row and the BTF enum agree
  | 'corrected'   // they differ; the BTF value is used
  | 'unverified'; // no BTF: the /proc/cgroups row is used as is

export interface CgroupLayout {
  readonly mode: CgroupMode;
  readonly keySource: KeySource;
  /** Mount point of the key hierarchy: st_ino of `keyDir + path` is the key of cgroup `path`. */
  readonly keyDir: string;
  /** Hierarchy id of the key hierarchy, as in the first field of /proc/<pid>/cgroup (0 on v2). */
  readonly keyHierarchyId: number;
  /** v1: the controller that names the key hierarchy ('pids', 'memory', ...). */
  readonly keyController?: string;
  /** v1: enum cgroup_subsys_id value of keyController, for aces_config.key_subsys_id. */
  readonly keySubsysId?: number;
  readonly subsysIdCheck?: SubsysIdCheck;
  /** The cgroup2 mount, when there is one (hybrid hosts: /sys/fs/cgroup/unified). */
  readonly v2Dir?: string;
  /** v1 freezer hierarchy mount, for container freezes; on v2 freezing is cgroup.freeze under v2Dir. */
  readonly freezerDir?: string;
  /** Every mounted v1 hierarchy, for diagnostics (`aces doctor`). */
  readonly v1Hierarchies: readonly V1Hierarchy[];
}

export interface V1Hierarchy {
  /** Hierarchy id; for a named hierarchy only known when /proc/self/cgroup was given (else 0). */
  readonly hierarchyId: number;
  /** Controllers bound to it; empty for a named hierarchy. */
  readonly controllers: readonly string[];
  /** 'systemd' for name=systemd. */
  readonly name?: string;
  readonly mountDir: string;
}

/** One row of /proc/cgroups; rowIndex is the 0-based position after the header. */
export interface ProcCgroupsRow {
  readonly name: string;
  readonly hierarchyId: number;
  readonly numCgroups: number;
  readonly enabled: boolean;
  readonly rowIndex: number;
}

/** A cgroup or cgroup2 entry of /proc/self/mountinfo. */
export interface CgroupMount {
  readonly fsType: 'cgroup' | 'cgroup2';
  readonly mountDir: string;
  /** Root of the mount within the hierarchy ('/' unless a sub-cgroup was bind-mounted). */
  readonly root: string;
  /** Super-block options: controller names, 'name=<n>', 'xattr', ... */
  readonly superOptions: readonly string[];
}

export const ACES_E_CGROUP_NOT_MOUNTED = 'ACES_E_CGROUP_NOT_MOUNTED';
export const ACES_E_CGROUP_NO_KEY_HIERARCHY = 'ACES_E_CGROUP_NO_KEY_HIERARCHY';
export const ACES_E_CGROUP_UNREADABLE = 'ACES_E_CGROUP_UNREADABLE';

export type CgroupLayoutErrorCode =
  | typeof ACES_E_CGROUP_NOT_MOUNTED
  | typeof ACES_E_CGROUP_NO_KEY_HIERARCHY
  | typeof ACES_E_CGROUP_UNREADABLE;

export class CgroupLayoutError extends Error {
  readonly code: CgroupLayoutErrorCode;
  constructor(code: CgroupLayoutErrorCode, message: string) {
    super(message);
    this.name = 'CgroupLayoutError';
    this.code = code;
  }
}

/**
 * v1 controllers tried for the key, in order. pids and memory are enabled on every container
 * host and every runtime gives each container its own cgroup in them; cpu, devices and freezer
 * are the fall-backs. Any other mounted controller follows. Named hierarchies (name=systemd)
 * have no subsystem, so task->cgroups->subsys[] cannot reach them: never a key.
 */
export const KEY_CONTROLLER_PREFERENCE: readonly string[] = ['pids', 'memory', 'cpu', 'devices', 'freezer'];

// Subsystems whose /proc/cgroups (legacy) name differs from the C name in enum cgroup_subsys_id.
const LEGACY_TO_C_NAME: Readonly<Record<string, string>> = { blkio: 'io' };

const CGROUP2_DEFAULT_ROOT = '/sys/fs/cgroup';

/** Parses /proc/cgroups. Throws {@link CgroupLayoutError} on an unknown header. */
export function parseProcCgroups(text: string): ProcCgroupsRow[] {
  const lines = text.split('\n').filter((l) => l !== '');
  const header = lines[0] ?? '';
  if (!/^#subsys_name\s+hierarchy\s+num_cgroups\s+enabled\s*$/.test(header)) {
    throw new CgroupLayoutError(ACES_E_CGROUP_UNREADABLE,
      `expected the header "#subsys_name hierarchy num_cgroups enabled" for /proc/cgroups, got ${JSON.stringify(header)}`);
  }
  const rows: ProcCgroupsRow[] = [];
  for (let i = 1; i < lines.length; i++) {
    const f = lines[i]!.split(/\s+/);
    if (f.length < 4 || !/^\d+$/.test(f[1]!) || !/^\d+$/.test(f[2]!) || !/^[01]$/.test(f[3]!)) {
      throw new CgroupLayoutError(ACES_E_CGROUP_UNREADABLE,
        `expected "<name> <hierarchy> <num_cgroups> <0|1>" for /proc/cgroups line ${i + 1}, got ${JSON.stringify(lines[i])}`);
    }
    rows.push({ name: f[0]!, hierarchyId: Number(f[1]), numCgroups: Number(f[2]), enabled: f[3] === '1', rowIndex: i - 1 });
  }
  return rows;
}

/** The cgroup and cgroup2 mounts listed in a mountinfo text (proc(5)). */
export function parseCgroupMounts(mountinfo: string): CgroupMount[] {
  const out: CgroupMount[] = [];
  for (const line of mountinfo.split('\n')) {
    if (line === '') continue;
    const f = line.split(' ');
    const sep = f.indexOf('-', 6);
    if (sep < 0 || f.length < sep + 4) continue;
    const fsType = f[sep + 1];
    if (fsType !== 'cgroup' && fsType !== 'cgroup2') continue;
    out.push({
      fsType,
      root: unescapeMountField(f[3]!),
      mountDir: unescapeMountField(f[4]!),
      superOptions: f[sep + 3]!.split(','),
    });
  }
  return out;
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
function unescapeMountField(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/**
 * Values of enum cgroup_subsys_id from a raw BTF blob (/sys/kernel/btf/vmlinux), keyed by the
 * subsystem's C name ('pids', 'io', ...). Undefined when the blob is not BTF or has no such enum.
 */
export function subsysIdsFromBtf(blob: Uint8Array): Map<string, number> | undefined {
  if (blob.byteLength < 24) return undefined;
  const dv = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  let le: boolean;
  if (dv.getUint16(0, true) === 0xeb9f) le = true;
  else if (dv.getUint16(0, false) === 0xeb9f) le = false;
  else return undefined;
  const hdrLen = dv.getUint32(4, le);
  const typeOff = dv.getUint32(8, le);
  const typeLen = dv.getUint32(12, le);
  const strOff = dv.getUint32(16, le);
  const strLen = dv.getUint32(20, le);
  const typeStart = hdrLen + typeOff;
  const typeEnd = typeStart + typeLen;
  const strStart = hdrLen + strOff;
  if (typeEnd > blob.byteLength || strStart + strLen > blob.byteLength) return undefined;
  const decoder = new TextDecoder();
  const str = (off: number): string => {
    if (off >= strLen) return '';
    let end = strStart + off;
    while (end < strStart + strLen && blob[end] !== 0) end++;
    return decoder.decode(blob.subarray(strStart + off, end));
  };
  const ENUM_NAME = 'cgroup_subsys_id';
  const SUFFIX = '_cgrp_id';

  let p = typeStart;
  while (p + 12 <= typeEnd) {
    const nameOff = dv.getUint32(p, le);
    const info = dv.getUint32(p + 4, le);
    const kind = (info >>> 24) & 0x1f;
    const vlen = info & 0xffff;
    p += 12;
    let extra: number;
    switch (kind) {
      case 1: extra = 4; break;               // INT
      case 3: extra = 12; break;              // ARRAY
      case 4: case 5: extra = 12 * vlen; break; // STRUCT, UNION
      case 6: extra = 8 * vlen; break;        // ENUM
      case 13: extra = 8 * vlen; break;       // FUNC_PROTO
      case 14: extra = 4; break;              // VAR
      case 15: extra = 12 * vlen; break;      // DATASEC
      case 17: extra = 4; break;              // DECL_TAG
      case 19: extra = 12 * vlen; break;      // ENUM64
      case 2: case 7: case 8: case 9: case 10: case 11: case 12: case 16: case 18:
        extra = 0; break;                     // PTR, FWD, TYPEDEF, VOLATILE, CONST, RESTRICT, FUNC, FLOAT, TYPE_TAG
      default:
        return undefined;                     // a kind this parser does not know: sizes unknowable
    }
    if (p + extra > typeEnd) return undefined;
    if ((kind === 6 || kind === 19) && str(nameOff) === ENUM_NAME) {
      const ids = new Map<string, number>();
      const step = kind === 6 ? 8 : 12;
      for (let k = 0; k < vlen; k++) {
        const m = p + k * step;
        const name = str(dv.getUint32(m, le));
        const val = kind === 6 ? dv.getInt32(m + 4, le) : dv.getUint32(m + 4, le);
        if (name.endsWith(SUFFIX)) ids.set(name.slice(0, -SUFFIX.length), val);
      }
      return ids;
    }
    p += extra;
  }
  return undefined;
}

export interface CgroupLayoutInput {
  /** Text of /proc/self/mountinfo. */
  readonly mountinfo: string;
  /** Text of /proc/cgroups. */
  readonly procCgroups: string;
  /** enum cgroup_subsys_id from BTF ({@link subsysIdsFromBtf}), when available. */
  readonly btfSubsysIds?: ReadonlyMap<string, number>;
  /** Text of /proc/self/cgroup: gives the hierarchy ids of named hierarchies. */
  readonly selfCgroup?: string;
  /** Where the runtimes look for cgroups; '/sys/fs/cgroup' unless a test says otherwise. */
  readonly cgroupRoot?: string;
}

/**
 * Decides the layout from the texts of /proc/self/mountinfo and /proc/cgroups (pure). The host
 * is v2 exactly when `cgroupRoot` itself is a cgroup2 mount: that is the test runc, crun,
 * containerd and systemd apply, so the runtimes and ACES agree on where containers live.
 */
export function buildCgroupLayout(input: CgroupLayoutInput): CgroupLayout {
  const cgroupRoot = stripTrailingSlash(input.cgroupRoot ?? CGROUP2_DEFAULT_ROOT);
  const mounts = parseCgroupMounts(input.mountinfo);
  const rows = parseProcCgroups(input.procCgroups);

  const v2Mounts = mounts.filter((m) => m.fsType === 'cgroup2' && m.root === '/');
  const v2Dir = (v2Mounts.find((m) => m.mountDir === cgroupRoot) ??
    v2Mounts.find((m) => m.mountDir.startsWith(cgroupRoot + '/')) ?? v2Mounts[0])?.mountDir;

  const rowByName = new Map(rows.map((r) => [r.name, r]));
  const namedIds = new Map<string, number>();
  for (const e of parseProcCgroup(input.selfCgroup ?? '')) {
    for (const c of e.controllers) if (c.startsWith('name=')) namedIds.set(c, e.hierarchyId);
  }
  const v1Hierarchies: V1Hierarchy[] = [];
  const v1MountOf = new Map<string, CgroupMount>(); // controller -> best mount
  for (const m of mounts) {
    if (m.fsType !== 'cgroup') continue;
    const controllers = m.superOptions.filter((o) => rowByName.has(o));
    const nameOpt = m.superOptions.find((o) => o.startsWith('name='));
    const hid = controllers.length > 0 ? rowByName.get(controllers[0]!)!.hierarchyId
      : nameOpt !== undefined ? namedIds.get(nameOpt) ?? 0 : 0;
    for (const c of controllers) {
      const prev = v1MountOf.get(c);
      if (prev === undefined || mountRank(m, cgroupRoot) < mountRank(prev, cgroupRoot)) v1MountOf.set(c, m);
    }
    if (!v1Hierarchies.some((h) => h.mountDir === m.mountDir)) {
      v1Hierarchies.push({
        hierarchyId: hid,
        controllers,
        ...(nameOpt !== undefined ? { name: nameOpt.slice('name='.length) } : {}),
        mountDir: m.mountDir,
      });
    }
  }
  const freezerMount = v1MountOf.get('freezer');
  const freezerDir = freezerMount?.root === '/' ? freezerMount.mountDir : undefined;

  const rootIsV2 = v2Mounts.some((m) => m.mountDir === cgroupRoot);
  if (rootIsV2 || (v1MountOf.size === 0 && v2Dir !== undefined)) {
    const dir = rootIsV2 ? cgroupRoot : v2Dir!;
    return { mode: 'v2', keySource: 'cgroup-v2', keyDir: dir, keyHierarchyId: 0, v2Dir: dir, v1Hierarchies };
  }
  if (v1MountOf.size === 0) {
    const named = v1Hierarchies.filter((h) => h.controllers.length === 0).map((h) => h.mountDir);
    throw new CgroupLayoutError(named.length > 0 ? ACES_E_CGROUP_NO_KEY_HIERARCHY : ACES_E_CGROUP_NOT_MOUNTED,
      named.length > 0
        ? `expected a v1 controller hierarchy or a cgroup2 mount for container keys, got only named hierarchies (${named.join(', ')}), which have no subsystem id; mount the pids or memory controller`
        : 'expected cgroup2 or cgroup v1 controllers to be mounted, got no cgroup mount in /proc/self/mountinfo; mount cgroup2 on /sys/fs/cgroup');
  }

  const ordered = [
    ...KEY_CONTROLLER_PREFERENCE,
    ...rows.map((r) => r.name).filter((n) => !KEY_CONTROLLER_PREFERENCE.includes(n)),
  ];
  for (const name of ordered) {
    const row = rowByName.get(name);
    const mount = v1MountOf.get(name);
    // hierarchy 0 means bound to the v2 hierarchy; a bind mount of a sub-cgroup (root != '/')
    // would make /proc/<pid>/cgroup paths and directory paths disagree.
    if (row === undefined || mount === undefined || !row.enabled || row.hierarchyId === 0 || mount.root !== '/') continue;
    const btfId = input.btfSubsysIds?.get(LEGACY_TO_C_NAME[name] ?? name);
    let keySubsysId = row.rowIndex;
    let subsysIdCheck: SubsysIdCheck = 'unverified';
    if (input.btfSubsysIds !== undefined && btfId !== undefined) {
      subsysIdCheck = btfId === row.rowIndex ? 'confirmed' : 'corrected';
      keySubsysId = btfId;
    }
    return {
      mode: v2Dir !== undefined ? 'v1-hybrid' : 'v1-legacy',
      keySource: 'cgroup-v1',
      keyDir: mount.mountDir,
      keyHierarchyId: row.hierarchyId,
      keyController: name,
      keySubsysId,
      subsysIdCheck,
      ...(v2Dir !== undefined ? { v2Dir } : {}),
      ...(freezerDir !== undefined ? { freezerDir } : {}),
      v1Hierarchies,
    };
  }
  throw new CgroupLayoutError(ACES_E_CGROUP_NO_KEY_HIERARCHY,
    `expected an enabled v1 controller mounted at its hierarchy root for container keys, got none usable among ${[...v1MountOf.keys()].join(', ')}`);
}

// Lower is better: the hierarchy root under cgroupRoot, then any hierarchy root, then the rest.
function mountRank(m: CgroupMount, cgroupRoot: string): number {
  return (m.root === '/' ? 0 : 2) + (m.mountDir.startsWith(cgroupRoot + '/') ? 0 : 1);
}

function stripTrailingSlash(p: string): string {
  return p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p;
}

export interface DetectCgroupLayoutOptions {
  /** procfs mount; '/proc'. */
  readonly procDir?: string;
  /** Kernel BTF used to check the subsystem id; null to skip the check. '/sys/kernel/btf/vmlinux'. */
  readonly btfPath?: string | null;
  readonly cgroupRoot?: string;
}

/**
 * Reads this host's cgroup layout. Throws {@link CgroupLayoutError} when no hierarchy can give
 * container keys; an unreadable BTF only leaves the subsystem id unverified.
 */
export function detectCgroupLayout(opts: DetectCgroupLayoutOptions = {}): CgroupLayout {
  const procDir = opts.procDir ?? '/proc';
  const read = (p: string): string => {
    try {
      return readFileSync(p, 'utf8');
    } catch (err) {
      throw new CgroupLayoutError(ACES_E_CGROUP_UNREADABLE,
        `expected ${p} to be readable, got ${(err as NodeJS.ErrnoException).code ?? String(err)}; is procfs mounted?`);
    }
  };
  const mountinfo = read(`${procDir}/self/mountinfo`);
  let procCgroups: string;
  try {
    procCgroups = readFileSync(`${procDir}/cgroups`, 'utf8');
  } catch {
    // Kernels built without CONFIG_CGROUPS_V1-era /proc/cgroups still give a v2 layout.
    procCgroups = '#subsys_name\thierarchy\tnum_cgroups\tenabled\n';
  }
  let btfSubsysIds: Map<string, number> | undefined;
  const btfPath = opts.btfPath === undefined ? '/sys/kernel/btf/vmlinux' : opts.btfPath;
  if (btfPath !== null) {
    try {
      btfSubsysIds = subsysIdsFromBtf(readFileSync(btfPath));
    } catch {
      btfSubsysIds = undefined;
    }
  }
  let selfCgroup: string | undefined;
  try {
    selfCgroup = readFileSync(`${procDir}/self/cgroup`, 'utf8');
  } catch {
    selfCgroup = undefined;
  }
  return buildCgroupLayout({
    mountinfo,
    procCgroups,
    ...(selfCgroup !== undefined ? { selfCgroup } : {}),
    ...(btfSubsysIds !== undefined ? { btfSubsysIds } : {}),
    ...(opts.cgroupRoot !== undefined ? { cgroupRoot: opts.cgroupRoot } : {}),
  });
}

/**
 * The path of the key-hierarchy cgroup in a /proc/<pid>/cgroup text, or undefined when the
 * line is missing (the task exited, or the hierarchy is not in its view).
 */
export function keyCgroupPath(procCgroupText: string, layout: CgroupLayout): string | undefined {
  for (const e of parseProcCgroup(procCgroupText)) {
    if (layout.keySource === 'cgroup-v2') {
      if (e.hierarchyId === 0 && e.controllers.length === 0) return e.path;
    } else if (e.hierarchyId === layout.keyHierarchyId &&
      (layout.keyController === undefined || e.controllers.includes(layout.keyController))) {
      return e.path;
    }
  }
  return undefined;
}
