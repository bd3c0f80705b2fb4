// Prometheus text exposition (format 0.0.4) of the daemon's counters and gauges, and the
// loopback-only /metrics server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { Metrics } from '../../src/output/metrics.js';

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL_VALUE = '"(?:[^"\\\\\\n]|\\\\["\\\\n])*"';
const SAMPLE = new RegExp(`^(${NAME})(\\{[a-zA-Z_][a-zA-Z0-9_]*=${LABEL_VALUE}(?:,[a-zA-Z_][a-zA-Z0-9_]*=${LABEL_VALUE})*\\})? (-?[0-9.e+]+|NaN|[+-]Inf)$`);

/**
 * A strict reading of the text format: HELP then TYPE before a family's samples, each family
 * once, every sample line well-formed. Returns sample line -> value.
 */
function parseExposition(text: string): Map<string, number> {
  assert.ok(text.endsWith('\n'), 'exposition ends with a newline');
  const samples = new Map<string, number>();
  const families = new Set<string>();
  let current: { name: string; help: boolean; type?: string } | undefined;
  for (const line of text.slice(0, -1).split('\n')) {
    const help = /^# HELP (\S+) (.*)$/.exec(line);
    const type = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (help) {
      assert.ok(!families.has(help[1]!), `family ${help[1]} appears twice`);
      assert.match(help[2]!, /^(?:[^\\]|\\[\\n])*$/, `HELP of ${help[1]} has a bad escape`);
      families.add(help[1]!);
      current = { name: help[1]!, help: true };
    } else if (type) {
      assert.equal(type[1], current?.name, `TYPE ${type[1]} follows its HELP`);
      current!.type = type[2];
    } else {
      const m = SAMPLE.exec(line);
      assert.ok(m, `not a valid sample line: ${JSON.stringify(line)}`);
      assert.equal(m[1], current?.name, `sample ${m[1]} inside its family`);
      assert.ok(current?.type, `sample ${m[1]} after its TYPE`);
      assert.ok(!samples.has(`${m[1]}${m[2] ?? ''}`), `duplicate series ${line}`);
      samples.set(`${m[1]}${m[2] ?? ''}`, Number(m[3]));
    }
  }
  return samples;
}

test('counters and gauges render as valid exposition with HELP and TYPE', () => {
  const m = new Metrics();
  m.counter('aces_ringbuf_records_total', 'Ring-buffer records received');
  m.counter('aces_events_total', 'Escape events by rule, level and applied action');
  m.inc('aces_ringbuf_records_total');
  m.inc('aces_ringbuf_records_total', {}, 4);
  m.inc('aces_events_total', { rule: 'release-agent-write', level: '3', action: 'quarantine' });
  m.inc('aces_events_total', { action: 'quarantine', level: '3', rule: 'release-agent-write' });
  m.gauge('aces_process_resident_bytes', 'Daemon resident set size', () => 1234);
  m.counterFrom('aces_kernel_drops_total', 'Kernel-side drops by reason', () => ({ ringbuf: 2, offender: 0 }));
  const text = m.render();
  const s = parseExposition(text);
  assert.equal(s.get('aces_ringbuf_records_total'), 5);
  // Label order does not make a new series.
  assert.equal(s.get('aces_events_total{action="quarantine",level="3",rule="release-agent-write"}'), 2);
  assert.equal(s.get('aces_process_resident_bytes'), 1234);
  assert.equal(s.get('aces_kernel_drops_total{reason="ringbuf"}'), 2);
  assert.equal(s.get('aces_kernel_drops_total{reason="offender"}'), 0);
  assert.match(text, /^# TYPE aces_events_total counter$/m);
  // Read from the kernel at scrape time, but a count that only grows: a counter, as _total says.
  assert.match(text, /^# TYPE aces_kernel_drops_total counter$/m);
  assert.match(text, /^# TYPE aces_process_resident_bytes gauge$/m);
});

test('a gauge record may name its label (default: reason)', () => {
  const m = new Metrics();
  m.gauge('aces_process_memory_bytes', 'Daemon memory by kind', () => ({ heap_used: 7, external: 3 }), 'kind');
  m.counterFrom('aces_events_suppressed_total', 'Summarised alerts', () => ({ rate_limit: 9 }));
  const s = parseExposition(m.render());
  assert.equal(s.get('aces_process_memory_bytes{kind="heap_used"}'), 7);
  assert.equal(s.get('aces_process_memory_bytes{kind="external"}'), 3);
  assert.equal(s.get('aces_events_suppressed_total{reason="rate_limit"}'), 9);
});

test('a declared counter with no increments is exported as 0', () => {
  const m = new Metrics();
  m.counter('aces_unmatched_exits_total', 'Exit records with no waiting kill event');
  assert.equal(parseExposition(m.render()).get('aces_unmatched_exits_total'), 0);
});

test('redeclaring a counter keeps its values; an undeclared one is refused', () => {
  const m = new Metrics();
  m.counter('c_total', 'first');
  m.inc('c_total');
  m.counter('c_total', 'second');
  assert.equal(parseExposition(m.render()).get('c_total'), 1);
  assert.throws(() => m.inc('nope_total'), /metric nope_total not declared/);
});

test('label values are escaped, not mangled: distinct values stay distinct series', () => {
  const m = new Metrics();
  m.counter('aces_invalid_records_total', 'Ring-buffer records that could not be decoded');
  m.inc('aces_invalid_records_total', { reason: 'a"b' });
  m.inc('aces_invalid_records_total', { reason: 'a_b' });
  m.inc('aces_invalid_records_total', { reason: 'back\\slash' });
  m.inc('aces_invalid_records_total', { reason: 'two\nlines' });
  m.gauge('g', 'gauge with an odd reason', () => ({ 'x"y': 1, 'p\\q': 2 }));
  const s = parseExposition(m.render());
  assert.equal(s.get('aces_invalid_records_total{reason="a\\"b"}'), 1);
  assert.equal(s.get('aces_invalid_records_total{reason="a_b"}'), 1);
  assert.equal(s.get('aces_invalid_records_total{reason="back\\\\slash"}'), 1);
  assert.equal(s.get('aces_invalid_records_total{reason="two\\nlines"}'), 1);
  assert.equal(s.get('g{reason="x\\"y"}'), 1);
  assert.equal(s.get('g{reason="p\\\\q"}'), 2);
});

test('HELP text with a newline or backslash stays on its line', () => {
  const m = new Metrics();
  m.counter('c_total', 'first line\nsecond \\ line');
  const text = m.render();
  assert.match(text, /^# HELP c_total first line\\nsecond \\\\ line$/m);
  assert.equal(parseExposition(text).get('c_total'), 0);
});

test('serve refuses anything but a loopback HOST:PORT, naming what it got', async () => {
  const m = new Metrics();
  for (const bad of ['0.0.0.0:9464', '192.168.1.10:9464', 'example.com:9464', '[::]:9464', '127.0.0.1', '127.0.0.1:',
    ':9464', '127.0.0.1:9464:1', '127.1.1.999:9464', '127.0.0.1:65536', '127.0.0.1:999999', ' 127.0.0.1:9464']) {
    await assert.rejects(m.serve(bad), (err: Error) => {
      assert.equal(err.message, `expected a loopback HOST:PORT for --metrics, got ${bad}`);
      return true;
    }, bad);
  }
});

test('serve on 127.0.0.1:0 answers /metrics with the rendered text and 404 elsewhere', async (t) => {
  const m = new Metrics();
  m.counter('aces_containers_seen_total', 'Containers announced by the kernel');
  m.inc('aces_containers_seen_total', {}, 3);
  const server: Server = await m.serve('127.0.0.1:0');
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const addr = server.address() as AddressInfo;
  assert.equal(addr.address, '127.0.0.1');
  assert.ok(addr.port > 0);
  const res = await fetch(`http://127.0.0.1:${addr.port}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const body = await res.text();
  assert.equal(body, m.render());
  assert.equal(parseExposition(body).get('aces_containers_seen_total'), 3);
  // Scraped at request time: a later increment shows up in the next scrape.
  m.inc('aces_containers_seen_total');
  assert.equal(parseExposition(await (await fetch(`http://127.0.0.1:${addr.port}/metrics`)).text()).get('aces_containers_seen_total'), 4);
  const other = await fetch(`http://127.0.0.1:${addr.port}/`);
  assert.equal(other.status, 404);
  await other.arrayBuffer();
});
