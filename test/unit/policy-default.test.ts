// The built-in policy and its YAML form.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compilePolicy } from '../../src/policy/compile-policy.js';
import { DEFAULT_POLICY, DEFAULT_POLICY_YAML } from '../../src/policy/default-policy.js';
import { parsePolicy, parsePolicyWithWarnings } from '../../src/policy/parse-policy.js';
import { RULES } from '../../src/policy/rules.js';

test('DEFAULT_POLICY_YAML parses to DEFAULT_POLICY, without warnings', () => {
  const parsed = parsePolicyWithWarnings(DEFAULT_POLICY_YAML, '<default>');
  assert.deepEqual(parsed.policy, DEFAULT_POLICY);
  assert.deepEqual(parsed.warnings, []);
});

test('DEFAULT_POLICY: enforce, 10 minutes, no overrides, no exceptions', () => {
  assert.deepEqual(DEFAULT_POLICY, {
    apiVersion: 'aces/v1',
    mode: 'enforce',
    offenderTtlSeconds: 600,
    levels: {},
    rules: {},
    exceptions: [],
  });
  const c = compilePolicy(DEFAULT_POLICY);
  for (const r of RULES) {
    const cr = c.rules.find((x) => x.id === r.id);
    assert.deepEqual(cr, { id: r.id, name: r.name, enabled: true, level: r.defaultLevel, action: r.defaultAction });
  }
});

test('the YAML lists every rule with its defaults, as a comment', () => {
  for (const r of RULES) {
    assert.match(DEFAULT_POLICY_YAML, new RegExp(`^#\\s+${r.name}\\s+L${r.defaultLevel}\\s+${r.defaultAction}\\s`, 'm'), r.name);
  }
});

test('DEFAULT_POLICY cannot be changed by a caller', () => {
  assert.ok(Object.isFrozen(DEFAULT_POLICY));
  assert.ok(Object.isFrozen(DEFAULT_POLICY.rules));
  assert.throws(() => {
    (DEFAULT_POLICY as { mode: string }).mode = 'monitor';
  }, TypeError);
  assert.equal(parsePolicy(DEFAULT_POLICY_YAML, 'd').mode, 'enforce');
});
