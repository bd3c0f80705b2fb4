// The cgroup layout of the running kernel, and key resolution against real cgroupfs inodes.
// Needs root (creates a v1 cgroup and moves a child process into it).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync, statSync, statfsSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { detectCgroupLayout, keyCgroupPath, parseProcCgroups, subsysIdsFromBtf } from '../../src/containers/cgroup-layout.js';
import type { CgroupLayout } from '../../src/containers/cgroup-layout.js';
import { IdentityResolver } from '../../src/containers/identity-resolver.js';
import { isRoot, skipOptionUnless } from '../helpers/root.js';

const CGROUP2_SUPER_MAGIC = 0x63677270;
const CGROUP_SUPER_MAGIC = 0x27e0eb;
const fsMagic = (p: string): number | undefined => {
  try {
    return Number(statfsSync(p).type);
  } catch {
    return undefined;
  }
};

describe('cgroup layout of this host', { skip: skipOptionUnless(isRoot(), 'needs root') }, () => {
  let layout: CgroupLayout;
  before(() => {
    layout = detectCgroupLayout();
  });

  test('mode agrees with statfs of /sys/fs/cgroup (a different mechanism than mountinfo)', () => {
    if (fsMagic('/sys/fs/cgroup') === CGROUP2_SUPER_MAGIC) {
      assert.equal(layout.mode, 'v2');
      return;
    }
    // This project's VM: v1 controllers with cgroup2 at /sys/fs/cgroup/unified.
    const unified = fsMagic('/sys/fs/cgroup/unified') === CGROUP2_SUPER_MAGIC;
    assert.equal(layout.mode, unified ? 'v1-hybrid' : 'v1-legacy');
    assert.equal(layout.keySource, 'cgroup-v1');
    if (unified) assert.equal(layout.v2Dir, '/sys/fs/cgroup/unified');
  });

  test('the key hierarchy is a mounted cgroup of the right kind', () => {
    assert.ok(existsSync(layout.keyDir), layout.keyDir);
    assert.equal(fsMagic(layout.keyDir), layout.keySource === 'cgroup-v2' ? CGROUP2_SUPER_MAGIC : CGROUP_SUPER_MAGIC);
    if (layout.keySource === 'cgroup-v1') {
      // The kernel lists the hierarchy's controllers in the mount's cgroup.* files; "tasks" only exists on v1.
      assert.ok(existsSync(`${layout.keyDir}/tasks`));
      if (fsMagic('/sys/fs/cgroup/pids') === CGROUP_SUPER_MAGIC) assert.equal(layout.keyController, 'pids', 'pids is mounted and comes first');
    }
  });

  test('subsystem id: /proc/cgroups row, BTF enum and layout agree', (t) => {
    if (layout.keySource === 'cgroup-v2') return t.skip('v2 host: no subsystem id');
    const rows = parseProcCgroups(readFileSync('/proc/cgroups', 'utf8'));
    const row = rows.find((r) => r.name === layout.keyController);
    assert.ok(row !== undefined);
    assert.equal(row.hierarchyId, layout.keyHierarchyId);
    const lines = readFileSync('/proc/cgroups', 'utf8').split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    if (layout.subsysIdCheck !== 'corrected') {
      assert.equal(lines[layout.keySubsysId!]!.split('\t')[0], layout.keyController, 'line N after the header is subsys id N');
    }
    if (existsSync('/sys/kernel/btf/vmlinux')) {
      const ids = subsysIdsFromBtf(readFileSync('/sys/kernel/btf/vmlinux'));
      assert.ok(ids !== undefined, 'enum cgroup_subsys_id found in vmlinux BTF');
      assert.equal(ids.get(layout.keyController === 'blkio' ? 'io' : layout.keyController!), layout.keySubsysId);
      const allAtTheirRow = rows.every((r) => ids.get(r.name === 'blkio' ? 'io' : r.name) === r.rowIndex);
      assert.equal(layout.subsysIdCheck, allAtTheirRow ? 'confirmed' : 'corrected');
    }
  });

  test('the freezer hierarchy is exported on v1', (t) => {
    if (layout.keySource === 'cgroup-v2') return t.skip('v2 host: freezing is cgroup.freeze');
    if (fsMagic('/sys/fs/cgroup/freezer') === CGROUP_SUPER_MAGIC) assert.equal(layout.freezerDir, '/sys/fs/cgroup/freezer');
  });

  test('/proc/self/cgroup parses and its key-hierarchy cgroup resolves by inode', () => {
    const path = keyCgroupPath(readFileSync('/proc/self/cgroup', 'utf8'), layout);
    assert.ok(path !== undefined && path.startsWith('/'), String(path));
    const key = statSync(path === '/' ? layout.keyDir : layout.keyDir + path, { bigint: true }).ino;
    const r = new IdentityResolver({ layout });
    const id = r.resolve(key, process.pid);
    assert.equal(id.cgroupPath, path);
    assert.equal(r.stats.hintResolved, 1);
  });
});

describe('a real container-shaped cgroup', { skip: skipOptionUnless(isRoot(), 'needs root') }, () => {
  let layout: CgroupLayout;
  before(() => {
    layout = detectCgroupLayout();
  });
  const fakeId = 'ace5'.repeat(16);
  const parent = `/aces-identity-test-${process.pid}`;
  const cgPath = `${parent}/docker/${fakeId}`;
  const dir = (p: string): string => layout.keyDir + p;
  let child: ChildProcess | undefined;

  after(async () => {
    if (layout === undefined) return;
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
    for (const p of [cgPath, `${parent}/docker`, parent]) {
      try {
        rmdirSync(dir(p));
      } catch {
        // already gone
      }
    }
  });

  test('a task moved into it is resolved from its pid and listed', async () => {
    mkdirSync(dir(cgPath), { recursive: true });
    child = spawn('sleep', ['30'], { stdio: 'ignore' });
    await once(child, 'spawn');
    const pid = child.pid!;
    writeFileSync(`${dir(cgPath)}/cgroup.procs`, String(pid));
    assert.equal(keyCgroupPath(readFileSync(`/proc/${pid}/cgroup`, 'utf8'), layout), cgPath);

    const key = statSync(dir(cgPath), { bigint: true }).ino;
    const r = new IdentityResolver({ layout, dockerRoot: '/nonexistent-docker-root' });
    const id = r.resolve(key, pid);
    assert.equal(id.runtime, 'docker');
    assert.equal(id.id, fakeId);
    assert.equal(id.cgroupPath, cgPath);
    assert.equal(r.stats.hintResolved, 1);

    const listed = new IdentityResolver({ layout, dockerRoot: '/nonexistent-docker-root' }).listContainers();
    assert.ok(listed.some((c) => c.key === key && c.id === fakeId));
  });
});
