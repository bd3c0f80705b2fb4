// Compilation: defaults, the levels inheritance, determinism, and the numbers written to maps.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ACT_ALERT, ACT_DENY, ACT_KILL, ACT_QUARANTINE, MODE_ENFORCE, MODE_MONITOR } from '../../src/wire/constants.js';
import { compilePolicy, DEFAULT_LEVEL_ACTIONS, policyMapValues, type CompiledPolicy } from '../../src/policy/compile-policy.js';
import { DEFAULT_POLICY } from '../../src/policy/default-policy.js';
import { parsePolicy, readPolicyFile } from '../../src/policy/parse-policy.js';
import { ACES_E_POLICY_INVALID, PolicyError, type Policy } from '../../src/policy/policy-schema.js';
import { RULES } from '../../src/policy/rules.js';

function repoRoot(): string {
  for (const start of [dirname(fileURLToPath(import.meta.url)), process.cwd()]) {
    for (let dir = start; ; dir = dirname(dir)) {
      if (existsSync(join(dir, 'bpf', 'api', 'aces.h'))) return dir;
      if (dirname(dir) === dir) break;
    }
  }
  throw new Error('repository root (bpf/api/aces.h) not found from the test file or the cwd');
}

const fixture = (name: string): string => join(repoRoot(), 'test', 'fixtures', 'policies', name);
const p = (yaml: string): Policy => parsePolicy(`apiVersion: aces/v1\n${yaml}`, 'test.yaml');
const rule = (c: CompiledPolicy, name: string) => {
  const r = c.rules.find((x) => x.name === name);
  assert.ok(r, name);
  return r;
};

test('the default policy compiles to the catalogue defaults', () => {
  const c = compilePolicy(DEFAULT_POLICY);
  assert.equal(c.mode, 'enforce');
  assert.equal(c.offenderTtlNs, 600_000_000_000n);
  assert.deepEqual(c.levelActions, DEFAULT_LEVEL_ACTIONS);
  assert.deepEqual(c.exceptions, []);
  assert.deepEqual(
    c.rules,
    [...RULES].sort((a, b) => a.id - b.id).map((r) => ({ id: r.id, name: r.name, enabled: true, level: r.defaultLevel, action: r.defaultAction })),
  );
  assert.deepEqual(c.rules.map((r) => r.id), Array.from({ length: 31 }, (_, i) => i + 1));
});

test('action inheritance: rule action, else levels for the rule level, else the rule default', () => {
  const c = compilePolicy(readPolicyFile(fixture('levels-only.yaml')));
  // levels 2: alert applies to every L2 rule without an action of its own.
  for (const name of ['release-agent-write', 'sysctl-host-write', 'binfmt-misc-write', 'sysrq-trigger-write', 'blockdev-mount', 'blockdev-open']) {
    assert.deepEqual([rule(c, name).level, rule(c, name).action], [2, 'alert'], name);
  }
  // Moved to level 1, which levels does not name: keeps its own default action.
  assert.deepEqual([rule(c, 'cgroup-v1-mount').level, rule(c, 'cgroup-v1-mount').action], [1, 'kill']);
  // An explicit action beats levels.
  assert.equal(rule(c, 'blockdev-mknod').action, 'deny');
  // Level 3 is not in levels: defaults stand.
  assert.equal(rule(c, 'umh-container-exec').action, 'quarantine');
  assert.equal(rule(c, 'quarantined-task').action, 'kill');
  assert.deepEqual(c.levelActions, { 1: 'alert', 2: 'alert', 3: 'quarantine' });
});

test('a level override picks up the levels action of the new level', () => {
  const c = compilePolicy(p('levels: { 3: quarantine }\nrules:\n  sysctl-host-write: { level: 3 }\n'));
  assert.deepEqual([rule(c, 'sysctl-host-write').level, rule(c, 'sysctl-host-write').action], [3, 'quarantine']);
  assert.equal(rule(c, 'quarantined-task').action, 'quarantine');
});

test('disabled rules keep their resolved level and action, enabled false', () => {
  const c = compilePolicy(p('rules:\n  blockdev-open: { enabled: false }\n'));
  assert.deepEqual(rule(c, 'blockdev-open'), { id: 9, name: 'blockdev-open', enabled: false, level: 2, action: 'deny' });
  assert.equal(c.rules.filter((r) => r.enabled).length, RULES.length - 1);
});

test('mode and TTL', () => {
  const m = compilePolicy(readPolicyFile(fixture('monitor-never-expire.yaml')));
  assert.equal(m.mode, 'monitor');
  assert.equal(m.offenderTtlNs, 0n);
  assert.equal(compilePolicy(p('offenderTtl: 90s\n')).offenderTtlNs, 90_000_000_000n);
  assert.equal(compilePolicy(p('offenderTtl: 365d\n')).offenderTtlNs, 365n * 86_400n * 1_000_000_000n);
});

test('compilation is deterministic and independent of key order', () => {
  const a = `mode: monitor
offenderTtl: 2h
levels: { 1: alert, 2: kill, 3: quarantine }
rules:
  blockdev-open: { enabled: false, action: kill }
  release-agent-read: { level: 2 }
exceptions:
  - { name: "a-*", labels: { x: "1", y: "2" }, rules: [blockdev-open, blockdev-mknod] }
`;
  const b = `exceptions:
  - { rules: [blockdev-mknod, blockdev-open], labels: { y: "2", x: "1" }, name: "a-*" }
rules:
  release-agent-read: { level: 2 }
  blockdev-open: { action: kill, enabled: false }
levels: { 3: quarantine, 1: alert, 2: kill }
offenderTtl: 2h
mode: monitor
`;
  const ca = compilePolicy(p(a));
  assert.deepEqual(compilePolicy(p(a)), ca);
  assert.deepEqual(compilePolicy(p(b)), ca);
  assert.deepEqual(policyMapValues(compilePolicy(p(b))), policyMapValues(ca));
  assert.deepEqual(ca.exceptions[0]?.ruleIds, [8, 9]);
});

test('compiling does not change the policy', () => {
  const policy = readPolicyFile(fixture('full.yaml'));
  const before = JSON.stringify(policy);
  compilePolicy(policy);
  assert.equal(JSON.stringify(policy), before);
});

test('map values use the ACT_*/MODE_* numbers of aces.h', () => {
  const header = readFileSync(join(repoRoot(), 'bpf', 'api', 'aces.h'), 'utf8');
  const def = (n: string): number => Number(new RegExp(`#define ${n} (\\d+)`).exec(header)?.[1]);
  assert.deepEqual(
    [ACT_ALERT, ACT_DENY, ACT_KILL, ACT_QUARANTINE, MODE_ENFORCE, MODE_MONITOR],
    ['ACT_ALERT', 'ACT_DENY', 'ACT_KILL', 'ACT_QUARANTINE', 'MODE_ENFORCE', 'MODE_MONITOR'].map(def),
  );
  const v = policyMapValues(compilePolicy(readPolicyFile(fixture('full.yaml'))));
  assert.equal(v.mode, MODE_ENFORCE);
  assert.equal(v.offenderTtlNs, 7_200_000_000_000n);
  assert.deepEqual(v.levelAction, [0, ACT_ALERT, ACT_KILL, ACT_QUARANTINE]);
  assert.equal(v.ruleCfg.length, RULES.length);
  const byId = new Map(v.ruleCfg.map((e) => [e.id, e.value]));
  assert.deepEqual(byId.get(3), { enabled: 1, level: 1, action: ACT_ALERT });
  assert.deepEqual(byId.get(4), { enabled: 1, level: 3, action: ACT_QUARANTINE });
  assert.deepEqual(byId.get(5), { enabled: 1, level: 2, action: ACT_QUARANTINE });
  assert.deepEqual(byId.get(8), { enabled: 1, level: 2, action: ACT_KILL });
  assert.deepEqual(byId.get(9), { enabled: 0, level: 2, action: ACT_KILL });
  assert.equal(policyMapValues(compilePolicy(p('mode: monitor\n'))).mode, MODE_MONITOR);
});

test('a policy built in code with unknown names or bad values is refused', () => {
  const bad = {
    ...DEFAULT_POLICY,
    mode: 'loud',
    offenderTtlSeconds: -1,
    levels: { 4: 'kill' },
    rules: { 'no-such-rule': {}, 'blockdev-open': { level: 7, action: 'stop' } },
    exceptions: [{ rules: [] }, { name: 'x', rules: ['nope'] }],
  } as unknown as Policy;
  assert.throws(
    () => compilePolicy(bad),
    (err: unknown) => {
      assert.ok(err instanceof PolicyError);
      assert.equal(err.code, ACES_E_POLICY_INVALID);
      assert.deepEqual(err.issues.map((i) => i.path), [
        'mode',
        'offenderTtl',
        'levels.4',
        'rules.no-such-rule',
        'rules.blockdev-open.level',
        'rules.blockdev-open.action',
        'exceptions[0].rules',
        'exceptions[0]',
        'exceptions[1].rules[0]',
      ]);
      return true;
    },
  );
});
