/**
 * Pipeline (DESIGN §7): an event storm of level-1 events (release_agent opened for read, an
 * alert) from many "containers" at once, as a flood (as fast as they can) and paced (bursts
 * below what the daemon writes per second); what the daemon writes per second, drops by kind
 * (kernel: ring buffer full and the like; output: lines the sink gave up on), whether kills
 * still land during the storm, and the kernel decision latency of the storm's events (it must
 * not depend on how busy user space is).
 */
import { readFileSync } from 'node:fs';
import type { AcesRun, EventLine } from '../test/helpers/aces-daemon.js';
import { makeTestCgroup, shQuote, startInPidns, type TestCgroup } from '../test/helpers/fake-container.js';
import { cgroupKey, log, metricSum, rssBytes, scrapeMetrics, sleep, type BenchParams } from './bench-env.js';
import { killTrials, type KillFloor } from './block-latency.js';
import { summarize, type Summary } from './stats.js';

export type StormKind = 'flood' | 'paced';

/** Per process: a flood opens as fast as the shell loops; a paced storm does bursts of 50 then sleeps 50 ms (at most 1000/s). */
const STORM_LOOP: Record<StormKind, (ra: string) => string> = {
  flood: (ra) => `while :; do : < ${shQuote(ra)}; done`,
  paced: (ra) => `while :; do i=0; while [ $i -lt 50 ]; do : < ${shQuote(ra)}; i=$((i+1)); done; sleep 0.05; done`,
};

export interface PipelineResult {
  readonly storm: StormKind;
  readonly storm_processes: number;
  readonly storm_seconds: number;
  /** Storm events the kernel handed to the ring buffer (aces_ringbuf_records_total delta, all records). */
  readonly ringbuf_records: number;
  /** Storm events the daemon wrote as JSON lines. */
  readonly events_written: number;
  readonly events_per_second: number;
  readonly kernel_drops: number;
  readonly kernel_drops_by_reason: Record<string, number>;
  readonly output_drops: number;
  /** Alert-only storm events the kernel summarised (counted, carried in later events' `suppressed`). */
  readonly suppressed_alerts: number;
  /** The same by reason: `rate_limit` (per container), `ring_headroom` (the ring's last quarter is kept for decisions). */
  readonly suppressed_by_reason: Record<string, number>;
  /** Sum of `suppressed` over the storm events written: what the written events say was held back. */
  readonly suppressed_reported: number;
  readonly kills_during_storm: { readonly attempted: number; readonly killed: number };
  readonly storm_decision_ns: Summary;
  readonly daemon_rss_peak_bytes: number | null;
}

function eventsPath(aces: AcesRun): string {
  const args = aces.child.spawnargs;
  const i = args.indexOf('--events');
  if (i < 0 || !args[i + 1]) throw new Error('aces run was started without --events');
  return args[i + 1]!;
}

function seriesByReason(m: Map<string, number>, metric = 'aces_kernel_drops_total'): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of m) {
    if (!k.startsWith(`${metric}{`)) continue;
    const r = /\{reason="([^"]+)"\}$/.exec(k);
    if (r) out[r[1]!] = v;
  }
  return out;
}

function deltaByReason(before: Map<string, number>, after: Map<string, number>, metric: string): Record<string, number> {
  const b = seriesByReason(before, metric);
  return Object.fromEntries(Object.entries(seriesByReason(after, metric)).map(([k, v]) => [k, v - (b[k] ?? 0)]));
}

export async function measurePipeline(
  kind: StormKind, aces: AcesRun, metricsAddr: string, releaseAgent: string, p: BenchParams, floor: KillFloor,
): Promise<PipelineResult> {
  const before = await scrapeMetrics(metricsAddr);
  const dropsBefore = seriesByReason(before);
  const cgroups: TestCgroup[] = [];
  let rssPeak: number | null = null;
  const pid = aces.child.pid!;
  const sampler = setInterval(() => {
    const r = rssBytes(pid);
    if (r !== null && (rssPeak === null || r > rssPeak)) rssPeak = r;
  }, 100);
  let kills = { attempted: 0, killed: 0 };
  const keys = new Set<string>();
  const t0 = Date.now();
  try {
    for (let i = 0; i < p.stormProcesses; i++) {
      const c = makeTestCgroup();
      cgroups.push(c);
      keys.add(cgroupKey(c));
      // A shell builtin redirection: one open (one event) per loop turn, no fork.
      startInPidns(STORM_LOOP[kind](releaseAgent), { cgroup: c });
    }
    // Kills keep coming while the storm runs: each in its own fresh container.
    const deadline = t0 + p.stormSeconds * 1000;
    while (Date.now() < deadline) {
      const r = await killTrials('aces', 1, floor, aces, releaseAgent, false);
      kills = { attempted: kills.attempted + 1, killed: kills.killed + (r[0]!.end === 'signal 9' ? 1 : 0) };
      await sleep(200);
    }
  } finally {
    for (const c of cgroups) c.cleanup();
  }
  const stormEnd = Date.now();
  // Let the daemon catch up, then count what it wrote.
  const path = eventsPath(aces);
  let written = -1;
  let lastChange = Date.now();
  for (;;) {
    const text = readFileSync(path, 'utf8');
    let n = 0;
    for (let i = text.indexOf('"rule":"release-agent-read"'); i >= 0; i = text.indexOf('"rule":"release-agent-read"', i + 1)) n++;
    if (n !== written) {
      written = n;
      lastChange = Date.now();
    } else if (Date.now() - lastChange > 1000 || Date.now() - stormEnd > 15_000) {
      break;
    }
    await sleep(250);
  }
  clearInterval(sampler);
  const after = await scrapeMetrics(metricsAddr);
  const dropsAfter = seriesByReason(after);
  const byReason: Record<string, number> = {};
  for (const [k, v] of Object.entries(dropsAfter)) byReason[k] = v - (dropsBefore[k] ?? 0);
  const stormEvents: EventLine[] = aces.events().filter((e) => e.rule === 'release-agent-read' && keys.has(e.container?.key ?? ''));
  const seconds = (lastChange - t0) / 1000;
  const res: PipelineResult = {
    storm: kind,
    storm_processes: p.stormProcesses,
    storm_seconds: p.stormSeconds,
    ringbuf_records: metricSum(after, 'aces_ringbuf_records_total') - metricSum(before, 'aces_ringbuf_records_total'),
    events_written: stormEvents.length,
    events_per_second: seconds > 0 ? stormEvents.length / seconds : 0,
    kernel_drops: Object.values(byReason).reduce((a, b) => a + b, 0),
    kernel_drops_by_reason: byReason,
    output_drops: metricSum(after, 'aces_output_dropped_total') - metricSum(before, 'aces_output_dropped_total'),
    suppressed_alerts: metricSum(after, 'aces_events_suppressed_total') - metricSum(before, 'aces_events_suppressed_total'),
    suppressed_by_reason: deltaByReason(before, after, 'aces_events_suppressed_total'),
    suppressed_reported: stormEvents.reduce((a, e) => a + (e.suppressed ?? 0), 0),
    kills_during_storm: kills,
    storm_decision_ns: summarize(stormEvents.map((e) => e.latency_ns.decision)),
    daemon_rss_peak_bytes: rssPeak,
  };
  log(`storm ${kind}: ${res.events_written} events written (${Math.round(res.events_per_second)}/s), kernel drops ${res.kernel_drops}, output drops ${res.output_drops}, suppressed ${res.suppressed_alerts} ${JSON.stringify(res.suppressed_by_reason)} (reported ${res.suppressed_reported}), kills ${kills.killed}/${kills.attempted}`);
  return res;
}
