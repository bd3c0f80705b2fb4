/** Wire structs of bpf/api/aces.h, described once for decoding, encoding and the layout test. */
import { StructCodec } from './struct-codec.js';
import { ACES_COMM_LEN, ACES_NAME_LEN } from './constants.js';

export interface RawEvent extends Record<string, number | bigint | string> {
  kind: number; version: number; rule: number; level: number; base_level: number; action: number;
  policy_action: number; tier: number; flags: number; suppressed: number; seq: bigint; ts_entry: bigint;
  ts_decision: bigint; container_key: bigint; pid: number; tgid: number; ppid: number; uid: number;
  euid: number; pidns: number; mntns: number; obj_dev: number; obj_ino: bigint; obj_magic: number;
  obj_flags: number; syscall_ret: number; pad1: number; comm: string; name: string;
}

export const aces_event = new StructCodec<RawEvent>('aces_event', [
  { name: 'kind', type: 'u16' }, { name: 'version', type: 'u16' }, { name: 'rule', type: 'u16' },
  { name: 'level', type: 'u8' }, { name: 'base_level', type: 'u8' }, { name: 'action', type: 'u8' },
  { name: 'policy_action', type: 'u8' }, { name: 'tier', type: 'u8' }, { name: 'flags', type: 'u8' },
  { name: 'suppressed', type: 'u32' }, { name: 'seq', type: 'u64' }, { name: 'ts_entry', type: 'u64' },
  { name: 'ts_decision', type: 'u64' }, { name: 'container_key', type: 'u64' },
  { name: 'pid', type: 'u32' }, { name: 'tgid', type: 'u32' }, { name: 'ppid', type: 'u32' },
  { name: 'uid', type: 'u32' }, { name: 'euid', type: 'u32' }, { name: 'pidns', type: 'u32' },
  { name: 'mntns', type: 'u32' }, { name: 'obj_dev', type: 'u32' }, { name: 'obj_ino', type: 'u64' },
  { name: 'obj_magic', type: 'u32' }, { name: 'obj_flags', type: 'u32' },
  { name: 'syscall_ret', type: 's32' }, { name: 'pad1', type: 'u32' },
  { name: 'comm', type: { char: ACES_COMM_LEN } }, { name: 'name', type: { char: ACES_NAME_LEN } },
]);

export interface RawExit extends Record<string, number | bigint> {
  kind: number; version: number; pid: number; seq: bigint; ts_exit: bigint;
}
export const aces_exit = new StructCodec<RawExit>('aces_exit', [
  { name: 'kind', type: 'u16' }, { name: 'version', type: 'u16' }, { name: 'pid', type: 'u32' },
  { name: 'seq', type: 'u64' }, { name: 'ts_exit', type: 'u64' },
]);

export interface RawContainer extends Record<string, number | bigint> {
  kind: number; version: number; tgid: number; container_key: bigint; pidns: number; mntns: number; ts: bigint;
}
export const aces_container = new StructCodec<RawContainer>('aces_container', [
  { name: 'kind', type: 'u16' }, { name: 'version', type: 'u16' }, { name: 'tgid', type: 'u32' },
  { name: 'container_key', type: 'u64' }, { name: 'pidns', type: 'u32' }, { name: 'mntns', type: 'u32' },
  { name: 'ts', type: 'u64' },
]);

export interface RawCgroup extends Record<string, number | bigint | string> {
  kind: number; version: number; hierarchy_id: number; cgroup_id: bigint; ts: bigint; path: string;
}
export const aces_cgroup = new StructCodec<RawCgroup>('aces_cgroup', [
  { name: 'kind', type: 'u16' }, { name: 'version', type: 'u16' }, { name: 'hierarchy_id', type: 'u32' },
  { name: 'cgroup_id', type: 'u64' }, { name: 'ts', type: 'u64' }, { name: 'path', type: { char: 256 } },
]);

export interface RawConfig extends Record<string, number | bigint | number[]> {
  mode: number; key_source: number; key_subsys_id: number; wakeup_level: number;
  offender_ttl_ns: bigint; quarantine_on: number; level_action: number[]; host_ctrs: number;
  host_root_dev: number; host_root_ino: bigint; host_mntns: number; alert_rate: number;
}
export const aces_config = new StructCodec<RawConfig>('aces_config', [
  { name: 'mode', type: 'u32' }, { name: 'key_source', type: 'u32' }, { name: 'key_subsys_id', type: 'u32' },
  { name: 'wakeup_level', type: 'u32' }, { name: 'offender_ttl_ns', type: 'u64' },
  { name: 'quarantine_on', type: 'u32' }, { name: 'level_action', type: { u8array: 4 } },
  { name: 'host_ctrs', type: 'u32' }, { name: 'host_root_dev', type: 'u32' }, { name: 'host_root_ino', type: 'u64' },
  { name: 'host_mntns', type: 'u32' }, { name: 'alert_rate', type: 'u32' },
]);

export interface RawRuleCfg extends Record<string, number> {
  enabled: number; level: number; action: number; tier: number; pad1: number;
}
export const aces_rule_cfg = new StructCodec<RawRuleCfg>('aces_rule_cfg', [
  { name: 'enabled', type: 'u8' }, { name: 'level', type: 'u8' }, { name: 'action', type: 'u8' },
  { name: 'tier', type: 'u8' }, { name: 'pad1', type: 'u32' },
]);

export interface RawOffenderKey extends Record<string, number | bigint> { kind: number; pad0: number; id: bigint }
export const aces_offender_key = new StructCodec<RawOffenderKey>('aces_offender_key', [
  { name: 'kind', type: 'u32' }, { name: 'pad0', type: 'u32' }, { name: 'id', type: 'u64' },
]);

export interface RawOffender extends Record<string, number | bigint> {
  first_ns: bigint; last_ns: bigint; count: number; rule: number; level: number; pad0: number;
  obj_dev: number; obj_flags: number; obj_ino: bigint;
}
export const aces_offender = new StructCodec<RawOffender>('aces_offender', [
  { name: 'first_ns', type: 'u64' }, { name: 'last_ns', type: 'u64' }, { name: 'count', type: 'u32' },
  { name: 'rule', type: 'u16' }, { name: 'level', type: 'u8' }, { name: 'pad0', type: 'u8' },
  { name: 'obj_dev', type: 'u32' }, { name: 'obj_flags', type: 'u32' }, { name: 'obj_ino', type: 'u64' },
]);

export interface RawCtrFsKey extends Record<string, number | bigint> { kind: number; dev: number; ino: bigint }
export const aces_ctr_fs_key = new StructCodec<RawCtrFsKey>('aces_ctr_fs_key', [
  { name: 'kind', type: 'u32' }, { name: 'dev', type: 'u32' }, { name: 'ino', type: 'u64' },
]);

export interface RawFileKey extends Record<string, number | bigint> { kind: number; dev: number; ino: bigint }
export const aces_file_key = new StructCodec<RawFileKey>('aces_file_key', [
  { name: 'kind', type: 'u32' }, { name: 'dev', type: 'u32' }, { name: 'ino', type: 'u64' },
]);

/** Every struct the layout test checks against the BTF of bpf/build/layout.bpf.o. */
export const WIRE_STRUCTS = [
  aces_event, aces_exit, aces_container, aces_config, aces_rule_cfg, aces_offender_key, aces_offender,
  aces_ctr_fs_key, aces_file_key, aces_cgroup,
] as const;
