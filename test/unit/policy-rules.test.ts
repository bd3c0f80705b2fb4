// The rule catalogue against bpf/api/aces.h and the defaults the design gives each rule.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { RULE_MAX } from '../../src/wire/constants.js';
import * as rules from '../../src/policy/rules.js';
import { RULES, ruleById, ruleByName, ruleCanDeny } from '../../src/policy/rules.js';

function repoRoot(): string {
  for (const start of [dirname(fileURLToPath(import.meta.url)), process.cwd()]) {
    for (let dir = start; ; dir = dirname(dir)) {
      if (existsSync(join(dir, 'bpf', 'api', 'aces.h'))) return dir;
      if (dirname(dir) === dir) break;
    }
  }
  throw new Error('repository root (bpf/api/aces.h) not found from the test file or the cwd');
}

function headerRuleIds(): Map<string, number> {
  const text = readFileSync(join(repoRoot(), 'bpf', 'api', 'aces.h'), 'utf8');
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^#define\s+RULE_([A-Z0-9_]+)\s+(\d+)\b/gm)) {
    if (m[1] !== 'MAX') out.set(m[1] as string, Number(m[2]));
  }
  return out;
}

test('every RULE_* of aces.h has a catalogue entry with the same id and matching name, and back', () => {
  const header = headerRuleIds();
  assert.ok(header.size >= 11, `expected at least 11 RULE_* in aces.h, found ${header.size}`);
  for (const [cName, id] of header) {
    const rule = ruleById(id);
    assert.ok(rule, `RULE_${cName} = ${id} has no catalogue entry`);
    assert.equal(rule.name, cName.toLowerCase().replaceAll('_', '-'), `name of rule ${id}`);
    assert.equal((rules as Record<string, unknown>)[`RULE_${cName}`], id, `TS constant RULE_${cName}`);
  }
  for (const rule of RULES) {
    const cName = rule.name.toUpperCase().replaceAll('-', '_');
    assert.equal(header.get(cName), rule.id, `catalogue rule ${rule.name} missing from aces.h or id differs`);
  }
});

test('ids and names are unique, ids fit the exemption mask, names are kebab-case', () => {
  assert.equal(new Set(RULES.map((r) => r.id)).size, RULES.length);
  assert.equal(new Set(RULES.map((r) => r.name)).size, RULES.length);
  for (const r of RULES) {
    assert.ok(Number.isInteger(r.id) && r.id > 0 && r.id < RULE_MAX, `id ${r.id} in 1..${RULE_MAX - 1}`);
    assert.match(r.name, /^[a-z0-9]+(-[a-z0-9]+)*$/);
    assert.ok(r.title.length > 0 && r.description.length > 0, `${r.name} has a title and a description`);
    assert.ok(r.tiers.length > 0, `${r.name} lists at least one tier`);
    assert.equal(new Set(r.tiers).size, r.tiers.length, `${r.name} lists each tier once`);
  }
});

test('catalogue defaults match the brief', () => {
  const want: Array<[string, number, number, string, string[], string]> = [
    ['cgroup-v1-mount', 1, 2, 'kill', ['signal'], 'filesystem'],
    ['release-agent-write', 2, 2, 'kill', ['signal'], 'filesystem'],
    ['release-agent-read', 3, 1, 'alert', ['signal'], 'filesystem'],
    ['sysctl-host-write', 4, 2, 'deny', ['cgroup'], 'filesystem'],
    ['binfmt-misc-write', 5, 2, 'kill', ['signal'], 'filesystem'],
    ['sysrq-trigger-write', 6, 2, 'kill', ['signal'], 'filesystem'],
    ['blockdev-mount', 7, 2, 'quarantine', ['signal'], 'filesystem'],
    ['blockdev-mknod', 8, 2, 'deny', ['cgroup'], 'filesystem'],
    ['blockdev-open', 9, 2, 'deny', ['cgroup'], 'filesystem'],
    ['umh-container-exec', 10, 3, 'quarantine', ['signal'], 'filesystem'],
    ['quarantined-task', 11, 3, 'kill', ['signal'], 'filesystem'],
    ['setns-host', 12, 2, 'kill', ['signal'], 'namespace'],
    ['foreign-mount-open', 13, 2, 'kill', ['signal'], 'namespace'],
    ['signal-host', 14, 2, 'kill', ['signal'], 'namespace'],
    ['proc-foreign-read', 15, 1, 'alert', ['signal'], 'namespace'],
    ['keyctl-host', 16, 2, 'kill', ['signal'], 'namespace'],
    ['ptrace-foreign', 17, 2, 'kill', ['signal'], 'privilege'],
    ['proc-mem-write', 18, 2, 'kill', ['signal'], 'privilege'],
    ['cred-rise', 19, 3, 'quarantine', ['signal'], 'privilege'],
    ['host-ns-held', 20, 3, 'quarantine', ['signal'], 'privilege'],
    ['userns-mount', 21, 2, 'kill', ['signal'], 'privilege'],
    ['open-by-handle', 22, 2, 'kill', ['signal'], 'filesystem'],
    ['host-root-chroot', 23, 2, 'kill', ['signal'], 'filesystem'],
    ['runtime-binary-write', 24, 2, 'kill', ['signal'], 'runtime'],
    ['runtime-socket', 25, 2, 'kill', ['signal'], 'runtime'],
    ['exec-cwd-outside', 26, 3, 'quarantine', ['signal'], 'runtime'],
    ['bpf-load', 27, 2, 'kill', ['signal'], 'kernel'],
    ['kernel-fs-mount', 28, 2, 'kill', ['signal'], 'kernel'],
    ['syslog-read', 29, 2, 'kill', ['signal'], 'kernel'],
    ['cgroup-root-move', 30, 2, 'kill', ['signal'], 'kernel'],
    ['perf-system-wide', 31, 2, 'kill', ['signal'], 'kernel'],
  ];
  assert.equal(RULES.length, want.length);
  for (const [name, id, level, action, tiers, family] of want) {
    const r = ruleByName(name);
    assert.ok(r, name);
    // The LSM tier (issue 4) comes first where a hook fits; the fallback tiers are checked here.
    const fallback = r.tiers.filter((t) => t !== 'lsm');
    assert.deepEqual([r.id, r.defaultLevel, r.defaultAction, fallback, r.family, r.attack], [id, level, action, tiers, family, 'T1611'], name);
  }
});


test('no rule defaults to deny without a tier that can deny', () => {
  for (const r of RULES) if (r.defaultAction === 'deny') assert.ok(ruleCanDeny(r), r.name);
});

test('lookups return undefined for unknown names and ids', () => {
  assert.equal(ruleByName('blockdev-opn'), undefined);
  assert.equal(ruleByName('BLOCKDEV-OPEN'), undefined);
  assert.equal(ruleById(0), undefined);
  assert.equal(ruleById(RULE_MAX), undefined);
  assert.equal(ruleById(9)?.name, 'blockdev-open');
});

test('the catalogue is frozen', () => {
  assert.ok(Object.isFrozen(RULES));
  assert.ok(Object.isFrozen(RULES[0]));
  assert.throws(() => {
    (RULES[0] as { defaultAction: string }).defaultAction = 'alert';
  }, TypeError);
});
