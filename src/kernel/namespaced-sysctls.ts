import { readdirSync } from 'node:fs';
import { join } from 'node:path';

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

/**
 * The sysctls whose base name makes bpf/sysctl.bpf.c read the full name before its verdict: the
 * single entries above, and what the host has under user/ and fs/mqueue/ (kernels before 5.19
 * keep the mqueue tables, and old ones the user ones, in the host-wide table set, where only the
 * full name tells them from host settings). net/ is left out: its tables are registered per
 * network namespace on every kernel, which the hook sees without a name, and its thousands of
 * names would fill the filter.
 */
export function namespacedSysctlsByBaseName(procSys = '/proc/sys'): string[] {
  const out = [...NAMESPACED_SYSCTLS];
  for (const dir of ['user', 'fs/mqueue']) {
    let entries: string[] = [];
    try {
      entries = readdirSync(join(procSys, dir));
    } catch {
      continue; // no such family on this kernel (CONFIG_POSIX_MQUEUE off): nothing to list
    }
    for (const e of entries) out.push(`${dir}/${e}`);
  }
  return out;
}
