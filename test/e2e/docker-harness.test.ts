// The e2e tier trusts this harness to give it isolated, labelled, removable containers; if it
// quietly ran one with a network or left one behind, every escape test after it would be
// measuring the wrong thing.
import * as assert from 'node:assert/strict';
import { readlinkSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import {
  BUSYBOX_IMAGE,
  containerPid,
  docker,
  ensureBusyboxImage,
  ensureDocker,
  execInContainer,
  inspectContainer,
  removeContainer,
  removeTestContainers,
  runContainer,
} from '../helpers/docker.js';
import { diffHostState, restoreHostState, snapshotHostState, type HostStateSnapshot } from '../helpers/host-state.js';
import { isRoot, skipOptionUnless } from '../helpers/root.js';

const prefix = `aces-test-harness-${process.pid}`;

describe('docker test harness', { skip: skipOptionUnless(isRoot(), 'needs root and dockerd') }, () => {
  let hostBefore: HostStateSnapshot;

  before(async () => {
    hostBefore = snapshotHostState();
    await ensureDocker();
    await ensureBusyboxImage();
  });

  after(async () => {
    await removeTestContainers();
    const restored = restoreHostState(hostBefore);
    assert.deepEqual(restored, [], 'harness tests changed no host knob');
    // Docker's own mounts come and go with containers; anything left once they are removed is ours.
    assert.deepEqual(diffHostState(hostBefore, snapshotHostState()).filter((l) => !/docker/.test(l)), []);
  });

  test('the busybox image has passwd, group, a sticky /tmp and applets in /bin and /sbin', async () => {
    const r = await runContainer({
      cmd: ['sh', '-c', 'stat -c %a /tmp; id -un; grep -c . /etc/passwd /etc/group; readlink /sbin/ifconfig; readlink /bin/sh'],
      args: ['--rm', '--user', 'nobody'],
    });
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines[0], '1777');
    assert.equal(lines[1], 'nobody');
    assert.deepEqual(lines.slice(2, 4), ['/etc/passwd:2', '/etc/group:2']);
    assert.deepEqual(lines.slice(4), ['/bin/busybox', '/bin/busybox']);
    assert.equal(await ensureBusyboxImage(), BUSYBOX_IMAGE, 'a second call keeps the image');
  });

  test('runContainer runs echo hi with --network none and the test label', async () => {
    const name = `${prefix}-echo`;
    const r = await runContainer({ cmd: ['echo', 'hi'], name });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'hi\n');
    assert.match(r.id, /^[0-9a-f]{64}$/);
    const c = await inspectContainer(name);
    assert.equal(c.Id, r.id);
    assert.equal(c.HostConfig.NetworkMode, 'none');
    assert.equal(c.Config.Labels?.['aces.test'], '1');
    await removeContainer(name);
    const gone = await docker(['inspect', '--type', 'container', name]);
    assert.notEqual(gone.code, 0, 'container removed');
    await removeContainer(name); // removing a missing container is no error
  });

  test('a container exit status comes back unchanged', async () => {
    const r = await runContainer({ cmd: ['sh', '-c', 'echo out; echo err >&2; exit 7'], args: ['--rm'] });
    assert.deepEqual([r.code, r.stdout, r.stderr], [7, 'out\n', 'err\n']);
  });

  test('a detached container reports the host pid of its init, in its own pid namespace', async () => {
    const id = await runContainer({ cmd: ['sleep', '60'], detach: true, name: `${prefix}-sleep` });
    assert.match(id, /^[0-9a-f]{64}$/);
    const pid = await containerPid(id);
    assert.ok(pid > 1);
    assert.equal(readlinkSync(`/proc/${pid}/exe`), '/bin/busybox');
    assert.notEqual(readlinkSync(`/proc/${pid}/ns/pid`), readlinkSync('/proc/self/ns/pid'));
    const ex = await execInContainer(id, ['cat', '/proc/1/comm']);
    assert.equal(ex.code, 0, ex.stderr);
    assert.equal(ex.stdout, 'sleep\n');
    assert.ok((await removeTestContainers()) >= 1);
    await assert.rejects(containerPid(id), (e: unknown) => (e as { code?: string }).code === 'ACES_E_TEST_DOCKER_FAILED');
  });

  test('a foreground run past its timeout rejects and its container is removed', async () => {
    const name = `${prefix}-slow`;
    await assert.rejects(runContainer({ cmd: ['sleep', '60'], name, timeoutMs: 3000 }), (e: unknown) => {
      assert.equal((e as { code?: string }).code, 'ACES_E_TEST_DOCKER_TIMEOUT');
      return true;
    });
    assert.notEqual((await docker(['inspect', '--type', 'container', name])).code, 0, 'timed-out container removed');
  });

  test('runContainer refuses network flags and bad names before calling docker', async () => {
    for (const flag of ['--network', '--network=host', '--net=host', '--net']) {
      await assert.rejects(runContainer({ cmd: ['true'], args: [flag, 'host'].slice(0, flag.includes('=') ? 1 : 2) }), TypeError);
    }
    await assert.rejects(runContainer({ cmd: ['true'], name: '-rm' }), TypeError);
  });
});
