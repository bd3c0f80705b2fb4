// Skip rules shared by every tier. Where a test lives says what it needs (test/README.md); when
// the machine lacks it the test skips with the reason, except in CI, where the tier was chosen
// to run and a skip would hide a broken environment, so it fails instead.
import type { TestContext } from 'node:test';

/** Error code thrown instead of skipping when `CI=true`. */
export const ACES_E_TEST_SKIPPED_IN_CI = 'ACES_E_TEST_SKIPPED_IN_CI';

/** Thrown by the skip helpers in CI; `code` is {@link ACES_E_TEST_SKIPPED_IN_CI}. */
export class SkippedInCiError extends Error {
  readonly code = ACES_E_TEST_SKIPPED_IN_CI;
  constructor(reason: string) {
    super(`test would skip (${reason}) but CI=true, where a skip is a failure`);
    this.name = 'SkippedInCiError';
  }
}

/** True when the process runs with effective uid 0. */
export function isRoot(): boolean {
  return typeof process.geteuid === 'function' && process.geteuid() === 0;
}

/** True when the environment says this is a CI run (`CI=true` or `CI=1`, as CI services set it). */
export function isCi(): boolean {
  const v = (process.env.CI ?? '').trim().toLowerCase();
  return v === 'true' || v === '1';
}

/**
 * Skips `t` with `reason` unless `cond` holds. Returns true when the test may go on, so a test
 * reads `if (!skipUnless(t, cond, 'why')) return;`. In CI it throws {@link SkippedInCiError}.
 */
export function skipUnless(t: TestContext, cond: boolean, reason: string): boolean {
  if (cond) return true;
  if (isCi()) throw new SkippedInCiError(reason);
  t.skip(reason);
  return false;
}

/** {@link skipUnless} for the common case of a test that needs root. */
export function skipUnlessRoot(t: TestContext): boolean {
  return skipUnless(t, isRoot(), 'needs root');
}

/**
 * For the `skip` option of `test()`/`describe()`, which is decided before any context exists:
 * `describe('x', { skip: skipOptionUnless(isRoot(), 'needs root') }, ...)`. Returns false
 * (do not skip) or the reason; in CI it throws, which fails the whole file when it loads.
 */
export function skipOptionUnless(cond: boolean, reason: string): string | false {
  if (cond) return false;
  if (isCi()) throw new SkippedInCiError(reason);
  return reason;
}

/**
 * How much slower than this host the machine running the tests is: ACES_TEST_SLOWDOWN, set by
 * the vm tier for its software-emulated guests (test/vm/lsm-kernels.test.ts), 1 elsewhere.
 * Waits for something to happen (a daemon's ready line, an event, a compiler) scale by it;
 * nothing that a test asserts about speed does.
 */
export function slowdown(): number {
  const v = Number(process.env.ACES_TEST_SLOWDOWN);
  return Number.isFinite(v) && v >= 1 ? v : 1;
}

/** ms scaled by {@link slowdown}. */
export function patience(ms: number): number {
  return Math.round(ms * slowdown());
}
