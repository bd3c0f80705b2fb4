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

export type RuleFamily = 'filesystem';

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
    tiers: ['signal'],
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
    tiers: ['signal'],
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
    tiers: ['signal'],
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
    tiers: ['signal'],
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
    tiers: ['signal'],
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
    tiers: ['signal'],
    description:
      'A container task mounts a filesystem backed by a block device, typically the host disk. ' +
      'Without a tier that can deny, the mount cannot be stopped and outlives the task, so the ' +
      'container is quarantined: its mount namespace, and the host disk mounted in it, goes away ' +
      'with its last process.',
  },
  {
    id: RULE_BLOCKDEV_MKNOD,
    name: 'blockdev-mknod',
    title: 'block device node created in a container',
    family: 'filesystem',
    attack: T1611,
    defaultLevel: 2,
    defaultAction: 'deny',
    tiers: ['cgroup'],
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
    tiers: ['signal'],
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
