/**
 * Order statistics for the benchmarks. Percentiles use linear interpolation between closest
 * ranks (the "R-7" / numpy default), so p50 of an even-sized sample is the mean of the middle
 * two and every percentile of a one-element sample is that element.
 */

export interface Summary {
  readonly n: number;
  readonly min: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

/** The p-th percentile (0..100) of `values`; NaN for an empty sample. Does not modify `values`. */
export function percentile(values: readonly number[], p: number): number {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile ${p} outside 0..100`);
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  return percentileSorted(s, p);
}

function percentileSorted(s: readonly number[], p: number): number {
  const rank = (p / 100) * (s.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  const a = s[lo]!;
  const b = s[hi]!;
  return a + (b - a) * (rank - lo);
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** n, min, p50, p90, p99, max and mean; every figure NaN (n 0) for an empty sample. */
export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) {
    return { n: 0, min: NaN, p50: NaN, p90: NaN, p99: NaN, max: NaN, mean: NaN };
  }
  for (const v of values) if (!Number.isFinite(v)) throw new RangeError(`non-finite sample ${v}`);
  const s = [...values].sort((a, b) => a - b);
  return {
    n: s.length,
    min: s[0]!,
    p50: percentileSorted(s, 50),
    p90: percentileSorted(s, 90),
    p99: percentileSorted(s, 99),
    max: s[s.length - 1]!,
    mean: s.reduce((x, y) => x + y, 0) / s.length,
  };
}

/** a / b, or null when either side is missing or b is 0 (a ratio that cannot be stated). */
export function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
  if (a === null || a === undefined || b === null || b === undefined) return null;
  if (!Number.isFinite(a) || !Number.isFinite(b) || b === 0) return null;
  return a / b;
}

/** Rounds for JSON output; NaN and infinities become null so the file stays valid JSON. */
export function round(v: number | null | undefined, digits = 2): number | null {
  if (v === null || v === undefined || !Number.isFinite(v)) return null;
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
