// Decoding of ring-buffer records: each record kind, flags, verdict names, and the records the
// decoder must refuse without throwing (short, wrong version, unknown kind, bad verdict).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeRecord, splitDev } from '../../src/wire/decode-record.js';
import { aces_container, aces_event, aces_exit } from '../../src/wire/records.js';
import {
  ACES_WIRE_VERSION, ACT_KILL, ACT_QUARANTINE, EVF_ESCALATED, EVF_FAST_PATH, EVF_OFFENDER, REC_CONTAINER, REC_EVENT,
  REC_EXIT, TIER_SIGNAL,
} from '../../src/wire/constants.js';

function eventBuf(over: Partial<Parameters<typeof aces_event.encode>[0]> = {}): Buffer {
  return aces_event.encode({
    kind: REC_EVENT, version: ACES_WIRE_VERSION, rule: 2, level: 3, base_level: 2, action: ACT_QUARANTINE,
    policy_action: ACT_QUARANTINE, tier: TIER_SIGNAL, flags: EVF_OFFENDER | EVF_ESCALATED | EVF_FAST_PATH,
    seq: 42n, ts_entry: 1000n, ts_decision: 1500n, container_key: 188n, pid: 11, tgid: 10, ppid: 9,
    uid: 0, euid: 0, pidns: 4026532177, mntns: 4026532174, obj_dev: (8 << 20) | 1, obj_ino: 2910n,
    obj_magic: 0x27e0eb, obj_flags: 2, syscall_ret: 3, comm: 'sh', name: 'notify_on_release', ...over,
  });
}

test('decodes an escalated fast-path event', () => {
  const r = decodeRecord(eventBuf());
  assert.equal(r.type, 'event');
  if (r.type !== 'event') return;
  assert.equal(r.seq, 42n);
  assert.equal(r.action, 'quarantine');
  assert.equal(r.tier, 'signal');
  assert.equal(r.offender, true);
  assert.equal(r.escalated, true);
  assert.equal(r.fastPath, true);
  assert.equal(r.monitor, false);
  assert.deepEqual(r.objDev, { major: 8, minor: 1 });
  assert.equal(r.name, 'notify_on_release');
  assert.equal(r.comm, 'sh');
  assert.equal(r.pidns, 4026532177);
  assert.equal(r.suppressed, 0);
});

test('carries the count of alerts the kernel rate limiter held back before the event', () => {
  const r = decodeRecord(eventBuf({ suppressed: 1234 }));
  assert.equal(r.type, 'event');
  if (r.type === 'event') assert.equal(r.suppressed, 1234);
});

test('decodes exit and container records', () => {
  const x = decodeRecord(aces_exit.encode({ kind: REC_EXIT, version: ACES_WIRE_VERSION, pid: 7, seq: 5n, ts_exit: 99n }));
  assert.deepEqual(x, { type: 'exit', pid: 7, seq: 5n, tsExit: 99n });
  const c = decodeRecord(aces_container.encode({
    kind: REC_CONTAINER, version: ACES_WIRE_VERSION, tgid: 3, container_key: 77n, pidns: 1, mntns: 2, ts: 8n,
  }));
  assert.deepEqual(c, { type: 'container', tgid: 3, containerKey: 77n, pidns: 1, mntns: 2, ts: 8n });
});

test('refuses malformed records without throwing', () => {
  assert.equal(decodeRecord(Buffer.alloc(2)).type, 'invalid');
  assert.equal(decodeRecord(eventBuf({ version: 9 })).type, 'invalid');
  assert.equal(decodeRecord(eventBuf().subarray(0, 100)).type, 'invalid');
  assert.equal(decodeRecord(eventBuf({ kind: 77 })).type, 'invalid');
  assert.equal(decodeRecord(eventBuf({ action: 0 })).type, 'invalid');
  assert.equal(decodeRecord(eventBuf({ tier: 9, action: ACT_KILL })).type, 'invalid');
});

test('splits kernel dev_t', () => {
  assert.equal(splitDev(0), null);
  assert.deepEqual(splitDev((254 << 20) | 3), { major: 254, minor: 3 });
});
