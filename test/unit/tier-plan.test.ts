// Tier selection from probe results: LSM preferred where it loads, cgroup next, signal last;
// a kernel without what a rule needs is said so, never silently downgraded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planTiers } from '../../src/kernel/tier-plan.js';
import type { KernelFeatures } from '../../src/kernel/feature-probe.js';
import { RULES } from '../../src/policy/rules.js';

const ok = { ok: true };
const no = (detail: string) => ({ ok: false, detail });

function features(over: Partial<KernelFeatures> = {}): KernelFeatures {
  return {
    kernel: '6.18', btf: ok, lsmList: ['bpf'], lsmListed: true, lsmLoadable: no('bpf_object__load: EPERM'),
    trampolineLoadable: no('EPERM'), tpBtf: ok, sendSignal: ok, syscallTracepoints: ok,
    cgroupV2: { ok: true, path: '/sys/fs/cgroup/unified' }, cgroupSysctl: ok, cgroupDevice: ok, ...over,
  };
}
const rules = RULES.map((r) => ({ name: r.name, tiers: r.tiers }));

test('this machine: cgroup for sysctl and devices, signal for the rest', () => {
  const p = planTiers(rules, features());
  const t = Object.fromEntries(p.rules.map((r) => [r.rule, r.tier]));
  assert.equal(t['sysctl-host-write'], 'cgroup');
  assert.equal(t['blockdev-open'], 'cgroup');
  assert.equal(t['release-agent-write'], 'signal');
  assert.deepEqual(p.fatal, []);
  assert.ok(p.programs.includes('sysctl_write'));
  assert.ok(p.programs.includes('exec_sched_exec'));
});

test('no cgroup2: cgroup-only rules are unavailable and say why', () => {
  const p = planTiers(rules, features({ cgroupV2: { ok: false }, cgroupSysctl: no('no cgroup2 mount'), cgroupDevice: no('no cgroup2 mount') }));
  const s = p.rules.find((r) => r.rule === 'sysctl-host-write')!;
  assert.equal(s.tier, 'unavailable');
  assert.match(s.note ?? '', /cgroup2/);
  assert.ok(!p.programs.includes('sysctl_write'));
});

test('missing BTF, tp_btf, send_signal or tracefs are fatal with the reason', () => {
  assert.match(planTiers(rules, features({ btf: no('missing') })).fatal.join(), /BTF/);
  assert.match(planTiers(rules, features({ tpBtf: no('EINVAL') })).fatal.join(), /tp_btf/);
  assert.match(planTiers(rules, features({ sendSignal: no('EINVAL') })).fatal.join(), /send_signal/);
  assert.match(planTiers(rules, features({ syscallTracepoints: no('no tracefs') })).fatal.join(), /tracefs/);
});
