/**
 * Footprint (DESIGN §7): daemon RSS at idle and under a storm, kernel map memory
 * (aces_map_memory_bytes, an upper bound: max_entries x (key + value)), and the time from
 * starting `aces run` to its ready line, both as the daemon reports it (startup_ms, from its
 * own process start) and as the wall clock of the starter sees it.
 */
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { startAces, type AcesRun, type StartAcesOptions } from '../test/helpers/aces-daemon.js';
import { metricSum, rssBytes, scrapeMetrics, sleep } from './bench-env.js';
import { summarize, type Summary } from './stats.js';

export interface StartSample {
  readonly startup_ms: number;
  readonly wall_ms: number;
}

export interface FootprintResult {
  readonly rss_idle_bytes: number | null;
  readonly rss_storm_peak_bytes: number | null;
  readonly map_memory_bytes: number | null;
  readonly startup_ms: Summary;
  /** Wall clock to the ready line; the starter polls for it every 100 ms, so this is that coarse. */
  readonly wall_to_ready_ms: Summary;
  readonly starts: number;
}

const starts: StartSample[] = [];

/** startAces, timed; every daemon the benchmark starts goes through here. */
export async function startTimed(opts: StartAcesOptions): Promise<AcesRun> {
  const t0 = process.hrtime.bigint();
  const run = await startAces(opts);
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  starts.push({ startup_ms: Number(run.ready.startup_ms), wall_ms: wall });
  return run;
}

/** Stops a daemon started by {@link startTimed} and removes its events directory; returns its exit code. */
export async function stopTimed(run: AcesRun): Promise<number | null> {
  const code = await run.stop();
  const args = run.child.spawnargs;
  const i = args.indexOf('--events');
  if (i >= 0 && args[i + 1]) rmSync(dirname(args[i + 1]!), { recursive: true, force: true });
  return code;
}

/** RSS after the daemon settled with nothing to do, and the map memory gauge. */
export async function measureIdle(aces: AcesRun, metricsAddr: string): Promise<{ rss: number | null; mapBytes: number | null }> {
  await sleep(1000);
  const rss = rssBytes(aces.child.pid!);
  const m = await scrapeMetrics(metricsAddr);
  const mapBytes = m.has('aces_map_memory_bytes') ? metricSum(m, 'aces_map_memory_bytes') : null;
  return { rss, mapBytes };
}

export function footprintResult(idle: { rss: number | null; mapBytes: number | null }, stormPeak: number | null): FootprintResult {
  return {
    rss_idle_bytes: idle.rss,
    rss_storm_peak_bytes: stormPeak,
    map_memory_bytes: idle.mapBytes,
    startup_ms: summarize(starts.map((s) => s.startup_ms)),
    wall_to_ready_ms: summarize(starts.map((s) => s.wall_ms)),
    starts: starts.length,
  };
}
