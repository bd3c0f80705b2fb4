// The external event line (docs/events.md): snake_case names, 64-bit numbers as strings, fields
// without a value left out, and the latencies derived from the kernel timestamps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EVENT_SCHEMA, eventToJson, toJsonLine } from '../../src/output/event-json.js';
import { sampleEnriched } from '../helpers/sample-event.js';

const parse = (line: string): Record<string, any> => JSON.parse(line) as Record<string, any>;

test('the docs/events.md example round-trips field by field', () => {
  const line = toJsonLine(eventToJson(sampleEnriched()));
  assert.deepEqual(parse(line), {
    schema: 'aces.event/v1',
    kind: 'event',
    time: '2026-12-03T13:44:49.665Z',
    seq: '2',
    rule: 'release-agent-write',
    rule_id: 2,
    title: 'release_agent or notify_on_release opened for write',
    attack: 'T1611',
    level: 3,
    level_name: 'breach',
    base_level: 2,
    action: 'quarantine',
    policy_action: 'quarantine',
    tier: 'signal',
    mode: 'enforce',
    monitor: false,
    decided_by: 'full_check',
    suppressed: 0,
    via: 'syscall',
    offender: true,
    escalated: true,
    recorded: true,
    process: { pid: 14447, tid: 14447, ppid: 14427, comm: 'sh', uid: 0, euid: 0, pidns: 4026532177, mntns: 4026532174, host_task: false },
    container: {
      key: '188',
      runtime: 'docker',
      id: '08f4d071e758aaaabbbbccccdddd',
      name: 'gracious_buck',
      image: 'aces-busybox:test',
      cgroup: '/docker/08f4d071e758aaaabbbbccccdddd',
    },
    object: { name: 'notify_on_release', fs: 'cgroup', fs_magic: '0x27e0eb', dev: '0:32', ino: '2910', flags: 67993630, result: 3 },
    kernel_ns: { entry: '1250952346053', decision: '1250952361066', exit: '1250952478840' },
    latency_ns: { decision: 15013, decision_to_exit: 117774 },
    response: ['quarantine hook attached', 'swept 1 process'],
  });
  assert.equal(EVENT_SCHEMA, 'aces.event/v1');
});

test('every key of the line is snake_case, at every depth except container labels', () => {
  const e = sampleEnriched({
    container: { key: 1n, runtime: 'containerd', podUid: 'u-1', podName: 'web-0', namespace: 'default', labels: { 'io.kubernetes.pod.name': 'web-0' } },
  });
  const obj = parse(toJsonLine(eventToJson(e)));
  const walk = (o: Record<string, unknown>, path: string): void => {
    for (const [k, v] of Object.entries(o)) {
      assert.match(k, /^[a-z][a-z0-9_]*$/, `${path}${k}`);
      if (v && typeof v === 'object' && !Array.isArray(v) && k !== 'labels') walk(v as Record<string, unknown>, `${path}${k}.`);
    }
  };
  walk(obj, '');
  assert.equal(obj.container.pod_uid, 'u-1');
  assert.equal(obj.container.pod_name, 'web-0');
  assert.equal(obj.container.namespace, 'default');
  assert.deepEqual(obj.container.labels, { 'io.kubernetes.pod.name': 'web-0' });
});

test('64-bit numbers become decimal strings without losing precision', () => {
  const big = (1n << 63n) + 12345n; // far above 2^53: a Number would round it
  const e = sampleEnriched({ tsExit: big + 3_000n, container: { key: big, runtime: 'unknown' } },
    { seq: big, objIno: big, tsEntry: big, tsDecision: big + 1_000n });
  const obj = parse(toJsonLine(eventToJson(e)));
  assert.equal(obj.seq, big.toString());
  assert.equal(obj.container.key, big.toString());
  assert.equal(obj.object.ino, big.toString());
  assert.deepEqual(obj.kernel_ns, { entry: big.toString(), decision: (big + 1_000n).toString(), exit: (big + 3_000n).toString() });
  // The differences are taken in bigint, so they are exact even at these magnitudes.
  assert.deepEqual(obj.latency_ns, { decision: 1_000, decision_to_exit: 2_000 });
});

test('toJsonLine turns any bigint into a string and writes exactly one line', () => {
  const line = toJsonLine({ a: 1n, nested: { b: [2n, 3] }, text: 'two\nlines' });
  assert.ok(line.endsWith('\n'));
  assert.equal(line.indexOf('\n'), line.length - 1, 'a newline inside a value must stay escaped');
  assert.deepEqual(JSON.parse(line), { a: '1', nested: { b: ['2', 3] }, text: 'two\nlines' });
});

test('monitor mode: the applied action is alert, the policy action says what enforce would do', () => {
  const e = sampleEnriched({ mode: 'monitor', tsExit: undefined, response: [] },
    { monitor: true, action: 'alert', policyAction: 'kill', level: 2, escalated: false });
  const obj = parse(toJsonLine(eventToJson(e)));
  assert.equal(obj.mode, 'monitor');
  assert.equal(obj.monitor, true);
  assert.equal(obj.action, 'alert');
  assert.equal(obj.policy_action, 'kill');
  assert.equal(obj.level_name, 'attempt');
  assert.equal(obj.escalated, false);
});

test('decided_by names the fast path only when the kernel flagged it', () => {
  assert.equal(eventToJson(sampleEnriched({}, { fastPath: true })).decided_by, 'fast_path');
  assert.equal(eventToJson(sampleEnriched({}, { fastPath: false })).decided_by, 'full_check');
  assert.equal(eventToJson(sampleEnriched({}, { suppressed: 0 })).suppressed, 0);
  assert.equal(eventToJson(sampleEnriched({}, { suppressed: 17 })).suppressed, 17);
});

test('a host task without a container has container null, not a missing field', () => {
  const obj = parse(toJsonLine(eventToJson(sampleEnriched({ container: null }, { containerKey: 0n, hostTask: true }))));
  assert.ok('container' in obj);
  assert.equal(obj.container, null);
  assert.equal(obj.process.host_task, true);
});

test('fields without a value are left out of the line', () => {
  const e = sampleEnriched({ tsExit: undefined, response: [], container: { key: 9n, runtime: 'unknown' } },
    { name: '', objDev: null, objIno: 0n, objMagic: 0 });
  const obj = parse(toJsonLine(eventToJson(e)));
  assert.deepEqual(obj.object, { flags: 67993630, result: 3 });
  assert.deepEqual(obj.kernel_ns, { entry: '1250952346053', decision: '1250952361066' });
  assert.deepEqual(obj.latency_ns, { decision: 15013 });
  assert.ok(!('response' in obj));
  assert.deepEqual(obj.container, { key: '9', runtime: 'unknown' });
});

test('filesystem magic: known names, hex for the rest; levels outside 1..3 keep their number', () => {
  assert.equal((eventToJson(sampleEnriched({}, { objMagic: 0x794c7630 })).object as any).fs, 'overlay');
  const unknown = eventToJson(sampleEnriched({}, { objMagic: 0xabc }));
  assert.equal((unknown.object as any).fs, '0xabc');
  assert.equal((unknown.object as any).fs_magic, '0xabc');
  assert.equal(eventToJson(sampleEnriched({}, { level: 1 })).level_name, 'probe');
  assert.equal(eventToJson(sampleEnriched({}, { level: 7 })).level_name, '7');
});
