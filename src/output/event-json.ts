/**
 * The one place where internal camelCase objects become the external snake_case JSON of
 * docs/events.md. Every line carries `schema` so consumers can tell versions apart.
 */
import type { KernelEvent } from '../wire/decode-record.js';

export const EVENT_SCHEMA = 'aces.event/v1';

export interface RuleMeta {
  readonly id: number;
  readonly name: string;
  readonly title: string;
  readonly attack: string;
}

export interface ContainerInfo {
  readonly key: bigint;
  readonly runtime: string;
  readonly id?: string;
  readonly name?: string;
  readonly image?: string;
  readonly labels?: Record<string, string>;
  readonly podUid?: string;
  readonly podName?: string;
  readonly namespace?: string;
  readonly cgroupPath?: string;
}

export interface EnrichedEvent {
  readonly event: KernelEvent;
  readonly rule: RuleMeta;
  readonly container: ContainerInfo | null;
  readonly mode: 'enforce' | 'monitor';
  /** Kernel time the killed task exited, when the action killed and the exit was seen. */
  readonly tsExit?: bigint;
  /** Wall-clock time the daemon received the record. */
  readonly receivedAt: Date;
  /** What user space did on top of the kernel (sweep, user-space kill for cgroup-tier kills). */
  readonly response?: readonly string[];
}

const LEVEL_NAMES = ['none', 'probe', 'attempt', 'breach'];

const MAGIC_NAMES: Record<number, string> = {
  0x27e0eb: 'cgroup', 0x63677270: 'cgroup2', 0x9fa0: 'proc', 0x62656572: 'sysfs', 0x42494e4d: 'binfmt_misc',
  0x794c7630: 'overlay', 0xef53: 'ext4', 0x58465342: 'xfs', 0x9123683e: 'btrfs', 0x01021994: 'tmpfs',
};

function str(v: bigint | undefined): string | undefined {
  return v === undefined ? undefined : v.toString();
}

export function eventToJson(e: EnrichedEvent): Record<string, unknown> {
  const ev = e.event;
  const c = e.container;
  const decisionNs = ev.tsDecision - ev.tsEntry;
  return {
    schema: EVENT_SCHEMA,
    kind: 'event',
    time: e.receivedAt.toISOString(),
    seq: ev.seq.toString(),
    rule: e.rule.name,
    rule_id: e.rule.id,
    title: e.rule.title,
    attack: e.rule.attack,
    level: ev.level,
    level_name: LEVEL_NAMES[ev.level] ?? String(ev.level),
    base_level: ev.baseLevel,
    action: ev.action,
    policy_action: ev.policyAction,
    tier: ev.tier,
    mode: e.mode,
    monitor: ev.monitor,
    decided_by: ev.fastPath ? 'fast_path' : 'full_check',
    suppressed: ev.suppressed,
    via: ev.ioUring ? 'io_uring' : 'syscall',
    offender: ev.offender,
    escalated: ev.escalated,
    recorded: ev.recorded,
    process: {
      pid: ev.tgid,
      tid: ev.pid,
      ppid: ev.ppid,
      comm: ev.comm,
      uid: ev.uid,
      euid: ev.euid,
      pidns: ev.pidns,
      mntns: ev.mntns,
      host_task: ev.hostTask,
    },
    container: c
      ? {
          key: c.key.toString(),
          runtime: c.runtime,
          id: c.id,
          name: c.name,
          image: c.image,
          labels: c.labels,
          pod_uid: c.podUid,
          pod_name: c.podName,
          namespace: c.namespace,
          cgroup: c.cgroupPath,
        }
      : null,
    object: {
      name: ev.name || undefined,
      fs: ev.objMagic ? MAGIC_NAMES[ev.objMagic] ?? `0x${ev.objMagic.toString(16)}` : undefined,
      fs_magic: ev.objMagic ? `0x${ev.objMagic.toString(16)}` : undefined,
      dev: ev.objDev ? `${ev.objDev.major}:${ev.objDev.minor}` : undefined,
      ino: ev.objIno ? ev.objIno.toString() : undefined,
      flags: ev.objFlags,
      result: ev.syscallRet,
    },
    kernel_ns: {
      entry: ev.tsEntry.toString(),
      decision: ev.tsDecision.toString(),
      exit: str(e.tsExit),
    },
    latency_ns: {
      decision: Number(decisionNs),
      decision_to_exit: e.tsExit !== undefined ? Number(e.tsExit - ev.tsDecision) : undefined,
    },
    response: e.response && e.response.length ? e.response : undefined,
  };
}

export function toJsonLine(obj: Record<string, unknown>): string {
  return JSON.stringify(obj, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)) + '\n';
}
