import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCgroupPath } from '../../src/containers/cgroup-path.js';
import {
  metadataFromDockerConfig,
  metadataFromOciSpec,
  parseStorageContainers,
  RuntimeMetadataReader,
} from '../../src/containers/runtime-metadata.js';
import { fixturePath } from './containers-fixtures.js';

const DOCKER_ID = '3f4e1b2c9d8a7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f';
const K8S_DOCKER_ID = '9a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9';
const CRI_ID = '5d2c8e1f7a3b4c9d0e6f2a1b8c7d3e4f5a6b9c0d1e2f3a4b5c6d7e8f9a0b1c2d';
const CRI_SANDBOX = 'e1d2c3b4a5968778695a4b3c2d1e0f9e8d7c6b5a49382716e5d4c3b2a1908f7e';
const NERD_ID = 'b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7a8b9c0d1e2';
const CRIO_ID = 'c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5';
const PODMAN_ID = 'd1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2';
const MISSING_ID = 'f'.repeat(64);

const fixtureReader = (): RuntimeMetadataReader => new RuntimeMetadataReader({
  dockerRoot: fixturePath('docker'),
  containerdTaskRoots: [fixturePath('containerd', 'io.containerd.runtime.v2.task')],
  crioRunRoot: fixturePath('crio-run'),
  storageRoot: fixturePath('storage'),
});

describe('Docker', () => {
  const r = fixtureReader();
  test('config.v2.json and hostconfig.json', () => {
    assert.deepEqual(r.docker(DOCKER_ID), {
      runtime: 'docker',
      id: DOCKER_ID,
      name: 'web-frontend',
      image: 'nginx:1.25-alpine',
      imageId: 'sha256:a8758716bb6aa4d90071160d27028fe4eaee7ce8166221a97d30440c8eac2be6',
      labels: { team: 'payments', 'com.docker.compose.service': 'web' },
      privileged: true,
      hostPid: true,
    });
  });
  test('a kubelet-created container: pod from labels; no hostconfig.json gives a partial answer', () => {
    const m = r.docker(K8S_DOCKER_ID);
    assert.equal(m?.name, 'api');
    assert.equal(m?.podName, 'checkout-7d9f8b6c5-x2x7q');
    assert.equal(m?.namespace, 'shop');
    assert.equal(m?.podUid, '1f0e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b');
    assert.equal(m?.privileged, undefined);
    assert.equal(m?.hostPid, undefined);
  });
  test('unknown id', () => {
    assert.equal(r.docker(MISSING_ID), undefined);
  });
  test('ids that could climb out of the state directory are refused', () => {
    assert.equal(r.docker('..'), undefined);
    assert.equal(r.docker(`../containers/${DOCKER_ID}`), undefined);
  });
  test('pure: empty and odd inputs never throw', () => {
    assert.deepEqual(metadataFromDockerConfig('x', null), { runtime: 'docker', id: 'x' });
    assert.deepEqual(metadataFromDockerConfig('x', { Name: 5, Config: { Labels: { a: 1, b: 'B' } } }, []),
      { runtime: 'docker', id: 'x', labels: { b: 'B' } });
  });
});

describe('containerd', () => {
  const r = fixtureReader();
  test('CRI container: names from the CRI annotations', () => {
    assert.deepEqual(r.containerd(CRI_ID, 'k8s.io'), {
      runtime: 'containerd',
      id: CRI_ID,
      name: 'redis',
      image: 'docker.io/library/redis:7.2',
      podName: 'cache-0',
      namespace: 'data',
      podUid: '8c2f3a1e-5b6d-4e7f-9a0b-1c2d3e4f5a6b',
      containerdNamespace: 'k8s.io',
    });
  });
  test('CRI sandbox', () => {
    const m = r.containerd(CRI_SANDBOX);
    assert.equal(m?.sandbox, true);
    assert.equal(m?.podName, 'cache-0');
    assert.equal(m?.name, undefined);
  });
  test('nerdctl: name and namespace from nerdctl/ annotations, other annotations as labels', () => {
    assert.deepEqual(r.containerd(NERD_ID), {
      runtime: 'containerd',
      id: NERD_ID,
      name: 'static-site',
      containerdNamespace: 'default',
      labels: { owner: 'web-team' },
    });
  });
  test('a namespace given but wrong finds nothing', () => {
    assert.equal(r.containerd(NERD_ID, 'k8s.io'), undefined);
  });
  test('pure: spec without annotations', () => {
    assert.deepEqual(metadataFromOciSpec('x', 'containerd', { ociVersion: '1.0.2' }), { runtime: 'containerd', id: 'x' });
  });
});

describe('CRI-O and podman', () => {
  const r = fixtureReader();
  test('CRI-O: annotations, labels JSON', () => {
    const m = r.crio(CRIO_ID);
    assert.equal(m?.runtime, 'cri-o');
    assert.equal(m?.name, 'coredns');
    assert.equal(m?.image, 'registry.k8s.io/coredns/coredns:v1.10.1');
    assert.equal(m?.imageId, 'sha256:ead0a4a53df89fd173874b46093b6e62d8c72967bbf606d672c9e8c9b601a4fc');
    assert.equal(m?.podName, 'coredns-5d78c9869d-4wqhn');
    assert.equal(m?.namespace, 'kube-system');
    assert.equal(m?.podUid, '2b3c4d5e-6f70-4812-9a3b-4c5d6e7f8091');
    assert.equal(m?.labels?.['io.kubernetes.container.name'], 'coredns');
  });
  test('podman: name and image from containers.json', () => {
    assert.deepEqual(r.podman(PODMAN_ID), {
      runtime: 'podman',
      id: PODMAN_ID,
      name: 'pg-main',
      image: 'docker.io/library/postgres:16',
      imageId: '3b6645d2c145a5e1e2a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3',
    });
  });
  test('parseStorageContainers tolerates junk entries and bad metadata', () => {
    const m = parseStorageContainers([null, 7, { id: 'a', names: ['n1', 3], metadata: '{not json' }, { names: ['no-id'] }]);
    assert.deepEqual([...m.values()], [{ id: 'a', names: ['n1'], name: 'n1' }]);
    assert.equal(parseStorageContainers({}).size, 0);
  });
});

describe('lookup by cgroup path', () => {
  const r = fixtureReader();
  const look = (path: string) => {
    const ref = parseCgroupPath(path);
    assert.ok(ref !== null, path);
    return r.lookup(ref);
  };
  test('Docker cgroupfs path', () => {
    assert.equal(look(`/docker/${DOCKER_ID}`)?.name, 'web-frontend');
  });
  test('kubelet cgroupfs path (engine unknown) finds the containerd CRI bundle', () => {
    const m = look(`/kubepods/burstable/pod8c2f3a1e-5b6d-4e7f-9a0b-1c2d3e4f5a6b/${CRI_ID}`);
    assert.equal(m?.runtime, 'containerd');
    assert.equal(m?.name, 'redis');
  });
  test('kubelet cgroupfs path backed by Docker', () => {
    assert.equal(look(`/kubepods/besteffort/pod1f0e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b/${K8S_DOCKER_ID}`)?.runtime, 'docker');
  });
  test('Docker with --cgroup-parent: an inferred path is confirmed by Docker state', () => {
    const m = look(`/ci-runners/${DOCKER_ID}`);
    assert.equal(m?.runtime, 'docker');
  });
  test('CRI-O systemd path', () => {
    assert.equal(look(`/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod2b3c4d5e_6f70_4812_9a3b_4c5d6e7f8091.slice/crio-${CRIO_ID}.scope`)?.name, 'coredns');
  });
  test('podman systemd path', () => {
    assert.equal(look(`/machine.slice/libpod-${PODMAN_ID}.scope`)?.name, 'pg-main');
  });
  test('nerdctl cgroupfs path', () => {
    assert.equal(look(`/default/${NERD_ID}`)?.name, 'static-site');
  });
  test('nothing known', () => {
    assert.equal(look(`/docker/${MISSING_ID}`), undefined);
    assert.equal(look(`/kubepods/pod1f0e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b/${MISSING_ID}`), undefined);
  });
  test('missing roots never throw', () => {
    const empty = new RuntimeMetadataReader({
      dockerRoot: '/nonexistent/docker', containerdTaskRoots: ['/nonexistent/ctd'],
      crioRunRoot: '/nonexistent/crio', storageRoot: '/nonexistent/storage',
    });
    for (const p of [`/docker/${DOCKER_ID}`, `/kubepods/pod1/${CRI_ID}`, `/machine.slice/libpod-${PODMAN_ID}.scope`, `/x/${DOCKER_ID}`]) {
      const ref = parseCgroupPath(p);
      assert.ok(ref !== null, p);
      assert.equal(empty.lookup(ref), undefined, p);
    }
  });
});

describe('damaged state files', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'aces-meta-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));

  test('malformed JSON gives undefined, not an exception', () => {
    mkdirSync(join(tmp, 'docker', 'containers', DOCKER_ID), { recursive: true });
    writeFileSync(join(tmp, 'docker', 'containers', DOCKER_ID, 'config.v2.json'), '{"Name": "/half');
    const r = new RuntimeMetadataReader({ dockerRoot: join(tmp, 'docker') });
    assert.equal(r.docker(DOCKER_ID), undefined);
  });
  test('a symlinked state file is not followed', () => {
    const id = 'a'.repeat(64);
    mkdirSync(join(tmp, 'docker', 'containers', id), { recursive: true });
    symlinkSync(fixturePath('docker', 'containers', DOCKER_ID, 'config.v2.json'), join(tmp, 'docker', 'containers', id, 'config.v2.json'));
    const r = new RuntimeMetadataReader({ dockerRoot: join(tmp, 'docker') });
    assert.equal(r.docker(id), undefined);
  });
  test('containers.json is re-read when it changes', () => {
    const dir = join(tmp, 'storage', 'overlay-containers');
    mkdirSync(join(dir, PODMAN_ID, 'userdata'), { recursive: true });
    writeFileSync(join(dir, 'containers.json'), JSON.stringify([{ id: PODMAN_ID, names: ['first'] }]));
    const r = new RuntimeMetadataReader({ storageRoot: join(tmp, 'storage') });
    assert.equal(r.podman(PODMAN_ID)?.name, 'first');
    writeFileSync(join(dir, 'containers.json'), JSON.stringify([{ id: PODMAN_ID, names: ['second-name'] }]));
    assert.equal(r.podman(PODMAN_ID)?.name, 'second-name');
  });
});
