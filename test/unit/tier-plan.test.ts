// Tier selection from probe results: LSM preferred where it loads, cgroup next, signal last;
// a kernel without what a rule needs is said so, never silently downgraded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planTiers } from '../../src/kernel/tier-plan.js';
import type { KernelFeatures } from '../../src/kernel/feature-probe.js';
import { RULES } from '../../src/policy/rules.js';
import { LSM_HOOK_PROBES } from '../../src/kernel/feature-probe.js';
import { PROGRAMS, RULE_PROGRAMS } from '../../src/kernel/program-catalog.js';
import { compilePolicy } from '../../src/policy/compile-policy.js';
import { DEFAULT_POLICY } from '../../src/policy/default-policy.js';
import type { Policy } from '../../src/policy/policy-schema.js';

const ok = { ok: true };
const no = (detail: string) => ({ ok: false, detail });

function features(over: Partial<KernelFeatures> = {}): KernelFeatures {
  return {
    kernel: '6.18', btf: ok, lsmList: ['bpf'], lsmListed: true, lsmLoadable: no('bpf_object__load: EPERM'),
    lsmHooks: Object.fromEntries(Object.keys(LSM_HOOK_PROBES).map((h) => [h, no('BPF LSM not usable')])),
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

/** A kernel booted with bpf in lsm= (Debian's 6.1 and 6.12 in the vm tier). */
function lsmKernel(over: Partial<KernelFeatures> = {}): KernelFeatures {
  return features({
    kernel: '6.12', lsmLoadable: ok,
    lsmHooks: Object.fromEntries(Object.keys(LSM_HOOK_PROBES).map((h) => [h, ok])), ...over,
  });
}

const LSM_RULES = ['cgroup-v1-mount', 'release-agent-write', 'release-agent-read', 'binfmt-misc-write',
  'sysrq-trigger-write', 'blockdev-mount', 'blockdev-mknod', 'umh-container-exec'];

test('every lsm program names a hook that feature-probe probes', () => {
  for (const p of PROGRAMS.filter((x) => x.needs === 'lsm')) {
    assert.ok(p.lsmHook && p.lsmHook in LSM_HOOK_PROBES, `${p.name}: hook ${p.lsmHook} not probed`);
    assert.ok(p.name.length <= 15, `${p.name} is longer than 15 characters`);
  }
  for (const r of RULES) {
    assert.equal(r.tiers.includes('lsm'), RULE_PROGRAMS[r.name]?.lsm !== undefined, `${r.name}: tiers and programs disagree on lsm`);
  }
});

test('LSM kernel: the rules with a hook go to lsm, the others keep their tier', () => {
  const p = planTiers(rules, lsmKernel());
  const t = Object.fromEntries(p.rules.map((r) => [r.rule, r.tier]));
  for (const r of LSM_RULES) assert.equal(t[r], 'lsm', r);
  assert.equal(t['sysctl-host-write'], 'cgroup');
  assert.equal(t['blockdev-open'], 'cgroup');
  assert.equal(t['quarantined-task'], 'signal');
  for (const prog of ['lsm_file_open', 'lsm_kern_mount', 'lsm_move_mount', 'lsm_bprm_check', 'lsm_path_mknod']) {
    assert.ok(p.programs.includes(prog), prog);
  }
  // Bind mounts through mount(2) stay with the mount tracepoints on the lsm tier.
  const mount = p.rules.find((r) => r.rule === 'cgroup-v1-mount')!;
  assert.ok(mount.programs.includes('mount_exit'));
  assert.equal(mount.note, undefined, 'no note when the first tier was taken');
});

test('no BPF LSM (this machine): no lsm program is loaded, and each lsm rule says why', () => {
  const p = planTiers(rules, features());
  assert.deepEqual(p.programs.filter((x) => x.startsWith('lsm_')), []);
  const t = Object.fromEntries(p.rules.map((r) => [r.rule, r]));
  assert.equal(t['release-agent-write']!.tier, 'signal');
  assert.equal(t['blockdev-mknod']!.tier, 'cgroup');
  assert.match(t['release-agent-write']!.note ?? '', /lsm: BPF LSM not usable \(listed in \/sys\/kernel\/security\/lsm but bpf_object__load: EPERM\)/);
});

test('a missing LSM hook sends only the rules that need it to their next tier', () => {
  const hooks = { ...lsmKernel().lsmHooks, path_mknod: no('bpf_object__load: ESRCH') };
  const p = planTiers(rules, lsmKernel({ lsmHooks: hooks }));
  const t = Object.fromEntries(p.rules.map((r) => [r.rule, r]));
  assert.equal(t['blockdev-mknod']!.tier, 'cgroup');
  assert.match(t['blockdev-mknod']!.note ?? '', /path_mknod/);
  assert.equal(t['release-agent-write']!.tier, 'lsm');
  assert.ok(!p.programs.includes('lsm_path_mknod'));
});

test('default actions follow the tier: deny where LSM refuses, kill or quarantine where only signals act', () => {
  const tiersOf = (f: KernelFeatures): Record<string, string> =>
    Object.fromEntries(planTiers(rules, f).rules.map((r) => [r.rule, r.tier]));
  const actions = (pol: Policy, f: KernelFeatures): Record<string, string> =>
    Object.fromEntries(compilePolicy(pol, tiersOf(f)).rules.map((r) => [r.name, r.action]));

  const onLsm = actions(DEFAULT_POLICY, lsmKernel());
  for (const r of ['cgroup-v1-mount', 'release-agent-write', 'binfmt-misc-write', 'sysrq-trigger-write', 'blockdev-mount']) {
    assert.equal(onLsm[r], 'deny', r);
  }
  assert.equal(onLsm['release-agent-read'], 'alert');
  assert.equal(onLsm['umh-container-exec'], 'quarantine');

  const onSignal = actions(DEFAULT_POLICY, features());
  assert.equal(onSignal['blockdev-mount'], 'quarantine');
  assert.equal(onSignal['release-agent-write'], 'kill');
  assert.deepEqual(actions(DEFAULT_POLICY, features()), Object.fromEntries(compilePolicy(DEFAULT_POLICY).rules.map((r) => [r.name, r.action])),
    'without LSM the tier defaults change nothing');

  // What a policy says wins over the tier default: a rule's action, then its level's.
  const pol: Policy = { ...DEFAULT_POLICY, levels: { 2: 'kill' }, rules: { 'blockdev-mount': { action: 'quarantine' } } };
  const custom = actions(pol, lsmKernel());
  assert.equal(custom['blockdev-mount'], 'quarantine');
  assert.equal(custom['release-agent-write'], 'kill');
});

/** Issue-3 rules with an LSM hook of their own (bpf/lsm.bpf.c), and the programs that carry them. */
const ISSUE3_LSM: Readonly<Record<string, readonly string[]>> = {
  'signal-host': ['lsm_task_kill'],
  'bpf-load': ['lsm_bpf'],
  'syslog-read': ['lsm_syslog', 'lsm_file_open'],
  'perf-system-wide': ['lsm_perf_alloc'],
  'keyctl-host': ['lsm_key_perm'],
  'host-root-chroot': ['lsm_chroot', 'lsm_pivotroot'],
  'runtime-socket': ['lsm_unix_conn'],
  'kernel-fs-mount': ['lsm_kern_mount', 'lsm_move_mount'],
  'userns-mount': ['lsm_kern_mount', 'lsm_move_mount'],
  'exec-cwd-outside': ['lsm_bprm_check'],
  'cgroup-root-move': ['lsm_file_open'],
};

test('LSM kernel: issue-3 rules with a hook go to lsm with their hooks; the rest stay on signal', () => {
  const p = planTiers(rules, lsmKernel());
  const t = Object.fromEntries(p.rules.map((r) => [r.rule, r]));
  for (const [rule, progs] of Object.entries(ISSUE3_LSM)) {
    assert.equal(t[rule]!.tier, 'lsm', rule);
    for (const prog of progs) assert.ok(t[rule]!.programs.includes(prog), `${rule}: ${prog}`);
  }
  // No hook fits these (docs/rules.md says why): open_by_handle_at has none of its own, and a
  // credential rise or namespace swap by an exploit happens before any hook is asked.
  for (const rule of ['open-by-handle', 'cred-rise', 'host-ns-held']) assert.equal(t[rule]!.tier, 'signal', rule);
  // The tracepoint tier's programs for those rules are not loaded when only lsm needs them.
  assert.ok(!p.programs.includes('kernel_bpf'));
  assert.ok(!p.programs.includes('ns_signal'));
});

test('a kernel without one issue-3 hook (task_kill refused): only signal-host falls back, and says why', () => {
  const hooks = { ...lsmKernel().lsmHooks, task_kill: no('bpf_object__load: EINVAL') };
  const p = planTiers(rules, lsmKernel({ lsmHooks: hooks }));
  const t = Object.fromEntries(p.rules.map((r) => [r.rule, r]));
  assert.equal(t['signal-host']!.tier, 'signal');
  assert.match(t['signal-host']!.note ?? '', /hook task_kill does not load \(bpf_object__load: EINVAL\)/);
  assert.ok(p.programs.includes('ns_signal'));
  assert.ok(!p.programs.includes('lsm_task_kill'));
  assert.equal(t['bpf-load']!.tier, 'lsm');
  assert.equal(t['keyctl-host']!.tier, 'lsm');
});

test('issue-3 rules deny on the lsm tier and keep kill on signal; exec-cwd-outside quarantines on both', () => {
  const tiersOf = (f: KernelFeatures): Record<string, string> =>
    Object.fromEntries(planTiers(rules, f).rules.map((r) => [r.rule, r.tier]));
  const actions = (f: KernelFeatures): Record<string, string> =>
    Object.fromEntries(compilePolicy(DEFAULT_POLICY, tiersOf(f)).rules.map((r) => [r.name, r.action]));
  const onLsm = actions(lsmKernel());
  const onSignal = actions(features());
  for (const rule of Object.keys(ISSUE3_LSM).filter((r) => r !== 'exec-cwd-outside')) {
    assert.equal(onLsm[rule], 'deny', rule);
    assert.equal(onSignal[rule], 'kill', rule);
  }
  assert.equal(onLsm['exec-cwd-outside'], 'quarantine');
  assert.equal(onSignal['exec-cwd-outside'], 'quarantine');
});
