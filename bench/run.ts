/**
 * `npm run bench [-- --quick]`: runs every benchmark of issue 5 in one process, prints the
 * targets table, writes bench/results/latest.json and regenerates docs/benchmarks.md. Needs
 * root and a built tree (npm run build); it starts its own daemons and "containers" (pid
 * namespaces in fresh cgroups) and removes them again.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, type AcesRun } from '../test/helpers/aces-daemon.js';
import { detectCgroupLayout } from '../src/containers/cgroup-layout.js';
import { BENCH_TOOL_DIR, benchParams, freePort, log, releaseAgentPath } from './bench-env.js';
import { DECISION_POLICY, measureDecisionLatency, type DecisionResult } from './decision-latency.js';
import { KillFloor, measureBlockLatency, type BlockResult } from './block-latency.js';
import { measurePipeline, type PipelineResult, type StormKind } from './pipeline.js';
import { measureOverhead, type OverheadResult } from './overhead.js';
import { footprintResult, measureIdle, startTimed, stopTimed, type FootprintResult } from './footprint.js';
import { evaluateTargets, renderMarkdown, renderTable, BENCH_SCHEMA, type BenchResult } from './report.js';

/** The built-in policy, except that an escalated event kills instead of quarantining: trials never quarantine. */
const BLOCK_POLICY = `apiVersion: aces/v1
mode: enforce
levels: { 3: kill }
`;

async function stopDaemon(a: AcesRun | undefined, errors: string[]): Promise<void> {
  if (!a) return;
  const code = await stopTimed(a);
  if (code !== 0) errors.push(`aces run exited ${code}: ${a.stderr().slice(-500)}`);
}

async function main(argv: string[]): Promise<number> {
  const unknown = argv.filter((a) => a !== '--quick');
  if (unknown.length) {
    process.stderr.write(`usage: npm run bench [-- --quick]\nunknown argument ${unknown[0]}\n`);
    return 2;
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write('bench: needs root (it loads BPF programs and makes cgroups)\n');
    return 2;
  }
  const quick = argv.includes('--quick');
  const params = benchParams(quick);
  const started = Date.now();
  const layout = detectCgroupLayout();
  const releaseAgent = releaseAgentPath(layout.keyDir);
  if (!existsSync(releaseAgent)) {
    process.stderr.write(`bench: ${releaseAgent} is missing: the release_agent benchmarks need a cgroup-v1 key hierarchy\n`);
    return 2;
  }
  const errors: string[] = [];
  let decision: DecisionResult | null = null;
  let block: BlockResult | null = null;
  let pipeline: Record<StormKind, PipelineResult> | null = null;
  let overhead: OverheadResult | null = null;
  let tiers: Record<string, string> = {};
  let programs: string[] = [];
  let idle = { rss: null as number | null, mapBytes: null as number | null };

  const step = async (name: string, fn: () => Promise<void>): Promise<void> => {
    log(`${name}...`);
    try {
      await fn();
    } catch (err) {
      const msg = err instanceof Error ? err.stack ?? err.message : String(err);
      errors.push(`${name}: ${msg}`);
      log(`${name} failed: ${msg}`);
    }
  };

  await step('decision latency', async () => {
    const a = await startTimed({ policyYaml: DECISION_POLICY });
    try {
      decision = await measureDecisionLatency(a, releaseAgent, params);
    } finally {
      await stopDaemon(a, errors);
    }
  });

  let stormPeak: number | null = null;
  await step('block latency, pipeline, footprint', async () => {
    const addr = `127.0.0.1:${await freePort()}`;
    const a = await startTimed({ policyYaml: BLOCK_POLICY, extraArgs: ['--metrics', addr] });
    let floor: KillFloor | undefined;
    try {
      tiers = Object.fromEntries(((a.ready.rules ?? []) as { rule: string; tier: string }[]).map((r) => [r.rule, r.tier]));
      programs = (a.ready.programs ?? []) as string[];
      idle = await measureIdle(a, addr);
      floor = new KillFloor();
      block = await measureBlockLatency(a, releaseAgent, params, floor);
      const paced = await measurePipeline('paced', a, addr, releaseAgent, params, floor);
      const flood = await measurePipeline('flood', a, addr, releaseAgent, params, floor);
      pipeline = { paced, flood };
      stormPeak = Math.max(paced.daemon_rss_peak_bytes ?? 0, flood.daemon_rss_peak_bytes ?? 0) || null;
    } finally {
      floor?.close();
      await stopDaemon(a, errors);
    }
  });

  await step('overhead', async () => {
    if (!programs.length) throw new Error('no program list from a ready line');
    overhead = await measureOverhead(params, programs);
  });

  rmSync(BENCH_TOOL_DIR, { recursive: true, force: true });
  const footprint: FootprintResult = footprintResult(idle, stormPeak);
  const base: Omit<BenchResult, 'targets'> = {
    schema: BENCH_SCHEMA,
    time: new Date().toISOString(),
    kernel: release(),
    host: { cpus: cpus().length, node: process.version },
    quick,
    duration_s: Math.round((Date.now() - started) / 1000),
    params,
    tiers,
    cgroup: { mode: layout.mode, key_source: layout.keySource, key_controller: layout.keyController },
    decision_latency: decision,
    block_latency: block,
    overhead,
    pipeline,
    footprint,
    errors,
  };
  const result: BenchResult = { ...base, targets: evaluateTargets(base) };
  const resultsDir = join(REPO_ROOT, 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(join(resultsDir, 'latest.json'), JSON.stringify(result, null, 2) + '\n');
  writeFileSync(join(REPO_ROOT, 'docs', 'benchmarks.md'), renderMarkdown(result));
  process.stdout.write(renderTable(result));
  process.stdout.write(`\nwrote bench/results/latest.json and docs/benchmarks.md (${result.duration_s} s)\n`);
  return errors.length ? 1 : 0;
}

main(process.argv.slice(2)).then((code) => process.exit(code), (err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
