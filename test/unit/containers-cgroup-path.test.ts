import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCgroupPath, parseProcCgroup } from '../../src/containers/cgroup-path.js';
import type { CgroupContainerRef } from '../../src/containers/cgroup-path.js';

const ID = '3f4e1b2c9d8a7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f';
const ID2 = 'c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5';
const UID = '8c2f3a1e-5b6d-4e7f-9a0b-1c2d3e4f5a6b';
const UID_ = UID.replace(/-/g, '_');

type Expect = Partial<CgroupContainerRef> & Pick<CgroupContainerRef, 'runtime' | 'containerId'>;

function expectRef(path: string, want: Expect): void {
  const got = parseCgroupPath(path);
  assert.ok(got !== null, `expected a container for ${path}, got null`);
  const full: CgroupContainerRef = { containerPath: path, inferred: false, ...want };
  assert.deepEqual(got, full, path);
}

describe('parseCgroupPath: Docker', () => {
  test('cgroupfs driver, v1 and v2', () => {
    expectRef(`/docker/${ID}`, { runtime: 'docker', containerId: ID });
  });
  test('systemd driver', () => {
    expectRef(`/system.slice/docker-${ID}.scope`, { runtime: 'docker', containerId: ID });
  });
  test('a sub-cgroup inside the container names the container and keeps its own cgroup apart', () => {
    expectRef(`/docker/${ID}/init.scope`, { runtime: 'docker', containerId: ID, containerPath: `/docker/${ID}` });
  });
  test('docker in docker: the outermost container wins', () => {
    expectRef(`/docker/${ID}/docker/${ID2}`, { runtime: 'docker', containerId: ID, containerPath: `/docker/${ID}` });
  });
  test('the /docker parent itself is not a container', () => {
    assert.equal(parseCgroupPath('/docker'), null);
  });
  test('a truncated id is not a container id', () => {
    assert.equal(parseCgroupPath(`/docker/${ID.slice(0, 12)}`), null);
    assert.equal(parseCgroupPath(`/system.slice/docker-${ID.slice(0, 63)}.scope`), null);
  });
  test('upper-case hex is not what Docker writes', () => {
    assert.equal(parseCgroupPath(`/docker/${ID.toUpperCase()}`), null);
  });
});

describe('parseCgroupPath: containerd without Kubernetes', () => {
  test('cgroupfs /<namespace>/<id> (nerdctl, ctr)', () => {
    expectRef(`/default/${ID}`, { runtime: 'containerd', containerId: ID, containerdNamespace: 'default' });
  });
  test('ctr accepts non-hex ids in the default namespace', () => {
    expectRef('/default/redis-test.1', { runtime: 'containerd', containerId: 'redis-test.1', containerdNamespace: 'default' });
  });
  test('nerdctl systemd driver', () => {
    expectRef(`/system.slice/nerdctl-${ID}.scope`, { runtime: 'containerd', containerId: ID });
  });
  test('a 64-hex id under an unknown top-level parent is only inferred', () => {
    expectRef(`/buildkit/${ID}`, { runtime: 'unknown', containerId: ID, containerdNamespace: 'buildkit', inferred: true });
  });
  test('a non-hex name under an unknown parent is a host cgroup', () => {
    assert.equal(parseCgroupPath('/mygroup/worker'), null);
  });
});

describe('parseCgroupPath: Kubernetes', () => {
  test('cgroupfs burstable', () => {
    expectRef(`/kubepods/burstable/pod${UID}/${ID}`,
      { runtime: 'kubernetes', containerId: ID, podUid: UID, qosClass: 'burstable' });
  });
  test('cgroupfs besteffort', () => {
    expectRef(`/kubepods/besteffort/pod${UID}/${ID}`,
      { runtime: 'kubernetes', containerId: ID, podUid: UID, qosClass: 'besteffort' });
  });
  test('cgroupfs guaranteed (pod directly under kubepods)', () => {
    expectRef(`/kubepods/pod${UID}/${ID}`, { runtime: 'kubernetes', containerId: ID, podUid: UID, qosClass: 'guaranteed' });
  });
  test('cgroupfs with CRI-O naming', () => {
    expectRef(`/kubepods/besteffort/pod${UID}/crio-${ID}`,
      { runtime: 'cri-o', containerId: ID, podUid: UID, qosClass: 'besteffort' });
  });
  test('the pod cgroup itself is not a container', () => {
    assert.equal(parseCgroupPath(`/kubepods/burstable/pod${UID}`), null);
    assert.equal(parseCgroupPath(`/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice`), null);
    assert.equal(parseCgroupPath('/kubepods/burstable'), null);
  });
  test('systemd, containerd: pod uid underscores become dashes', () => {
    expectRef(`/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice/cri-containerd-${ID}.scope`,
      { runtime: 'containerd', containerId: ID, podUid: UID, qosClass: 'burstable' });
  });
  test('systemd, CRI-O', () => {
    expectRef(`/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID_}.slice/crio-${ID}.scope`,
      { runtime: 'cri-o', containerId: ID, podUid: UID, qosClass: 'besteffort' });
  });
  test('systemd, Docker (cri-dockerd)', () => {
    expectRef(`/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice/docker-${ID}.scope`,
      { runtime: 'docker', containerId: ID, podUid: UID, qosClass: 'burstable' });
  });
  test('systemd, guaranteed pod', () => {
    expectRef(`/kubepods.slice/kubepods-pod${UID_}.slice/cri-containerd-${ID}.scope`,
      { runtime: 'containerd', containerId: ID, podUid: UID, qosClass: 'guaranteed' });
  });
  test('kubelet under kubelet.slice (kind nodes)', () => {
    expectRef(`/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod${UID_}.slice/cri-containerd-${ID}.scope`,
      { runtime: 'containerd', containerId: ID, podUid: UID, qosClass: 'besteffort' });
  });
  test('crio-conmon scope holds the host-side monitor, not a container', () => {
    assert.equal(parseCgroupPath(`/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice/crio-conmon-${ID}.scope`), null);
  });
  test('a kind node is a Docker container: pods inside it belong to it', () => {
    expectRef(`/docker/${ID}/kubepods/besteffort/pod${UID}/${ID2}`,
      { runtime: 'docker', containerId: ID, containerPath: `/docker/${ID}` });
  });
});

describe('parseCgroupPath: podman and LXC', () => {
  test('systemd, rootful', () => {
    expectRef(`/machine.slice/libpod-${ID}.scope`, { runtime: 'podman', containerId: ID });
  });
  test('systemd, with the container sub-cgroup podman makes under cgroup namespaces', () => {
    expectRef(`/machine.slice/libpod-${ID}.scope/container`,
      { runtime: 'podman', containerId: ID, containerPath: `/machine.slice/libpod-${ID}.scope` });
  });
  test('systemd, in a pod slice', () => {
    expectRef(`/machine.slice/machine-libpod_pod_${ID2}.slice/libpod-${ID}.scope`, { runtime: 'podman', containerId: ID });
  });
  test('systemd, rootless under user.slice', () => {
    expectRef(`/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-${ID}.scope`, { runtime: 'podman', containerId: ID });
  });
  test('cgroupfs', () => {
    expectRef(`/libpod_parent/libpod-${ID}`, { runtime: 'podman', containerId: ID });
  });
  test('conmon scope is not a container', () => {
    assert.equal(parseCgroupPath(`/machine.slice/libpod-conmon-${ID}.scope`), null);
  });
  test('LXC', () => {
    expectRef('/lxc.payload.web1', { runtime: 'lxc', containerId: 'web1' });
    expectRef('/lxc/web1', { runtime: 'lxc', containerId: 'web1' });
  });
});

describe('parseCgroupPath: host cgroups', () => {
  for (const p of [
    '/', '/system.slice/ssh.service', '/user.slice/user-0.slice/session-1.scope', '/init.scope',
    '/system.slice/docker.service', '/system.slice/containerd.service', '/machine.slice/machine-qemu\\x2d1\\x2dvm.scope',
    `/system.slice/${ID}.service`, '/user.slice', '',
  ]) {
    test(JSON.stringify(p), () => assert.equal(parseCgroupPath(p), null));
  }
});

describe('parseProcCgroup', () => {
  test('v1 hybrid lines, named hierarchy, v2 line', () => {
    const text = `9:name=systemd:/docker/${ID}\n8:pids:/docker/${ID}\n1:cpu,cpuacct:/\n0::/\n`;
    assert.deepEqual(parseProcCgroup(text), [
      { hierarchyId: 9, controllers: ['name=systemd'], path: `/docker/${ID}` },
      { hierarchyId: 8, controllers: ['pids'], path: `/docker/${ID}` },
      { hierarchyId: 1, controllers: ['cpu', 'cpuacct'], path: '/' },
      { hierarchyId: 0, controllers: [], path: '/' },
    ]);
  });
  test('a path containing ":" is kept whole', () => {
    assert.deepEqual(parseProcCgroup('0::/system.slice/a:b.service\n'), [{ hierarchyId: 0, controllers: [], path: '/system.slice/a:b.service' }]);
  });
  test('the " (deleted)" suffix of a removed v2 cgroup is dropped', () => {
    assert.deepEqual(parseProcCgroup('0::/gone (deleted)\n'), [{ hierarchyId: 0, controllers: [], path: '/gone' }]);
  });
  test('malformed lines are skipped', () => {
    assert.deepEqual(parseProcCgroup('garbage\nx::/\n3:pids\n4:pids:relative\n'), []);
  });
});
