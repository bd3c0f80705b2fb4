// Percentiles and summaries of bench/stats.ts, checked against values worked out by hand
// (linear interpolation between closest ranks, numpy's default).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { median, percentile, ratio, round, summarize } from '../../bench/stats.js';

test('percentile interpolates between closest ranks', () => {
  const v = [10, 20, 30, 40];
  assert.equal(percentile(v, 0), 10);
  assert.equal(percentile(v, 100), 40);
  assert.equal(percentile(v, 50), 25);
  // rank 0.9 * 3 = 2.7: 30 + 0.7 * 10
  assert.ok(Math.abs(percentile(v, 90) - 37) < 1e-9);
  assert.ok(Math.abs(percentile(v, 99) - 39.7) < 1e-9);
});

test('percentile does not depend on input order and does not reorder the input', () => {
  const v = [5, 1, 4, 2, 3];
  assert.equal(percentile(v, 50), 3);
  assert.equal(median([3, 1, 2]), 2);
  assert.deepEqual(v, [5, 1, 4, 2, 3]);
});

test('percentile of one sample is that sample; of none is NaN', () => {
  assert.equal(percentile([7], 0), 7);
  assert.equal(percentile([7], 99), 7);
  assert.ok(Number.isNaN(percentile([], 50)));
});

test('percentile outside 0..100 is refused', () => {
  assert.throws(() => percentile([1, 2], 101), RangeError);
  assert.throws(() => percentile([1, 2], -1), RangeError);
  assert.throws(() => percentile([1, 2], Number.NaN), RangeError);
});

test('p99 of 1..100 sits between the two largest samples', () => {
  const v = Array.from({ length: 100 }, (_, i) => i + 1);
  // rank 0.99 * 99 = 98.01 -> 99 + 0.01
  assert.ok(Math.abs(percentile(v, 99) - 99.01) < 1e-9);
  assert.equal(percentile(v, 50), 50.5);
});

test('summarize reports n, extremes, percentiles and mean', () => {
  const s = summarize([4, 1, 3, 2]);
  assert.equal(s.n, 4);
  assert.equal(s.min, 1);
  assert.equal(s.max, 4);
  assert.equal(s.p50, 2.5);
  assert.equal(s.mean, 2.5);
  assert.ok(Math.abs(s.p90 - 3.7) < 1e-9);
  const e = summarize([]);
  assert.equal(e.n, 0);
  assert.ok(Number.isNaN(e.p50));
  assert.throws(() => summarize([1, Number.POSITIVE_INFINITY]), RangeError);
});

test('ratio and round never produce invalid JSON numbers', () => {
  assert.equal(ratio(3, 2), 1.5);
  assert.equal(ratio(1, 0), null);
  assert.equal(ratio(null, 2), null);
  assert.equal(ratio(Number.NaN, 2), null);
  assert.equal(round(1.23456, 2), 1.23);
  assert.equal(round(Number.NaN), null);
  assert.equal(round(undefined), null);
});
