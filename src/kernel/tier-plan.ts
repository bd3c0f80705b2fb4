/**
 * Which tier enforces each rule on this kernel (DESIGN §3), from what the probes loaded:
 * LSM where it loads, else cgroup BPF, else tracepoint + SIGKILL; "detect" when the hooks load
 * but nothing can act; "unavailable" when not even that. Never a silent downgrade: the plan is
 * printed by `aces doctor` and in the ready line.
 */
import type { KernelFeatures } from './feature-probe.js';
import { BASE_PROGRAMS, RULE_PROGRAMS, programSpec } from './program-catalog.js';

export type PlannedTier = 'lsm' | 'cgroup' | 'signal' | 'detect' | 'unavailable';

export interface RuleTier {
  readonly rule: string;
  readonly tier: PlannedTier;
  readonly programs: readonly string[];
  /** Why a preferred tier was not used, when it was not. */
  readonly note?: string;
}

export interface TierPlan {
  readonly rules: readonly RuleTier[];
  /** Union of the programs to load, base programs first. */
  readonly programs: readonly string[];
  /** Problems that stop ACES from starting at all. */
  readonly fatal: readonly string[];
}

export interface RuleTierInput {
  readonly name: string;
  readonly tiers: readonly string[];
}

function tierAvailable(tier: string, f: KernelFeatures): { ok: boolean; why?: string } {
  switch (tier) {
    case 'lsm':
      if (f.lsmLoadable.ok) return { ok: true };
      return { ok: false, why: `BPF LSM not usable (${f.lsmListed ? 'listed in /sys/kernel/security/lsm but ' : ''}${f.lsmLoadable.detail ?? 'not active'})` };
    case 'cgroup':
      if (!f.cgroupV2.ok) return { ok: false, why: 'no cgroup2 mount' };
      return { ok: true };
    case 'signal':
      if (f.sendSignal.ok) return { ok: true };
      return { ok: false, why: `bpf_send_signal unavailable (${f.sendSignal.detail ?? ''})` };
    default:
      return { ok: false, why: `unknown tier ${tier}` };
  }
}

/** The first LSM hook among progs that does not load here, described; undefined when all do. */
function missingLsmHook(progs: readonly string[], f: KernelFeatures): string | undefined {
  for (const p of progs) {
    const hook = programSpec(p).lsmHook;
    if (hook === undefined) continue;
    const r = f.lsmHooks[hook];
    if (!r?.ok) return `hook ${hook} does not load (${r?.detail ?? 'not probed'})`;
  }
  return undefined;
}

export function planTiers(rules: readonly RuleTierInput[], f: KernelFeatures): TierPlan {
  const fatal: string[] = [];
  if (!f.btf.ok) fatal.push(`kernel has no BTF: ${f.btf.detail}`);
  if (!f.tpBtf.ok) fatal.push(`BTF tracepoints (tp_btf) do not load: ${f.tpBtf.detail}`);
  // Every tracepoint program of the object can kill; without the helper none of them loads.
  if (!f.sendSignal.ok) fatal.push(`bpf_send_signal is not allowed: ${f.sendSignal.detail}`);
  if (!f.syscallTracepoints.ok) fatal.push(`syscall tracepoints cannot be attached: ${f.syscallTracepoints.detail}`);

  const out: RuleTier[] = [];
  const programs = new Set<string>(BASE_PROGRAMS);
  for (const rule of rules) {
    const byTier = RULE_PROGRAMS[rule.name] ?? {};
    const notes: string[] = [];
    let chosen: RuleTier | undefined;
    for (const tier of rule.tiers) {
      const progs = byTier[tier as 'lsm' | 'cgroup' | 'signal'];
      if (!progs) continue;
      const avail = tierAvailable(tier, f);
      const missingHook = avail.ok && tier === 'lsm' ? missingLsmHook(progs, f) : undefined;
      if (missingHook) {
        notes.push(`lsm: ${missingHook}`);
        continue;
      }
      const progOk = tier !== 'cgroup' || progs.every((p) =>
        p === 'sysctl_write' ? f.cgroupSysctl.ok : p === 'device_access' ? f.cgroupDevice.ok : true);
      if (avail.ok && progOk) {
        chosen = { rule: rule.name, tier: tier as PlannedTier, programs: progs, note: notes.join('; ') || undefined };
        break;
      }
      notes.push(`${tier}: ${avail.why ?? 'program type does not load'}`);
    }
    if (!chosen) {
      // Hooks that load without any way to act still report.
      const signalProgs = byTier.signal;
      chosen = signalProgs
        ? { rule: rule.name, tier: 'detect', programs: signalProgs, note: notes.join('; ') }
        : { rule: rule.name, tier: 'unavailable', programs: [], note: notes.join('; ') || 'no hook on this kernel' };
    }
    chosen.programs.forEach((p) => programs.add(p));
    out.push(chosen);
  }
  return { rules: out, programs: [...programs], fatal };
}
