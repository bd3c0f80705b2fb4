// The one-line terminal view of `aces run --format console`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatConsoleLine } from '../../src/output/console-view.js';
import { sampleEnriched } from '../helpers/sample-event.js';

test('an enforce-mode quarantine: level, action, rule, process, container, object, tier, latencies', () => {
  assert.equal(
    formatConsoleLine(sampleEnriched()),
    '2026-12-03T13:44:49.665Z L3 BREACH  QUARANTINE release-agent-write sh[14447] in gracious_buck (aces-busybox:test) ' +
      'obj=notify_on_release tier=signal escalated decided in 15.0µs, dead after 117.8µs\n',
  );
});

test('monitor mode says what would have been done', () => {
  const line = formatConsoleLine(sampleEnriched({ mode: 'monitor', tsExit: undefined },
    { monitor: true, action: 'alert', policyAction: 'kill', level: 2, escalated: false }));
  assert.match(line, / L2 attempt WOULD KILL /);
  assert.ok(!line.includes('dead after'));
  assert.ok(!line.includes('escalated'));
});

test('who: container name, else the short id, else the key; a host task says host', () => {
  const byId = formatConsoleLine(sampleEnriched({ container: { key: 5n, runtime: 'docker', id: '0123456789abcdef0123' } }));
  assert.match(byId, / in 0123456789ab obj=/);
  const byKey = formatConsoleLine(sampleEnriched({ container: { key: 5n, runtime: 'unknown' } }));
  assert.match(byKey, / in key 5 obj=/);
  const host = formatConsoleLine(sampleEnriched({ container: null }, { name: '' }));
  assert.match(host, / in host tier=/);
});

test('fast path is shown, and the line is exactly one line', () => {
  const line = formatConsoleLine(sampleEnriched({}, { fastPath: true, level: 1, action: 'alert', policyAction: 'alert', escalated: false }));
  assert.match(line, / L1 probe {3}ALERT {6}release-agent-write /);
  assert.match(line, / tier=signal fast-path decided in /);
  assert.equal(line.indexOf('\n'), line.length - 1);
});
