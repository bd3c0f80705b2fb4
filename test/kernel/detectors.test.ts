// Each file-system detector and the classifier on this kernel, with "containers" made by
// unshare (a shell in its own pid namespace, in its own cgroup) and the real daemon.
// Monitor mode: the attempt goes through and is reported; enforce mode: it is stopped in the
// kernel and the host is left as it was.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isRoot, skipUnlessRoot } from '../helpers/root.js';
import { readyTier, startAces, type AcesRun } from '../helpers/aces-daemon.js';
import { bpfLsmWorks } from '../helpers/bpf-lsm.js';
import { makeTestCgroup, runInPidns, startInPidns, type TestCgroup } from '../helpers/fake-container.js';
import { snapshotHostState, restoreHostState, diffHostState, type HostStateSnapshot } from '../helpers/host-state.js';
import { detectCgroupLayout } from '../../src/containers/cgroup-layout.js';
import { buildTool } from '../helpers/tools.js';

const layout = isRoot() ? detectCgroupLayout() : undefined;
const PIDS_RA = layout ? join(layout.keyDir, 'release_agent') : '';
/** The host's root disk and its filesystem type, from the "/" line of mountinfo; else (the vm
 * tier's guest, whose "/" is 9p) the first block-device filesystem the host has mounted. */
const rootDisk = (() => {
  const disks: Array<{ mountPoint: string; dev: string; fstype: string }> = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [pre, post] = line.split(' - ');
    if (!pre || !post) continue;
    const [fstype, source] = post.split(' ');
    if (source?.startsWith('/dev/') && existsSync(source)) disks.push({ mountPoint: pre.split(' ')[4]!, dev: source, fstype: fstype! });
  }
  const d = disks.find((x) => x.mountPoint === '/') ?? disks[0];
  return d && { dev: d.dev, fstype: d.fstype };
})();
const blockDev = rootDisk?.dev;

/** The container key of a test cgroup: its directory's inode number in the key hierarchy. */
function cgroupKey(c: TestCgroup): string {
  return statSync(c.dir, { bigint: true }).ino.toString();
}

function hostPidOf(script: string): { pid: number; status: number | null } {
  const r = spawnSync('/bin/sh', ['-c', `echo $$; ${script}`], { encoding: 'utf8' });
  return { pid: Number(r.stdout.split('\n')[0]), status: r.status };
}

describe('monitor mode', { concurrency: false }, () => {
  let aces: AcesRun | undefined;
  let snap: HostStateSnapshot;
  const cgroups: TestCgroup[] = [];
  const cg = (): TestCgroup => {
    const c = makeTestCgroup();
    cgroups.push(c);
    return c;
  };

  before(async () => {
    if (!isRoot()) return;
    snap = snapshotHostState();
    aces = await startAces({ mode: 'monitor' });
  });
  after(async () => {
    if (!aces) return;
    assert.equal(await aces.stop(), 0, 'aces run exits 0 on SIGTERM');
    cgroups.forEach((c) => c.cleanup());
    restoreHostState(snap);
  });

  test('ready line lists every rule with its tier', (t) => {
    if (!skipUnlessRoot(t)) return;
    const rules = aces!.ready.rules as { rule: string; tier: string }[];
    const byName = Object.fromEntries(rules.map((r) => [r.rule, r.tier]));
    // LSM where this kernel runs BPF LSM programs (bpf among its active LSMs), found without ACES.
    const lsm = bpfLsmWorks();
    for (const r of ['release-agent-write', 'release-agent-read', 'cgroup-v1-mount', 'binfmt-misc-write', 'sysrq-trigger-write', 'blockdev-mount', 'umh-container-exec']) {
      assert.equal(byName[r], lsm ? 'lsm' : 'signal', r);
    }
    assert.equal(byName['blockdev-mknod'], lsm ? 'lsm' : 'cgroup');
    assert.equal(byName['sysctl-host-write'], 'cgroup');
    assert.equal(byName['blockdev-open'], 'cgroup');
    assert.equal(aces!.ready.mode, 'monitor');
  });

  test('classifier: host tasks, also in private mount namespaces, are never container tasks', async (t) => {
    if (!skipUnlessRoot(t)) return;
    const plain = hostPidOf(`cat ${PIDS_RA} > /dev/null`);
    const privMnt = spawnSync('unshare', ['-m', '/bin/sh', '-c', `echo $$; cat ${PIDS_RA} > /dev/null`], { encoding: 'utf8' });
    const privPid = Number(privMnt.stdout.split('\n')[0]);
    // A pid-namespace task doing the same is reported: proves the hook was live meanwhile.
    const c = cg();
    const r = runInPidns(`cat ${PIDS_RA} > /dev/null; echo ok`, { cgroup: c });
    assert.equal(r.status, 0, r.stderr);
    const ev = await aces!.waitForEvent((e) => e.rule === 'release-agent-read' && e.process.comm === 'cat' && e.process.pid !== plain.pid);
    assert.equal(ev.level, 1);
    assert.equal(ev.action, 'alert');
    assert.ok(ev.container, 'container task events carry a container');
    const pids = aces!.events().map((e) => e.process.pid);
    assert.ok(!pids.includes(plain.pid), 'plain host process reported');
    assert.ok(!pids.includes(privPid), 'host process in a private mount namespace reported');
  });

  test('release_agent write is reported, not stopped, in monitor mode', async (t) => {
    if (!skipUnlessRoot(t)) return;
    const c = cg();
    const r = runInPidns(`exec 3>>${PIDS_RA}; echo alive`, { cgroup: c });
    assert.equal(r.killedBy, null, 'not killed in monitor mode');
    assert.match(r.stdout, /alive/);
    const ev = await aces!.waitForEvent((e) => e.rule === 'release-agent-write');
    assert.equal(ev.monitor, true);
    assert.equal(ev.action, 'alert');
    // What enforce mode would do: deny where an LSM hook refuses the open, else kill.
    const tier = readyTier(aces!, 'release-agent-write');
    assert.equal(ev.tier, tier);
    assert.equal(ev.policy_action, tier === 'lsm' ? 'deny' : 'kill');
    assert.equal(ev.level, 2);
  });

  test('sysctl write goes through and is reported in monitor mode', async (t) => {
    if (!skipUnlessRoot(t)) return;
    const before = readFileSync('/proc/sys/kernel/core_uses_pid', 'utf8').trim();
    const flipped = before === '0' ? '1' : '0';
    const c = cg();
    const r = runInPidns(`echo ${flipped} > /proc/sys/kernel/core_uses_pid`, { cgroup: c });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(readFileSync('/proc/sys/kernel/core_uses_pid', 'utf8').trim(), flipped);
    writeFileSync('/proc/sys/kernel/core_uses_pid', before);
    const ev = await aces!.waitForEvent((e) => e.rule === 'sysctl-host-write');
    assert.equal(ev.object.name, 'kernel/core_uses_pid');
    assert.equal(ev.policy_action, 'deny');
    assert.equal(ev.action, 'alert');
  });

  // The kernel checks one open of a block device twice (inode_permission, then bdev_permission):
  // one event per open, and the second check does not escalate the open it belongs to.
  test('one block-device open is one event; the next open is the escalated one', async (t) => {
    if (!skipUnlessRoot(t)) return;
    if (!blockDev) return t.skip('no block device');
    const c = cg();
    // 0.5 s apart: beyond the memory's 100 ms bound where no open exit ends it.
    const r = runInPidns(`true < ${blockDev}; echo one; sleep 0.5; true < ${blockDev}; echo two`, { cgroup: c });
    assert.match(r.stdout, /one\ntwo/, r.stderr);
    await aces!.waitForEvent((e) => e.rule === 'blockdev-open' && e.container?.key === cgroupKey(c) && e.escalated);
    await new Promise((res) => setTimeout(res, 300));
    const evs = aces!.events().filter((e) => e.rule === 'blockdev-open' && e.container?.key === cgroupKey(c));
    assert.deepEqual(evs.map((e) => [e.level, e.escalated, e.policy_action]), [[2, false, 'deny'], [3, true, 'quarantine']]);
  });
});

describe('enforce mode', { concurrency: false }, () => {
  let aces: AcesRun | undefined;
  let snap: HostStateSnapshot;
  const cgroups: TestCgroup[] = [];
  const cg = (): TestCgroup => {
    const c = makeTestCgroup();
    cgroups.push(c);
    return c;
  };

  before(async () => {
    if (!isRoot()) return;
    snap = snapshotHostState();
    aces = await startAces({ mode: 'enforce' });
  });
  after(async () => {
    if (!aces) return;
    assert.equal(await aces.stop(), 0, 'aces run exits 0 on SIGTERM');
    cgroups.forEach((c) => c.cleanup());
    const changed = restoreHostState(snap);
    assert.deepEqual(changed, [], 'enforce mode left host state changed');
  });

  test('release_agent opened for write: stopped before the write, host value unchanged', async (t) => {
    if (!skipUnlessRoot(t)) return;
    const before = readFileSync(PIDS_RA, 'utf8');
    const c = cg();
    // echo is a regular builtin: the shell opens the file itself and, when the open fails,
    // goes on with the next command (a failed `exec 3>file` would end the shell).
    const r = runInPidns(`echo /tmp/aces-pwn >> ${PIDS_RA}; echo status=$?; echo survived`, { cgroup: c });
    assert.equal(readFileSync(PIDS_RA, 'utf8'), before);
    const ev = await aces!.waitForEvent((e) => e.rule === 'release-agent-write' && e.container?.key === cgroupKey(c));
    assert.equal(ev.object.fs, 'cgroup');
    assert.ok(BigInt(ev.kernel_ns.decision) >= BigInt(ev.kernel_ns.entry));
    if (readyTier(aces!, 'release-agent-write') === 'lsm') {
      // Refused before the file is open: EPERM, and the process lives on.
      assert.equal(r.killedBy, null);
      assert.match(r.stdout, /status=[12]\nsurvived/);
      assert.match(r.stderr, /Operation not permitted/);
      assert.equal(ev.action, 'deny');
      assert.equal(ev.tier, 'lsm');
    } else {
      assert.equal(r.killedBy, 9);
      assert.doesNotMatch(r.stdout, /survived/);
      assert.equal(ev.action, 'kill');
      assert.equal(ev.tier, 'signal');
      assert.ok(ev.kernel_ns.exit, 'kill events carry the exit time of the killed task');
      assert.ok(BigInt(ev.kernel_ns.exit!) >= BigInt(ev.kernel_ns.decision));
    }
  });

  test('notify_on_release through a host cgroupfs bind-mounted elsewhere', async (t) => {
    if (!skipUnlessRoot(t)) return;
    const c = cg();
    const bind = `/tmp/aces-cgbind-${process.pid}`;
    mkdirSync(bind, { recursive: true });
    assert.equal(spawnSync('mount', ['--bind', layout!.keyDir, bind]).status, 0);
    try {
      const target = join(bind, c.dir.split('/').pop()!, 'notify_on_release');
      const r = runInPidns(`echo 1 > ${target}; echo survived`, { cgroup: c });
      assert.equal(readFileSync(join(c.dir, 'notify_on_release'), 'utf8').trim(), '0');
      const ev = await aces!.waitForEvent((e) => e.rule === 'release-agent-write' && e.object.name === 'notify_on_release');
      if (readyTier(aces!, 'release-agent-write') === 'lsm') {
        assert.equal(r.killedBy, null);
        assert.match(r.stdout, /survived/);
        assert.equal(ev.action, 'deny');
      } else {
        assert.equal(r.killedBy, 9);
        assert.equal(ev.action, 'kill');
      }
    } finally {
      spawnSync('umount', ['-l', bind]);
      rmSync(bind, { recursive: true, force: true });
    }
  });

  test('mounting a cgroup-v1 hierarchy: refused (lsm) or the mounter killed (signal)', async (t) => {
    if (!skipUnlessRoot(t)) return;
    const c = cg();
    const r = runInPidns('mkdir -p /tmp/aces-cgm; mount -t cgroup -o pids cgroup /tmp/aces-cgm; echo mount-status=$?; grep -c " /tmp/aces-cgm " /proc/self/mountinfo', { cgroup: c, mountNs: true });
    const ev = await aces!.waitForEvent((e) => e.rule === 'cgroup-v1-mount' && e.container?.key === cgroupKey(c));
    assert.equal(ev.object.fs, 'cgroup');
    assert.equal(ev.process.comm, 'mount');
    if (readyTier(aces!, 'cgroup-v1-mount') === 'lsm') {
      // util-linux mount exits 32 on a refused mount; nothing was mounted; the shell goes on.
      assert.match(r.stdout, /mount-status=32\n0\n/, r.stdout + r.stderr);
      assert.match(r.stderr, /permission denied/i);
      assert.equal(ev.action, 'deny');
      assert.equal(ev.tier, 'lsm');
    } else {
      assert.match(r.stdout, /mount-status=137/, r.stderr);
      assert.equal(ev.action, 'kill');
    }
  });

  test('new mount API: a cgroup-v1 fsmount never reaches the tree', async (t) => {
    if (!skipUnlessRoot(t)) return;
    const c = cg();
    const tool = buildTool('newmount');
    const r = runInPidns(`mkdir -p /tmp/aces-nm; ${tool} cgroup - /tmp/aces-nm pids; echo status=$?`, { cgroup: c, mountNs: true });
    assert.doesNotMatch(r.stdout, /mounted/, 'the detached mount was attached');
    const ev = await aces!.waitForEvent((e) => e.rule === 'cgroup-v1-mount' && e.container?.key === cgroupKey(c));
    assert.equal(ev.process.comm, 'newmount');
    if (readyTier(aces!, 'cgroup-v1-mount') === 'lsm') {
      // fsconfig(FSCONFIG_CMD_CREATE) runs sb_kern_mount on the new superblock: refused before
      // there is even a detached mount.
      assert.match(r.stdout, /^status=1/m, r.stdout + r.stderr);
      assert.doesNotMatch(r.stdout, /fsmount-fd/);
      assert.match(r.stderr, /fsconfig create: Operation not permitted/);
      assert.equal(ev.action, 'deny');
    } else {
      // Killed at fsmount's exit, before move_mount.
      assert.match(r.stdout, /status=137/, r.stdout + r.stderr);
    }
  });

  test('host-global sysctl write is denied, namespaced one allowed', async (t) => {
    if (!skipUnlessRoot(t)) return;
    const before = readFileSync('/proc/sys/kernel/core_pattern', 'utf8');
    const c = cg();
    const r = runInPidns(`echo '|/tmp/aces-evil %p' > /proc/sys/kernel/core_pattern && echo written; echo alive`, { cgroup: c });
    assert.equal(r.killedBy, null, 'deny does not kill');
    assert.doesNotMatch(r.stdout, /written/);
    assert.match(r.stdout, /alive/);
    assert.equal(readFileSync('/proc/sys/kernel/core_pattern', 'utf8'), before);
    const ev = await aces!.waitForEvent((e) => e.rule === 'sysctl-host-write' && e.object.name === 'kernel/core_pattern');
    assert.equal(ev.action, 'deny');
    assert.equal(ev.tier, 'cgroup');

    const hostname = readFileSync('/proc/sys/kernel/hostname', 'utf8');
    const ok = runInPidns('echo aces-uts-test > /proc/sys/kernel/hostname && cat /proc/sys/kernel/hostname', { cgroup: cg(), utsNs: true });
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /aces-uts-test/);
    assert.equal(readFileSync('/proc/sys/kernel/hostname', 'utf8'), hostname);
  });

  // The verdict is taken on the table set and the base name (cut to 15 bytes in the filter); the
  // event still names the full path, read after the verdict.
  test('host sysctls are denied whatever their base name; namespaced tables are allowed', async (t) => {
    if (!skipUnlessRoot(t)) return;
    const long = 'vm/dirty_background_ratio';
    const before = readFileSync(`/proc/sys/${long}`, 'utf8');
    const c = cg();
    const r = runInPidns(`v=$(cat /proc/sys/${long}); echo "$v" > /proc/sys/${long} && echo written; echo alive`, { cgroup: c });
    assert.doesNotMatch(r.stdout, /written/);
    assert.match(r.stdout, /alive/);
    assert.equal(readFileSync(`/proc/sys/${long}`, 'utf8'), before);
    const ev = await aces!.waitForEvent((e) => e.rule === 'sysctl-host-write' && e.container?.key === cgroupKey(c));
    assert.equal(ev.object.name, long);
    assert.equal(ev.action, 'deny');

    // net/ and the ipc kernel/ tables of a fresh namespace: per-namespace table sets.
    const own = cg();
    const ok = runInPidns('echo 1 > /proc/sys/net/ipv4/ip_forward && echo 128 > /proc/sys/kernel/msgmni && ' +
      'cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/msgmni', { cgroup: own, netNs: true, ipcNs: true });
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /^1\n128\n/);
    await new Promise((res) => setTimeout(res, 300));
    assert.deepEqual(aces!.events().filter((e) => e.container?.key === cgroupKey(own)), []);
  });

  test('block device mknod is denied', async (t) => {
    if (!skipUnlessRoot(t)) return;
    const node = `/tmp/aces-blk-${process.pid}`;
    const c = cg();
    const r = runInPidns(`mknod ${node} b 7 0 && echo made; echo alive`, { cgroup: c });
    assert.equal(r.killedBy, null);
    assert.doesNotMatch(r.stdout, /made/);
    assert.match(r.stdout, /alive/);
    assert.equal(existsSync(node), false);
    const ev = await aces!.waitForEvent((e) => e.rule === 'blockdev-mknod' && e.container?.key === cgroupKey(c));
    assert.equal(ev.action, 'deny');
    assert.equal(ev.object.dev, '7:0');
    // path_mknod (lsm) comes before cgroup/dev: one event, from the rule's tier.
    assert.equal(ev.tier, readyTier(aces!, 'blockdev-mknod'));
    assert.equal(aces!.events().filter((e) => e.rule === 'blockdev-mknod' && e.container?.key === cgroupKey(c)).length, 1);
  });

  test('raw open of a block device is denied', async (t) => {
    if (!skipUnlessRoot(t)) return;
    if (!blockDev) return t.skip('no block device');
    const c = cg();
    const r = runInPidns(`dd if=${blockDev} of=/dev/null bs=512 count=1 2>/dev/null && echo read; echo alive`, { cgroup: c });
    assert.equal(r.killedBy, null);
    assert.doesNotMatch(r.stdout, /read/);
    assert.match(r.stdout, /alive/);
    const ev = await aces!.waitForEvent((e) => e.rule === 'blockdev-open' && e.container?.key === cgroupKey(c));
    assert.equal(ev.action, 'deny');
    assert.equal(ev.tier, 'cgroup');
  });

  test('mounting the host disk: refused (lsm), or the container quarantined (signal)', async (t) => {
    if (!skipUnlessRoot(t)) return;
    if (!blockDev) return t.skip('no block device');
    const c = cg();
    // A bystander in the same container (same cgroup, own pid namespace), sleeping.
    const bystander = startInPidns('sleep 60', { cgroup: c });
    await new Promise((r) => setTimeout(r, 300));
    const lsm = readyTier(aces!, 'blockdev-mount') === 'lsm';
    const r = runInPidns(`mkdir -p /tmp/aces-disk; mount -t ${rootDisk!.fstype} ${blockDev} /tmp/aces-disk; echo mount-status=$?; ${lsm ? '' : 'sleep 5; '}echo survived`, { cgroup: c, mountNs: true });
    // Kernels before 6.6 open the device even when its superblock exists (get_tree_bdev ->
    // blkdev_get_by_path; later ones look the superblock up by dev_t first): there the device
    // cgroup check refuses the mount first, as blockdev-open (Debian 6.1).
    const ev = await aces!.waitForEvent((e) => (e.rule === 'blockdev-mount' || e.rule === 'blockdev-open') && e.container?.key === cgroupKey(c));
    if (lsm || ev.rule === 'blockdev-open') {
      // The superblock (the host's own, reused) never got a mount: EPERM before do_add_mount.
      assert.equal(r.killedBy, null, r.stderr);
      assert.match(r.stdout, /mount-status=32\nsurvived/, r.stdout + r.stderr);
      assert.equal(ev.action, 'deny');
      assert.equal(ev.tier, ev.rule === 'blockdev-open' ? readyTier(aces!, 'blockdev-open') : 'lsm');
      assert.deepEqual(aces!.events().filter((e) => e.rule === 'quarantined-task' && e.container?.key === cgroupKey(c)), []);
      let alive = true;
      try { process.kill(bystander, 0); } catch { alive = false; }
      assert.ok(alive, 'a deny leaves the rest of the container alone');
    } else {
      assert.equal(r.killedBy, 9, `the whole container dies: ${r.stdout} ${r.stderr}`);
      assert.doesNotMatch(r.stdout, /survived/);
      assert.equal(ev.action, 'quarantine');
      // The bystander is swept by user space or killed at its next kernel entry.
      const deadline = Date.now() + 5000;
      let procs = '';
      while (Date.now() < deadline) {
        procs = readFileSync(join(c.dir, 'cgroup.procs'), 'utf8').trim();
        if (!procs) break;
        await new Promise((res) => setTimeout(res, 100));
      }
      assert.equal(procs, '', 'quarantined container still has tasks');
    }
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8');
    assert.doesNotMatch(mounts, /aces-disk/);
  });
});

describe('escalation, inheritance and expiry', { concurrency: false }, () => {
  let aces: AcesRun | undefined;
  const cgroups: TestCgroup[] = [];
  const cg = (): TestCgroup => {
    const c = makeTestCgroup();
    cgroups.push(c);
    return c;
  };
  before(async () => {
    if (!isRoot()) return;
    // release-agent-write only alerts here, so the offender survives to offend again.
    aces = await startAces({
      policyYaml: 'apiVersion: aces/v1\nmode: enforce\noffenderTtl: 2s\n' +
        'rules:\n  release-agent-write: { action: alert }\n',
    });
  });
  after(async () => {
    if (!aces) return;
    assert.equal(await aces.stop(), 0);
    cgroups.forEach((c) => c.cleanup());
  });

  test('a recorded offender is raised one level; its children inherit the record', async (t) => {
    if (!skipUnlessRoot(t)) return;
    const c = cg();
    // The shell offends (L2, alert only), then a child reads release_agent: L1 raised to L2 -> kill.
    const r = runInPidns(`exec 3>>${PIDS_RA}; exec 3>&-; cat ${PIDS_RA} >/dev/null; echo cat-status=$?`, { cgroup: c });
    assert.match(r.stdout, /cat-status=137/, 'the child was killed (128+9)');
    const first = await aces!.waitForEvent((e) => e.rule === 'release-agent-write');
    assert.equal(first.offender, false);
    assert.equal(first.action, 'alert');
    const second = await aces!.waitForEvent((e) => e.rule === 'release-agent-read' && e.process.comm === 'cat');
    assert.equal(second.offender, true);
    assert.equal(second.escalated, true);
    assert.equal(second.level, 2);
    assert.equal(second.action, 'kill');
  });

  test('records expire after the configured time', async (t) => {
    if (!skipUnlessRoot(t)) return;
    const c = cg();
    const r = runInPidns(`exec 3>>${PIDS_RA}; exec 3>&-; sleep 2.5; cat ${PIDS_RA} >/dev/null; echo cat-status=$?`, { cgroup: c });
    assert.match(r.stdout, /cat-status=0/);
    const key = cgroupKey(c);
    // The read after expiry is a plain L1 probe again.
    const read = await aces!.waitForEvent((e) => e.rule === 'release-agent-read' && e.container?.key === key);
    assert.equal(read.level, 1);
    assert.equal(read.offender, false);
    assert.equal(read.action, 'alert');
  });
});
