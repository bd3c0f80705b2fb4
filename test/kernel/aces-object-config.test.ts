// "aces_cfg" is written by user space and, for one field (quarantine_on), by the kernel: a
// read-modify-write from the daemon must never shut the quarantine gate on a container the kernel
// quarantined between the read and the write. Runs on the real object with no program loaded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AcesObject } from '../../src/kernel/aces-object.js';
import { native } from '../../src/kernel/native.js';
import { isRoot, skipOptionUnless } from '../helpers/root.js';

function u64(n: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(n);
  return b;
}

test('updateConfig: writes the patch and keeps the rest; never leaves the gate shut on a quarantined container', { skip: skipOptionUnless(isRoot(), 'needs root: loads the BPF object') }, () => {
  const obj = AcesObject.load([]);
  try {
    obj.writeConfig({ ...obj.readConfig(), alert_rate: 7, quarantine_on: 0, host_ctrs: 0 });
    assert.deepEqual(
      [obj.updateConfig({ host_ctrs: 2 }).host_ctrs, obj.readConfig().alert_rate, obj.readConfig().quarantine_on],
      [2, 7, 0], 'the patched field written, the others kept, the gate shut with nobody in quarantine');

    // What the kernel's quarantine_container does between a daemon read and its write: the
    // container goes into "quarantine" and the flag is set; the daemon's write (made from the
    // earlier read) then puts quarantine_on back to 0.
    const h = (obj as unknown as { h: number }).h;
    native.mapUpdate(h, 'quarantine', u64(0x1234n), u64(1n));
    const stale = obj.readConfig();
    obj.writeConfig({ ...stale, quarantine_on: 0 });
    const after = obj.updateConfig({ host_ctrs: 3 });
    assert.equal(after.quarantine_on, 1);
    assert.deepEqual([obj.readConfig().quarantine_on, obj.readConfig().host_ctrs], [1, 3],
      'the gate is open again while a container is in quarantine');
    assert.equal(obj.updateConfig({ quarantine_on: 0 }).quarantine_on, 1, 'not even an explicit close shuts it on a quarantined container');

    assert.ok(obj.liftQuarantine(0x1234n));
    assert.equal(obj.updateConfig({ quarantine_on: 0 }).quarantine_on, 0);
    assert.equal(obj.readConfig().quarantine_on, 0, 'with quarantine empty the gate can shut');
  } finally {
    obj.close();
  }
});
