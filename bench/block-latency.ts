/**
 * Block latency (DESIGN §7). Kill tier: detection to the killed task's exit, for ACES
 * (latency_ns.decision_to_exit of release-agent-write kills), for the bare floor (a program on
 * the same tracepoint that only calls bpf_send_signal(SIGKILL)) and for a user-space round trip
 * (ring buffer -> this Node process -> kill(2)), interleaved trial by trial. Deny tier: whether a
 * core_pattern write ever took effect.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { AcesRun } from '../test/helpers/aces-daemon.js';
import { makeTestCgroup, runInPidns } from '../test/helpers/fake-container.js';
import { native } from '../src/kernel/native.js';
import { benchObjectPath, benchTool, cgroupKey, log, type BenchParams } from './bench-env.js';
import { ratio, summarize, type Summary } from './stats.js';

/**
 * aces_split: ACES again, with the daemon's threads on one CPU and the victim on another. The
 * level-2 event wakes the daemon at once; when the scheduler runs it on the victim's CPU it can
 * run before the victim reaches the pending SIGKILL, and this configuration shows how much of
 * the detection-to-exit time that is.
 */
export type KillConfig = 'aces' | 'aces_split' | 'floor' | 'user_space';
export const KILL_CONFIGS: readonly KillConfig[] = ['aces', 'aces_split', 'floor', 'user_space'];

const CTL_TGID = 0;
const CTL_MODE = 1;
const CTL_T_DETECT = 2;
const CTL_T_EXIT = 3;

export interface TrialOutcome {
  /** How the victim ended: 'signal 9' when killed. */
  readonly end: string;
  /** Detection to exit, ns; null when no figure could be taken. */
  readonly detectToExitNs: number | null;
}

export interface KillSummary {
  readonly detect_to_exit_us: Summary;
  readonly killed: number;
  readonly trials: number;
}

export interface BlockResult {
  readonly kill: Record<KillConfig, KillSummary>;
  readonly ratio_aces_floor_p50: number | null;
  readonly ratio_aces_split_floor_p50: number | null;
  readonly ratio_aces_floor_p99: number | null;
  readonly ratio_user_space_floor_p50: number | null;
  readonly deny: { readonly rule: string; readonly attempts: number; readonly took_effect: number; readonly denied_events: number };
}

/** The bench's own BPF object: the bare kill floor and the user-space round trip. */
export class KillFloor {
  private readonly h: number;
  private readonly links: number[] = [];
  private rb: number | undefined;
  private target = 0;

  constructor() {
    this.h = native.open(benchObjectPath('kill-floor'));
    try {
      native.load(this.h);
      this.links.push(native.attach(this.h, 'kf_openat'), native.attach(this.h, 'kf_exit'));
      this.rb = native.ringbufOpen(this.h, 'kf_events', () => {
        if (this.target) {
          try { process.kill(this.target, 'SIGKILL'); } catch { /* already gone */ }
        }
      });
    } catch (err) {
      this.close();
      throw err;
    }
  }

  private set(i: number, v: bigint): void {
    const k = Buffer.alloc(4);
    k.writeUInt32LE(i);
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(v);
    native.mapUpdate(this.h, 'kf_ctl', k, b);
  }

  private get(i: number): bigint {
    const k = Buffer.alloc(4);
    k.writeUInt32LE(i);
    return native.mapLookup(this.h, 'kf_ctl', k)?.readBigUInt64LE(0) ?? 0n;
  }

  /** Arm for one victim (mode 1 floor, 2 user space, 0 off). */
  arm(tgid: number, mode: 0 | 1 | 2): void {
    this.set(CTL_TGID, 0n);
    this.set(CTL_T_DETECT, 0n);
    this.set(CTL_T_EXIT, 0n);
    this.set(CTL_MODE, BigInt(mode));
    this.target = mode === 2 ? tgid : 0;
    this.set(CTL_TGID, BigInt(tgid));
  }

  /** Detection to exit of the armed victim, ns, or null. */
  reading(): number | null {
    const d = this.get(CTL_T_DETECT);
    const e = this.get(CTL_T_EXIT);
    this.target = 0;
    return d && e && e >= d ? Number(e - d) : null;
  }

  close(): void {
    if (this.rb !== undefined) native.ringbufClose(this.rb);
    this.rb = undefined;
    for (const l of this.links.splice(0)) native.detach(l);
    native.close(this.h);
  }
}

/** Every thread of `pid` onto the CPUs of `mask` (taskset -a -p). */
function pinThreads(pid: number, mask: string): void {
  const r = spawnSync('taskset', ['-a', '-p', mask, String(pid)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`taskset ${mask} ${pid}: ${r.stderr}`);
}

const ALL_CPUS = ((1n << BigInt(cpus().length)) - 1n).toString(16);

/**
 * One victim: a fresh cgroup and pid namespace, told to open `path` for append. `awaitEvent`
 * false: only whether the victim was killed counts (no event wait, for the storm).
 */
async function killTrial(cfg: KillConfig, floor: KillFloor, aces: AcesRun, releaseAgent: string, awaitEvent = true): Promise<TrialOutcome> {
  const c = makeTestCgroup();
  const split = cfg === 'aces_split';
  if (split) pinThreads(aces.child.pid!, '1');
  try {
    const path = cfg === 'aces' || split ? releaseAgent : '/dev/null';
    const argv = [benchTool('kill-target'), join(c.dir, 'cgroup.procs'), path];
    const child = split
      ? spawn('taskset', ['-c', '1', ...argv], { stdio: ['pipe', 'pipe', 'pipe'] })
      : spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const lines = createInterface({ input: child.stdout! });
    const it = lines[Symbol.asyncIterator]();
    // A victim that is never killed sleeps 3 s and exits; past that something is wrong: give up
    // (the cgroup clean-up below kills whatever is left).
    const next = (): Promise<IteratorResult<string>> => Promise.race([
      it.next(),
      new Promise<IteratorResult<string>>((r) => setTimeout(() => r({ done: true, value: undefined }), 6000).unref()),
    ]);
    const first = await next();
    const pid = Number(first.value);
    if (first.done || !Number.isInteger(pid) || pid <= 0) {
      child.kill('SIGKILL');
      throw new Error(`kill-target did not start: ${stderr}`);
    }
    floor.arm(cfg === 'floor' ? pid : cfg === 'user_space' ? pid : 0, cfg === 'floor' ? 1 : cfg === 'user_space' ? 2 : 0);
    child.stdin!.end('g');
    const endLine = await next();
    const end = endLine.done ? `no report (${stderr.trim()})` : String(endLine.value);
    if (endLine.done) child.kill('SIGKILL');
    await new Promise<void>((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.once('exit', () => r())));
    if (cfg === 'floor' || cfg === 'user_space') return { end, detectToExitNs: floor.reading() };
    if (!awaitEvent) return { end, detectToExitNs: null };
    const key = cgroupKey(c);
    try {
      const ev = await aces.waitForEvent((e) => e.rule === 'release-agent-write' && e.container?.key === key, 3000);
      return { end, detectToExitNs: ev.latency_ns.decision_to_exit ?? null };
    } catch {
      return { end, detectToExitNs: null };
    }
  } finally {
    if (split) pinThreads(aces.child.pid!, ALL_CPUS);
    c.cleanup();
  }
}

/** Fires `count` trials of one configuration; exported for the storm, which checks kills still happen. */
export async function killTrials(
  cfg: KillConfig, count: number, floor: KillFloor, aces: AcesRun, releaseAgent: string, awaitEvent = true,
): Promise<TrialOutcome[]> {
  const out: TrialOutcome[] = [];
  for (let i = 0; i < count; i++) out.push(await killTrial(cfg, floor, aces, releaseAgent, awaitEvent));
  return out;
}

function summarizeKills(outcomes: TrialOutcome[]): KillSummary {
  const us = outcomes.map((o) => o.detectToExitNs).filter((v): v is number => v !== null).map((v) => v / 1000);
  return { detect_to_exit_us: summarize(us), killed: outcomes.filter((o) => o.end === 'signal 9').length, trials: outcomes.length };
}

/** Deny tier: core_pattern writes from fresh "containers"; the host value must never change. */
async function denyTrials(aces: AcesRun, attempts: number): Promise<BlockResult['deny']> {
  const file = '/proc/sys/kernel/core_pattern';
  const before = readFileSync(file, 'utf8');
  let tookEffect = 0;
  const keys = new Set<string>();
  for (let i = 0; i < attempts; i++) {
    const c = makeTestCgroup();
    try {
      keys.add(cgroupKey(c));
      runInPidns(`echo '|/tmp/aces-bench-never %p' > ${file}`, { cgroup: c });
      if (readFileSync(file, 'utf8') !== before) {
        tookEffect++;
        writeFileSync(file, before);
      }
    } finally {
      c.cleanup();
    }
  }
  let denied = 0;
  for (let waited = 0; waited < 3000; waited += 200) {
    denied = aces.events().filter((e) => e.rule === 'sysctl-host-write' && keys.has(e.container?.key ?? '') && e.action === 'deny').length;
    if (denied >= attempts) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  return { rule: 'sysctl-host-write', attempts, took_effect: tookEffect, denied_events: denied };
}

export async function measureBlockLatency(aces: AcesRun, releaseAgent: string, p: BenchParams, floor: KillFloor): Promise<BlockResult> {
  const outcomes: Record<KillConfig, TrialOutcome[]> = { aces: [], aces_split: [], floor: [], user_space: [] };
  const configs = KILL_CONFIGS.filter((c) => c !== 'aces_split' || cpus().length >= 2);
  for (let i = 0; i < p.killTrials; i++) {
    for (const cfg of configs) outcomes[cfg].push(await killTrial(cfg, floor, aces, releaseAgent));
  }
  const kill = {
    aces: summarizeKills(outcomes.aces),
    aces_split: summarizeKills(outcomes.aces_split),
    floor: summarizeKills(outcomes.floor),
    user_space: summarizeKills(outcomes.user_space),
  };
  for (const cfg of configs) {
    log(`kill ${cfg}: p50 ${kill[cfg].detect_to_exit_us.p50} us, killed ${kill[cfg].killed}/${kill[cfg].trials}`);
  }
  const deny = await denyTrials(aces, p.denyAttempts);
  log(`deny ${deny.rule}: ${deny.took_effect}/${deny.attempts} took effect`);
  return {
    kill,
    ratio_aces_floor_p50: ratio(kill.aces.detect_to_exit_us.p50, kill.floor.detect_to_exit_us.p50),
    ratio_aces_split_floor_p50: ratio(kill.aces_split.detect_to_exit_us.p50, kill.floor.detect_to_exit_us.p50),
    ratio_aces_floor_p99: ratio(kill.aces.detect_to_exit_us.p99, kill.floor.detect_to_exit_us.p99),
    ratio_user_space_floor_p50: ratio(kill.user_space.detect_to_exit_us.p50, kill.floor.detect_to_exit_us.p50),
    deny,
  };
}
