// Host block devices from a container: create a node for the host disk (CAP_MKNOD is in
// Docker's default set) and mount it, mount a disk passed with --device, read it raw.
// On this kernel, mounting the already-mounted host disk reuses its superblock without opening
// the device, so neither the devices cgroup nor cgroup/dev can stop the mount itself.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isRoot, skipUnless, skipUnlessRoot } from '../../helpers/root.js';
import { runContainer } from '../../helpers/docker.js';
import { hostRootDisk } from '../../helpers/host-disk.js';
import { containerName, withAces, type Mode } from '../../helpers/escape-suite.js';

const disk = isRoot() ? hostRootDisk() : undefined;
const TOKEN = randomBytes(8).toString('hex');
const MARKER = `/var/tmp/aces-e2e-disk-marker-${process.pid}`;

for (const mode of ['monitor', 'enforce'] as Mode[]) {
  describe(`host disk from a container (${mode})`, { concurrency: false }, () => {
    const aces = withAces(mode);
    before(() => {
      if (isRoot()) writeFileSync(MARKER, TOKEN);
    });
    after(() => rmSync(MARKER, { force: true }));

    test('mknod the host disk and mount it', async (t) => {
      if (!skipUnlessRoot(t) || !skipUnless(t, disk !== undefined, 'root fs not on a block device')) return;
      const name = containerName('mknod-mount');
      const script = `mknod /dev/hostdisk b ${disk!.major} ${disk!.minor} && echo made
mkdir -p /mnt/h && mount -t ${disk!.fstype} /dev/hostdisk /mnt/h && cat /mnt/h${MARKER}; echo; echo done`;
      const r = await runContainer({ name, args: ['--cap-add', 'SYS_ADMIN', '--security-opt', 'apparmor=unconfined'], cmd: ['sh', '-c', script] });
      const ev = await aces().waitForEvent((e) => e.rule === 'blockdev-mknod' && e.container?.name === name);
      assert.equal(ev.object.dev, `${disk!.major}:${disk!.minor}`);
      if (mode === 'monitor') {
        assert.match(r.stdout, new RegExp(TOKEN), 'in monitor mode the container reads the host disk');
        await aces().waitForEvent((e) => e.rule === 'blockdev-mount' && e.container?.name === name);
      } else {
        assert.doesNotMatch(r.stdout, /made/);
        assert.doesNotMatch(r.stdout, new RegExp(TOKEN), 'host disk read from the container');
        assert.equal(ev.action, 'deny');
      }
    });

    test('mount a host disk passed with --device', async (t) => {
      if (!skipUnlessRoot(t) || !skipUnless(t, disk !== undefined, 'root fs not on a block device')) return;
      const name = containerName('device-mount');
      const script = `mkdir -p /mnt/h && mount -t ${disk!.fstype} /dev/hostdisk /mnt/h; read line < /mnt/h${MARKER}; echo "got:$line"; sleep 1; echo done`;
      const r = await runContainer({
        name, args: ['--cap-add', 'SYS_ADMIN', '--security-opt', 'apparmor=unconfined', '--device', `${disk!.dev}:/dev/hostdisk`],
        cmd: ['sh', '-c', script],
      });
      const ev = await aces().waitForEvent((e) => e.rule === 'blockdev-mount' && e.container?.name === name);
      assert.equal(ev.object.dev, `${disk!.major}:${disk!.minor}`);
      assert.equal(ev.policy_action, 'quarantine');
      if (mode === 'monitor') {
        assert.match(r.stdout, new RegExp(`got:${TOKEN}`));
      } else {
        assert.equal(ev.action, 'quarantine');
        assert.doesNotMatch(r.stdout, new RegExp(TOKEN), 'host disk read after the mount');
        assert.doesNotMatch(r.stdout, /done/);
        assert.equal(r.code, 137, 'the quarantined container is dead');
      }
      assert.doesNotMatch(readFileSync('/proc/self/mountinfo', 'utf8'), /\/mnt\/h/);
    });

    test('raw read of a block device passed with --device (debugfs-style access)', async (t) => {
      if (!skipUnlessRoot(t)) return;
      // A loop device of the test's own: this VM refuses raw opens of its root disk even to host
      // root, and the point here is the container's open, not the disk.
      const img = `/var/tmp/aces-e2e-loop-${process.pid}.img`;
      writeFileSync(img, Buffer.alloc(1 << 20, 0x41));
      const loop = spawnSync('losetup', ['-f', '--show', img], { encoding: 'utf8' });
      if (!skipUnless(t, loop.status === 0, `losetup failed: ${loop.stderr}`)) return;
      const dev = loop.stdout.trim();
      try {
        const name = containerName('raw-read');
        const r = await runContainer({
          name, args: ['--device', `${dev}:/dev/hostdisk`],
          cmd: ['sh', '-c', 'dd if=/dev/hostdisk bs=4096 count=1 2>/dev/null | head -c 8; echo; echo done'],
        });
        const ev = await aces().waitForEvent((e) => e.rule === 'blockdev-open' && e.container?.name === name);
        if (mode === 'monitor') {
          assert.match(r.stdout, /AAAAAAAA/, r.stderr);
          assert.equal(ev.action, 'alert');
        } else {
          assert.doesNotMatch(r.stdout, /AAAA/);
          assert.match(r.stdout, /done/, 'deny leaves the process alive');
          assert.equal(ev.action, 'deny');
        }
      } finally {
        spawnSync('losetup', ['-d', dev]);
        rmSync(img, { force: true });
      }
    });
  });
}
