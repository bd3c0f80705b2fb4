/**
 * Overhead (DESIGN §7): a static syscall microbenchmark (open/close, stat, getppid, fork+exec)
 * and two real workloads (tar extraction of a generated tree; a loopback TCP echo server under a
 * closed-loop client, one connection per request), on the host and in a pid-namespace
 * "container", in three configurations interleaved round by round:
 *   off    nothing attached
 *   floor  an empty program on every hook the daemon attaches (bench/bpf/floor.bpf.c, chosen by
 *          section from the daemon's ready line)
 *   on     `aces run` in enforce mode with the built-in policy
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTestCgroup, runInPidns, shQuote } from '../test/helpers/fake-container.js';
import { native } from '../src/kernel/native.js';
import { bpfObjectPath } from '../src/kernel/object-paths.js';
import { benchObjectPath, benchTool, log, MICRO_OPS, type BenchParams, type MicroOp } from './bench-env.js';
import { startTimed, stopTimed } from './footprint.js';
import { median, ratio, round } from './stats.js';

export type OverheadConfig = 'off' | 'floor' | 'on';
const CONFIGS: readonly OverheadConfig[] = ['off', 'floor', 'on'];
type Where = 'host' | 'container';
const WHERE: readonly Where[] = ['host', 'container'];

export interface OverheadCell {
  /** Median over rounds: ns per operation (micro) or ms per run (workload). */
  readonly off: number | null;
  readonly floor: number | null;
  readonly on: number | null;
  readonly ratio_on_off: number | null;
  readonly ratio_on_floor: number | null;
  readonly ratio_floor_off: number | null;
  /**
   * (max - min) / median of the samples of each configuration, the largest of the three: how
   * far rounds of the same configuration lie apart. Ratios closer to 1 than this are noise.
   */
  readonly spread: number | null;
}

export interface OverheadResult {
  /** micro[op][where], ns per operation. */
  readonly micro_ns: Record<string, Record<Where, OverheadCell>>;
  /** workloads[name][where], ms per run. */
  readonly workloads_ms: Record<string, Record<Where, OverheadCell>>;
  /** Programs `aces run` attached, with their sections. */
  readonly aces_programs: { name: string; section: string }[];
  /** Hooks that put every task of the host on the syscall slow path while attached. */
  readonly slow_path_hooks: string[];
  /** Sections ACES attaches for which the floor object has no empty program (the floor is short of them). */
  readonly floor_missing: string[];
  readonly rounds: number;
}

/** Section of every ACES program, from the object itself (the catalogue names, the ELF says where). */
function acesSections(): Map<string, string> {
  const h = native.open(bpfObjectPath('aces'));
  try {
    return new Map(native.programs(h).map((p) => [p.name, p.section.replace(/^\?/, '')]));
  } finally {
    native.close(h);
  }
}

function cgroup2Path(): string | undefined {
  for (const line of readFileSync('/proc/self/mounts', 'utf8').split('\n')) {
    const f = line.split(' ');
    if (f[2] === 'cgroup2') return f[1];
  }
  return undefined;
}

/** The floor: empty programs on exactly the sections ACES attached. */
class Floor {
  private readonly h: number;
  private readonly links: number[] = [];
  private readonly chosen: { name: string; section: string }[];
  readonly missing: string[];

  constructor(sections: readonly string[]) {
    this.h = native.open(benchObjectPath('floor'));
    const progs = native.programs(this.h).map((p) => ({ name: p.name, section: p.section.replace(/^\?/, '') }));
    const want = new Set(sections);
    this.missing = sections.filter((s) => !progs.some((p) => p.section === s));
    try {
      for (const p of progs) native.setAutoload(this.h, p.name, want.has(p.section));
      native.load(this.h);
    } catch (err) {
      native.close(this.h);
      throw err;
    }
    this.chosen = progs.filter((p) => want.has(p.section));
  }

  attach(): void {
    const cg = cgroup2Path();
    for (const p of this.chosen) {
      if (p.section.startsWith('cgroup/')) {
        if (!cg) throw new Error('no cgroup2 mount for the floor\'s cgroup programs');
        this.links.push(native.attachCgroup(this.h, p.name, cg));
      } else {
        this.links.push(native.attach(this.h, p.name));
      }
    }
  }

  detach(): void {
    for (const l of this.links.splice(0)) native.detach(l);
  }

  close(): void {
    this.detach();
    native.close(this.h);
  }
}

const TAR_DIR = '/tmp/aces-bench-tar';

/** A tree of small files in nested directories, archived once per run. */
function makeTarball(files: number): string {
  rmSync(TAR_DIR, { recursive: true, force: true });
  const src = join(TAR_DIR, 'src');
  for (let i = 0; i < files; i++) {
    const d = join(src, `d${i % 50}`, `e${i % 7}`);
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, `f${i}.txt`), `file ${i}\n`.repeat(1 + (i % 40)));
  }
  const tar = join(TAR_DIR, 'tree.tar');
  const r = spawnSync('tar', ['-cf', tar, '-C', src, '.']);
  if (r.status !== 0) throw new Error('tar -c failed');
  rmSync(src, { recursive: true, force: true });
  return tar;
}

/** Runs a shell script on the host or in a fresh pid-namespace container; returns its stdout. */
function runWhere(where: Where, script: string): string {
  if (where === 'host') {
    const r = spawnSync('/bin/sh', ['-c', script], { encoding: 'utf8', timeout: 120_000 });
    if (r.status !== 0) throw new Error(`host run failed: ${r.stderr}`);
    return r.stdout;
  }
  const c = makeTestCgroup();
  try {
    const r = runInPidns(script, { cgroup: c, timeoutMs: 120_000 });
    if (r.status !== 0) throw new Error(`container run failed (${r.status}): ${r.stderr}`);
    return r.stdout;
  } finally {
    c.cleanup();
  }
}

function microOnce(where: Where, op: MicroOp | 'tcp', iters: number): number {
  const out = runWhere(where, `exec ${shQuote(benchTool('syscall-bench'))} ${op} ${iters} /etc/passwd`);
  const v = Number(out.trim());
  if (!Number.isFinite(v)) throw new Error(`syscall-bench ${op}: ${out}`);
  return v;
}

/**
 * Three extractions, the median in ms: the time is taken inside the container by date(1), after
 * a sync so that write-back of earlier runs does not land in this one.
 */
function tarOnce(where: Where, tar: string): number {
  const dst = join(TAR_DIR, `x-${where}`);
  const script = `t=0; for i in 1 2 3; do rm -rf ${dst}; mkdir -p ${dst}; sync; s=$(date +%s%N); tar -xf ${tar} -C ${dst}; e=$(date +%s%N); echo $((e-s)); done; rm -rf ${dst}`;
  const v = runWhere(where, script).trim().split('\n').map(Number);
  return median(v) / 1e6;
}

function cell(samples: Record<OverheadConfig, number[]>): OverheadCell {
  const m = (c: OverheadConfig): number | null => (samples[c].length ? median(samples[c]) : null);
  const off = m('off');
  const floor = m('floor');
  const on = m('on');
  const spreads = CONFIGS.map((c) => {
    const v = samples[c];
    return v.length > 1 ? ratio(Math.max(...v) - Math.min(...v), median(v)) : null;
  }).filter((x): x is number => x !== null);
  return {
    off: round(off), floor: round(floor), on: round(on), spread: spreads.length ? round(Math.max(...spreads), 3) : null,
    ratio_on_off: round(ratio(on, off), 3), ratio_on_floor: round(ratio(on, floor), 3), ratio_floor_off: round(ratio(floor, off), 3),
  };
}

/** A program on any syscall tracepoint (or raw sys_enter/exit) sets the task slow-path flag host-wide. */
export function isSlowPathSection(section: string): boolean {
  return section.startsWith('tracepoint/syscalls/') || section.startsWith('tracepoint/raw_syscalls/')
    || /^(tp_btf|raw_tp|raw_tracepoint)\/sys_(enter|exit)$/.test(section);
}

export async function measureOverhead(p: BenchParams, acesPrograms: readonly string[]): Promise<OverheadResult> {
  const sections = acesSections();
  const attached = acesPrograms.map((n) => ({ name: n, section: sections.get(n) ?? '?' }));
  const floor = new Floor([...new Set(attached.map((a) => a.section))]);
  const tar = makeTarball(p.tarFiles);
  const micro = new Map<string, Record<OverheadConfig, number[]>>();
  const work = new Map<string, Record<OverheadConfig, number[]>>();
  const slot = (m: Map<string, Record<OverheadConfig, number[]>>, k: string): Record<OverheadConfig, number[]> => {
    let v = m.get(k);
    if (!v) m.set(k, (v = { off: [], floor: [], on: [] }));
    return v;
  };
  try {
    for (let round = 0; round < p.overheadRounds; round++) {
      // Rotate the order each round so no configuration always runs first after a start-up.
      const order = CONFIGS.map((_, i) => CONFIGS[(i + round) % CONFIGS.length]!);
      for (const cfg of order) {
        const aces = cfg === 'on' ? await startTimed({ mode: 'enforce' }) : undefined;
        if (cfg === 'floor') floor.attach();
        try {
          if (aces) {
            const got = ((aces.ready.programs ?? []) as string[]).slice().sort().join(',');
            if (got !== [...acesPrograms].sort().join(',')) log(`note: this start attached ${got}`);
          }
          for (const where of WHERE) {
            for (const op of MICRO_OPS) slot(micro, `${op}/${where}`)[cfg].push(microOnce(where, op, p.microIters[op]));
            slot(work, `tar-extract/${where}`)[cfg].push(tarOnce(where, tar));
            slot(work, `loopback-tcp/${where}`)[cfg].push(microOnce(where, 'tcp', p.tcpConnections) * p.tcpConnections / 1e6);
          }
        } finally {
          if (cfg === 'floor') floor.detach();
          if (aces) {
            const code = await stopTimed(aces);
            if (code !== 0) log(`aces run exited ${code}: ${aces.stderr()}`);
          }
        }
        log(`overhead round ${round + 1}/${p.overheadRounds}: ${cfg} done`);
      }
    }
  } finally {
    floor.close();
    rmSync(TAR_DIR, { recursive: true, force: true });
  }
  const nest = (m: Map<string, Record<OverheadConfig, number[]>>): Record<string, Record<Where, OverheadCell>> => {
    const out: Record<string, Record<Where, OverheadCell>> = {};
    for (const [k, v] of m) {
      const [name, where] = k.split('/') as [string, Where];
      (out[name] ??= {} as Record<Where, OverheadCell>)[where] = cell(v);
    }
    return out;
  };
  return {
    micro_ns: nest(micro),
    workloads_ms: nest(work),
    aces_programs: attached,
    slow_path_hooks: [...new Set(attached.filter((a) => isSlowPathSection(a.section)).map((a) => a.section))],
    floor_missing: floor.missing,
    rounds: p.overheadRounds,
  };
}
