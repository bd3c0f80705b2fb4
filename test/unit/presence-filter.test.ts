import { test } from 'node:test';
import assert from 'node:assert/strict';
import { baseNameFilterId, filterBytes, filterSlot, nameFilterId } from '../../src/kernel/presence-filter.js';
import { ACES_FILTER_WORDS, ACES_NAME_LEN, FILTER_SALT_SYSCTL, FILTER_SALT_SYSCTL_BASE } from '../../src/wire/constants.js';

// Slots computed outside this code base (Python big integers) from the formula in bpf/api/aces.h:
// ((id ^ (salt << 56)) * 0x9E3779B97F4A7C15) mod 2^64 >> 52. The kernel side computes the same in
// bpf/lib/presence.bpf.h; the exceptions e2e test fails if the two disagree.
test('slot function matches the formula of aces.h', () => {
  assert.equal(filterSlot(0n, 1), 336);
  assert.equal(filterSlot(1n, 1), 2867);
  assert.equal(filterSlot(4242n, 1), 3203);
  assert.equal(filterSlot(0xffffffffffffffffn, 1), 1228);
  assert.equal(filterSlot(123456789n, 2), 3719);
});

test('filter bytes set exactly the bits of the ids, little-endian words', () => {
  const buf = filterBytes([0n, 4242n], 1);
  assert.equal(buf.length, ACES_FILTER_WORDS * 8);
  const set: number[] = [];
  for (let i = 0; i < buf.length * 8; i++) if (buf[i >> 3]! & (1 << (i & 7))) set.push(i);
  assert.deepEqual(set, [336, 3203]);
});

test('an empty filter has no bit set', () => {
  assert.ok(filterBytes([], 1).every((b) => b === 0));
});

// Folded ids of sysctl names (ns_sysctl_filter), also computed in Python from aces.h's formula.
test('a sysctl name folds to the id and slot of aces.h', () => {
  const key = (n: string): Buffer => {
    const b = Buffer.alloc(ACES_NAME_LEN);
    b.write(n);
    return b;
  };
  assert.equal(nameFilterId(key('kernel/hostname')), 0x20fdd3c788ff5970n);
  assert.equal(filterSlot(nameFilterId(key('kernel/hostname')), FILTER_SALT_SYSCTL), 238);
  assert.equal(nameFilterId(key('kernel/core_pattern')), 0xb2e310d975a44270n);
  assert.equal(filterSlot(nameFilterId(key('kernel/core_pattern')), FILTER_SALT_SYSCTL), 1218);
  assert.equal(nameFilterId(key('a')), 0x61n);
});

// Base names as bpf/sysctl.bpf.c reads them: the last component, at most 15 bytes, zero-padded to
// 16 (ids and slots computed in Python from aces.h's formula).
test('a sysctl base name is cut to 15 bytes and folds like a name', () => {
  assert.equal(baseNameFilterId('kernel/hostname'), 0x656d616e74736f68n);
  assert.equal(baseNameFilterId('hostname'), 0x656d616e74736f68n);
  assert.equal(filterSlot(baseNameFilterId('kernel/hostname'), FILTER_SALT_SYSCTL_BASE), 740);
  assert.equal(baseNameFilterId('kernel/perf_event_max_sample_rate'), 0x12434f8f0977b076n);
  assert.equal(baseNameFilterId('vm/dirty_background_ratio'), 0xe1cf3c3dd66faa7bn);
  assert.equal(filterSlot(baseNameFilterId('vm/dirty_background_ratio'), FILTER_SALT_SYSCTL_BASE), 1474);
});

test('one filter holds several (ids, salt) groups', () => {
  const both = filterBytes([0n], 1, [[4242n], 1], [[123456789n], 2]);
  const set: number[] = [];
  for (let i = 0; i < both.length * 8; i++) if (both[i >> 3]! & (1 << (i & 7))) set.push(i);
  assert.deepEqual(set, [336, 3203, 3719]);
});
