/** Mirrors of bpf/api/aces.h. Same spelling as the C side so that one grep finds both. */

export const ACES_WIRE_VERSION = 1;

export const REC_EVENT = 1;
export const REC_EXIT = 2;
export const REC_CONTAINER = 3;
export const REC_CGROUP = 4;

export const RULE_MAX = 64;

export const LEVEL_PROBE = 1;
export const LEVEL_ATTEMPT = 2;
export const LEVEL_BREACH = 3;

export const ACT_ALERT = 1;
export const ACT_DENY = 2;
export const ACT_KILL = 3;
export const ACT_QUARANTINE = 4;

export const TIER_LSM = 1;
export const TIER_CGROUP = 2;
export const TIER_SIGNAL = 3;

export const EVF_MONITOR = 1 << 0;
export const EVF_FAST_PATH = 1 << 1;
export const EVF_OFFENDER = 1 << 2;
export const EVF_ESCALATED = 1 << 3;
export const EVF_RECORDED = 1 << 4;
export const EVF_HOST_TASK = 1 << 5;
export const EVF_IO_URING = 1 << 6;

export const KEY_CGROUP_V2 = 0;
export const KEY_CGROUP_V1 = 1;

export const MODE_ENFORCE = 0;
export const MODE_MONITOR = 1;

export const DROP_RINGBUF = 0;
export const DROP_OFFENDER = 1;
export const DROP_QUARANTINE = 2;
export const DROP_KILL_PENDING = 3;
export const DROP_CONTAINER = 4;
export const DROP_SETUP = 5;
/** Not losses: alert-only events folded into their container's next event's `suppressed`, by the
 * per-container rate limit or because the ring's last quarter is kept for decisions. */
export const DROP_RATE_LIMITED = 6;
export const DROP_RINGBUF_HEADROOM = 7;
export const DROP_MAX = 8;
export const DROP_NAMES = [
  'ringbuf', 'offender', 'quarantine', 'kill_pending', 'container', 'setup', 'rate_limited', 'ringbuf_headroom',
] as const;

export const OFFENDER_PROCESS = 1;
export const OFFENDER_CONTAINER = 2;

export const RUNTIME_BINARY = 1;
export const RUNTIME_SOCKET = 2;

export const CTR_FS_SUPER = 1;
export const CTR_FS_LAYER = 2;

export const ACES_COMM_LEN = 16;
export const ACES_NAME_LEN = 64;

/** Presence filters (aces.h "Presence filters", bpf/lib/presence.bpf.h). */
export const ACES_FILTER_LOG2 = 12;
export const ACES_FILTER_WORDS = (1 << ACES_FILTER_LOG2) / 64;
export const ACES_FILTER_MULT = 0x9E3779B97F4A7C15n;
export const FILTER_SALT_EXEMPT = 1;
export const FILTER_SALT_SYSCTL = 2;
export const FILTER_SALT_SYSCTL_BASE = 3;
export const ACES_FILTER_NAME_BYTES = 16;

export type ActionName = 'alert' | 'deny' | 'kill' | 'quarantine';
export const ACTION_NAMES: Record<number, ActionName> = {
  [ACT_ALERT]: 'alert',
  [ACT_DENY]: 'deny',
  [ACT_KILL]: 'kill',
  [ACT_QUARANTINE]: 'quarantine',
};
export const ACTION_IDS: Record<ActionName, number> = {
  alert: ACT_ALERT,
  deny: ACT_DENY,
  kill: ACT_KILL,
  quarantine: ACT_QUARANTINE,
};
export type TierName = 'lsm' | 'cgroup' | 'signal';
export const TIER_NAMES: Record<number, TierName> = {
  [TIER_LSM]: 'lsm',
  [TIER_CGROUP]: 'cgroup',
  [TIER_SIGNAL]: 'signal',
};
