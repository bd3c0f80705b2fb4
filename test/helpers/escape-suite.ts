// Shared shape of the e2e escape tests: one `aces run` daemon per mode, the host's escape
// targets snapshotted before and restored after, test containers removed after.
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { isRoot } from './root.js';
import { startAces, type AcesRun } from './aces-daemon.js';
import { ensureBusyboxImage, ensureDocker, removeTestContainers } from './docker.js';
import { restoreHostState, snapshotHostState, type HostStateSnapshot } from './host-state.js';

export type Mode = 'monitor' | 'enforce';

/**
 * Registers before/after hooks in the current describe() and returns a getter for the daemon.
 * In enforce mode the after hook also asserts that nothing on the host had to be restored, unless
 * the test's policy lets a first step through on purpose (hostMayChange).
 */
export function withAces(mode: Mode, policyYaml?: string, opts: { hostMayChange?: boolean } = {}): () => AcesRun {
  let aces: AcesRun | undefined;
  let snap: HostStateSnapshot | undefined;
  before(async () => {
    if (!isRoot()) return;
    await ensureDocker();
    await ensureBusyboxImage();
    snap = snapshotHostState();
    aces = await startAces({ mode, policyYaml });
  });
  after(async () => {
    const code = aces ? await aces.stop() : 0;
    await removeTestContainers().catch(() => 0);
    const restored = snap ? restoreHostState(snap) : [];
    assert.equal(code, 0, 'aces run exits 0 on SIGTERM');
    if (mode === 'enforce' && !opts.hostMayChange) assert.deepEqual(restored, [], 'enforce mode let the host change');
  });
  return () => {
    if (!aces) throw new Error('aces is not running (not root?)');
    return aces;
  };
}

/** A unique container name for this test run. */
let n = 0;
export function containerName(tag: string): string {
  return `aces-e2e-${tag}-${process.pid}-${++n}`;
}
