// `aces policy check FILE`: the summary of a good file, the message of a bad one.
import assert from 'node:assert/strict';
import { RULES, ruleByName } from '../../src/policy/rules.js';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { checkPolicyFile } from '../../src/policy/parse-policy.js';

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

test('a good file: summary shows mode, TTL, every rule as resolved, the exceptions', () => {
  const path = fixture('full.yaml');
  const r = checkPolicyFile(path);
  assert.ok(r.ok, r.ok ? '' : r.message);
  const lines = r.summary.split('\n');
  assert.equal(lines[0], `${path}: valid aces/v1 policy`);
  assert.ok(lines.includes('mode: enforce'));
  assert.ok(lines.includes('offender TTL: 2h'));
  assert.ok(lines.includes('rules: 30 of 31 enabled'));
  assert.ok(lines.some((l) => /^\s+4\s+sysctl-host-write\s+L3\s+quarantine$/.test(l)), r.summary);
  assert.ok(lines.some((l) => /^\s+9\s+blockdev-open\s+disabled$/.test(l)), r.summary);
  assert.ok(lines.includes('exceptions: 2'));
  assert.ok(lines.includes('  [0] name=build-* image=registry.local/ci/* label team=infra -> blockdev-mknod, blockdev-open'), r.summary);
  assert.ok(lines.includes('  [1] label aces.dev/trusted=true label env=prod-? -> all rules'), r.summary);
  assert.ok(!r.summary.includes('warnings'));
});

test('monitor mode and a TTL of 0 are spelled out', () => {
  const r = checkPolicyFile(fixture('monitor-never-expire.yaml'));
  assert.ok(r.ok);
  assert.match(r.summary, /^mode: monitor \(actions are reported, not applied\)$/m);
  assert.match(r.summary, /^offender TTL: 0 \(never expire\)$/m);
});

test('deny on rules no tier can deny is a warning with its position, not an error', () => {
  const path = fixture('unenforceable-deny.yaml');
  const r = checkPolicyFile(path);
  assert.ok(r.ok, r.ok ? '' : r.message);
  // Which rules lack a deny tier depends on the catalogue: derive it, so the test follows the
  // tiers the rules really have (LSM where a hook fits).
  const cannotDeny = (name: string): boolean => !ruleByName(name)!.tiers.some((t) => t === 'lsm' || t === 'cgroup');
  const l2Undeniable = RULES.filter((x) => x.defaultLevel === 2 && x.name !== 'blockdev-mount' && cannotDeny(x.name)).map((x) => x.name);
  const expected = (l2Undeniable.length ? 1 : 0) + (cannotDeny('blockdev-mount') ? 1 : 0);
  assert.match(r.summary, new RegExp(`^warnings: ${expected}$`, 'm'));
  const levelWarning = r.summary.split('\n').find((l) => l.includes(`${path}:3:6: levels.2: deny needs an lsm or cgroup tier`));
  assert.equal(levelWarning !== undefined, l2Undeniable.length > 0, r.summary);
  for (const name of l2Undeniable) assert.ok(levelWarning!.includes(`${name} (`), name);
  for (const x of RULES.filter((x) => !cannotDeny(x.name))) assert.ok(!levelWarning?.includes(`${x.name} (`), x.name);
  assert.equal(r.summary.includes(`${path}:5:29: rules.blockdev-mount.action: deny needs an lsm or cgroup tier`), cannotDeny('blockdev-mount'), r.summary);
});


test('a bad file: every issue, FILE:LINE:COL: path: expected X, got Z', () => {
  const path = fixture('bad-many.yaml');
  const r = checkPolicyFile(path);
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.equal(r.code, 'ACES_E_POLICY_INVALID');
  assert.deepEqual(r.message.split('\n'), [
    `${path}:2:7: mode: expected one of enforce, monitor, got "enforcing"`,
    `${path}:3:14: offenderTtl: expected a duration such as 90s, 10m, 2h, 1d, or 0 (never expire), got "5x"`,
    `${path}:5:6: levels.2: expected one of alert, deny, kill, quarantine, got "stop"`,
    `${path}:7:28: rules.blockdev-open.action: expected one of alert, deny, kill, quarantine, got "nope"`,
  ]);
});

test('syntax and read failures', () => {
  const syn = checkPolicyFile(fixture('bad-syntax.yaml'));
  assert.ok(!syn.ok && syn.code === 'ACES_E_POLICY_SYNTAX');
  const missing = checkPolicyFile(fixture('does-not-exist.yaml'));
  assert.ok(!missing.ok && missing.code === 'ACES_E_POLICY_READ');
  assert.match(missing.message, /does-not-exist\.yaml: cannot read policy file: ENOENT/);
});
