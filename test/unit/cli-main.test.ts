// `aces` argument handling, through the real entry point (bin/aces -> dist/src/cli/main.js).
// No valid `aces run` is started: `run` is only given arguments that fail in parseArgs or in the
// option checks, both of which come before Daemon.start (src/cli/main.ts cmdRun). As a second
// guard, when this test runs as root the children run as nobody, so a regression that reached
// Daemon.start would stop at its root check instead of loading anything.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ACES_BIN, REPO_ROOT } from '../helpers/aces-daemon.js';

const NOBODY = 65534;
const POLICIES = join(REPO_ROOT, 'test', 'fixtures', 'policies');

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function aces(...args: string[]): Run {
  const asRoot = process.getuid?.() === 0;
  const r = spawnSync(process.execPath, [ACES_BIN, ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    timeout: 20_000,
    ...(asRoot ? { uid: NOBODY, gid: NOBODY } : {}),
  });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `message` is the whole first line, or its start when `prefixOnly` (Node's own parseArgs texts). */
function assertUsageError(r: Run, message: string, prefixOnly = false): void {
  assert.equal(r.status, 2, r.stderr);
  assert.equal(r.stdout, '');
  const [first, ...rest] = r.stderr.split('\n');
  if (prefixOnly) assert.ok(first!.startsWith(`aces: ${message}`), r.stderr);
  else assert.equal(first, `aces: ${message}`);
  assert.equal(rest[0], 'usage:', r.stderr);
  assert.match(r.stderr, /^ {2}aces policy check FILE$/m);
  // Parsing failed first: the daemon's start-up checks were never reached.
  assert.doesNotMatch(r.stderr, /needs root|ACES_E_START/);
}

test('no command or help prints the usage and succeeds', () => {
  for (const args of [[], ['help'], ['--help'], ['-h']]) {
    const r = aces(...args);
    assert.equal(r.status, 0, args.join(' '));
    assert.match(r.stdout, /^usage:\n {2}aces run \[--mode enforce\|monitor\]/);
    assert.equal(r.stderr, '');
  }
});

test('--help or -h after a command prints the usage and succeeds, before anything else is checked', () => {
  for (const args of [['run', '--help'], ['run', '--mode', 'bogus', '-h'], ['doctor', '--help'], ['policy', '--help'], ['policy', 'check', '-h']]) {
    const r = aces(...args);
    assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stdout, /^usage:\n {2}aces run \[--mode enforce\|monitor\]/);
    assert.equal(r.stderr, '');
  }
});

test('aces run: --events FILE with --format console is refused, and no file is made', () => {
  const path = join(REPO_ROOT, 'dist', `cli-console-events-${process.pid}.jsonl`);
  assertUsageError(aces('run', '--format', 'console', '--events', path),
    '--events FILE writes JSON lines: use it with --format json (console lines go to stdout)');
  assert.ok(!existsSync(path));
});

test('aces doctor as another user than root says it needs root instead of blaming the kernel', () => {
  const r = spawnSync(process.execPath, [ACES_BIN, 'doctor'], {
    cwd: REPO_ROOT, encoding: 'utf8', timeout: 20_000,
    ...(process.getuid?.() === 0 ? { uid: NOBODY, gid: NOBODY } : {}),
  });
  assert.equal(r.status, 1, r.stderr);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, 'aces: aces doctor needs root (it loads test BPF programs and reads tracefs): run it with sudo\n');
});

test('an unknown command is a usage error', () => {
  assertUsageError(aces('frobnicate'), 'unknown command frobnicate');
  assertUsageError(aces('--mode', 'enforce'), 'unknown command --mode');
});

test('aces run: an unknown option, a positional, a bad --mode or --format fail before start-up', () => {
  assertUsageError(aces('run', '--bogus'), "Unknown option '--bogus'", true);
  assertUsageError(aces('run', 'now'), "Unexpected argument 'now'", true);
  assertUsageError(aces('run', '--mode', 'enforcing'), 'expected enforce or monitor for --mode, got enforcing');
  assertUsageError(aces('run', '--mode', 'monitor', '--format', 'xml'), 'expected json or console for --format, got xml');
  assertUsageError(aces('run', '--mode'), "Option '--mode <value>' argument missing", true);
  assertUsageError(aces('run', '--metrics', '10.0.0.1:9464'), 'expected a loopback HOST:PORT for --metrics, got 10.0.0.1:9464');
});

test('aces doctor: an unknown option fails before any probe', () => {
  assertUsageError(aces('doctor', '--bogus'), "Unknown option '--bogus'", true);
});

test('aces policy needs "check" and exactly one file', () => {
  assertUsageError(aces('policy'), 'expected "check" after "policy", got nothing');
  assertUsageError(aces('policy', 'lint', 'x.yaml'), 'expected "check" after "policy", got lint');
  assertUsageError(aces('policy', 'check'), 'expected exactly one FILE for "aces policy check"');
  assertUsageError(aces('policy', 'check', 'a.yaml', 'b.yaml'), 'expected exactly one FILE for "aces policy check"');
  assertUsageError(aces('policy', 'check', '--strict', 'a.yaml'), "Unknown option '--strict'", true);
});

test('aces policy check on the good fixtures: exit 0 and the summary on stdout', () => {
  const good = readdirSync(POLICIES).filter((f) => f.endsWith('.yaml') && !f.startsWith('bad-'));
  assert.ok(good.includes('minimal.yaml') && good.includes('full.yaml'));
  for (const f of good) {
    const path = relative(REPO_ROOT, join(POLICIES, f));
    const r = aces('policy', 'check', path);
    assert.equal(r.status, 0, `${f}: ${r.stderr}`);
    assert.equal(r.stderr, '', f);
    assert.ok(r.stdout.startsWith(`${path}: valid aces/v1 policy\n`), r.stdout);
    assert.match(r.stdout, /^rules: \d+ of \d+ enabled$/m);
  }
});

test('aces policy check on the bad fixtures: exit 1, every line FILE:LINE:COL: ...', () => {
  const bad = readdirSync(POLICIES).filter((f) => f.startsWith('bad-') && f.endsWith('.yaml'));
  assert.ok(bad.length >= 10, bad.join(' '));
  for (const f of bad) {
    const path = relative(REPO_ROOT, join(POLICIES, f));
    const r = aces('policy', 'check', path);
    assert.equal(r.status, 1, `${f}: ${r.stdout}`);
    assert.equal(r.stdout, '', f);
    const lines = r.stderr.trimEnd().split('\n');
    assert.ok(lines.length >= 1);
    for (const line of lines) {
      const at = new RegExp(`^${path.replace(/[.]/g, '\\.')}:([1-9][0-9]*):([1-9][0-9]*): \\S`).exec(line);
      assert.ok(at, `${f}: ${line}`);
    }
  }
  const action = aces('policy', 'check', relative(REPO_ROOT, join(POLICIES, 'bad-action.yaml')));
  assert.equal(action.stderr,
    'test/fixtures/policies/bad-action.yaml:5:13: rules.release-agent-read.action: expected one of alert, deny, kill, quarantine, got "block"\n');
});

test('aces policy check on a missing file: exit 1, naming the file', () => {
  const r = aces('policy', 'check', 'no/such/policy.yaml');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^no\/such\/policy\.yaml: cannot read policy file: ENOENT/);
});
