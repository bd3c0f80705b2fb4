// The rule catalogue: every escape rule ACES knows, with the defaults the built-in policy gives it
// and the enforcement mechanisms able to apply it. Ids mirror RULE_* in bpf/api/aces.h (a unit
// test reads the header and compares both ways); names are what users write in a policy and
// must never change once released.
import type { ActionName, Level } from './policy-schema.js';

export const RULE_CGROUP_V1_MOUNT = 1;
export const RULE_RELEASE_AGENT_WRITE = 2;
export const RULE_RELEASE_AGENT_READ = 3;
export const RULE_SYSCTL_HOST_WRITE = 4;
export const RULE_BINFMT_MISC_WRITE = 5;
export const RULE_SYSRQ_TRIGGER_WRITE = 6;
export const RULE_BLOCKDEV_MOUNT = 7;
export const RULE_BLOCKDEV_MKNOD = 8;
export const RULE_BLOCKDEV_OPEN = 9;
export const RULE_UMH_CONTAINER_EXEC = 10;
export const RULE_QUARANTINED_TASK = 11;
export const RULE_SETNS_HOST = 12;
export const RULE_FOREIGN_MOUNT_OPEN = 13;
export const RULE_SIGNAL_HOST = 14;
export const RULE_PROC_FOREIGN_READ = 15;
export const RULE_KEYCTL_HOST = 16;
export const RULE_PTRACE_FOREIGN = 17;
export const RULE_PROC_MEM_WRITE = 18;
export const RULE_CRED_RISE = 19;
export const RULE_HOST_NS_HELD = 20;
export const RULE_USERNS_MOUNT = 21;
export const RULE_OPEN_BY_HANDLE = 22;
export const RULE_HOST_ROOT_CHROOT = 23;
export const RULE_RUNTIME_BINARY_WRITE = 24;
export const RULE_RUNTIME_SOCKET = 25;
export const RULE_EXEC_CWD_OUTSIDE = 26;
export const RULE_BPF_LOAD = 27;
export const RULE_KERNEL_FS_MOUNT = 28;
export const RULE_SYSLOG_READ = 29;
export const RULE_CGROUP_ROOT_MOVE = 30;
export const RULE_PERF_SYSTEM_WIDE = 31;

export type RuleFamily = 'filesystem' | 'namespace' | 'privilege' | 'runtime' | 'kernel';

/**
 * A mechanism that can apply a rule's action (DESIGN §3): `lsm` and `cgroup` deny before the
 * operation, `signal` kills the task before it returns to user space, `detect` only observes.
 */
export type RuleTier = 'lsm' | 'cgroup' | 'signal' | 'detect';

/** Tiers that stop the operation itself rather than the task after it. */
export const DENY_TIERS: readonly RuleTier[] = ['lsm', 'cgroup'];

export interface Rule {
  /** RULE_* id, the index of the rule in the `rule_cfg` map and its bit in exemption masks. */
  readonly id: number;
  /** Stable kebab-case name used in policies and events. */
  readonly name: string;
  readonly title: string;
  readonly family: RuleFamily;
  /** MITRE ATT&CK technique. */
  readonly attack: string;
  readonly defaultLevel: Level;
  readonly defaultAction: ActionName;
  /**
   * The default action where the rule is enforced by a given tier, when it differs from
   * defaultAction: rules that kill or quarantine only because the tracepoint tier cannot refuse
   * the operation deny it where a tier can (the process lives on, the attempt is recorded and a
   * repeat escalates). Used when the policy sets neither the rule's action nor its level's.
   */
  readonly tierDefaultActions?: Readonly<Partial<Record<RuleTier, ActionName>>>;
  /** Tiers that can enforce the rule, most preferred first. */
  readonly tiers: readonly RuleTier[];
  readonly description: string;
}

const T1611 = 'T1611';

export const RULES: readonly Rule[] = deepFreeze([
  {
    id: RULE_CGROUP_V1_MOUNT,
    name: 'cgroup-v1-mount',
    title: 'cgroup-v1 filesystem mounted from a container',
    family: 'filesystem',
    attack: T1611,
    defaultLevel: 2,
    defaultAction: 'kill',
    tierDefaultActions: { lsm: 'deny' },
    tiers: ['lsm', 'signal'],
    description:
      'A container task mounts, or bind-mounts, a cgroup-v1 hierarchy. A writable cgroup-v1 mount ' +
      'gives access to release_agent, the first step of the release_agent escape.',
  },
  {
    id: RULE_RELEASE_AGENT_WRITE,
    name: 'release-agent-write',
    title: 'release_agent or notify_on_release opened for write',
    family: 'filesystem',
    attack: T1611,
    defaultLevel: 2,
    defaultAction: 'kill',
    tierDefaultActions: { lsm: 'deny' },
    tiers: ['lsm', 'signal'],
    description:
      'A container task opens release_agent or notify_on_release for write on a cgroup-v1 ' +
      'filesystem, wherever it is mounted. The kernel runs release_agent as root on the host when ' +
      'the cgroup empties.',
  },
  {
    id: RULE_RELEASE_AGENT_READ,
    name: 'release-agent-read',
    title: 'release_agent opened for read',
    family: 'filesystem',
    attack: T1611,
    defaultLevel: 1,
    defaultAction: 'alert',
    tiers: ['lsm', 'signal'],
    description:
      'A container task reads release_agent: a probe for the release_agent escape that changes nothing.',
  },
  {
    id: RULE_SYSCTL_HOST_WRITE,
    name: 'sysctl-host-write',
    title: 'host-global sysctl written from a container',
    family: 'filesystem',
    attack: T1611,
    defaultLevel: 2,
    defaultAction: 'deny',
    tiers: ['cgroup'],
    description:
      'A container task writes a sysctl that is not namespaced (core_pattern, modprobe, ' +
      'uevent_helper and the like) by any route: a bind-mounted or fresh procfs, a procfs ' +
      'remounted read-write, or io_uring. Decided on the sysctl itself, so the route does not matter.',
  },
  {
    id: RULE_BINFMT_MISC_WRITE,
    name: 'binfmt-misc-write',
    title: 'binfmt_misc file opened for write',
    family: 'filesystem',
    attack: T1611,
    defaultLevel: 2,
    defaultAction: 'kill',
    tierDefaultActions: { lsm: 'deny' },
    tiers: ['lsm', 'signal'],
    description:
      'A container task opens a binfmt_misc file (register, status or an entry) for write. A ' +
      'registered handler is run by the host kernel for matching binaries, host ones included.',
  },
  {
    id: RULE_SYSRQ_TRIGGER_WRITE,
    name: 'sysrq-trigger-write',
    title: '/proc/sysrq-trigger opened for write',
    family: 'filesystem',
    attack: T1611,
    defaultLevel: 2,
    defaultAction: 'kill',
    tierDefaultActions: { lsm: 'deny' },
    tiers: ['lsm', 'signal'],
    description:
      'A container task opens /proc/sysrq-trigger for write, which can crash, reboot or freeze the host.',
  },
  {
    id: RULE_BLOCKDEV_MOUNT,
    name: 'blockdev-mount',
    title: 'block-device filesystem mounted from a container',
    family: 'filesystem',
    attack: T1611,
    defaultLevel: 2,
    defaultAction: 'quarantine',
    tierDefaultActions: { lsm: 'deny' },
    tiers: ['lsm', 'signal'],
    description:
      'A container task mounts a filesystem backed by a block device, typically the host disk. ' +
      'Where BPF LSM is active the mount is refused before it exists. Without a tier that can ' +
      'deny, the mount cannot be stopped and outlives the task, so the container is quarantined: ' +
      'its mount namespace, and the host disk mounted in it, goes away with its last process.',
  },
  {
    id: RULE_BLOCKDEV_MKNOD,
    name: 'blockdev-mknod',
    title: 'block device node created in a container',
    family: 'filesystem',
    attack: T1611,
    defaultLevel: 2,
    defaultAction: 'deny',
    tiers: ['lsm', 'cgroup'],
    description: 'A container task creates a block device node with mknod, to reach a host disk directly.',
  },
  {
    id: RULE_BLOCKDEV_OPEN,
    name: 'blockdev-open',
    title: 'block device opened from a container',
    family: 'filesystem',
    attack: T1611,
    defaultLevel: 2,
    defaultAction: 'deny',
    tiers: ['cgroup'],
    description:
      'A container task opens a block device for raw read or write, e.g. to read the host ' +
      'filesystem with debugfs or to patch it.',
  },
  {
    id: RULE_UMH_CONTAINER_EXEC,
    name: 'umh-container-exec',
    title: 'host usermode helper executing a container file',
    family: 'filesystem',
    attack: T1611,
    defaultLevel: 3,
    defaultAction: 'quarantine',
    tiers: ['lsm', 'signal'],
    description:
      'A host usermode helper (release_agent, a core_pattern pipe, a binfmt_misc handler) is about ' +
      'to execute a file that lives in a container root filesystem or image layer: the host is ' +
      'about to run code the container planted, as root.',
  },
  {
    id: RULE_QUARANTINED_TASK,
    name: 'quarantined-task',
    title: 'task of a quarantined container stopped',
    family: 'filesystem',
    attack: T1611,
    defaultLevel: 3,
    defaultAction: 'kill',
    tiers: ['signal'],
    description:
      'A task of a container under quarantine entered the kernel or tried to start, and was stopped.',
  },
  {
    id: RULE_SETNS_HOST,
    name: 'setns-host',
    title: 'setns into a namespace of a task outside the container',
    family: 'namespace',
    attack: T1611,
    defaultLevel: 2,
    defaultAction: 'kill',
    tiers: ['lsm', 'signal'],
    tierDefaultActions: { lsm: 'deny' },
    description:
      'A container task calls setns() with a namespace file of the host (/proc/<pid>/ns/*, judged by the namespace inode) or a pidfd of a task outside its container: nsenter into the host. It dies before it returns to user space, so nothing of it runs in the host namespaces.',
  },
  {
    id: RULE_FOREIGN_MOUNT_OPEN,
    name: 'foreign-mount-open',
    title: 'file opened through a mount outside the container',
    family: 'namespace',
    attack: T1611,
    defaultLevel: 2,
    defaultAction: 'kill',
    tiers: ['lsm', 'signal'],
    tierDefaultActions: { lsm: 'deny' },
    description:
      'A container task opens a regular file or directory that lives on a mount of another mount namespace, e.g. through /proc/<pid>/root or /proc/<pid>/cwd of a host task, or a leaked host directory fd.',
  },
  {
    id: RULE_SIGNAL_HOST,
    name: 'signal-host',
    title: 'signal sent to a task outside the container',
    family: 'namespace',
    attack: T1611,
    defaultLevel: 2,
    defaultAction: 'kill',
    tiers: ['lsm', 'signal'],
    tierDefaultActions: { lsm: 'deny' },
    description:
      'A container task sends a signal (kill, tkill, sigqueue, pidfd_send_signal) to a task outside its container, e.g. with --pid host. Kernel-generated signals (SIGCHLD to the runtime) are not counted. On the lsm tier the signal is refused before it is queued; without LSM it cannot be refused and the sender dies.',
  },
  {
    id: RULE_PROC_FOREIGN_READ,
    name: 'proc-foreign-read',
    title: '/proc of a task outside the container read',
    family: 'namespace',
    attack: T1611,
    defaultLevel: 1,
    defaultAction: 'alert',
    tiers: ['lsm', 'signal'],
    description:
      'A container task reads environ, cmdline, maps, auxv, stack, syscall or mem of a task outside its container (--pid host): reconnaissance and secret theft.',
  },
  {
    id: RULE_KEYCTL_HOST,
    name: 'keyctl-host',
    title: 'kernel keyring used from a container',
    family: 'namespace',
    attack: T1611,
    defaultLevel: 2,
    defaultAction: 'kill',
    tiers: ['lsm', 'signal'],
    tierDefaultActions: { lsm: 'deny' },
    description:
      "A container task in the initial user namespace calls keyctl, add_key or request_key: the keyring is not namespaced, so uid 0 in the container reaches host root's keys.",
  },
  {
    id: RULE_PTRACE_FOREIGN,
    name: 'ptrace-foreign',
    title: 'ptrace of a task outside the container',
    family: 'privilege',
    attack: T1611,
    defaultLevel: 2,
    defaultAction: 'kill',
    tiers: ['lsm', 'signal'],
    tierDefaultActions: { lsm: 'deny' },
    description:
      'A container task attaches to (or seizes) a task outside its container with ptrace. It dies before any PEEK/POKE, and its death detaches the tracee.',
  },
  {
    id: RULE_PROC_MEM_WRITE,
    name: 'proc-mem-write',
    title: '/proc/<pid>/mem of a task outside the container opened for write',
    family: 'privilege',
    attack: T1611,
    defaultLevel: 2,
    defaultAction: 'kill',
    tiers: ['lsm', 'signal'],
    tierDefaultActions: { lsm: 'deny' },
    description:
      'A container task opens /proc/<pid>/mem of a task outside its container for write: code injection without ptrace.',
  },
  {
    id: RULE_CRED_RISE,
    name: 'cred-rise',
    title: 'credentials rose with no legitimate transition',
    family: 'privilege',
    attack: T1611,
    defaultLevel: 3,
    defaultAction: 'quarantine',
    tiers: ['signal'],
    description:
      "A container task's uid or permitted capabilities rose with no secure exec (setuid, setgid, file capabilities) and no privilege that allows it: the signature of a kernel exploit (commit_creds). Checked at every hook the task passes.",
  },
  {
    id: RULE_HOST_NS_HELD,
    name: 'host-ns-held',
    title: "container task holding the host's mount namespace or root",
    family: 'privilege',
    attack: T1611,
    defaultLevel: 3,
    defaultAction: 'quarantine',
    tiers: ['signal'],
    description:
      "A container task now holds the host's mount namespace or the host's root directory, which it did not at its last legitimate transition: a namespace swap by a kernel exploit, or a chroot into a bind-mounted host root.",
  },
  {
    id: RULE_USERNS_MOUNT,
    name: 'userns-mount',
    title: 'overlayfs or FUSE mounted in a user namespace made in a container',
    family: 'privilege',
    attack: T1611,
    defaultLevel: 2,
    defaultAction: 'kill',
    tiers: ['lsm', 'signal'],
    tierDefaultActions: { lsm: 'deny' },
    description:
      'A container task mounts overlayfs or FUSE inside a user namespace it created (unshare -U): the set-up of several privilege-escalation exploits (CVE-2021-3493, CVE-2023-0386). tmpfs, proc and the like stay allowed for sandboxes.',
  },
  {
    id: RULE_OPEN_BY_HANDLE,
    name: 'open-by-handle',
    title: 'open_by_handle_at from a container',
    family: 'filesystem',
    attack: T1611,
    defaultLevel: 2,
    defaultAction: 'kill',
    tiers: ['signal'],
    description:
      'A container task calls open_by_handle_at (needs CAP_DAC_READ_SEARCH): the shocker exploit opens host files by brute-forced file handles.',
  },
  {
    id: RULE_HOST_ROOT_CHROOT,
    name: 'host-root-chroot',
    title: "chroot or pivot_root into the host's root",
    family: 'filesystem',
    attack: T1611,
    defaultLevel: 2,
    defaultAction: 'kill',
    tiers: ['lsm', 'signal'],
    tierDefaultActions: { lsm: 'deny' },
    description:
      "A container task makes the host's root directory its root (chroot /host with -v /:/host), to run host binaries as if on the host.",
  },
  {
    id: RULE_RUNTIME_BINARY_WRITE,
    name: 'runtime-binary-write',
    title: 'container runtime binary opened for write',
    family: 'runtime',
    attack: T1611,
    defaultLevel: 2,
    defaultAction: 'kill',
    tiers: ['lsm', 'signal'],
    tierDefaultActions: { lsm: 'deny' },
    description:
      "A container task opens a runtime binary (runc, containerd, containerd-shim, dockerd, crun, conmon ...) for write, judged by its inode: CVE-2019-5736 through /proc/<pid>/exe, or a bind mount of the host's binaries.",
  },
  {
    id: RULE_RUNTIME_SOCKET,
    name: 'runtime-socket',
    title: 'connection to a container runtime socket',
    family: 'runtime',
    attack: T1611,
    defaultLevel: 2,
    defaultAction: 'kill',
    tiers: ['lsm', 'signal'],
    tierDefaultActions: { lsm: 'deny' },
    description:
      'A container task connects to docker.sock, containerd.sock, crio.sock or podman.sock, judged by the inode of the listening socket, whatever its path in the container; also through io_uring.',
  },
  {
    id: RULE_EXEC_CWD_OUTSIDE,
    name: 'exec-cwd-outside',
    title: 'program started with its cwd or root outside the container',
    family: 'runtime',
    attack: T1611,
    defaultLevel: 3,
    defaultAction: 'quarantine',
    tiers: ['lsm', 'signal'],
    description:
      'A container task executes a program while its working directory or root lies on a mount outside its mount namespace: the CVE-2024-21626 shape (a leaked host directory fd as WORKDIR).',
  },
  {
    id: RULE_BPF_LOAD,
    name: 'bpf-load',
    title: 'BPF program loaded from a container',
    family: 'kernel',
    attack: T1611,
    defaultLevel: 2,
    defaultAction: 'kill',
    tiers: ['lsm', 'signal'],
    tierDefaultActions: { lsm: 'deny' },
    description:
      'A container task calls bpf(BPF_PROG_LOAD): programs run in the shared kernel.',
  },
  {
    id: RULE_KERNEL_FS_MOUNT,
    name: 'kernel-fs-mount',
    title: 'tracefs, debugfs, securityfs, binfmt_misc or bpffs mounted from a container',
    family: 'kernel',
    attack: T1611,
    defaultLevel: 2,
    defaultAction: 'kill',
    tiers: ['lsm', 'signal'],
    tierDefaultActions: { lsm: 'deny' },
    description:
      'A container task mounts a kernel interface filesystem: tracefs, debugfs, securityfs, binfmt_misc or bpffs.',
  },
  {
    id: RULE_SYSLOG_READ,
    name: 'syslog-read',
    title: 'host kernel log read from a container',
    family: 'kernel',
    attack: T1611,
    defaultLevel: 2,
    defaultAction: 'kill',
    tiers: ['lsm', 'signal'],
    tierDefaultActions: { lsm: 'deny' },
    description:
      "A container task reads or clears the host's kernel log with syslog(2) or opens /proc/kmsg.",
  },
  {
    id: RULE_CGROUP_ROOT_MOVE,
    name: 'cgroup-root-move',
    title: 'container task moving into a root cgroup',
    family: 'kernel',
    attack: T1611,
    defaultLevel: 2,
    defaultAction: 'kill',
    tiers: ['lsm', 'signal'],
    tierDefaultActions: { lsm: 'deny' },
    description:
      "A container task opens cgroup.procs, tasks or cgroup.threads of a cgroup hierarchy's root for write: leaving its container's cgroups and their limits.",
  },
  {
    id: RULE_PERF_SYSTEM_WIDE,
    name: 'perf-system-wide',
    title: 'system-wide perf_event_open from a container',
    family: 'kernel',
    attack: T1611,
    defaultLevel: 2,
    defaultAction: 'kill',
    tiers: ['lsm', 'signal'],
    tierDefaultActions: { lsm: 'deny' },
    description:
      'A container task opens a perf event for every task of a CPU (pid -1).',
  },
] satisfies Rule[]);

const byName = new Map(RULES.map((r) => [r.name, r]));
const byId = new Map(RULES.map((r) => [r.id, r]));

/** The catalogue rule called `name`, or undefined. */
export function ruleByName(name: string): Rule | undefined {
  return byName.get(name);
}

/** The catalogue rule with RULE_* id `id`, or undefined. */
export function ruleById(id: number): Rule | undefined {
  return byId.get(id);
}

/** True when one of the rule's tiers can stop the operation before it happens. */
export function ruleCanDeny(rule: Rule): boolean {
  return rule.tiers.some((t) => DENY_TIERS.includes(t));
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
