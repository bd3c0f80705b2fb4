// The event pipeline with fake stages, fed records encoded by the wire codecs: container, event
// and exit records, kill events held for their exit record, invalid records counted, and stages
// that throw without taking the rest of the batch with them.
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import assert from 'node:assert/strict';
import { EventPipeline, type PipelineStages } from '../../src/daemon/event-pipeline.js';
import type { ContainerInfo, EnrichedEvent } from '../../src/output/event-json.js';
import type { KernelCgroup, KernelContainer, KernelEvent } from '../../src/wire/decode-record.js';
import { aces_cgroup, aces_container, aces_event, aces_exit, type RawEvent } from '../../src/wire/records.js';
import {
  ACES_WIRE_VERSION, ACT_ALERT, ACT_DENY, ACT_KILL, ACT_QUARANTINE, EVF_MONITOR, REC_CGROUP, REC_CONTAINER, REC_EVENT, REC_EXIT,
  TIER_CGROUP, TIER_SIGNAL,
} from '../../src/wire/constants.js';

function eventRec(over: Partial<RawEvent> = {}): Buffer {
  return aces_event.encode({
    kind: REC_EVENT, version: ACES_WIRE_VERSION, rule: 2, level: 2, base_level: 2, action: ACT_KILL,
    policy_action: ACT_KILL, tier: TIER_SIGNAL, flags: 0, seq: 10n, ts_entry: 1_000n, ts_decision: 1_500n,
    container_key: 188n, pid: 501, tgid: 500, ppid: 499, uid: 0, euid: 0, pidns: 4026532177, mntns: 4026532174,
    obj_dev: 0, obj_ino: 0n, obj_magic: 0, obj_flags: 0, syscall_ret: 0, comm: 'sh', name: 'release_agent', ...over,
  });
}

function exitRec(seq: bigint, pid: number, tsExit: bigint): Buffer {
  return aces_exit.encode({ kind: REC_EXIT, version: ACES_WIRE_VERSION, pid, seq, ts_exit: tsExit });
}

function containerRec(key: bigint, tgid: number): Buffer {
  return aces_container.encode({ kind: REC_CONTAINER, version: ACES_WIRE_VERSION, tgid, container_key: key, pidns: 7, mntns: 8, ts: 99n });
}

interface Fake {
  stages: PipelineStages;
  outputs: EnrichedEvent[];
  counts: Array<[string, Record<string, string> | undefined]>;
  containers: Array<[KernelContainer, ContainerInfo | null]>;
  cgroups: KernelCgroup[];
  identified: Array<[bigint, number]>;
  responded: KernelEvent[];
  count(metric: string): number;
}

function fakeStages(over: Partial<PipelineStages> = {}, mode: 'enforce' | 'monitor' = 'enforce'): Fake {
  const f: Fake = {
    outputs: [], counts: [], containers: [], cgroups: [], identified: [], responded: [],
    count: (metric) => f.counts.filter(([m]) => m === metric).length,
    stages: {
      mode,
      ruleMeta: (id) => ({ id, name: `rule-${id}`, title: `title ${id}`, attack: 'T1611' }),
      identify: (key, pid) => {
        f.identified.push([key, pid]);
        return { key, runtime: 'docker', name: `ctr-${key}` };
      },
      onContainer: (rec, ident) => void f.containers.push([rec, ident]),
      onCgroup: (rec) => void f.cgroups.push(rec),
      respond: (ev) => {
        f.responded.push(ev);
        return [`responded to ${ev.seq}`];
      },
      output: (e) => void f.outputs.push(e),
      count: (metric, labels) => void f.counts.push([metric, labels]),
      ...over,
    },
  };
  return f;
}

// The pipeline waits EXIT_WAIT_MS (250 ms) for an exit record. Real timers, with margins: the
// mock-timer API is still experimental in Node 20.
const BEFORE_TIMEOUT_MS = 100;
const AFTER_TIMEOUT_MS = 400;

test('a container record goes to onContainer with its identity; key 0 is not looked up', () => {
  const f = fakeStages();
  new EventPipeline(f.stages).onBatch([containerRec(42n, 777), containerRec(0n, 778)]);
  assert.equal(f.containers.length, 2);
  const [rec, ident] = f.containers[0]!;
  assert.deepEqual(rec, { type: 'container', tgid: 777, containerKey: 42n, pidns: 7, mntns: 8, ts: 99n });
  assert.deepEqual(ident, { key: 42n, runtime: 'docker', name: 'ctr-42' });
  assert.equal(f.containers[1]![1], null);
  assert.deepEqual(f.identified, [[42n, 777]]);
  assert.equal(f.count('records'), 2);
  assert.equal(f.outputs.length, 0);
});

test('an event that kills nothing in the kernel is written at once, enriched', () => {
  const f = fakeStages();
  new EventPipeline(f.stages).onBatch([eventRec({ action: ACT_ALERT, policy_action: ACT_ALERT, level: 1, seq: 3n })]);
  assert.equal(f.outputs.length, 1);
  const e = f.outputs[0]!;
  assert.equal(e.event.seq, 3n);
  assert.equal(e.event.action, 'alert');
  assert.deepEqual(e.rule, { id: 2, name: 'rule-2', title: 'title 2', attack: 'T1611' });
  assert.deepEqual(e.container, { key: 188n, runtime: 'docker', name: 'ctr-188' });
  assert.deepEqual(f.identified, [[188n, 500]], 'identified by the event tgid');
  assert.equal(e.mode, 'enforce');
  assert.deepEqual(e.response, ['responded to 3']);
  assert.equal(e.tsExit, undefined);
  assert.ok(e.receivedAt instanceof Date);
  assert.deepEqual(f.counts.find(([m]) => m === 'events'), ['events', { rule: '2', action: 'alert' }]);
});

test('not held: deny, a cgroup-tier kill (user space kills), a monitor-mode event', () => {
  const f = fakeStages({}, 'monitor');
  new EventPipeline(f.stages).onBatch([
    eventRec({ seq: 1n, action: ACT_DENY, policy_action: ACT_DENY, tier: TIER_CGROUP }),
    eventRec({ seq: 2n, action: ACT_KILL, policy_action: ACT_KILL, tier: TIER_CGROUP }),
    eventRec({ seq: 3n, action: ACT_ALERT, policy_action: ACT_KILL, tier: TIER_SIGNAL, flags: EVF_MONITOR }),
  ]);
  assert.deepEqual(f.outputs.map((e) => e.event.seq), [1n, 2n, 3n]);
  assert.equal(f.outputs[2]!.mode, 'monitor');
});

test('a signal-tier kill is held until the exit record with the same seq and pid', async () => {
  const f = fakeStages();
  const p = new EventPipeline(f.stages);
  p.onBatch([eventRec({ seq: 10n, pid: 501, tgid: 500, action: ACT_KILL })]);
  assert.equal(f.outputs.length, 0, 'held');
  // Same seq, other task (the tgid is not the key: exits are per thread); same task, other seq.
  p.onBatch([exitRec(10n, 500, 5_000n), exitRec(11n, 501, 5_000n)]);
  assert.equal(f.outputs.length, 0);
  assert.equal(f.count('exits_unmatched'), 2);
  p.onBatch([exitRec(10n, 501, 9_000n)]);
  assert.equal(f.outputs.length, 1);
  assert.equal(f.outputs[0]!.event.seq, 10n);
  assert.equal(f.outputs[0]!.tsExit, 9_000n);
  assert.deepEqual(f.outputs[0]!.response, ['responded to 10']);
  // The timer was cleared: no second line, and a repeated exit finds nothing.
  await sleep(AFTER_TIMEOUT_MS);
  p.onBatch([exitRec(10n, 501, 9_001n)]);
  assert.equal(f.outputs.length, 1);
  assert.equal(f.count('exits_unmatched'), 3);
});

test('a quarantine is held too, and its exit may come in the same batch', () => {
  const f = fakeStages();
  new EventPipeline(f.stages).onBatch([
    eventRec({ seq: 20n, pid: 600, action: ACT_QUARANTINE, policy_action: ACT_QUARANTINE }),
    exitRec(20n, 600, 42n),
  ]);
  assert.equal(f.outputs.length, 1);
  assert.equal(f.outputs[0]!.tsExit, 42n);
  assert.equal(f.count('exits_unmatched'), 0);
});

test('without an exit record the event is written after 250 ms, without tsExit', async () => {
  const f = fakeStages();
  const p = new EventPipeline(f.stages);
  p.onBatch([eventRec({ seq: 30n, pid: 700 })]);
  await sleep(BEFORE_TIMEOUT_MS);
  assert.equal(f.outputs.length, 0);
  await sleep(AFTER_TIMEOUT_MS - BEFORE_TIMEOUT_MS);
  assert.equal(f.outputs.length, 1);
  assert.equal(f.outputs[0]!.tsExit, undefined);
  p.onBatch([exitRec(30n, 700, 1n)]);
  assert.equal(f.outputs.length, 1, 'a late exit does not write the event again');
  assert.equal(f.count('exits_unmatched'), 1);
});

test('invalid records are counted with their reason and the batch goes on', () => {
  const f = fakeStages();
  const wrongVersion = eventRec({ version: ACES_WIRE_VERSION + 1 });
  const unknownKind = eventRec({ kind: 9 });
  const badVerdict = eventRec({ action: 0 });
  new EventPipeline(f.stages).onBatch([
    Buffer.alloc(2), wrongVersion, unknownKind, badVerdict, eventRec().subarray(0, 40),
    eventRec({ seq: 50n, action: ACT_ALERT, policy_action: ACT_ALERT }),
  ]);
  const invalid = f.counts.filter(([m]) => m === 'invalid').map(([, l]) => l?.reason);
  assert.deepEqual(invalid, ['record of 2 bytes', `wire version ${ACES_WIRE_VERSION + 1}`, 'record kind 9', 'bad verdict 0/3/3', 'short event']);
  assert.equal(f.count('records'), 6);
  assert.deepEqual(f.outputs.map((e) => e.event.seq), [50n]);
});

test('a throwing identify gives an unknown container; the batch goes on', () => {
  const f = fakeStages({ identify: () => { throw new Error('resolver broke'); } });
  new EventPipeline(f.stages).onBatch([
    containerRec(5n, 10),
    eventRec({ seq: 60n, action: ACT_ALERT, policy_action: ACT_ALERT, container_key: 5n }),
    eventRec({ seq: 61n, action: ACT_ALERT, policy_action: ACT_ALERT, container_key: 0n }),
  ]);
  assert.deepEqual(f.containers.map(([, i]) => i), [{ key: 5n, runtime: 'unknown' }]);
  assert.deepEqual(f.outputs.map((e) => e.container), [{ key: 5n, runtime: 'unknown' }, null]);
});

test('a throwing respond is reported in the response field; the batch goes on', () => {
  let calls = 0;
  const f = fakeStages({
    respond: () => {
      calls++;
      if (calls === 1) throw new Error('kill failed');
      return ['ok'];
    },
  });
  new EventPipeline(f.stages).onBatch([
    eventRec({ seq: 70n, action: ACT_ALERT, policy_action: ACT_ALERT }),
    eventRec({ seq: 71n, action: ACT_ALERT, policy_action: ACT_ALERT }),
  ]);
  assert.deepEqual(f.outputs.map((e) => e.response), [['response failed: kill failed'], ['ok']]);
});

test('a throwing onContainer is counted and does not lose the rest of the batch', () => {
  // Regression: onContainer writes kernel maps; a failed map update (KernelError) unwound out of
  // onBatch into the ring-buffer poll and every later record of the batch was lost.
  const f = fakeStages({ onContainer: () => { throw new Error('map full'); } });
  new EventPipeline(f.stages).onBatch([containerRec(5n, 10), eventRec({ seq: 80n, action: ACT_ALERT, policy_action: ACT_ALERT })]);
  assert.deepEqual(f.counts.filter(([m]) => m === 'stage_errors'), [['stage_errors', { stage: 'container' }]]);
  assert.deepEqual(f.outputs.map((e) => e.event.seq), [80n]);
});

test('a throwing output is counted, also when it runs from the exit timer', async () => {
  const written: bigint[] = [];
  const f = fakeStages({
    output: (e) => {
      if (e.event.seq === 90n || e.event.seq === 92n) throw new Error('sink broke');
      written.push(e.event.seq);
    },
  });
  const p = new EventPipeline(f.stages);
  p.onBatch([
    eventRec({ seq: 90n, action: ACT_ALERT, policy_action: ACT_ALERT }),
    eventRec({ seq: 91n, action: ACT_ALERT, policy_action: ACT_ALERT }),
    eventRec({ seq: 92n, pid: 900 }),
  ]);
  assert.deepEqual(written, [91n]);
  // Before the fix this throw was an uncaught exception in a timer: the test run itself failed.
  await sleep(AFTER_TIMEOUT_MS);
  assert.deepEqual(f.counts.filter(([m]) => m === 'stage_errors').map(([, l]) => l), [{ stage: 'output' }, { stage: 'output' }]);
});

test('flush() writes every held event once, without tsExit', async () => {
  const f = fakeStages();
  const p = new EventPipeline(f.stages);
  p.onBatch([eventRec({ seq: 100n, pid: 1000 }), eventRec({ seq: 101n, pid: 1001, action: ACT_QUARANTINE })]);
  assert.equal(f.outputs.length, 0);
  p.flush();
  assert.deepEqual(f.outputs.map((e) => [e.event.seq, e.tsExit]), [[100n, undefined], [101n, undefined]]);
  await sleep(AFTER_TIMEOUT_MS);
  p.flush();
  p.onBatch([exitRec(100n, 1000, 5n)]);
  assert.equal(f.outputs.length, 2, 'neither the timers nor a late exit write them again');
  assert.equal(f.count('exits_unmatched'), 1);
});

test('cgroup records reach onCgroup; a throwing onCgroup is counted', () => {
  const f = fakeStages();
  const p = new EventPipeline(f.stages);
  p.onBatch([aces_cgroup.encode({ kind: REC_CGROUP, version: ACES_WIRE_VERSION, hierarchy_id: 8, cgroup_id: 4242n, ts: 5n, path: '/docker/abc' })]);
  assert.deepEqual(f.cgroups, [{ type: 'cgroup', hierarchyId: 8, cgroupId: 4242n, ts: 5n, path: '/docker/abc' }]);
  const g = fakeStages({ onCgroup: () => { throw new Error('map full'); } });
  new EventPipeline(g.stages).onBatch([aces_cgroup.encode({ kind: REC_CGROUP, version: ACES_WIRE_VERSION, hierarchy_id: 8, cgroup_id: 1n, ts: 1n })]);
  assert.equal(g.count('stage_errors'), 1);
});
