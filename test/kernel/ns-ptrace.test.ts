// setns into a host namespace and ptrace across containers, on whatever tier this kernel gives
// them: on BPF LSM kernels (the vm tier) the operation fails with EPERM and the process lives on;
// on the signal tier the process dies before it can use what it got.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isRoot, skipUnlessRoot } from '../helpers/root.js';
import { readyTier, startAces, type AcesRun } from '../helpers/aces-daemon.js';
import { runInPidns, testCgroupKey, testCgroupSet, type TestCgroup } from '../helpers/fake-container.js';
import { buildTool } from '../helpers/tools.js';

const keyOf = testCgroupKey;

describe('setns and ptrace across the container boundary (enforce)', { concurrency: false }, () => {
  let aces: AcesRun | undefined;
  const cgroups = testCgroupSet();
  const cg = cgroups.make;
  before(async () => {
    if (isRoot()) aces = await startAces({ mode: 'enforce' });
  });
  after(async () => {
    if (!aces) return;
    assert.equal(await aces.stop(), 0);
    cgroups.cleanup();
  });

  test('nsenter into a host namespace the container does not hold', async (t) => {
    if (!skipUnlessRoot(t)) return;
    const c = cg();
    // The container has its own UTS namespace; the test process holds the host's.
    const r = runInPidns(`nsenter -t ${process.pid} -u hostname; echo status=$?`, { cgroup: c, utsNs: true });
    const ev = await aces!.waitForEvent((e) => e.rule === 'setns-host' && e.container?.key === keyOf(c));
    if (readyTier(aces!, 'setns-host') === 'lsm') {
      assert.match(r.stdout, /status=1\b/, `nsenter fails with EPERM: ${r.stdout} ${r.stderr}`);
      assert.match(r.stderr, /Operation not permitted/);
      assert.equal(ev.action, 'deny');
      assert.equal(ev.tier, 'lsm');
    } else {
      assert.match(r.stdout, /status=137/, r.stdout + r.stderr);
      assert.equal(ev.action, 'kill');
    }
    assert.doesNotMatch(r.stdout, /^(?!status).+\n/m, 'nothing ran in the host namespace');
  });

  test('ptrace attach to a task of another container', async (t) => {
    if (!skipUnlessRoot(t)) return;
    const c = cg();
    const other = cg();
    const poke = buildTool('ptrace-poke');
    const r = runInPidns(`sleep 30 & echo $! > ${other.dir}/cgroup.procs; ${poke} $!; echo status=$?`, { cgroup: c });
    const ev = await aces!.waitForEvent((e) => e.rule === 'ptrace-foreign' && e.container?.key === keyOf(c));
    assert.doesNotMatch(r.stdout, /peeked/, 'the tracer read the other container');
    if (readyTier(aces!, 'ptrace-foreign') === 'lsm') {
      assert.match(r.stdout, /status=1\b/, r.stdout + r.stderr);
      assert.equal(ev.action, 'deny');
      assert.equal(ev.tier, 'lsm');
    } else {
      assert.match(r.stdout, /status=137/, r.stdout + r.stderr);
      assert.equal(ev.action, 'kill');
    }
  });

  test('ptrace of its own child is not touched', async (t) => {
    if (!skipUnlessRoot(t)) return;
    const c = cg();
    const poke = buildTool('ptrace-poke');
    const r = runInPidns(`sleep 30 & ${poke} $! && kill $!; echo status=$?`, { cgroup: c });
    assert.match(r.stdout, /peeked/);
    assert.match(r.stdout, /status=0/);
    assert.deepEqual(aces!.events().filter((e) => e.container?.key === keyOf(c) && e.level >= 2), []);
  });
});
