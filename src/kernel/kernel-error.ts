/**
 * Error codes raised by the kernel layer: the native addon throws them, and
 * src/kernel wrappers may throw them too. docs/errors.md lists the same codes.
 */
export const KERNEL_ERROR_CODES = [
  'ACES_E_KERNEL_ADDON',
  'ACES_E_KERNEL_OPEN',
  'ACES_E_KERNEL_LOAD',
  'ACES_E_KERNEL_ATTACH',
  'ACES_E_KERNEL_MAP',
  'ACES_E_KERNEL_RINGBUF',
  'ACES_E_KERNEL_ITER',
  'ACES_E_KERNEL_HANDLE',
  'ACES_E_KERNEL_ARG',
  'ACES_E_KERNEL_STATE',
] as const;

export type KernelErrorCode = (typeof KERNEL_ERROR_CODES)[number];

/** Optional fields of a {@link KernelError}. */
export interface KernelErrorDetails {
  /** Positive errno of the failed call (0 when none applies). */
  errno?: number;
  /** The libbpf, libc or addon call that failed. */
  call?: string;
  /** libbpf and verifier output captured during the call (the last ~16 KiB). */
  log?: string;
  cause?: unknown;
}

/**
 * An error from the kernel layer. The native addon constructs this class itself (it is
 * registered through `setErrorClass`), so `instanceof KernelError` holds for addon errors.
 */
export class KernelError extends Error {
  /** `ACES_E_KERNEL_*`; typed as string because the addon is a separate build artefact. */
  readonly code: string;
  readonly errno: number;
  readonly call: string;
  // declare: an own `log: undefined` property would clutter every inspected error.
  declare readonly log?: string;

  constructor(code: string, message: string, details: KernelErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'KernelError';
    this.code = code;
    // The addon hands over a plain object built in C; do not trust its field types.
    this.errno = typeof details.errno === 'number' ? details.errno : 0;
    this.call = typeof details.call === 'string' ? details.call : '';
    if (typeof details.log === 'string' && details.log.length > 0) this.log = details.log;
  }
}

/** True when `err` is a {@link KernelError}, and has `code` when one is given. */
export function isKernelError(err: unknown, code?: KernelErrorCode): err is KernelError {
  return err instanceof KernelError && (code === undefined || err.code === code);
}
