// The framing of a ring-buffer drain as the native addon hands it over (native/ringbuf.c): the
// records one after another in the ring's one batch buffer, each a u32 little-endian length, four
// reserved zero bytes, the record, and zero padding to a multiple of 8 bytes. No allocation per
// drain or per record keeps the daemon's memory flat under an event storm.
import { KernelError } from './kernel-error.js';

const FRAME = 8;

/**
 * The records of one drain, as views into the batch (no copy). The batch buffer is reused by the
 * next drain: decoders copy what they keep, before the ring-buffer callback returns.
 */
export function splitRecords(batch: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let off = 0;
  while (off < batch.length) {
    if (off + FRAME > batch.length) throw malformed(batch, off, 'a frame header is cut short');
    const len = batch.readUInt32LE(off);
    const end = off + FRAME + len;
    if (end > batch.length) throw malformed(batch, off, `a ${len}-byte record runs past the end`);
    out.push(batch.subarray(off + FRAME, end));
    off = end + ((FRAME - (len % FRAME)) % FRAME);
  }
  return out;
}

function malformed(batch: Buffer, off: number, what: string): KernelError {
  return new KernelError('ACES_E_KERNEL_RINGBUF', `ring-buffer batch of ${batch.length} bytes: ${what} at offset ${off}`);
}
