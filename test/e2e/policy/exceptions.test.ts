// Policy exceptions reach the kernel per container: a container named by an exception may do
// what the rule forbids, an identical container that is not named is still stopped.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { skipUnless, skipUnlessRoot } from '../../helpers/root.js';
import { runContainer } from '../../helpers/docker.js';
import { containerName, withAces } from '../../helpers/escape-suite.js';

const ALLOWED = containerName('allowed-disk');
const POLICY = `apiVersion: aces/v1
exceptions:
  - name: "${ALLOWED}"
    rules: [blockdev-open]
  - labels: { aces.e2e/allow-disk: "yes" }
    rules: ["*"]
`;

describe('policy exceptions (enforce)', { concurrency: false }, () => {
  const aces = withAces('enforce', POLICY);

  test('an exception by name lifts one rule for that container only', async (t) => {
    if (!skipUnlessRoot(t)) return;
    const img = `/var/tmp/aces-e2e-exc-${process.pid}.img`;
    writeFileSync(img, Buffer.alloc(1 << 20, 0x42));
    const loop = spawnSync('losetup', ['-f', '--show', img], { encoding: 'utf8' });
    if (!skipUnless(t, loop.status === 0, `losetup failed: ${loop.stderr}`)) return;
    const dev = loop.stdout.trim();
    // The exception takes effect once the daemon has named the container (announced at its
    // first exec): the workload starts a moment later, as real ones do.
    const script = 'sleep 1; dd if=/dev/disk bs=512 count=1 2>/dev/null | head -c 4; echo; echo done';
    try {
      const ok = await runContainer({ name: ALLOWED, args: ['--device', `${dev}:/dev/disk`], cmd: ['sh', '-c', script] });
      assert.match(ok.stdout, /BBBB/, ok.stderr);
      const other = containerName('other-disk');
      const no = await runContainer({ name: other, args: ['--device', `${dev}:/dev/disk`], cmd: ['sh', '-c', script] });
      assert.doesNotMatch(no.stdout, /BBBB/);
      await aces().waitForEvent((e) => e.rule === 'blockdev-open' && e.container?.name === other && e.action === 'deny');
      assert.deepEqual(aces().events().filter((e) => e.container?.name === ALLOWED), []);
      const labelled = await runContainer({
        name: containerName('labelled'), args: ['--label', 'aces.e2e/allow-disk=yes', '--device', `${dev}:/dev/disk`], cmd: ['sh', '-c', script],
      });
      assert.match(labelled.stdout, /BBBB/, 'label exception');
    } finally {
      spawnSync('losetup', ['-d', dev]);
      rmSync(img, { force: true });
    }
  });
});
