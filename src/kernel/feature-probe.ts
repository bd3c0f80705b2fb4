/**
 * What the running kernel really allows, found by loading (and where it matters attaching)
 * one tiny program per feature from bpf/build/probes.bpf.o. Config files are reported next to
 * the result but never trusted: this project's CI kernel lists `bpf` among its active LSMs and
 * still refuses lsm/ programs with EPERM.
 */
import { existsSync, readFileSync } from 'node:fs';
import { release } from 'node:os';
import { native } from './native.js';
import { KernelError } from './kernel-error.js';
import { bpfObjectPath } from './object-paths.js';
import { ensureTracefs } from './tracefs.js';

export interface ProbeResult {
  readonly ok: boolean;
  /** Why not, when ok is false: the errno name and the failing call. */
  readonly detail?: string;
}

export interface KernelFeatures {
  readonly kernel: string;
  readonly btf: ProbeResult;
  readonly lsmList: string[];
  readonly lsmListed: boolean;
  readonly lsmLoadable: ProbeResult;
  /** Per LSM hook the lsm tier uses (program-catalog.ts lsmHook): does a program on it load. */
  readonly lsmHooks: Readonly<Record<string, ProbeResult>>;
  readonly trampolineLoadable: ProbeResult;
  readonly tpBtf: ProbeResult;
  readonly sendSignal: ProbeResult;
  readonly syscallTracepoints: ProbeResult;
  readonly cgroupV2: { ok: boolean; path?: string };
  readonly cgroupSysctl: ProbeResult;
  readonly cgroupDevice: ProbeResult;
}

const ERRNO_NAMES: Record<number, string> = {
  1: 'EPERM', 2: 'ENOENT', 13: 'EACCES', 22: 'EINVAL', 95: 'EOPNOTSUPP', 524: 'ENOTSUPP', 7: 'E2BIG',
};

function describe(err: unknown): string {
  if (err instanceof KernelError) {
    return `${err.call}: ${ERRNO_NAMES[err.errno] ?? 'errno ' + err.errno}`;
  }
  return err instanceof Error ? err.message : String(err);
}

/** cgroup2 mount point from /proc/self/mounts (unified or hybrid layout). */
export function findCgroupV2Mount(mountsText = readFileSync('/proc/self/mounts', 'utf8')): string | undefined {
  for (const line of mountsText.split('\n')) {
    const f = line.split(' ');
    if (f[2] === 'cgroup2') return f[1];
  }
  return undefined;
}

function readLsmList(): string[] {
  try {
    return readFileSync('/sys/kernel/security/lsm', 'utf8').trim().split(',').filter(Boolean);
  } catch {
    return [];
  }
}

/**
 * Load one probe program alone; attach it too when attachTo is given ('auto' or a cgroup dir).
 * `ran` is asked once it is attached, with the object's handle: whether it really runs.
 */
function probeProgram(prog: string, attachTo?: 'auto' | string, ran?: (h: number) => ProbeResult): ProbeResult {
  let h: number | undefined;
  let link: number | undefined;
  try {
    h = native.open(bpfObjectPath('probes'));
    for (const p of native.programs(h)) native.setAutoload(h, p.name, p.name === prog);
    native.load(h);
    if (attachTo === 'auto') link = native.attach(h, prog);
    else if (attachTo) link = native.attachCgroup(h, prog, attachTo);
    return ran ? ran(h) : { ok: true };
  } catch (err) {
    return { ok: false, detail: describe(err) };
  } finally {
    if (link !== undefined) native.detach(link);
    if (h !== undefined) native.close(h);
  }
}

/** probe_lsm is attached: open a file, and see that the program counted it. */
function lsmProgramRan(h: number): ProbeResult {
  readFileSync('/proc/self/stat');
  const bss = native.mapLookup(h, '.bss', Buffer.alloc(4));
  if (bss && bss.length >= 8 && bss.readBigUInt64LE(0) > 0n) return { ok: true };
  return { ok: false, detail: 'lsm/file_open attached but never ran: bpf is not among the active LSMs (boot with lsm=...,bpf)' };
}

/** The probe program of each LSM hook (bpf/probes.bpf.c); file_open's is lsmLoadable itself. */
export const LSM_HOOK_PROBES: Readonly<Record<string, string>> = {
  file_open: 'probe_lsm',
  sb_kern_mount: 'probe_lsm_kmnt',
  move_mount: 'probe_lsm_mvmnt',
  bprm_check_security: 'probe_lsm_bprm',
  path_mknod: 'probe_lsm_mknod',
  ptrace_access_check: 'probe_lsm_ptrace',
  task_kill: 'probe_lsm_kill',
  bpf: 'probe_lsm_bpf',
  syslog: 'probe_lsm_syslog',
  perf_event_alloc: 'probe_lsm_perf',
  key_permission: 'probe_lsm_key',
  path_chroot: 'probe_lsm_chroot',
  sb_pivotroot: 'probe_lsm_pivot',
  unix_stream_connect: 'probe_lsm_unix',
};

/** Each hook loaded on its own, where LSM programs load at all (else each says why not). */
function probeLsmHooks(lsmLoadable: ProbeResult): Record<string, ProbeResult> {
  const out: Record<string, ProbeResult> = {};
  for (const [hook, prog] of Object.entries(LSM_HOOK_PROBES)) {
    if (!lsmLoadable.ok) out[hook] = { ok: false, detail: `BPF LSM not usable (${lsmLoadable.detail ?? 'not active'})` };
    else out[hook] = prog === 'probe_lsm' ? lsmLoadable : probeProgram(prog);
  }
  return out;
}

export function probeKernelFeatures(): KernelFeatures {
  const tracefsProblem = ensureTracefs();
  const lsmList = readLsmList();
  const cgroupV2Path = findCgroupV2Mount();
  const btfOk = existsSync('/sys/kernel/btf/vmlinux');
  const lsmLoadable = probeProgram('probe_lsm', 'auto', lsmProgramRan);
  return {
    kernel: release(),
    btf: btfOk ? { ok: true } : { ok: false, detail: '/sys/kernel/btf/vmlinux missing (CONFIG_DEBUG_INFO_BTF)' },
    lsmList,
    lsmListed: lsmList.includes('bpf'),
    lsmLoadable,
    lsmHooks: probeLsmHooks(lsmLoadable),
    trampolineLoadable: probeProgram('probe_fentry', 'auto'),
    tpBtf: probeProgram('probe_tp_btf'),
    sendSignal: probeProgram('probe_send_signal'),
    syscallTracepoints: tracefsProblem ? { ok: false, detail: tracefsProblem } : probeProgram('probe_send_signal', 'auto'),
    cgroupV2: cgroupV2Path ? { ok: true, path: cgroupV2Path } : { ok: false },
    // Loading proves the program type; attaching allow-all programs at the root proves the
    // attach type, and they are gone again before this returns.
    cgroupSysctl: cgroupV2Path ? probeProgram('probe_sysctl', cgroupV2Path) : { ok: false, detail: 'no cgroup2 mount' },
    cgroupDevice: cgroupV2Path ? probeProgram('probe_device', cgroupV2Path) : { ok: false, detail: 'no cgroup2 mount' },
  };
}
