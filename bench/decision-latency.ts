/**
 * Decision latency (DESIGN §7): hook entry to verdict, from the kernel timestamps each event
 * carries (latency_ns.decision), for a process's first event and for a repeat offender's, per
 * rule family. The daemon runs a policy where every action is an alert, so the offending
 * process survives and offends again; each process runs in a fresh cgroup (its own container
 * key), so its first event is a first for the container too.
 */
import type { AcesRun, EventLine } from '../test/helpers/aces-daemon.js';
import { makeTestCgroup, runInPidns, shQuote } from '../test/helpers/fake-container.js';
import { hostRootDisk } from '../test/helpers/host-disk.js';
import { cgroupKey, log, sleep, type BenchParams } from './bench-env.js';
import { ratio, summarize, type Summary } from './stats.js';

/** Every action an alert: the offender lives on and repeats (escalation raises the level only). */
export const DECISION_POLICY = `apiVersion: aces/v1
mode: enforce
offenderTtl: 10m
levels: { 1: alert, 2: alert, 3: alert }
rules:
  release-agent-write: { action: alert }
  sysctl-host-write: { action: alert }
  blockdev-open: { action: alert }
`;

export interface FamilyResult {
  readonly rule: string;
  /** Trigger used, as a shell fragment. */
  readonly trigger: string;
  readonly first_ns: Summary;
  readonly repeat_ns: Summary;
  /** p50 first / p50 repeat. */
  readonly ratio_first_repeat_p50: number | null;
  /** Repeat events decided on the fast path (decided_by fast_path), of all repeats. */
  readonly repeat_fast_path: number;
  readonly expected_events: number;
  readonly seen_events: number;
}

export interface DecisionResult {
  readonly families: Record<string, FamilyResult>;
  readonly skipped: Record<string, string>;
}

interface Family {
  readonly name: string;
  readonly rule: string;
  /** Shell that offends once; run n times in a loop by the same process. */
  readonly once: string;
}

function families(releaseAgent: string): { list: Family[]; skipped: Record<string, string> } {
  const list: Family[] = [
    // Opening for write and closing at once: the alert policy lets the open through, nothing is written.
    { name: 'files', rule: 'release-agent-write', once: `exec 3>>${shQuote(releaseAgent)}; exec 3>&-` },
    // Writes the value already there, so the host setting does not change under the alert policy.
    { name: 'sysctl', rule: 'sysctl-host-write', once: 'echo "$v" > /proc/sys/kernel/core_uses_pid' },
  ];
  const skipped: Record<string, string> = {};
  const disk = hostRootDisk();
  // `true`, not `:`: a failed redirection of a special builtin would end the shell.
  if (disk) list.push({ name: 'devices', rule: 'blockdev-open', once: `true < ${shQuote(disk.dev)} 2>/dev/null` });
  else skipped.devices = 'the root filesystem is not on a block device';
  return { list, skipped };
}

export async function measureDecisionLatency(aces: AcesRun, releaseAgent: string, p: BenchParams): Promise<DecisionResult> {
  const { list, skipped } = families(releaseAgent);
  const perFamily = new Map<string, string[]>(list.map((f) => [f.name, []]));
  const n = p.decisionRepeats + 1;
  // Interleaved: family A, B, C, A, B, C... so that drift of the host hits every family alike.
  for (let i = 0; i < p.decisionProcesses; i++) {
    for (const f of list) {
      const c = makeTestCgroup();
      try {
        const script = `v=$(cat /proc/sys/kernel/core_uses_pid); i=0; while [ $i -lt ${n} ]; do ${f.once}; i=$((i+1)); done; echo done`;
        const r = runInPidns(script, { cgroup: c });
        if (!r.stdout.includes('done')) throw new Error(`decision workload ${f.name} failed: ${r.stderr}`);
        perFamily.get(f.name)!.push(cgroupKey(c));
      } finally {
        c.cleanup();
      }
    }
  }
  // Events are written as they come; give the last ones time to arrive.
  const expected = p.decisionProcesses * n;
  let events: EventLine[] = [];
  for (let waited = 0; waited < 5000; waited += 200) {
    events = aces.events();
    const done = list.every((f) => {
      const keys = new Set(perFamily.get(f.name));
      return events.filter((e) => e.rule === f.rule && keys.has(e.container?.key ?? '')).length >= expected;
    });
    if (done) break;
    await sleep(200);
  }
  const out: Record<string, FamilyResult> = {};
  for (const f of list) {
    const keys = new Set(perFamily.get(f.name));
    const evs = events.filter((e) => e.rule === f.rule && keys.has(e.container?.key ?? ''));
    const first = evs.filter((e) => !e.offender).map((e) => e.latency_ns.decision);
    const repeat = evs.filter((e) => e.offender);
    const fs = summarize(first);
    const rs = summarize(repeat.map((e) => e.latency_ns.decision));
    out[f.name] = {
      rule: f.rule,
      trigger: f.once,
      first_ns: fs,
      repeat_ns: rs,
      ratio_first_repeat_p50: ratio(fs.p50, rs.p50),
      repeat_fast_path: repeat.filter((e) => e.decided_by === 'fast_path').length,
      expected_events: expected,
      seen_events: evs.length,
    };
    log(`decision ${f.name}: first p50 ${fs.p50} ns (n ${fs.n}), repeat p50 ${rs.p50} ns (n ${rs.n})`);
  }
  return { families: out, skipped };
}
