/**
 * Sysctls that belong to a namespace a container owns, so writing them from a container changes
 * nothing outside it (docker --sysctl, kubernetes safe and unsafe namespaced sysctls). Names are
 * spelled as bpf_sysctl_get_name() gives them. The families net/, user/ and fs/mqueue/ are
 * matched by prefix in bpf/sysctl.bpf.c; these are the single entries of other families.
 */
export const NAMESPACED_SYSCTLS: readonly string[] = [
  // IPC namespace
  'kernel/shmmax', 'kernel/shmall', 'kernel/shmmni', 'kernel/shm_rmid_forced', 'kernel/shm_next_id',
  'kernel/msgmax', 'kernel/msgmni', 'kernel/msgmnb', 'kernel/msg_next_id', 'kernel/sem', 'kernel/sem_next_id',
  'kernel/auto_msgmni',
  // UTS namespace
  'kernel/hostname', 'kernel/domainname',
  // pid namespace
  'kernel/ns_last_pid',
];

/** Prefixes that bpf/sysctl.bpf.c allows without a map lookup (kept here for docs and tests). */
export const NAMESPACED_SYSCTL_PREFIXES: readonly string[] = ['net/', 'user/', 'fs/mqueue/'];
