// The kernel's per-reason counters split into losses and rate-limited alerts: a rate-limited
// alert is summarised (its count rides in a later event), so it must not read as a drop, and it
// must not vanish either.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { splitKernelCounters } from '../../src/output/kernel-counters.js';
import { DROP_NAMES, DROP_RATE_LIMITED, DROP_RINGBUF_HEADROOM } from '../../src/wire/constants.js';

test('summarised alerts are reported as suppressed, every other reason as a drop', () => {
  const c = splitKernelCounters({ ringbuf: 3n, rate_limited: 5000n, ringbuf_headroom: 2n, offender: 0n });
  assert.deepEqual(c.drops, { ringbuf: 3, offender: 0 });
  assert.deepEqual(c.suppressed, { rate_limit: 5000, ring_headroom: 2 });
});

test('no counter is lost in the split', () => {
  const all = Object.fromEntries(DROP_NAMES.map((n, i) => [n, BigInt(i + 1)]));
  const c = splitKernelCounters(all);
  const total = [...Object.values(c.drops), ...Object.values(c.suppressed)].reduce((a, b) => a + b, 0);
  assert.equal(total, DROP_NAMES.reduce((a, _n, i) => a + i + 1, 0));
});

test('reason names line up with the kernel indices (bpf/api/aces.h)', () => {
  assert.equal(DROP_NAMES[DROP_RATE_LIMITED], 'rate_limited');
  assert.equal(DROP_NAMES[DROP_RINGBUF_HEADROOM], 'ringbuf_headroom');
});

test('an empty counter set gives empty maps', () => {
  assert.deepEqual(splitKernelCounters({}), { drops: {}, suppressed: {} });
});
