// IdentityResolver against a fake cgroup hierarchy in a temp dir: the keys are the real st_ino of
// the temp directories, as they are the kernfs ids on a real cgroupfs.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CgroupLayout } from '../../src/containers/cgroup-layout.js';
import { IdentityResolver } from '../../src/containers/identity-resolver.js';
import type { IdentityResolverOptions } from '../../src/containers/identity-resolver.js';
import { fixturePath } from './containers-fixtures.js';

const DOCKER_ID = '3f4e1b2c9d8a7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f';
const CRI_ID = '5d2c8e1f7a3b4c9d0e6f2a1b8c7d3e4f5a6b9c0d1e2f3a4b5c6d7e8f9a0b1c2d';
const POD_UID = '8c2f3a1e-5b6d-4e7f-9a0b-1c2d3e4f5a6b';
const PODMAN_ID = 'd1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2';
const LATE_ID = '7e6d5c4b3a2918f7e6d5c4b3a2918f7e6d5c4b3a2918f7e6d5c4b3a2918f7e6d';
const STRAY_ID = '1'.repeat(64);
const CONMON_ID = '2'.repeat(64);
const LATE_UID = '0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0';

const P = {
  docker: `/docker/${DOCKER_ID}`,
  dockerNested: `/docker/${DOCKER_ID}/init.scope`,
  cri: `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${POD_UID.replace(/-/g, '_')}.slice/cri-containerd-${CRI_ID}.scope`,
  conmon: `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${POD_UID.replace(/-/g, '_')}.slice/crio-conmon-${CONMON_ID}.scope`,
  podman: `/machine.slice/libpod-${PODMAN_ID}.scope`,
  podmanInner: `/machine.slice/libpod-${PODMAN_ID}.scope/container`,
  late: `/kubepods/besteffort/pod${LATE_UID}/${LATE_ID}`,
  stray: `/custom-parent/${STRAY_ID}`,
  ssh: '/system.slice/ssh.service',
  session: '/user.slice/user-0.slice/session-1.scope',
};

let tmp = '';
let cg = '';
let proc = '';
const ino = (path: string): bigint => statSync(path === '/' ? cg : cg + path, { bigint: true }).ino;

function writeProc(pid: number, v1Path: string, v2Path = '/'): void {
  mkdirSync(join(proc, String(pid)), { recursive: true });
  writeFileSync(join(proc, String(pid), 'cgroup'),
    `9:name=systemd:${v1Path}\n8:pids:${v1Path}\n4:memory:${v1Path}\n0::${v2Path}\n`);
}

function layout(keyDir: string, v2 = false): CgroupLayout {
  return v2
    ? { mode: 'v2', keySource: 'cgroup-v2', keyDir, keyHierarchyId: 0, v2Dir: keyDir, v1Hierarchies: [] }
    : {
      mode: 'v1-hybrid', keySource: 'cgroup-v1', keyDir, keyHierarchyId: 8, keyController: 'pids',
      keySubsysId: 11, subsysIdCheck: 'confirmed', v1Hierarchies: [],
    };
}

function resolver(extra: Partial<IdentityResolverOptions> = {}): IdentityResolver {
  return new IdentityResolver({
    layout: layout(cg),
    procDir: proc,
    dockerRoot: fixturePath('docker'),
    containerdTaskRoots: [join(tmp, 'containerd')],
    crioRunRoot: fixturePath('crio-run'),
    storageRoot: fixturePath('storage'),
    ...extra,
  });
}

before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'aces-resolver-'));
  cg = join(tmp, 'cgroup', 'pids');
  proc = join(tmp, 'proc');
  for (const p of Object.values(P)) mkdirSync(cg + p, { recursive: true });
  // A copy, so a test can add a bundle that appears after the container's first event.
  cpSync(fixturePath('containerd', 'io.containerd.runtime.v2.task'), join(tmp, 'containerd'), { recursive: true });
  // A container-shaped tree outside the hierarchy, reachable only through a symlink.
  mkdirSync(join(tmp, 'outside', 'docker', 'e'.repeat(64)), { recursive: true });
  symlinkSync(join(tmp, 'outside'), join(cg, 'escape'));
  writeProc(4242, P.docker);
  writeProc(5151, P.ssh); // a pid whose cgroup does not carry the key asked for
});
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('resolve', () => {
  test('hinted pid: one /proc read and one stat, no walk', () => {
    const r = resolver();
    const id = r.resolve(ino(P.docker), 4242);
    assert.deepEqual(id, {
      key: ino(P.docker),
      runtime: 'docker',
      id: DOCKER_ID,
      cgroupPath: P.docker,
      name: 'web-frontend',
      image: 'nginx:1.25-alpine',
      imageId: 'sha256:a8758716bb6aa4d90071160d27028fe4eaee7ce8166221a97d30440c8eac2be6',
      labels: { team: 'payments', 'com.docker.compose.service': 'web' },
      privileged: true,
      hostPid: true,
    });
    assert.equal(r.stats.hintResolved, 1);
    assert.equal(r.stats.walks, 0);
  });

  test('cached: the second call is a hit and returns the same object', () => {
    const r = resolver();
    const a = r.resolve(ino(P.docker), 4242);
    const b = r.resolve(ino(P.docker), 4242);
    assert.equal(a, b);
    assert.equal(r.stats.hits, 1);
    assert.equal(r.stats.misses, 1);
  });

  test('a hint whose cgroup does not match the key falls back to a walk', () => {
    const r = resolver();
    const id = r.resolve(ino(P.cri), 5151);
    assert.equal(id.runtime, 'containerd');
    assert.equal(id.name, 'redis');
    assert.equal(id.podUid, POD_UID);
    assert.equal(id.podName, 'cache-0');
    assert.equal(id.namespace, 'data');
    assert.equal(r.stats.hintResolved, 0);
    assert.equal(r.stats.walkResolved, 1);
    assert.equal(r.stats.walks, 1);
  });

  test('a hint pid that does not exist falls back to a walk', () => {
    const r = resolver();
    assert.equal(r.resolve(ino(P.podman), 999_999).name, 'pg-main');
  });

  test('a sub-cgroup of a container resolves to the container, with its own path', () => {
    const r = resolver();
    const id = r.resolve(ino(P.podmanInner));
    assert.equal(id.runtime, 'podman');
    assert.equal(id.id, PODMAN_ID);
    assert.equal(id.cgroupPath, P.podmanInner);
    assert.equal(r.resolve(ino(P.dockerNested)).name, 'web-frontend');
  });

  test('a host cgroup is returned as unknown with its path', () => {
    const r = resolver();
    assert.deepEqual(r.resolve(ino(P.ssh), 5151), { key: ino(P.ssh), runtime: 'unknown', cgroupPath: P.ssh });
    assert.deepEqual(r.resolve(ino(P.conmon)), { key: ino(P.conmon), runtime: 'unknown', cgroupPath: P.conmon });
  });

  test('a key found nowhere is unknown, cached for unknownTtlMs, then looked up again', () => {
    let now = 1_000_000;
    const r = resolver({ now: () => now, unknownTtlMs: 500, minWalkIntervalMs: 0 });
    const key = 0xffff_ffff_ffffn;
    assert.deepEqual(r.resolve(key), { key, runtime: 'unknown' });
    assert.equal(r.stats.walks, 1);
    r.resolve(key);
    assert.equal(r.stats.walks, 1, 'within the TTL no new walk');
    now += 501;
    r.resolve(key);
    assert.equal(r.stats.walks, 2);
    assert.equal(r.stats.unresolved, 2);
  });

  test('misses in a burst share one walk (minWalkIntervalMs)', () => {
    const now = 5_000;
    const r = resolver({ now: () => now, minWalkIntervalMs: 1000 });
    r.resolve(1n << 60n);
    r.resolve((1n << 60n) + 1n);
    r.resolve(ino(P.podman)); // in the index of the first walk: found without walking again
    assert.equal(r.stats.walks, 1);
    assert.equal(r.resolve(ino(P.podman)).name, 'pg-main');
  });

  test('a container seen before its runtime wrote metadata is completed on a later lookup', () => {
    let now = 0;
    const r = resolver({ now: () => now, metadataRetryMs: 1000 });
    const key = ino(P.late);
    const first = r.resolve(key);
    assert.deepEqual(first, { key, runtime: 'kubernetes', id: LATE_ID, cgroupPath: P.late, podUid: LATE_UID });
    const bundle = join(tmp, 'containerd', 'k8s.io', LATE_ID);
    mkdirSync(bundle, { recursive: true });
    writeFileSync(join(bundle, 'config.json'), JSON.stringify({
      ociVersion: '1.1.0',
      annotations: {
        'io.kubernetes.cri.container-type': 'container',
        'io.kubernetes.cri.container-name': 'worker',
        'io.kubernetes.cri.image-name': 'ghcr.io/example/worker:3',
        'io.kubernetes.cri.sandbox-name': 'jobs-7',
        'io.kubernetes.cri.sandbox-namespace': 'batch',
        'io.kubernetes.cri.sandbox-uid': LATE_UID,
      },
    }));
    now += 500;
    assert.equal(r.resolve(key).name, undefined, 'still cached before the retry time');
    now += 600;
    const second = r.resolve(key);
    assert.equal(second.runtime, 'containerd');
    assert.equal(second.name, 'worker');
    assert.equal(second.image, 'ghcr.io/example/worker:3');
    assert.equal(second.namespace, 'batch');
    rmSync(bundle, { recursive: true });
  });

  test('forget drops the cached identity', () => {
    const r = resolver();
    const key = ino(P.docker);
    r.resolve(key, 4242);
    r.forget(key);
    r.resolve(key, 4242);
    assert.equal(r.stats.misses, 2);
    assert.equal(r.stats.hits, 0);
  });

  test('the cache is bounded', () => {
    const r = resolver({ maxCacheEntries: 2, minWalkIntervalMs: 1e9 });
    r.resolve(ino(P.docker), 4242);
    r.resolve(1n);
    r.resolve(2n);
    r.resolve(3n);
    assert.equal(r.stats.cacheEntries, 2);
  });

  test('the walk is bounded by maxWalkDirs and maxWalkDepth', () => {
    const shallow = resolver({ maxWalkDepth: 1 });
    assert.equal(shallow.resolve(ino(P.cri)).runtime, 'unknown');
    const small = resolver({ maxWalkDirs: 3 });
    assert.equal(small.resolve(ino(P.cri)).runtime, 'unknown');
    assert.equal(small.stats.walksTruncated, 1);
  });

  test('v2 layout reads the 0:: line of the hinted pid', () => {
    writeProc(6161, '/', P.cri);
    const r = new IdentityResolver({ layout: layout(cg, true), procDir: proc, containerdTaskRoots: [join(tmp, 'containerd')] });
    assert.equal(r.resolve(ino(P.cri), 6161).name, 'redis');
    assert.equal(r.stats.hintResolved, 1);
  });

  test('options are checked at construction', () => {
    assert.throws(() => new IdentityResolver({ layout: { ...layout(cg), keyDir: 'relative' } }), /expected a CgroupLayout with an absolute keyDir/);
    assert.throws(() => resolver({ dockerRoot: 'var/lib/docker' }), /expected an absolute path for dockerRoot, got "var\/lib\/docker"/);
    assert.throws(() => resolver({ maxWalkDirs: -1 }), /expected a non-negative number for maxWalkDirs, got -1/);
  });
});

describe('listContainers', () => {
  test('every container cgroup, sub-cgroups included; host, conmon and unconfirmed ones left out; no symlink followed', () => {
    const r = resolver();
    const list = r.listContainers();
    assert.deepEqual(list.map((c) => c.cgroupPath), [P.docker, P.dockerNested, P.cri, P.late, P.podman, P.podmanInner]);
    for (const c of list) assert.equal(c.key, ino(c.cgroupPath!));
    assert.equal(list.find((c) => c.cgroupPath === P.late)?.runtime, 'kubernetes');
    assert.ok(!list.some((c) => c.cgroupPath?.startsWith('/escape')));
    // listContainers fills the cache: resolving afterwards needs no walk.
    const walks = r.stats.walks;
    assert.equal(r.resolve(ino(P.cri)).name, 'redis');
    assert.equal(r.stats.walks, walks);
    assert.equal(r.stats.hits, 1);
  });

  test('an inferred container is listed once a runtime confirms it', () => {
    const confirmed = `/custom-parent/${DOCKER_ID}`;
    mkdirSync(cg + confirmed, { recursive: true });
    try {
      const list = resolver().listContainers();
      const c = list.find((x) => x.cgroupPath === confirmed);
      assert.equal(c?.runtime, 'docker');
      assert.equal(c?.name, 'web-frontend');
      assert.ok(!list.some((x) => x.cgroupPath === P.stray));
    } finally {
      rmSync(cg + confirmed, { recursive: true });
    }
  });
});
