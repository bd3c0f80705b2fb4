/**
 * The programs of bpf/build/aces.bpf.o: how each attaches and which rules depend on it.
 * Tier selection (tier-plan.ts) reads this to decide what to load on the running kernel.
 */

export type AttachKind =
  | 'auto'       // tracepoint / tp_btf: bpf_program__attach by its section
  | 'cgroup-v2'  // cgroup/sysctl, cgroup/dev: attached at the cgroup-v2 root
  | 'lazy';      // loaded at start, attached by the daemon only while it is needed

export type ProgramNeed = 'tracepoint' | 'tp_btf' | 'cgroup_sysctl' | 'cgroup_device';

export interface ProgramSpec {
  readonly name: string;
  readonly family: string;
  readonly attach: AttachKind;
  readonly needs: ProgramNeed;
}

export const PROGRAMS: readonly ProgramSpec[] = [
  { name: 'exec_sched_exec', family: 'exec', attach: 'auto', needs: 'tp_btf' },
  { name: 'exec_sched_fork', family: 'exec', attach: 'auto', needs: 'tp_btf' },
  { name: 'exec_sched_exit', family: 'exec', attach: 'auto', needs: 'tp_btf' },
  { name: 'files_openat', family: 'files', attach: 'auto', needs: 'tracepoint' },
  { name: 'files_open', family: 'files', attach: 'auto', needs: 'tracepoint' },
  { name: 'files_openat2', family: 'files', attach: 'auto', needs: 'tracepoint' },
  { name: 'files_creat', family: 'files', attach: 'auto', needs: 'tracepoint' },
  { name: 'mount_enter', family: 'mount', attach: 'auto', needs: 'tracepoint' },
  { name: 'mount_exit', family: 'mount', attach: 'auto', needs: 'tracepoint' },
  { name: 'mount_fsmount', family: 'mount', attach: 'auto', needs: 'tracepoint' },
  { name: 'mount_otree', family: 'mount', attach: 'auto', needs: 'tracepoint' },
  { name: 'sysctl_write', family: 'sysctl', attach: 'cgroup-v2', needs: 'cgroup_sysctl' },
  { name: 'device_access', family: 'device', attach: 'cgroup-v2', needs: 'cgroup_device' },
  { name: 'quar_sys_enter', family: 'quarantine', attach: 'lazy', needs: 'tp_btf' },
  { name: 'iter_seed_tasks', family: 'exec', attach: 'lazy', needs: 'tp_btf' },
];

export function programSpec(name: string): ProgramSpec {
  const p = PROGRAMS.find((x) => x.name === name);
  if (!p) throw new Error(`unknown program ${name}`);
  return p;
}

const FILES = ['files_openat', 'files_open', 'files_openat2', 'files_creat'];
const MOUNT = ['mount_enter', 'mount_exit', 'mount_fsmount', 'mount_otree'];

/** Programs every configuration needs: they classify tasks and find containers. */
export const BASE_PROGRAMS = ['exec_sched_exec', 'exec_sched_fork', 'exec_sched_exit', 'iter_seed_tasks'];

/** Per rule name, per tier: the programs that enforce it there. */
export const RULE_PROGRAMS: Readonly<Record<string, Partial<Record<'lsm' | 'cgroup' | 'signal', readonly string[]>>>> = {
  'cgroup-v1-mount': { signal: MOUNT },
  'release-agent-write': { signal: FILES },
  'release-agent-read': { signal: FILES },
  'sysctl-host-write': { cgroup: ['sysctl_write'] },
  'binfmt-misc-write': { signal: FILES },
  'sysrq-trigger-write': { signal: FILES },
  'blockdev-mount': { signal: MOUNT },
  'blockdev-mknod': { cgroup: ['device_access'] },
  'blockdev-open': { cgroup: ['device_access'] },
  'umh-container-exec': { signal: ['exec_sched_exec', ...FILES] },
  'quarantined-task': { signal: ['exec_sched_exec', 'exec_sched_fork', 'quar_sys_enter'] },
};
