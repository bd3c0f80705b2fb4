/** `aces doctor`: what this kernel supports and, per rule, which tier enforces it here. */
import { probeKernelFeatures, type KernelFeatures, type ProbeResult } from '../kernel/feature-probe.js';
import { planTiers, type TierPlan } from '../kernel/tier-plan.js';
import { detectCgroupLayout, type CgroupLayout } from '../containers/cgroup-layout.js';
import { RULES } from '../policy/rules.js';

export interface DoctorReport {
  features: KernelFeatures;
  cgroup: CgroupLayout | { error: string };
  plan: TierPlan;
}

export function doctorReport(): DoctorReport {
  const features = probeKernelFeatures();
  let cgroup: DoctorReport['cgroup'];
  try {
    cgroup = detectCgroupLayout();
  } catch (err) {
    cgroup = { error: err instanceof Error ? err.message : String(err) };
  }
  const plan = planTiers(RULES.map((r) => ({ name: r.name, tiers: r.tiers })), features);
  return { features, cgroup, plan };
}

function mark(r: ProbeResult): string {
  return r.ok ? 'yes' : `no (${r.detail ?? 'unavailable'})`;
}

export function formatDoctor(rep: DoctorReport): string {
  const f = rep.features;
  const lines = [
    `kernel                      ${f.kernel}`,
    `BTF (/sys/kernel/btf)       ${mark(f.btf)}`,
    `BPF LSM listed as active    ${f.lsmListed ? 'yes' : 'no'} (${f.lsmList.join(',') || 'securityfs not readable'})`,
    `BPF LSM programs run        ${mark(f.lsmLoadable)}`,
    ...(f.lsmLoadable.ok ? [`BPF LSM hooks               ${Object.entries(f.lsmHooks).map(([h, r]) => (r.ok ? h : `${h}: no (${r.detail ?? ''})`)).join(', ')}`] : []),
    `fentry/fexit programs load  ${mark(f.trampolineLoadable)}`,
    `tp_btf programs load        ${mark(f.tpBtf)}`,
    `bpf_send_signal             ${mark(f.sendSignal)}`,
    `syscall tracepoints attach  ${mark(f.syscallTracepoints)}`,
    `cgroup v2 mounted           ${f.cgroupV2.ok ? `yes (${f.cgroupV2.path})` : 'no'}`,
    `cgroup/sysctl programs      ${mark(f.cgroupSysctl)}`,
    `cgroup/dev programs         ${mark(f.cgroupDevice)}`,
  ];
  if ('error' in rep.cgroup) lines.push(`container keys              unavailable: ${rep.cgroup.error}`);
  else lines.push(`container keys              ${rep.cgroup.mode}, ${rep.cgroup.keySource}${rep.cgroup.keyController ? ` (${rep.cgroup.keyController} hierarchy)` : ''}`);
  if (f.lsmListed && !f.lsmLoadable.ok) {
    lines.push('', 'note: this kernel lists bpf among its LSMs but refuses LSM programs; rules fall back to cgroup and signal tiers');
  } else if (!f.lsmListed) {
    lines.push('', 'note: bpf is not among the active LSMs (boot with lsm=...,bpf where the kernel has CONFIG_BPF_LSM); rules fall back to cgroup and signal tiers');
  }
  lines.push('', 'rule                    tier        note');
  for (const r of rep.plan.rules) lines.push(`${r.rule.padEnd(24)}${r.tier.padEnd(12)}${r.note ?? ''}`);
  if (rep.plan.fatal.length) lines.push('', 'ACES cannot run here:', ...rep.plan.fatal.map((x) => `  - ${x}`));
  return lines.join('\n') + '\n';
}
