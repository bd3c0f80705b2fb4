/**
 * The programs of bpf/build/aces.bpf.o: how each attaches and which rules depend on it.
 * Tier selection (tier-plan.ts) reads this to decide what to load on the running kernel.
 */

export type AttachKind =
  | 'auto'       // tracepoint / tp_btf / lsm: bpf_program__attach by its section
  | 'cgroup-v2'  // cgroup/sysctl, cgroup/dev: attached at the cgroup-v2 root
  | 'lazy';      // loaded at start, attached by the daemon only while it is needed

export type ProgramNeed = 'tracepoint' | 'tp_btf' | 'cgroup_sysctl' | 'cgroup_device' | 'lsm';

export interface ProgramSpec {
  readonly name: string;
  readonly family: string;
  readonly attach: AttachKind;
  readonly needs: ProgramNeed;
  /** needs 'lsm': the LSM hook it attaches to; each hook is probed on its own (feature-probe.ts). */
  readonly lsmHook?: string;
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
  { name: 'exec_cg_mkdir', family: 'exec', attach: 'auto', needs: 'tp_btf' },
  { name: 'exec_cg_attach', family: 'exec', attach: 'auto', needs: 'tp_btf' },
  { name: 'lsm_file_open', family: 'lsm', attach: 'auto', needs: 'lsm', lsmHook: 'file_open' },
  { name: 'lsm_kern_mount', family: 'lsm', attach: 'auto', needs: 'lsm', lsmHook: 'sb_kern_mount' },
  { name: 'lsm_move_mount', family: 'lsm', attach: 'auto', needs: 'lsm', lsmHook: 'move_mount' },
  { name: 'lsm_bprm_check', family: 'lsm', attach: 'auto', needs: 'lsm', lsmHook: 'bprm_check_security' },
  { name: 'lsm_path_mknod', family: 'lsm', attach: 'auto', needs: 'lsm', lsmHook: 'path_mknod' },
  { name: 'lsm_ptrace', family: 'lsm', attach: 'auto', needs: 'lsm', lsmHook: 'ptrace_access_check' },
  { name: 'lsm_task_kill', family: 'lsm', attach: 'auto', needs: 'lsm', lsmHook: 'task_kill' },
  { name: 'lsm_bpf', family: 'lsm', attach: 'auto', needs: 'lsm', lsmHook: 'bpf' },
  { name: 'lsm_syslog', family: 'lsm', attach: 'auto', needs: 'lsm', lsmHook: 'syslog' },
  { name: 'lsm_perf_alloc', family: 'lsm', attach: 'auto', needs: 'lsm', lsmHook: 'perf_event_alloc' },
  { name: 'lsm_key_perm', family: 'lsm', attach: 'auto', needs: 'lsm', lsmHook: 'key_permission' },
  { name: 'lsm_chroot', family: 'lsm', attach: 'auto', needs: 'lsm', lsmHook: 'path_chroot' },
  { name: 'lsm_pivotroot', family: 'lsm', attach: 'auto', needs: 'lsm', lsmHook: 'sb_pivotroot' },
  { name: 'lsm_unix_conn', family: 'lsm', attach: 'auto', needs: 'lsm', lsmHook: 'unix_stream_connect' },
  { name: 'ns_setns', family: 'ns', attach: 'auto', needs: 'tracepoint' },
  { name: 'ns_signal', family: 'ns', attach: 'auto', needs: 'tp_btf' },
  { name: 'ptrace_exit', family: 'ptrace', attach: 'auto', needs: 'tracepoint' },
  { name: 'ptrace_vm_write', family: 'ptrace', attach: 'auto', needs: 'tracepoint' },
  { name: 'ptrace_vm_read', family: 'ptrace', attach: 'auto', needs: 'tracepoint' },
  { name: 'ptrace_getfd', family: 'ptrace', attach: 'auto', needs: 'tracepoint' },
  { name: 'kernel_bpf', family: 'kernel', attach: 'auto', needs: 'tracepoint' },
  { name: 'kernel_syslog', family: 'kernel', attach: 'auto', needs: 'tracepoint' },
  { name: 'kernel_perf', family: 'kernel', attach: 'auto', needs: 'tracepoint' },
  { name: 'kernel_keyctl', family: 'kernel', attach: 'auto', needs: 'tracepoint' },
  { name: 'kernel_add_key', family: 'kernel', attach: 'auto', needs: 'tracepoint' },
  { name: 'kernel_req_key', family: 'kernel', attach: 'auto', needs: 'tracepoint' },
  { name: 'kernel_ohandle', family: 'kernel', attach: 'auto', needs: 'tracepoint' },
  { name: 'kernel_chroot', family: 'kernel', attach: 'auto', needs: 'tracepoint' },
  { name: 'kernel_pivot', family: 'kernel', attach: 'auto', needs: 'tracepoint' },
  { name: 'runtime_conn_in', family: 'runtime', attach: 'auto', needs: 'tracepoint' },
  { name: 'runtime_conn_out', family: 'runtime', attach: 'auto', needs: 'tracepoint' },
  { name: 'uring_complete', family: 'uring', attach: 'auto', needs: 'tracepoint' },
];

export function programSpec(name: string): ProgramSpec {
  const p = PROGRAMS.find((x) => x.name === name);
  if (!p) throw new Error(`unknown program ${name}`);
  return p;
}

const FILES = ['files_openat', 'files_open', 'files_openat2', 'files_creat', 'uring_complete'];
const EXEC = ['exec_sched_exec'];
const KEYRING = ['kernel_keyctl', 'kernel_add_key', 'kernel_req_key'];
const CONNECT = ['runtime_conn_in', 'runtime_conn_out', 'uring_complete'];
/* Integrity (credentials, host namespaces) is checked at every hook a container task passes. */
const INTEGRITY = [...EXEC, ...FILES];
const MOUNT = ['mount_enter', 'mount_exit', 'mount_fsmount', 'mount_otree'];

/* mount(2) bind mounts name their source by a string the LSM hooks cannot resolve: on the lsm
 * tier the mount tracepoints still judge those (bpf/lsm.bpf.c). */
const LSM_MOUNT = ['lsm_kern_mount', 'lsm_move_mount', 'mount_enter', 'mount_exit'];

/** Programs every configuration needs: they classify tasks and find containers. */
export const BASE_PROGRAMS = ['exec_sched_exec', 'exec_sched_fork', 'exec_sched_exit', 'iter_seed_tasks', 'exec_cg_mkdir', 'exec_cg_attach'];

/** Per rule name, per tier: the programs that enforce it there. */
export const RULE_PROGRAMS: Readonly<Record<string, Partial<Record<'lsm' | 'cgroup' | 'signal', readonly string[]>>>> = {
  'cgroup-v1-mount': { lsm: LSM_MOUNT, signal: MOUNT },
  'release-agent-write': { lsm: ['lsm_file_open'], signal: FILES },
  'release-agent-read': { lsm: ['lsm_file_open'], signal: FILES },
  'sysctl-host-write': { cgroup: ['sysctl_write'] },
  'binfmt-misc-write': { lsm: ['lsm_file_open'], signal: FILES },
  'sysrq-trigger-write': { lsm: ['lsm_file_open'], signal: FILES },
  'blockdev-mount': { lsm: LSM_MOUNT, signal: MOUNT },
  'blockdev-mknod': { lsm: ['lsm_path_mknod'], cgroup: ['device_access'] },
  'blockdev-open': { cgroup: ['device_access'] },
  'umh-container-exec': { lsm: ['lsm_bprm_check'], signal: ['exec_sched_exec', ...FILES] },
  'quarantined-task': { signal: ['exec_sched_exec', 'exec_sched_fork', 'quar_sys_enter'] },
  'setns-host': { lsm: ['lsm_file_open', 'ns_setns'], signal: ['ns_setns', ...FILES] },
  'foreign-mount-open': { lsm: ['lsm_file_open'], signal: FILES },
  'signal-host': { lsm: ['lsm_task_kill'], signal: ['ns_signal'] },
  'proc-foreign-read': { lsm: ['lsm_file_open'], signal: [...FILES, 'ptrace_vm_read'] },
  'keyctl-host': { lsm: ['lsm_key_perm'], signal: KEYRING },
  'ptrace-foreign': { lsm: ['lsm_ptrace'], signal: ['ptrace_exit', 'ptrace_vm_write', 'ptrace_getfd'] },
  'proc-mem-write': { lsm: ['lsm_file_open'], signal: FILES },
  'cred-rise': { signal: INTEGRITY },
  'host-ns-held': { signal: INTEGRITY },
  'userns-mount': { lsm: LSM_MOUNT, signal: MOUNT },
  'open-by-handle': { signal: ['kernel_ohandle'] },
  'host-root-chroot': { lsm: ['lsm_chroot', 'lsm_pivotroot'], signal: ['kernel_chroot', 'kernel_pivot'] },
  'runtime-binary-write': { lsm: ['lsm_file_open'], signal: FILES },
  'runtime-socket': { lsm: ['lsm_unix_conn'], signal: CONNECT },
  'exec-cwd-outside': { lsm: ['lsm_bprm_check'], signal: EXEC },
  'bpf-load': { lsm: ['lsm_bpf'], signal: ['kernel_bpf'] },
  'kernel-fs-mount': { lsm: LSM_MOUNT, signal: MOUNT },
  'syslog-read': { lsm: ['lsm_syslog', 'lsm_file_open'], signal: ['kernel_syslog', ...FILES] },
  'cgroup-root-move': { lsm: ['lsm_file_open'], signal: FILES },
  'perf-system-wide': { lsm: ['lsm_perf_alloc'], signal: ['kernel_perf'] },
};
