/**
 * The kernel's per-reason counters ("drops" map) split by meaning: real losses (a record or a map
 * update that did not happen) and alert-only events summarised in the kernel, by the per-container
 * rate limit or because the ring's last quarter is kept for decisions (their count travels in the
 * container's next event, `suppressed`). Both are exposed; only the first is a drop.
 */
const SUMMARISED: Readonly<Record<string, string>> = { rate_limited: 'rate_limit', ringbuf_headroom: 'ring_headroom' };

export interface KernelCounters {
  /** reason -> events or updates lost */
  readonly drops: Record<string, number>;
  /** reason -> alert-only events summarised into a later event */
  readonly suppressed: Record<string, number>;
}

export function splitKernelCounters(counters: Readonly<Record<string, bigint | number>>): KernelCounters {
  const drops: Record<string, number> = {};
  const suppressed: Record<string, number> = {};
  for (const [reason, v] of Object.entries(counters)) {
    const label = SUMMARISED[reason];
    if (label) suppressed[label] = Number(v);
    else drops[reason] = Number(v);
  }
  return { drops, suppressed };
}
