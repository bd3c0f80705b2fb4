/**
 * The user-space half of the kernel's presence filters (bpf/lib/presence.bpf.h): the bit arrays
 * in front of the hash maps user space writes ("exempt", "ns_sysctls"), so that hooks skip the
 * lookup of a key that has no entry. The slot function is the kernel's, bit for bit.
 */
import { ACES_FILTER_LOG2, ACES_FILTER_MULT, ACES_FILTER_NAME_BYTES, ACES_FILTER_WORDS } from '../wire/constants.js';

const U64 = (1n << 64n) - 1n;

/** slot = ((id ^ (salt << 56)) * ACES_FILTER_MULT) mod 2^64 >> (64 - ACES_FILTER_LOG2) */
export function filterSlot(id: bigint, salt: number): number {
  const x = (id ^ (BigInt(salt) << 56n)) & U64;
  return Number(((x * ACES_FILTER_MULT) & U64) >> BigInt(64 - ACES_FILTER_LOG2));
}

/** The filter id of a name key of ACES_NAME_LEN bytes (zero-padded): w0 ^ (w1 * ACES_FILTER_MULT). */
export function nameFilterId(key: Buffer): bigint {
  return (key.readBigUInt64LE(0) ^ ((key.readBigUInt64LE(8) * ACES_FILTER_MULT) & U64)) & U64;
}

/**
 * The filter id of a sysctl's base name (its last path component), as bpf/sysctl.bpf.c reads it
 * with bpf_probe_read_kernel_str into ACES_FILTER_NAME_BYTES bytes: at most 15 bytes, then zeros.
 */
export function baseNameFilterId(name: string): bigint {
  const base = Buffer.from(name.slice(name.lastIndexOf('/') + 1));
  const key = Buffer.alloc(ACES_FILTER_NAME_BYTES);
  base.copy(key, 0, 0, Math.min(base.length, ACES_FILTER_NAME_BYTES - 1));
  return nameFilterId(key);
}

/** The map value (struct aces_filter) with the bit of every id of every (ids, salt) group set. */
export function filterBytes(ids: Iterable<bigint>, salt: number, ...more: Array<readonly [Iterable<bigint>, number]>): Buffer {
  const words = new BigUint64Array(ACES_FILTER_WORDS);
  for (const [group, groupSalt] of [[ids, salt] as const, ...more]) {
    for (const id of group) {
      const s = filterSlot(id, groupSalt);
      words[s >> 6] |= 1n << BigInt(s & 63);
    }
  }
  return Buffer.from(words.buffer);
}
