// Exception matching: globs, labels, "*", and the per-container exemption mask.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { compilePolicy } from '../../src/policy/compile-policy.js';
import { ExceptionMatcher, exemptRuleMask, globMatch, globProblem } from '../../src/policy/exception-matcher.js';
import { parsePolicy, readPolicyFile } from '../../src/policy/parse-policy.js';
import { RULES, RULE_BLOCKDEV_MKNOD, RULE_BLOCKDEV_OPEN } from '../../src/policy/rules.js';

function repoRoot(): string {
  for (const start of [dirname(fileURLToPath(import.meta.url)), process.cwd()]) {
    for (let dir = start; ; dir = dirname(dir)) {
      if (existsSync(join(dir, 'bpf', 'api', 'aces.h'))) return dir;
      if (dirname(dir) === dir) break;
    }
  }
  throw new Error('repository root (bpf/api/aces.h) not found from the test file or the cwd');
}

const bit = (id: number): bigint => 1n << BigInt(id);
const ALL = RULES.reduce((m, r) => m | bit(r.id), 0n);

test('glob matching', () => {
  const cases: Array<[string, string, boolean]> = [
    ['build-*', 'build-42', true],
    ['build-*', 'build-', true],
    ['build-*', 'xbuild-1', false],
    ['build-?', 'build-1', true],
    ['build-?', 'build-12', false],
    ['build-?', 'build-', false],
    ['*', '', true],
    ['*', 'anything/at:all', true],
    ['registry.local/ci/*', 'registry.local/ci/builder:1.2', true],
    ['registry.local/ci/*', 'registry.local/ci/sub/builder', true],
    ['registry.local/ci/*', 'registry.local/cd/builder', false],
    ['registry.local/ci/*', 'registry.local/ci', false],
    ['*/ci/*:latest', 'r.io/ci/x:latest', true],
    ['*/ci/*:latest', 'r.io/ci/x:v1', false],
    ['a*b*c', 'aXXbYYc', true],
    ['a*b*c', 'aXXbYY', false],
    ['a*a*a*a*a*b', 'a'.repeat(200), false],
    ['nginx', 'nginx', true],
    ['nginx', 'Nginx', false],
    ['nginx', 'nginx2', false],
    ['?', 'é', true],
    ['a.b', 'aXb', false],
  ];
  for (const [pattern, text, want] of cases) assert.equal(globMatch(pattern, text), want, `${pattern} ~ ${text}`);
});

test('glob validation', () => {
  for (const ok of ['build-*', '?', 'registry.local/ci/*', 'a b', 'prod-?']) assert.equal(globProblem(ok), undefined, ok);
  for (const bad of ['', 'a[0-9]', '{a,b}', 'a\\*', 'x\ny', 'a'.repeat(257)]) assert.equal(typeof globProblem(bad), 'string', JSON.stringify(bad));
});

test('every selector that is set must match', () => {
  const m = new ExceptionMatcher({ name: 'build-*', image: 'registry.local/ci/*', labels: { team: 'infra' } }, [9, 8]);
  assert.deepEqual(m.ruleIds, [8, 9]);
  const full = { name: 'build-7', image: 'registry.local/ci/runner:3', labels: { team: 'infra', other: 'x' } };
  assert.equal(m.matches(full), true);
  assert.equal(m.matches({ ...full, name: 'deploy-7' }), false);
  assert.equal(m.matches({ ...full, image: 'docker.io/library/alpine' }), false);
  assert.equal(m.matches({ ...full, labels: { team: 'web' } }), false);
  assert.equal(m.matches({ ...full, labels: {} }), false);
  // Missing identity fields never match a selector that needs them.
  assert.equal(m.matches({ image: full.image, labels: full.labels }), false);
  assert.equal(m.matches({ name: full.name, labels: full.labels }), false);
  assert.equal(m.matches({ name: full.name, image: full.image }), false);
  assert.equal(m.matches({}), false);
});

test('labels: all must match, values are globs, inherited properties do not count', () => {
  const m = new ExceptionMatcher({ labels: { team: 'infra', env: 'prod-?' } }, [1]);
  assert.equal(m.matches({ labels: { team: 'infra', env: 'prod-1' } }), true);
  assert.equal(m.matches({ labels: { team: 'infra', env: 'prod-12' } }), false);
  assert.equal(m.matches({ labels: { team: 'infra' } }), false);
  const proto = new ExceptionMatcher({ labels: { toString: '*' } }, [1]);
  assert.equal(proto.matches({ labels: {} }), false);
  assert.equal(proto.matches({ labels: { toString: 'x' } }), true);
});

test('a name-only exception ignores image and labels', () => {
  const m = new ExceptionMatcher({ name: 'db' }, [1]);
  assert.equal(m.matches({ name: 'db' }), true);
  assert.equal(m.matches({ name: 'db', image: 'anything', labels: { a: 'b' } }), true);
  assert.equal(m.matches({ name: 'db2' }), false);
});

test('exemptRuleMask ORs the rules of every matching exception; "*" is every rule', () => {
  const c = compilePolicy(readPolicyFile(join(repoRoot(), 'test', 'fixtures', 'policies', 'full.yaml')));
  assert.deepEqual(c.exceptions[0]?.ruleIds, [RULE_BLOCKDEV_MKNOD, RULE_BLOCKDEV_OPEN]);
  assert.deepEqual(c.exceptions[1]?.ruleIds, RULES.map((r) => r.id).sort((a, b) => a - b));

  const builder = { name: 'build-1', image: 'registry.local/ci/x', labels: { team: 'infra' } };
  assert.equal(exemptRuleMask(c, builder), bit(RULE_BLOCKDEV_MKNOD) | bit(RULE_BLOCKDEV_OPEN));
  assert.equal(exemptRuleMask(c, { ...builder, labels: { team: 'infra', 'aces.dev/trusted': 'true', env: 'prod-a' } }), ALL);
  assert.equal(exemptRuleMask(c, { name: 'web', image: 'nginx', labels: {} }), 0n);
  assert.equal(exemptRuleMask(c, {}), 0n);
});

test('overlapping exceptions combine', () => {
  const c = compilePolicy(
    parsePolicy(
      `apiVersion: aces/v1
exceptions:
  - { name: "ci-*", rules: [blockdev-open] }
  - { image: "builder:*", rules: [blockdev-mknod, blockdev-open] }
  - { labels: { loop: "yes" }, rules: [blockdev-mount] }
`,
      'o.yaml',
    ),
  );
  assert.equal(exemptRuleMask(c, { name: 'ci-1', image: 'alpine' }), bit(9));
  assert.equal(exemptRuleMask(c, { name: 'ci-1', image: 'builder:2' }), bit(8) | bit(9));
  assert.equal(exemptRuleMask(c, { name: 'ci-1', image: 'builder:2', labels: { loop: 'yes' } }), bit(7) | bit(8) | bit(9));
  assert.equal(exemptRuleMask(c, { name: 'x', labels: { loop: 'no' } }), 0n);
});
