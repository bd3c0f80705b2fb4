/**
 * What every benchmark shares: the static C tools of bench/tools (built on demand), the bench
 * BPF objects (bpf/build/bench-*.bpf.o), the daemon's metrics, /proc readings, and the run
 * parameters of `--quick` and full runs.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../test/helpers/aces-daemon.js';
import type { TestCgroup } from '../test/helpers/fake-container.js';

export interface BenchParams {
  readonly quick: boolean;
  /** Fresh processes per family for decision latency (one first event each). */
  readonly decisionProcesses: number;
  /** Events per process after the first (repeat offender samples). */
  readonly decisionRepeats: number;
  /** Kill trials per configuration (ACES, floor, user space). */
  readonly killTrials: number;
  /** core_pattern write attempts against the deny tier. */
  readonly denyAttempts: number;
  /** A B C rounds of the overhead comparison (each starts the daemon once). */
  readonly overheadRounds: number;
  /** Iterations per microbenchmark run, by operation. */
  readonly microIters: Readonly<Record<MicroOp, number>>;
  /** Files in the generated tree of the tar workload. */
  readonly tarFiles: number;
  /** Connections per run of the loopback TCP workload. */
  readonly tcpConnections: number;
  /** Storm: processes and seconds. */
  readonly stormProcesses: number;
  readonly stormSeconds: number;
}

export type MicroOp = 'open' | 'stat' | 'getppid' | 'forkexec';
export const MICRO_OPS: readonly MicroOp[] = ['open', 'stat', 'getppid', 'forkexec'];

export function benchParams(quick: boolean): BenchParams {
  return quick
    ? {
      quick, decisionProcesses: 12, decisionRepeats: 20, killTrials: 20, denyAttempts: 10, overheadRounds: 2,
      microIters: { open: 100_000, stat: 100_000, getppid: 300_000, forkexec: 300 }, tarFiles: 1000, tcpConnections: 2000,
      stormProcesses: 8, stormSeconds: 4,
    }
    : {
      quick, decisionProcesses: 40, decisionRepeats: 50, killTrials: 100, denyAttempts: 50, overheadRounds: 5,
      microIters: { open: 300_000, stat: 300_000, getppid: 1_000_000, forkexec: 1000 }, tarFiles: 4000, tcpConnections: 5000,
      stormProcesses: 16, stormSeconds: 10,
    };
}

export const BENCH_TOOL_DIR = '/tmp/aces-bench-tools';

/** Path of bench/tools/<name>.c built static (once per run directory). */
export function benchTool(name: 'syscall-bench' | 'kill-target'): string {
  mkdirSync(BENCH_TOOL_DIR, { recursive: true });
  const src = join(REPO_ROOT, 'bench', 'tools', `${name}.c`);
  const out = join(BENCH_TOOL_DIR, name);
  if (existsSync(out) && statSync(out).mtimeMs >= statSync(src).mtimeMs) return out;
  const r = spawnSync('cc', ['-O2', '-static', '-Wall', '-o', out, src], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`building ${name} failed:\n${r.stderr}`);
  return out;
}

export function benchObjectPath(name: 'floor' | 'kill-floor'): string {
  const p = join(REPO_ROOT, 'bpf', 'build', `bench-${name}.bpf.o`);
  if (!existsSync(p)) throw new Error(`${p} is missing: run npm run build`);
  return p;
}

/** The container key ACES gives a test cgroup: the directory's inode in the key hierarchy. */
export function cgroupKey(c: TestCgroup): string {
  return statSync(c.dir, { bigint: true }).ino.toString();
}

/** VmRSS of a process in bytes, or null when it is gone. */
export function rssBytes(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** Prometheus text from the daemon's --metrics address, as name{labels} -> value. */
export async function scrapeMetrics(address: string): Promise<Map<string, number>> {
  const res = await fetch(`http://${address}/metrics`);
  const text = await res.text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

/** Sum of every series of a metric (all label sets). */
export function metricSum(m: Map<string, number>, name: string): number {
  let s = 0;
  for (const [k, v] of m) if (k === name || k.startsWith(`${name}{`)) s += v;
  return s;
}

/** A free loopback port for --metrics. */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The host's release_agent in the key hierarchy (v1 hybrid hosts), the file rules 2 and 3 watch. */
export function releaseAgentPath(keyDir: string): string {
  return join(keyDir, 'release_agent');
}

export function log(msg: string): void {
  process.stderr.write(`bench: ${msg}\n`);
}
