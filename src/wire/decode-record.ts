/**
 * Ring-buffer record -> typed record. The hot path never throws: a record that cannot be
 * decoded comes back as { type: 'invalid' } and the caller counts it.
 */
import {
  ACES_WIRE_VERSION, ACTION_NAMES, REC_CGROUP, REC_CONTAINER, REC_EVENT, REC_EXIT, TIER_NAMES,
  EVF_MONITOR, EVF_FAST_PATH, EVF_OFFENDER, EVF_ESCALATED, EVF_RECORDED, EVF_HOST_TASK, EVF_IO_URING,
  type ActionName, type TierName,
} from './constants.js';
import { aces_cgroup, aces_container, aces_event, aces_exit } from './records.js';

export interface KernelEvent {
  type: 'event';
  seq: bigint;
  rule: number;
  level: number;
  baseLevel: number;
  action: ActionName;
  policyAction: ActionName;
  tier: TierName;
  monitor: boolean;
  fastPath: boolean;
  /** Alert-only events of this container the kernel's rate limiter held back since its last written event. */
  suppressed: number;
  offender: boolean;
  escalated: boolean;
  recorded: boolean;
  hostTask: boolean;
  ioUring: boolean;
  tsEntry: bigint;
  tsDecision: bigint;
  containerKey: bigint;
  pid: number;
  tgid: number;
  ppid: number;
  uid: number;
  euid: number;
  pidns: number;
  mntns: number;
  comm: string;
  objDev: { major: number; minor: number } | null;
  objIno: bigint;
  objMagic: number;
  objFlags: number;
  syscallRet: number;
  name: string;
}

export interface KernelExit {
  type: 'exit';
  pid: number;
  seq: bigint;
  tsExit: bigint;
}

export interface KernelContainer {
  type: 'container';
  tgid: number;
  containerKey: bigint;
  pidns: number;
  mntns: number;
  ts: bigint;
}

export interface KernelCgroup {
  type: 'cgroup';
  hierarchyId: number;
  cgroupId: bigint;
  ts: bigint;
  path: string;
}

export interface InvalidRecord {
  type: 'invalid';
  reason: string;
}

export type KernelRecord = KernelEvent | KernelExit | KernelContainer | KernelCgroup | InvalidRecord;

/** Kernel-internal dev_t: MKDEV(ma, mi) = ma << 20 | mi. */
export function splitDev(dev: number): { major: number; minor: number } | null {
  if (dev === 0) return null;
  return { major: dev >>> 20, minor: dev & 0xfffff };
}

export function decodeRecord(buf: Buffer): KernelRecord {
  if (buf.length < 4) return { type: 'invalid', reason: `record of ${buf.length} bytes` };
  const kind = buf.readUInt16LE(0);
  const version = buf.readUInt16LE(2);
  if (version !== ACES_WIRE_VERSION) return { type: 'invalid', reason: `wire version ${version}` };
  switch (kind) {
    case REC_EVENT: {
      if (buf.length < aces_event.size) return { type: 'invalid', reason: 'short event' };
      const r = aces_event.decode(buf);
      const action = ACTION_NAMES[r.action];
      const policyAction = ACTION_NAMES[r.policy_action];
      const tier = TIER_NAMES[r.tier];
      if (!action || !policyAction || !tier) return { type: 'invalid', reason: `bad verdict ${r.action}/${r.policy_action}/${r.tier}` };
      return {
        type: 'event',
        seq: r.seq,
        rule: r.rule,
        level: r.level,
        baseLevel: r.base_level,
        action,
        policyAction,
        tier,
        monitor: (r.flags & EVF_MONITOR) !== 0,
        fastPath: (r.flags & EVF_FAST_PATH) !== 0,
        suppressed: r.suppressed,
        offender: (r.flags & EVF_OFFENDER) !== 0,
        escalated: (r.flags & EVF_ESCALATED) !== 0,
        recorded: (r.flags & EVF_RECORDED) !== 0,
        hostTask: (r.flags & EVF_HOST_TASK) !== 0,
        ioUring: (r.flags & EVF_IO_URING) !== 0,
        tsEntry: r.ts_entry,
        tsDecision: r.ts_decision,
        containerKey: r.container_key,
        pid: r.pid,
        tgid: r.tgid,
        ppid: r.ppid,
        uid: r.uid,
        euid: r.euid,
        pidns: r.pidns,
        mntns: r.mntns,
        comm: r.comm,
        objDev: splitDev(r.obj_dev),
        objIno: r.obj_ino,
        objMagic: r.obj_magic,
        objFlags: r.obj_flags,
        syscallRet: r.syscall_ret,
        name: r.name,
      };
    }
    case REC_EXIT: {
      if (buf.length < aces_exit.size) return { type: 'invalid', reason: 'short exit' };
      const r = aces_exit.decode(buf);
      return { type: 'exit', pid: r.pid, seq: r.seq, tsExit: r.ts_exit };
    }
    case REC_CONTAINER: {
      if (buf.length < aces_container.size) return { type: 'invalid', reason: 'short container' };
      const r = aces_container.decode(buf);
      return { type: 'container', tgid: r.tgid, containerKey: r.container_key, pidns: r.pidns, mntns: r.mntns, ts: r.ts };
    }
    case REC_CGROUP: {
      if (buf.length < aces_cgroup.size) return { type: 'invalid', reason: 'short cgroup' };
      const r = aces_cgroup.decode(buf);
      return { type: 'cgroup', hierarchyId: r.hierarchy_id, cgroupId: r.cgroup_id, ts: r.ts, path: r.path };
    }
    default:
      return { type: 'invalid', reason: `record kind ${kind}` };
  }
}
