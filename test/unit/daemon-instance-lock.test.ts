// One `aces run` per host: the pid-file lock refuses a second live daemon, takes over a file left
// by a daemon that is gone (or by a process that is not an aces daemon: pid reuse), and removes
// only its own file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InstanceLock, isAcesDaemon } from '../../src/daemon/instance-lock.js';
import { StartupError } from '../../src/daemon/startup-error.js';

function lockPath(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'aces-lock-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'aces.pid');
}

/** A live process whose command line reads like `aces run` (node -e ... /x/bin/aces run). */
async function fakeDaemon(t: { after(fn: () => void): void }): Promise<number> {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)', '/opt/x/bin/aces', 'run'], { stdio: 'ignore' });
  t.after(() => child.kill('SIGKILL'));
  await once(child, 'spawn');
  return child.pid!;
}

test('the first daemon takes the lock; release removes the file, once', (t) => {
  const path = lockPath(t);
  const lock = InstanceLock.acquire(path);
  assert.equal(readFileSync(path, 'utf8'), `${process.pid}\n`);
  lock.release();
  assert.ok(!existsSync(path));
  lock.release();
});

test('a live aces daemon in the file: refused with ACES_E_START_RUNNING naming its pid; the file stays', async (t) => {
  const path = lockPath(t);
  const pid = await fakeDaemon(t);
  assert.ok(isAcesDaemon(pid));
  writeFileSync(path, `${pid}\n`);
  assert.throws(() => InstanceLock.acquire(path), (err: unknown) => {
    assert.ok(err instanceof StartupError);
    assert.equal(err.code, 'ACES_E_START_RUNNING');
    assert.match(err.message, new RegExp(`another aces run is active on this host \\(pid ${pid}, `));
    return true;
  });
  assert.equal(readFileSync(path, 'utf8'), `${pid}\n`);
});

test('a file left by a daemon that is gone, or naming a process that is not aces, is taken over', async (t) => {
  const path = lockPath(t);
  const child = spawn(process.execPath, ['-e', '0', '/opt/x/bin/aces', 'run'], { stdio: 'ignore' });
  await once(child, 'exit');
  writeFileSync(path, `${child.pid}\n`); // dead (kill -9 leaves its file)
  InstanceLock.acquire(path).release();

  // This test process is alive but not an aces daemon: a reused pid.
  assert.ok(!isAcesDaemon(process.ppid));
  writeFileSync(path, `${process.ppid}\n`);
  const lock = InstanceLock.acquire(path);
  assert.equal(readFileSync(path, 'utf8'), `${process.pid}\n`);
  lock.release();

  writeFileSync(path, 'garbage\n');
  InstanceLock.acquire(path).release();
});

test('release leaves alone a file that another daemon took over', (t) => {
  const path = lockPath(t);
  const lock = InstanceLock.acquire(path);
  writeFileSync(path, '4242\n');
  lock.release();
  assert.equal(readFileSync(path, 'utf8'), '4242\n');
});

test('a lock that cannot be created is ACES_E_START_LOCK', (t) => {
  const path = join(lockPath(t), 'no-such-dir', 'aces.pid');
  assert.throws(() => InstanceLock.acquire(path), (err: unknown) => err instanceof StartupError && err.code === 'ACES_E_START_LOCK');
});
