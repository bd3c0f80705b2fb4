// Parsing and validation: good files, and every kind of error with the exact position and field.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { formatDuration, parseDuration, parsePolicy, readPolicyFile, POLICY_MAX_BYTES } from '../../src/policy/parse-policy.js';
import {
  ACES_E_POLICY_INVALID,
  ACES_E_POLICY_READ,
  ACES_E_POLICY_SYNTAX,
  PolicyError,
  type Policy,
} from '../../src/policy/policy-schema.js';

function repoRoot(): string {
  for (const start of [dirname(fileURLToPath(import.meta.url)), process.cwd()]) {
    for (let dir = start; ; dir = dirname(dir)) {
      if (existsSync(join(dir, 'bpf', 'api', 'aces.h'))) return dir;
      if (dirname(dir) === dir) break;
    }
  }
  throw new Error('repository root (bpf/api/aces.h) not found from the test file or the cwd');
}

const FIXTURES = join(repoRoot(), 'test', 'fixtures', 'policies');
const fixture = (name: string): string => join(FIXTURES, name);

function policyErrorOf(fn: () => unknown): PolicyError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof PolicyError, `expected a PolicyError, got ${String(err)}`);
    assert.ok(err instanceof Error);
    return err;
  }
  assert.fail('expected a PolicyError, got none');
}

type Want = [line: number, column: number, path: string, message: RegExp];

function assertIssues(file: string, code: string, want: Want[]): PolicyError {
  const path = fixture(file);
  const err = policyErrorOf(() => readPolicyFile(path));
  assert.equal(err.code, code);
  assert.equal(err.source, path);
  assert.equal(err.issues.length, want.length, `issues: ${err.message}`);
  want.forEach(([line, column, p, message], i) => {
    const got = err.issues[i];
    assert.ok(got);
    assert.deepEqual([got.line, got.column, got.path], [line, column, p], `issue ${i}: ${got.message}`);
    assert.match(got.message, message);
  });
  // The message has one FILE:LINE:COL: path: line per issue, in order.
  const lines = err.message.split('\n');
  assert.equal(lines.length, want.length);
  want.forEach(([line, column, p], i) => {
    const prefix = p === '' ? `${path}:${line}:${column}: ` : `${path}:${line}:${column}: ${p}: `;
    assert.ok(lines[i]?.startsWith(prefix), `line ${i} ${JSON.stringify(lines[i])} starts with ${prefix}`);
  });
  return err;
}

test('full.yaml parses to exactly what it says', () => {
  const p = readPolicyFile(fixture('full.yaml'));
  const want: Policy = {
    apiVersion: 'aces/v1',
    mode: 'enforce',
    offenderTtlSeconds: 7200,
    levels: { 1: 'alert', 2: 'kill', 3: 'quarantine' },
    rules: {
      'release-agent-read': { level: 1, action: 'alert' },
      'blockdev-open': { enabled: false },
      'sysctl-host-write': { level: 3 },
      'binfmt-misc-write': { action: 'quarantine' },
    },
    exceptions: [
      {
        name: 'build-*',
        image: 'registry.local/ci/*',
        labels: { team: 'infra' },
        rules: ['blockdev-open', 'blockdev-mknod'],
      },
      { labels: { 'aces.dev/trusted': 'true', env: 'prod-?' }, rules: ['*'] },
    ],
  };
  assert.deepEqual(p, want);
});

test('minimal, monitor and empty-section files fill in the defaults', () => {
  const base = { apiVersion: 'aces/v1', levels: {}, rules: {}, exceptions: [] };
  assert.deepEqual(readPolicyFile(fixture('minimal.yaml')), { ...base, mode: 'enforce', offenderTtlSeconds: 600 });
  assert.deepEqual(readPolicyFile(fixture('empty-sections.yaml')), { ...base, mode: 'enforce', offenderTtlSeconds: 600 });
  assert.deepEqual(readPolicyFile(fixture('monitor-never-expire.yaml')), { ...base, mode: 'monitor', offenderTtlSeconds: 0 });
});

test('wrong apiVersion', () => {
  assertIssues('bad-api-version.yaml', ACES_E_POLICY_INVALID, [[1, 13, 'apiVersion', /^expected aces\/v1, got "aces\/v2"$/]]);
});

test('missing apiVersion is reported at the top of the document', () => {
  assertIssues('bad-missing-api-version.yaml', ACES_E_POLICY_INVALID, [[1, 1, 'apiVersion', /^expected aces\/v1, got nothing/]]);
});

test('unknown top-level key, with a suggestion', () => {
  assertIssues('bad-unknown-top-key.yaml', ACES_E_POLICY_INVALID, [
    [3, 1, 'offenderTTL', /^expected one of apiVersion, mode, offenderTtl, levels, rules, exceptions, got "offenderTTL" \(did you mean offenderTtl\?\)$/],
  ]);
});

test('unknown rule name, with a suggestion', () => {
  assertIssues('bad-rule-name.yaml', ACES_E_POLICY_INVALID, [
    [4, 3, 'rules.blockdev-opn', /^expected a rule name \(cgroup-v1-mount, .*\), got "blockdev-opn" \(did you mean blockdev-open\?\)$/],
  ]);
});

test('unknown action', () => {
  assertIssues('bad-action.yaml', ACES_E_POLICY_INVALID, [
    [5, 13, 'rules.release-agent-read.action', /^expected one of alert, deny, kill, quarantine, got "block"$/],
  ]);
});

test('level outside 1..3, as a levels key and as a rule level', () => {
  assertIssues('bad-level.yaml', ACES_E_POLICY_INVALID, [
    [4, 3, 'levels.4', /^expected a level 1, 2 or 3, got number 4$/],
    [6, 28, 'rules.blockdev-mknod.level', /^expected 1, 2 or 3, got number 0$/],
  ]);
});

test('wrong types', () => {
  assertIssues('bad-types.yaml', ACES_E_POLICY_INVALID, [
    [2, 7, 'mode', /^expected one of enforce, monitor, got a list$/],
    [5, 14, 'rules.blockdev-open.enabled', /^expected true or false, got "no"$/],
    [6, 12, 'rules.blockdev-open.level', /^expected 1, 2 or 3, got "2"$/],
    [7, 24, 'rules.sysrq-trigger-write', /^expected a mapping with enabled, level and\/or action, got "kill"$/],
    [9, 3, 'exceptions', /^expected a list of exceptions, got a mapping$/],
  ]);
});

test('unknown fields in a rule override and in an exception', () => {
  assertIssues('bad-unknown-field.yaml', ACES_E_POLICY_INVALID, [
    [5, 5, 'rules.blockdev-open.severity', /^expected one of enabled, level, action, got "severity"$/],
    [9, 5, 'exceptions[0].reason', /^expected one of name, image, labels, rules, got "reason"$/],
  ]);
});

test('bad duration', () => {
  assertIssues('bad-duration.yaml', ACES_E_POLICY_INVALID, [
    [2, 14, 'offenderTtl', /^expected a duration such as 90s, 10m, 2h, 1d, or 0 \(never expire\), got "10 minutes"$/],
  ]);
});

test('bad glob, and an unquoted label value', () => {
  assertIssues('bad-glob.yaml', ACES_E_POLICY_INVALID, [
    [3, 11, 'exceptions[0].name', /^expected a glob of literal characters, \* and \? .*, got "build-\[0-9\]\*"$/],
    [4, 21, 'exceptions[0].labels.team', /^expected a string glob \(\* and \?\), got number 42 \(quote it: "42"\)$/],
  ]);
});

test('exceptions without a selector, with empty or missing rules, with an unknown rule', () => {
  assertIssues('bad-exception.yaml', ACES_E_POLICY_INVALID, [
    [3, 5, 'exceptions[0]', /^expected at least one of name, image, labels, got none$/],
    [5, 12, 'exceptions[1].rules', /^expected a non-empty list of rule names or \["\*"\], got \[\]$/],
    [7, 28, 'exceptions[2].rules[1]', /^expected a rule name \(.*\) or "\*", got "no-such-rule"$/],
    [8, 5, 'exceptions[3].rules', /^expected a non-empty list of rule names or \["\*"\], got nothing$/],
  ]);
});

test('every issue of a file is reported, in file order', () => {
  assertIssues('bad-many.yaml', ACES_E_POLICY_INVALID, [
    [2, 7, 'mode', /got "enforcing"$/],
    [3, 14, 'offenderTtl', /got "5x"$/],
    [5, 6, 'levels.2', /^expected one of alert, deny, kill, quarantine, got "stop"$/],
    [7, 28, 'rules.blockdev-open.action', /got "nope"$/],
  ]);
});

test('YAML syntax errors carry ACES_E_POLICY_SYNTAX and a position', () => {
  const err = assertIssues('bad-syntax.yaml', ACES_E_POLICY_SYNTAX, [[4, 1, '', /^YAML syntax: Flow map/]]);
  assert.match(err.message, /bad-syntax\.yaml:4:1: YAML syntax: /);
  const dup = policyErrorOf(() => parsePolicy('apiVersion: aces/v1\nmode: enforce\nmode: monitor\n', 'dup.yaml'));
  assert.equal(dup.code, ACES_E_POLICY_SYNTAX);
  assert.deepEqual([dup.issues[0]?.line, dup.issues[0]?.column], [3, 1]);
  const tab = policyErrorOf(() => parsePolicy('apiVersion: aces/v1\nrules:\n\tblockdev-open: {}\n', 'tab.yaml'));
  assert.equal(tab.code, ACES_E_POLICY_SYNTAX);
  assert.equal(tab.issues[0]?.line, 3);
  // Two documents: the message speaks to a policy author, not to a caller of the YAML library.
  const two = policyErrorOf(() => parsePolicy('apiVersion: aces/v1\n---\nmode: enforce\n', 'two.yaml'));
  assert.equal(two.code, ACES_E_POLICY_SYNTAX);
  assert.deepEqual([two.issues[0]?.line, two.issues[0]?.column], [2, 1]);
  assert.equal(two.issues[0]?.message, 'YAML syntax: a policy is one YAML document, this "---" starts a second one');
});

test('empty documents and non-mapping documents', () => {
  for (const text of ['', '# only a comment\n']) {
    const err = policyErrorOf(() => parsePolicy(text, 'e.yaml'));
    assert.equal(err.code, ACES_E_POLICY_INVALID);
    assert.equal(err.message, 'e.yaml:1:1: expected a mapping with apiVersion: aces/v1, got an empty document');
  }
  const list = policyErrorOf(() => parsePolicy('- apiVersion: aces/v1\n', 'l.yaml'));
  assert.equal(list.message, 'l.yaml:1:1: expected a mapping of policy fields, got a list');
});

test('aliases resolve, and an undefined alias is an error at its use', () => {
  const p = parsePolicy(
    'apiVersion: aces/v1\nrules:\n  blockdev-open: &off { enabled: false }\n  blockdev-mknod: *off\n',
    'a.yaml',
  );
  assert.deepEqual(p.rules, { 'blockdev-open': { enabled: false }, 'blockdev-mknod': { enabled: false } });
  const err = policyErrorOf(() => parsePolicy('apiVersion: aces/v1\nrules:\n  blockdev-open: *nope\n', 'a.yaml'));
  assert.equal(err.issues[0]?.path, 'rules.blockdev-open');
  assert.deepEqual([err.issues[0]?.line, err.issues[0]?.column], [3, 18]);
  assert.match(err.issues[0]?.message ?? '', /undefined anchor/);
});

test('levels accept quoted level keys, an empty rule value is located at its key', () => {
  const p = parsePolicy('apiVersion: aces/v1\nlevels:\n  "2": alert\n', 'q.yaml');
  assert.deepEqual(p.levels, { 2: 'alert' });
  const err = policyErrorOf(() => parsePolicy('apiVersion: aces/v1\nrules:\n  blockdev-open:\n', 'n.yaml'));
  assert.deepEqual([err.issues[0]?.line, err.issues[0]?.column, err.issues[0]?.path], [3, 3, 'rules.blockdev-open']);
  assert.match(err.issues[0]?.message ?? '', /got nothing$/);
});

test('YAML 1.1 booleans are not booleans here', () => {
  const err = policyErrorOf(() => parsePolicy('apiVersion: aces/v1\nrules:\n  blockdev-open: { enabled: off }\n', 'b.yaml'));
  assert.equal(err.issues[0]?.path, 'rules.blockdev-open.enabled');
  assert.match(err.issues[0]?.message ?? '', /^expected true or false, got "off"$/);
});

test('long issue lists are cut in the message but kept whole in issues', () => {
  const lines = ['apiVersion: aces/v1'];
  for (let i = 0; i < 60; i++) lines.push(`unknown${i}: 1`);
  const err = policyErrorOf(() => parsePolicy(lines.join('\n'), 'big.yaml'));
  assert.equal(err.issues.length, 60);
  const msg = err.message.split('\n');
  assert.equal(msg.length, 51);
  assert.equal(msg[50], '... and 10 more issues');
});

test('read errors: missing file, directory, not UTF-8, too large', () => {
  const dir = mkdtempSync(join(tmpdir(), 'aces-policy-'));
  try {
    const missing = policyErrorOf(() => readPolicyFile(join(dir, 'nope.yaml')));
    assert.equal(missing.code, ACES_E_POLICY_READ);
    assert.match(missing.message, /nope\.yaml: cannot read policy file: ENOENT/);
    assert.equal(missing.issues.length, 1);

    const isDir = policyErrorOf(() => readPolicyFile(dir));
    assert.equal(isDir.code, ACES_E_POLICY_READ);
    assert.match(isDir.message, /expected a regular file, got a directory$/);

    const latin1 = join(dir, 'latin1.yaml');
    writeFileSync(latin1, Buffer.from('apiVersion: aces/v1\n# caf\xe9\n', 'latin1'));
    const enc = policyErrorOf(() => readPolicyFile(latin1));
    assert.equal(enc.code, ACES_E_POLICY_READ);
    assert.match(enc.message, /expected UTF-8 text/);

    const big = join(dir, 'big.yaml');
    writeFileSync(big, 'apiVersion: aces/v1\n' + '#'.repeat(POLICY_MAX_BYTES));
    const size = policyErrorOf(() => readPolicyFile(big));
    assert.equal(size.code, ACES_E_POLICY_READ);
    assert.match(size.message, new RegExp(`expected at most ${POLICY_MAX_BYTES} bytes`));

    const bom = join(dir, 'bom.yaml');
    writeFileSync(bom, '\ufeffapiVersion: aces/v1\nmode: monitor\n');
    assert.equal(readPolicyFile(bom).mode, 'monitor');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('parsePolicy names the source it was given', () => {
  const text = readFileSync(fixture('bad-action.yaml'), 'utf8');
  const err = policyErrorOf(() => parsePolicy(text, '/etc/aces/policy.yaml'));
  assert.match(err.message, /^\/etc\/aces\/policy\.yaml:5:13: rules\.release-agent-read\.action: expected /);
});

test('TTL durations', () => {
  const cases: Array<[string | number, number | null]> = [
    ['90s', 90],
    ['10m', 600],
    ['2h', 7200],
    ['1d', 86_400],
    ['365d', 365 * 86_400],
    [0, 0],
    ['0', 0],
    ['0s', null],
    ['366d', null],
    ['10', null],
    [600, null],
    ['1h30m', null],
    ['-5m', null],
    ['1.5h', null],
    ['10M', null],
    [' 10m', null],
    ['', null],
  ];
  for (const [input, seconds] of cases) {
    const got = parseDuration(input);
    if (seconds === null) assert.equal(typeof got, 'string', `${JSON.stringify(input)} is refused`);
    else assert.equal(got, seconds, `${JSON.stringify(input)}`);
  }
  for (const [text, seconds] of [['90s', 90], ['10m', 600], ['2h', 7200], ['0', 0]] as const) {
    assert.equal(parsePolicy(`apiVersion: aces/v1\noffenderTtl: ${text}\n`, 't').offenderTtlSeconds, seconds);
  }
  assert.equal(formatDuration(600), '10m');
  assert.equal(formatDuration(90), '90s');
  assert.equal(formatDuration(7200), '2h');
  assert.equal(formatDuration(172_800), '2d');
  assert.equal(formatDuration(0), '0');
});
