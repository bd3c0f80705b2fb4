import { test } from 'node:test';
import assert from 'node:assert/strict';
import { splitRecords } from '../../src/kernel/ringbuf-batch.js';
import { KernelError } from '../../src/kernel/kernel-error.js';

/** Frames records the way native/ringbuf.c does. */
function frame(records: Buffer[]): Buffer {
  const parts: Buffer[] = [];
  for (const r of records) {
    const head = Buffer.alloc(8);
    head.writeUInt32LE(r.length, 0);
    parts.push(head, r, Buffer.alloc((8 - (r.length % 8)) % 8));
  }
  return Buffer.concat(parts);
}

test('splits framed records of any length, padding skipped', () => {
  const recs = [Buffer.from('a'), Buffer.alloc(16, 7), Buffer.alloc(0), Buffer.from('0123456789abc'), Buffer.alloc(300, 1)];
  const got = splitRecords(frame(recs));
  assert.deepEqual(got.map((b) => Buffer.from(b)), recs);
});

test('records are views into the batch, not copies', () => {
  const batch = frame([Buffer.from('abcd')]);
  const [r] = splitRecords(batch);
  batch[8] = 0x7a;
  assert.equal(r!.toString(), 'zbcd');
});

test('an empty batch has no records', () => {
  assert.deepEqual(splitRecords(Buffer.alloc(0)), []);
});

test('a cut header or a record past the end is a KernelError naming the offset', () => {
  const good = frame([Buffer.alloc(8, 1)]);
  assert.throws(() => splitRecords(Buffer.concat([good, Buffer.alloc(4)])),
    (e: unknown) => e instanceof KernelError && e.code === 'ACES_E_KERNEL_RINGBUF' && /header is cut short at offset 16/.test(e.message));
  const long = Buffer.alloc(8);
  long.writeUInt32LE(100, 0);
  assert.throws(() => splitRecords(Buffer.concat([good, long, Buffer.alloc(8)])),
    (e: unknown) => e instanceof KernelError && /100-byte record runs past the end at offset 16/.test(e.message));
});
