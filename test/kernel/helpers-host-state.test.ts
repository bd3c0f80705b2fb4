// The host-state helper is what keeps a failed escape test from poisoning the host for the
// tests after it, so it is tested against the real knobs: each change here is harmless on its
// own and is undone by a direct write in t.after even when the helper under test is broken.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { diffHostState, restoreHostState, snapshotHostState, type HostStateSnapshot } from '../helpers/host-state.js';
import { skipUnless, skipUnlessRoot } from '../helpers/root.js';

const CORE_PATTERN = '/proc/sys/kernel/core_pattern';
const BINFMT_DIR = '/proc/sys/fs/binfmt_misc';

const read = (p: string) => readFileSync(p, 'utf8').replace(/\n$/, '');

function emptySnapshot(): HostStateSnapshot {
  return { files: {}, binfmt: { mounted: false, enabled: false, entries: {} }, mounts: [] };
}

test('diffHostState reports value, binfmt_misc and mount changes, and nothing for equal snapshots', () => {
  const a = emptySnapshot();
  a.files['/proc/sys/kernel/core_pattern'] = 'core';
  a.files['/sys/fs/cgroup/memory/release_agent'] = '';
  a.binfmt = { mounted: true, enabled: true, entries: { qemu: true } };
  a.mounts = [
    '22 1 0:21 / /proc rw,nosuid shared:5 - proc proc rw',
    '30 22 0:30 / /proc/sys/fs/binfmt_misc rw,relatime shared:9 - binfmt_misc binfmt_misc rw',
  ];
  const b: HostStateSnapshot = structuredClone(a);
  // Same mounts with fresh ids and propagation peers: not a difference.
  b.mounts = [
    '122 1 0:21 / /proc rw,nosuid shared:7 - proc proc rw',
    '130 122 0:30 / /proc/sys/fs/binfmt_misc rw,relatime shared:1 - binfmt_misc binfmt_misc rw',
  ];
  assert.deepEqual(diffHostState(a, b), []);

  b.files['/proc/sys/kernel/core_pattern'] = '|/tmp/x';
  b.files['/sys/fs/cgroup/memory/release_agent'] = '/tmp/agent';
  b.binfmt.entries = { qemu: false, evil: true };
  b.mounts.push('140 1 0:40 / /mnt/host rw - ext4 /dev/vda rw');
  assert.deepEqual(diffHostState(a, b), [
    '/proc/sys/kernel/core_pattern: "core" -> "|/tmp/x"',
    '/sys/fs/cgroup/memory/release_agent: "" -> "/tmp/agent"',
    'binfmt_misc entry added: evil',
    'binfmt_misc entry qemu: enabled -> disabled',
    'mount added: /mnt/host type ext4 from /dev/vda root / (rw; rw)',
  ]);
});

test('snapshot records core_pattern and the cgroup-v1 roots, restore puts a changed core_pattern back', (t) => {
  if (!skipUnlessRoot(t)) return;
  const original = read(CORE_PATTERN);
  // Safety net independent of the code under test.
  t.after(() => {
    if (read(CORE_PATTERN) !== original) writeFileSync(CORE_PATTERN, `${original}\n`);
  });

  const before = snapshotHostState();
  assert.equal(before.files[CORE_PATTERN], original);
  assert.ok(before.mounts.some((l) => / \/proc /.test(l)), 'mount table has /proc');
  const v1 = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => / - cgroup /.test(l));
  for (const line of v1) {
    const mountPoint = line.split(' ')[4] ?? '';
    if (!mountPoint.startsWith('/sys/fs/cgroup/') || line.split(' ')[3] !== '/') continue;
    assert.ok(join(mountPoint, 'release_agent') in before.files, `release_agent of ${mountPoint} recorded`);
    assert.ok(join(mountPoint, 'notify_on_release') in before.files, `notify_on_release of ${mountPoint} recorded`);
  }

  const harmless = `aces-test-core.${process.pid}`;
  writeFileSync(CORE_PATTERN, `${harmless}\n`);
  assert.equal(read(CORE_PATTERN), harmless);
  const changed = snapshotHostState();
  assert.deepEqual(
    diffHostState(before, changed).filter((l) => !l.startsWith('mount ')),
    [`${CORE_PATTERN}: ${JSON.stringify(original)} -> ${JSON.stringify(harmless)}`],
  );

  const restored = restoreHostState(before);
  assert.deepEqual(restored, [`${CORE_PATTERN}: ${JSON.stringify(harmless)} restored to ${JSON.stringify(original)}`]);
  assert.equal(read(CORE_PATTERN), original);
  assert.deepEqual(
    diffHostState(before, snapshotHostState()).filter((l) => !l.startsWith('mount ')),
    [],
  );
  assert.deepEqual(restoreHostState(before), [], 'a second restore has nothing to do');
});

test('restore writes an empty release_agent back', (t) => {
  if (!skipUnlessRoot(t)) return;
  const before = snapshotHostState();
  const agent = Object.keys(before.files).find((p) => p.endsWith('/release_agent'));
  if (!skipUnless(t, agent !== undefined, 'no cgroup-v1 hierarchy under /sys/fs/cgroup')) return;
  const path = agent as string;
  const original = before.files[path] as string;
  t.after(() => {
    if (read(path) !== original) writeFileSync(path, `${original}\n`);
  });
  // /bin/true as agent is harmless even if a cgroup of this hierarchy empties meanwhile.
  const other = original === '' ? '/bin/true' : '';
  writeFileSync(path, `${other}\n`);
  assert.equal(read(path), other);
  assert.deepEqual(restoreHostState(before), [`${path}: ${JSON.stringify(other)} restored to ${JSON.stringify(original)}`]);
  assert.equal(read(path), original);
});

test('restore unregisters a binfmt_misc entry added after the snapshot', (t) => {
  if (!skipUnlessRoot(t)) return;
  const fsTypes = readFileSync('/proc/filesystems', 'utf8');
  if (!skipUnless(t, /\tbinfmt_misc$/m.test(fsTypes), 'kernel has no binfmt_misc')) return;
  if (!existsSync(join(BINFMT_DIR, 'status'))) {
    execFileSync('mount', ['-t', 'binfmt_misc', 'binfmt_misc', BINFMT_DIR]);
    t.after(() => execFileSync('umount', [BINFMT_DIR]));
  }
  const name = `aces-test-${process.pid}`;
  const entry = join(BINFMT_DIR, name);
  // Matches only files named *.acestest<pid>, and runs /bin/false for them.
  t.after(() => {
    if (existsSync(entry)) writeFileSync(entry, '-1');
  });

  const before = snapshotHostState();
  assert.equal(before.binfmt.mounted, true);
  assert.equal(name in before.binfmt.entries, false);
  writeFileSync(join(BINFMT_DIR, 'register'), `:${name}:E::acestest${process.pid}::/bin/false:`);
  assert.ok(existsSync(entry), 'entry registered');
  assert.ok(diffHostState(before, snapshotHostState()).includes(`binfmt_misc entry added: ${name}`));

  assert.deepEqual(restoreHostState(before), [`binfmt_misc entry ${name} unregistered`]);
  assert.equal(existsSync(entry), false);
});
