/**
 * The benchmark result as one JSON object with stable keys (bench/results/latest.json), the
 * targets it is judged against, and its renderings: a terminal table and docs/benchmarks.md.
 */
import type { BlockResult } from './block-latency.js';
import type { DecisionResult } from './decision-latency.js';
import type { FootprintResult } from './footprint.js';
import type { OverheadCell, OverheadResult } from './overhead.js';
import type { PipelineResult, StormKind } from './pipeline.js';
import type { BenchParams } from './bench-env.js';
import { round } from './stats.js';

export const BENCH_SCHEMA = 'aces.bench/v1';

export interface TargetCheck {
  readonly name: string;
  readonly target: string;
  readonly value: string;
  /** null: not measured in this run. */
  readonly holds: boolean | null;
}

export interface BenchResult {
  readonly schema: string;
  readonly time: string;
  readonly kernel: string;
  readonly host: { readonly cpus: number; readonly node: string };
  readonly quick: boolean;
  readonly duration_s: number;
  readonly params: BenchParams;
  /** Per rule, the tier the enforce-mode daemon used (its ready line). */
  readonly tiers: Record<string, string>;
  readonly cgroup: unknown;
  readonly decision_latency: DecisionResult | null;
  readonly block_latency: BlockResult | null;
  readonly overhead: OverheadResult | null;
  readonly pipeline: Record<StormKind, PipelineResult> | null;
  readonly footprint: FootprintResult | null;
  readonly targets: TargetCheck[];
  readonly errors: string[];
}

const fmt = (v: number | null | undefined, digits = 2): string => {
  const r = round(v, digits);
  return r === null ? 'n/a' : String(r);
};
const mib = (b: number | null | undefined): string => (b === null || b === undefined ? 'n/a' : `${(b / 1048576).toFixed(1)} MiB`);

/**
 * A ratio target judged against the noise of the same run: holds when every on/floor ratio is
 * under the limit, missed when one is over it by more than its cell's spread, otherwise
 * inconclusive (null): the run cannot tell a few per cent from the noise.
 */
function withinNoise(cells: readonly OverheadCell[], limit: number): boolean | null {
  if (!cells.length || cells.some((c) => c.ratio_on_floor === null)) return null;
  if (cells.every((c) => c.ratio_on_floor! < limit)) return true;
  if (cells.some((c) => c.ratio_on_floor! >= limit && c.ratio_on_floor! - 1 > (c.spread ?? 0))) return false;
  return null;
}

export function evaluateTargets(r: Omit<BenchResult, 'targets'>): TargetCheck[] {
  const out: TargetCheck[] = [];
  const d = r.decision_latency;
  if (d) {
    const fams = Object.entries(d.families);
    const worst = Math.max(...fams.flatMap(([, f]) => [f.first_ns.p50, f.repeat_ns.p50]).filter(Number.isFinite));
    out.push({
      name: 'decision p50 < 1 µs (first and repeat, every family)',
      target: '< 1000 ns',
      value: fams.map(([k, f]) => `${k} ${fmt(f.first_ns.p50, 0)}/${fmt(f.repeat_ns.p50, 0)} ns`).join(', '),
      holds: Number.isFinite(worst) ? worst < 1000 : null,
    });
  } else out.push({ name: 'decision p50 < 1 µs', target: '< 1000 ns', value: 'not measured', holds: null });
  const b = r.block_latency;
  out.push({
    name: 'kill detection-to-exit vs bare bpf_send_signal floor (p50)',
    target: '<= 1.2x',
    value: b ? `${fmt(b.ratio_aces_floor_p50)}x (${fmt(b.kill.aces.detect_to_exit_us.p50)} vs ${fmt(b.kill.floor.detect_to_exit_us.p50)} µs)` : 'not measured',
    holds: b?.ratio_aces_floor_p50 != null ? b.ratio_aces_floor_p50 <= 1.2 : null,
  });
  out.push({
    name: 'deny tier: core_pattern write took effect',
    target: 'never',
    value: b ? `${b.deny.took_effect}/${b.deny.attempts}` : 'not measured',
    holds: b ? b.deny.took_effect === 0 && b.deny.attempts > 0 : null,
  });
  const o = r.overhead;
  if (o) {
    const cells = Object.entries(o.micro_ns).flatMap(([op, w]) => Object.entries(w).map(([where, c]) => ({ k: `${op}/${where}`, c })));
    const worst = cells.reduce<{ k: string; c: OverheadCell } | null>((a, x) => ((x.c.ratio_on_floor ?? 0) > (a?.c.ratio_on_floor ?? -1) ? x : a), null);
    out.push({
      name: 'microbenchmark ACES-on / floor (worst op)',
      target: '<= 1.2x',
      value: worst ? `${fmt(worst.c.ratio_on_floor, 3)}x (${worst.k})` : 'n/a',
      holds: cells.length ? cells.every((x) => x.c.ratio_on_floor !== null && x.c.ratio_on_floor <= 1.2) : null,
    });
    const host = cells.filter((x) => x.k.endsWith('/host'));
    const hworst = host.reduce<{ k: string; c: OverheadCell } | null>((a, x) => ((x.c.ratio_on_floor ?? 0) > (a?.c.ratio_on_floor ?? -1) ? x : a), null);
    out.push({
      name: 'host processes pay no more than the floor (micro, worst op)',
      target: '<= 1.05x',
      value: hworst ? `${fmt(hworst.c.ratio_on_floor, 3)}x (${hworst.k}, spread ${fmt(hworst.c.spread, 2)})` : 'n/a',
      holds: withinNoise(host.map((x) => x.c), 1.05),
    });
    const wcells = Object.entries(o.workloads_ms).flatMap(([n, w]) => Object.entries(w).map(([where, c]) => ({ k: `${n}/${where}`, c })));
    out.push({
      name: 'real workloads ACES-on / floor',
      target: '< 1.03x',
      value: wcells.map((x) => `${x.k} ${fmt(x.c.ratio_on_floor, 3)}x (spread ${fmt(x.c.spread, 2)})`).join(', '),
      holds: withinNoise(wcells.map((x) => x.c), 1.03),
    });
  } else out.push({ name: 'overhead', target: '<= 1.2x / < 1.03x', value: 'not measured', holds: null });
  const storms = r.pipeline ? Object.values(r.pipeline) : [];
  out.push({
    name: 'no kernel decision dropped under a storm (kills landed)',
    target: 'all',
    value: storms.length ? storms.map((p) => `${p.storm} ${p.kills_during_storm.killed}/${p.kills_during_storm.attempted}`).join(', ') : 'not measured',
    holds: storms.length ? storms.every((p) => p.kills_during_storm.attempted > 0 && p.kills_during_storm.killed === p.kills_during_storm.attempted) : null,
  });
  for (const p of storms) {
    out.push({
      name: `no event record dropped, ${p.storm} storm (ring buffer and output)`,
      target: '0',
      value: `kernel ${p.kernel_drops}, output ${p.output_drops} (${fmt(p.events_per_second, 0)} events/s written; ${p.suppressed_alerts ?? 0} alerts summarised, counted)`,
      holds: p.kernel_drops === 0 && p.output_drops === 0,
    });
  }
  const f = r.footprint;
  const peak = Math.max(f?.rss_idle_bytes ?? 0, f?.rss_storm_peak_bytes ?? 0);
  out.push({
    name: 'daemon RSS (idle, storm peak)',
    target: '< 100 MiB',
    value: f ? `${mib(f.rss_idle_bytes)}, ${mib(f.rss_storm_peak_bytes)}` : 'not measured',
    holds: f && peak > 0 ? peak < 100 * 1048576 : null,
  });
  return out;
}

const mark = (t: TargetCheck): string => (t.holds === null ? (t.value === 'not measured' ? 'n/a' : 'inconclusive') : t.holds ? 'holds' : 'MISSED');

export function renderTable(r: BenchResult): string {
  const rows = r.targets.map((t) => [t.name, t.target, t.value, mark(t)]);
  const w = [0, 1, 2, 3].map((i) => Math.min(70, Math.max(...rows.map((x) => x[i]!.length), 6)));
  const line = (x: string[]): string => x.map((c, i) => c.padEnd(w[i]!)).join('  ');
  return [line(['target', 'goal', 'measured', 'result']), ...rows.map(line)].join('\n') + '\n';
}

function cellRow(label: string, c: OverheadCell | undefined): string {
  if (!c) return `| ${label} | n/a | n/a | n/a | n/a | n/a | n/a |`;
  return `| ${label} | ${fmt(c.off, 1)} | ${fmt(c.floor, 1)} | ${fmt(c.on, 1)} | ${fmt(c.ratio_on_off, 3)} | ${fmt(c.ratio_on_floor, 3)} | ${fmt(c.spread, 3)} |`;
}

export function renderMarkdown(r: BenchResult): string {
  const L: string[] = [];
  L.push('# Benchmarks', '');
  L.push('Generated by `npm run bench` (bench/run.ts) from `bench/results/latest.json`; do not edit by hand.');
  L.push('Definitions: DESIGN §7. Configurations are interleaved (A B A B), figures are medians and p99 of');
  L.push('one run, and ratios compare figures of that same run. Times here are for this machine only.', '');
  L.push(`- run: ${r.time}, ${r.quick ? '`--quick`' : 'full'}, ${r.duration_s} s`);
  L.push(`- kernel ${r.kernel}, ${r.host.cpus} CPUs, Node.js ${r.host.node}`);
  const tiers = Object.entries(r.tiers).map(([k, v]) => `${k}: ${v}`).join(', ');
  L.push(`- tiers (enforce daemon's ready line): ${tiers || 'n/a'}`);
  L.push(`- parameters: \`${JSON.stringify(r.params)}\``, '');
  if (r.errors.length) {
    L.push('**Errors in this run**:', '', ...r.errors.map((e) => `- ${e.split('\n')[0]}`), '');
  }
  L.push('## Targets', '', '| target | goal | measured | result |', '|---|---|---|---|');
  for (const t of r.targets) L.push(`| ${t.name} | ${t.target} | ${t.value} | ${mark(t)} |`);
  L.push('', '"inconclusive": a ratio over its limit by less than the spread of its rounds (section 3).');
  L.push('');

  L.push('## 1. Decision latency (hook entry to verdict, ns)', '');
  const d = r.decision_latency;
  if (d) {
    L.push('Policy: every action an alert, so a process offends, survives and repeats; each process in its');
    L.push('own cgroup. "first" is the first event of the process (and its container), "repeat" an event of a');
    L.push('recorded offender (escalated, decided with its offender record).', '');
    L.push('| family | rule | first p50 | first p99 | repeat p50 | repeat p99 | first/repeat (p50) | samples first/repeat |', '|---|---|---|---|---|---|---|---|');
    for (const [k, f] of Object.entries(d.families)) {
      L.push(`| ${k} | ${f.rule} | ${fmt(f.first_ns.p50, 0)} | ${fmt(f.first_ns.p99, 0)} | ${fmt(f.repeat_ns.p50, 0)} | ${fmt(f.repeat_ns.p99, 0)} | ${fmt(f.ratio_first_repeat_p50)} | ${f.first_ns.n}/${f.repeat_ns.n} |`);
    }
    for (const [k, why] of Object.entries(d.skipped)) L.push('', `- ${k}: not measured (${why})`);
    const fams = Object.entries(d.families);
    L.push('');
    for (const [k, f] of fams) {
      if (f.seen_events !== f.expected_events) {
        L.push(`- ${k}: ${f.seen_events} events for ${f.expected_events} operations (the hook decided more than once per operation).`);
      }
    }
    const fast = fams.reduce((a, [, f]) => a + f.repeat_fast_path, 0);
    L.push(`- repeats decided on the fast path (\`decided_by: fast_path\`): ${fast} of ${fams.reduce((a, [, f]) => a + f.repeat_ns.n, 0)}. The fast path`);
    L.push('  is the open hooks\': an offender process opening the object of its last offence again (same');
    L.push('  device, inode and open flags) takes the rule from its offender record, after the integrity');
    L.push('  check and without the rule check. The sysctl and device hooks\' rule checks are a map lookup or');
    L.push('  less: their repeats take the full check, with the offender record raising the level.');
    L.push('- `ts_decision` is taken once the verdict is known, before the task\'s descriptive facts are read');
    L.push('  and the offender records written (docs/architecture.md, "Order inside decide()"). The first event');
    L.push('  of a process is also the first run of the hook\'s verdict code since the previous process');
    L.push('  offended: its extra time over a repeat is cold caches for code as much as for data. Timestamps');
    L.push('  between the stages of the sysctl hook (an instrumented build, not part of this run) put 200 to');
    L.push('  800 ns on each stage of a first event, whether the stage loads one map line or none: the');
    L.push('  program\'s JIT image (about 6 KB for the sysctl and device hooks, 14 KB for the open hooks) and');
    L.push('  the helpers\' kernel text are fetched again along with the container key\'s cgroup chain, the');
    L.push('  rule\'s config and the presence filters. The sysctl hook decides on the table set and the base');
    L.push('  name and reads the full name (a walk up the sysctl\'s directories) after the verdict.');
  } else L.push('not measured');
  L.push('');

  L.push('## 2. Block latency', '');
  const b = r.block_latency;
  if (b) {
    L.push('Kill tier, detection to the killed task\'s exit (µs). ACES: `release-agent-write` kills of fresh');
    L.push('pid-namespace processes (`latency_ns.decision_to_exit`). Floor: a program on the same tracepoint');
    L.push('(`sys_exit_openat`) that only calls `bpf_send_signal(SIGKILL)` (bench/bpf/kill-floor.bpf.c). User');
    L.push('space: the same tracepoint writes a ring-buffer record, Node.js calls kill(2). aces_split: ACES with');
    L.push('the daemon\'s threads on CPU 0 and the victim on CPU 1.', '');
    L.push('| path | p50 | p90 | p99 | killed/trials |', '|---|---|---|---|---|');
    for (const [k, s] of Object.entries(b.kill)) {
      L.push(`| ${k} | ${fmt(s.detect_to_exit_us.p50, 1)} | ${fmt(s.detect_to_exit_us.p90, 1)} | ${fmt(s.detect_to_exit_us.p99, 1)} | ${s.killed}/${s.trials} |`);
    }
    L.push('', `ACES/floor: p50 ${fmt(b.ratio_aces_floor_p50)}x, p99 ${fmt(b.ratio_aces_floor_p99)}x; aces_split/floor p50 ${fmt(b.ratio_aces_split_floor_p50)}x; user space/floor p50 ${fmt(b.ratio_user_space_floor_p50)}x.`, '');
    const a = b.ratio_aces_floor_p50;
    const sp = b.ratio_aces_split_floor_p50;
    L.push('A kill sent by the kernel writes its event without waking the daemon; the killed task\'s exit');
    L.push('record wakes it, so the daemon is not scheduled onto the victim\'s CPU between the signal and the');
    L.push('exit (it had made ACES 1.3–1.6x the floor). What remains over the floor is the hook\'s work after');
    L.push('the signal (container offender record, exit tracking, the event record).', '');
    if (a !== null && sp !== null && a > 1.2 && sp < a * 0.75) {
      L.push('Reading: with the daemon kept off the victim\'s CPU most of the gap to the floor goes away in this');
      L.push('run: something other than the daemon\'s wake-up still competes with the victim for its CPU.', '');
    }
    L.push(`Deny tier (\`${b.deny.rule}\`, core_pattern writes from fresh containers): took effect ${b.deny.took_effect} of ${b.deny.attempts}; deny events ${b.deny.denied_events}.`);
  } else L.push('not measured');
  L.push('');

  L.push('## 3. Overhead', '');
  const o = r.overhead;
  if (o) {
    L.push('Medians over rounds; off: nothing attached; floor: an empty program on each hook ACES attaches');
    L.push('(bench/bpf/floor.bpf.c, matched by section); on: `aces run` enforce, built-in policy. Workloads:');
    L.push('tar-extract unpacks a generated tree of small files (median of three per run, timed inside the');
    L.push('container); loopback-tcp is a forked echo server and a closed-loop client, one TCP connection');
    L.push('per 64-byte request (connect is an ACES hook).', '');
    L.push('"spread" is (max - min) / median over the rounds of one configuration, the largest of the three:');
    L.push('ratios closer to 1 than the spread are within this machine\'s noise.', '');
    L.push('| microbenchmark (ns/op) | off | floor | on | on/off | on/floor | spread |', '|---|---|---|---|---|---|---|');
    for (const [op, w] of Object.entries(o.micro_ns)) {
      L.push(cellRow(`${op}, host`, w.host));
      L.push(cellRow(`${op}, container`, w.container));
    }
    L.push('', '| workload (ms) | off | floor | on | on/off | on/floor | spread |', '|---|---|---|---|---|---|---|');
    for (const [n, w] of Object.entries(o.workloads_ms)) {
      L.push(cellRow(`${n}, host`, w.host));
      L.push(cellRow(`${n}, container`, w.container));
    }
    L.push('', `Hooks that put every task of the host on the syscall slow path while ACES runs (any syscall`);
    L.push(`tracepoint does): ${o.slow_path_hooks.map((h) => `\`${h}\``).join(', ') || 'none'}. \`getppid\` is seen by no`);
    L.push('ACES program: its on/off ratio on the host is the cost of the slow path alone.');
    const ho = o.micro_ns.open?.host;
    if (ho?.ratio_on_floor != null && ho.ratio_on_floor > 1.05) {
      L.push('', `Reading: host opens pay ${fmt(ho.ratio_on_floor, 3)}x the floor. The open-exit programs run for every task`);
      L.push('of the host and only inside the program find out that the task is not a container task, so a');
      L.push('host open pays for that classification on top of the empty-program floor.');
    }
    const co = o.micro_ns.open?.container;
    if (co?.ratio_on_floor != null && co.ratio_on_floor > 1.2) {
      L.push('', `Container opens pay ${fmt(co.ratio_on_floor, 3)}x the floor: every open of a container task is resolved and`);
      L.push('judged (file system, inode, the rules of the files family) at open exit.');
    }
    if (o.floor_missing.length) L.push('', `Floor is missing empty programs for: ${o.floor_missing.join(', ')}.`);
    L.push('', `Programs attached by \`aces run\`: ${o.aces_programs.map((p) => `${p.name} (${p.section})`).join(', ')}.`);
  } else L.push('not measured');
  L.push('');

  L.push('## 4. Pipeline', '');
  const storms = r.pipeline ? Object.values(r.pipeline) : [];
  for (const p of storms) {
    L.push(`### ${p.storm} storm`, '');
    L.push(`${p.storm_processes} containers each opening \`release_agent\` for read in a loop (level-1 alerts)`);
    L.push(p.storm === 'flood' ? 'as fast as a shell loop goes' : 'in bursts of 50 followed by a 50 ms sleep (at most 1000 events/s each)');
    L.push(`for ${p.storm_seconds} s, while \`release-agent-write\` kills keep being tried in fresh containers.`, '');
    L.push('| figure | value |', '|---|---|');
    L.push(`| ring-buffer records received | ${p.ringbuf_records} |`);
    L.push(`| storm events written | ${p.events_written} |`);
    L.push(`| events written per second | ${fmt(p.events_per_second, 0)} |`);
    L.push(`| kernel drops (by reason) | ${p.kernel_drops} ${JSON.stringify(p.kernel_drops_by_reason)} |`);
    L.push(`| output drops | ${p.output_drops} |`);
    L.push(`| alert-only events summarised in the kernel (counted; carried in later events), by reason | ${p.suppressed_alerts ?? 0} ${JSON.stringify(p.suppressed_by_reason ?? {})} (carried by written events: ${p.suppressed_reported ?? 0}) |`);
    L.push(`| kills during the storm | ${p.kills_during_storm.killed}/${p.kills_during_storm.attempted} |`);
    L.push(`| decision latency of storm events, p50 / p99 ns | ${fmt(p.storm_decision_ns.p50, 0)} / ${fmt(p.storm_decision_ns.p99, 0)} |`);
    L.push(`| daemon RSS peak | ${mib(p.daemon_rss_peak_bytes)} |`);
    const produced = p.ringbuf_records + p.kernel_drops;
    if (p.kernel_drops > 0) {
      L.push('', `Reading: the storm produced about ${Math.round(produced / p.storm_seconds)} events/s; the ring buffer took`);
      L.push(`${p.ringbuf_records} of them and ${p.kernel_drops} were dropped and counted (\`aces_kernel_drops_total\`). Level-1`);
      L.push('events do not wake the daemon, which drains every 50 ms; alert-only events are limited per');
      L.push('container in the kernel (1000/s, the rest counted and carried in the next event) and kept out of');
      L.push('the ring\'s last quarter, so what was dropped here is alerts; decisions are taken in the kernel');
      L.push('before the record is written and keep the ring\'s headroom (kills during the storm above).');
      if (p.storm_processes > r.host.cpus) {
        L.push(`The ${p.storm_processes} storm processes also compete with the daemon for ${r.host.cpus} CPUs: the rate written under a`);
        L.push('flood is that of a daemon sharing the CPUs with its storm, not its ceiling.');
      }
    }
    L.push('');
  }
  if (!storms.length) L.push('not measured');
  L.push('');

  L.push('## 5. Footprint', '');
  const f = r.footprint;
  if (f) {
    L.push('| figure | value |', '|---|---|');
    L.push(`| daemon RSS idle | ${mib(f.rss_idle_bytes)} |`);
    L.push(`| daemon RSS peak under the storm | ${mib(f.rss_storm_peak_bytes)} |`);
    L.push(`| kernel map memory (upper bound) | ${mib(f.map_memory_bytes)} |`);
    L.push(`| start to ready, daemon's startup_ms, p50 / max (${f.starts} starts) | ${fmt(f.startup_ms.p50, 0)} / ${fmt(f.startup_ms.max, 0)} ms |`);
    L.push(`| start to ready, wall clock of the starter (100 ms polling), p50 | ${fmt(f.wall_to_ready_ms.p50, 0)} ms |`);
  } else L.push('not measured');
  L.push('');
  return L.join('\n');
}
