// The responder with a fake kernel and a temporary directory standing in for a container's
// cgroup. process.kill is replaced for every test, so nothing on this machine is ever signalled
// even if the responder were wrong; the pids written to the fake cgroup.procs are above the
// kernel's PID_MAX_LIMIT (no such process can exist), or this test's own pid, or pid 1.
import { test, beforeEach, afterEach, mock } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { readCgroupProcs, Responder, UNRESOLVED_QUARANTINE_MS, type ResponderKernel } from '../../src/respond/responder.js';
import type { KernelEvent } from '../../src/wire/decode-record.js';
import { PROGRAMS } from '../../src/kernel/program-catalog.js';
import { sampleEvent } from '../helpers/sample-event.js';

// PID_MAX_LIMIT on 64-bit kernels is 4 * 1024 * 1024; pids are always below pid_max <= that.
const PID_MAX_LIMIT = 4 * 1024 * 1024;
const GHOST = [PID_MAX_LIMIT + 11, PID_MAX_LIMIT + 12, PID_MAX_LIMIT + 13];
// The responder must attach the program the catalog loads for it, under the same name.
const HOOK = PROGRAMS.find((p) => p.family === 'quarantine' && p.attach === 'lazy')!.name;

let kills: Array<[number, string | number | undefined]>;
let killFails: boolean;
let dirs: string[];

beforeEach(() => {
  kills = [];
  killFails = false;
  dirs = [];
  mock.method(process, 'kill', (pid: number, signal?: string | number): true => {
    if (killFails) throw Object.assign(new Error('kill ESRCH'), { code: 'ESRCH' });
    kills.push([pid, signal]);
    return true;
  });
});

afterEach(() => {
  mock.restoreAll();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test('pids used here cannot exist on this machine', () => {
  const pidMax = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8'));
  assert.ok(pidMax <= PID_MAX_LIMIT, `pid_max ${pidMax}`);
  for (const pid of GHOST) assert.ok(pid >= pidMax);
});

function cgroupDir(procs: number[] | null): string {
  const dir = mkdtempSync(join(tmpdir(), 'aces-cg-'));
  dirs.push(dir);
  if (procs) writeFileSync(join(dir, 'cgroup.procs'), procs.map((p) => `${p}\n`).join(''));
  return dir;
}

class FakeKernel implements ResponderKernel {
  attached = new Set<string>();
  quarantined: bigint[] = [];
  calls: string[] = [];
  attachLazy(name: string): void {
    this.calls.push(`attach ${name}`);
    this.attached.add(name);
  }
  detach(name: string): void {
    this.calls.push(`detach ${name}`);
    this.attached.delete(name);
  }
  isAttached(name: string): boolean {
    return this.attached.has(name);
  }
  quarantinedContainers(): bigint[] {
    return [...this.quarantined];
  }
  liftQuarantine(key: bigint): boolean {
    this.calls.push(`lift ${key}`);
    this.quarantined = this.quarantined.filter((k) => k !== key);
    return true;
  }
  setQuarantineFlag(on: boolean): void {
    this.calls.push(`flag ${on}`);
  }
}

interface Setup {
  kernel: FakeKernel;
  responder: Responder;
  logs: string[];
}

function setup(dirOf: Record<string, string | undefined>, hostPidKeys: bigint[] = [], now: () => number = Date.now): Setup {
  const kernel = new FakeKernel();
  const logs: string[] = [];
  const responder = new Responder(kernel, {
    cgroupDirOf: (key) => dirOf[key.toString()],
    isHostPidContainer: (key) => hostPidKeys.includes(key),
    log: (m) => logs.push(m),
  }, now);
  return { kernel, responder, logs };
}

const quarantineEv = (over: Partial<KernelEvent> = {}): KernelEvent =>
  sampleEvent({ action: 'quarantine', policyAction: 'quarantine', tier: 'signal', containerKey: 7n, tgid: GHOST[0]!, pid: GHOST[0]!, ...over });
const cgroupKillEv = (tgid: number, over: Partial<KernelEvent> = {}): KernelEvent =>
  sampleEvent({ action: 'kill', policyAction: 'kill', tier: 'cgroup', containerKey: 7n, tgid, pid: tgid, ...over });

test('a quarantine attaches the lazy hook once and sweeps the container', async () => {
  const dir = cgroupDir([...GHOST, process.pid, 1]);
  const { kernel, responder } = setup({ 7: dir });
  assert.deepEqual(responder.onEvent(quarantineEv()), ['quarantine hook attached', 'swept 0 processes']);
  assert.deepEqual(responder.onEvent(quarantineEv({ seq: 3n })), ['swept 0 processes']);
  assert.deepEqual(kernel.calls, [`attach ${HOOK}`]);
  await sleep(80); // the follow-up sweep runs too
  assert.deepEqual(kills, [], 'unreadable pid namespace counts as the host one: nothing signalled');
});

test('a sweep of a host-pid container kills its listed processes, never this process or pid 1', async () => {
  const dir = cgroupDir([GHOST[0]!, process.pid, 1, GHOST[1]!]);
  const { responder } = setup({ 7: dir }, [7n]);
  assert.deepEqual(responder.onEvent(quarantineEv()), ['quarantine hook attached', 'swept 2 processes']);
  assert.deepEqual(kills, [[GHOST[0], 'SIGKILL'], [GHOST[1], 'SIGKILL']]);
  await sleep(80);
  assert.deepEqual(kills.map(([p]) => p), [GHOST[0], GHOST[1], GHOST[0], GHOST[1]], 'the follow-up sweep');
  assert.equal(setup({ 8: cgroupDir([GHOST[2]!]) }, [8n]).responder.sweep(8n), 1);
  assert.equal(setup({}, [9n]).responder.sweep(9n), 0, 'no cgroup directory, nothing to sweep');
});

test('monitor mode responds with nothing', () => {
  const { kernel, responder } = setup({ 7: cgroupDir(GHOST) }, [7n]);
  assert.deepEqual(responder.onEvent(quarantineEv({ monitor: true, action: 'alert' })), []);
  assert.deepEqual(responder.onEvent(cgroupKillEv(GHOST[0]!, { monitor: true, action: 'alert' })), []);
  assert.deepEqual(kernel.calls, []);
  assert.deepEqual(kills, []);
});

test('cgroup-tier kill: refused for this process, pid 1 and host-pid-namespace processes', () => {
  const dir = cgroupDir([process.pid, 1, process.ppid]);
  const plain = setup({ 7: dir });
  // This process and its parent live in the host pid namespace as the responder sees it.
  for (const pid of [process.pid, process.ppid, 1, GHOST[0]!]) assert.deepEqual(plain.responder.onEvent(cgroupKillEv(pid)), [], `pid ${pid}`);
  // Even a container registered as sharing the host pid namespace never gets this process or pid 1.
  const hostPid = setup({ 7: dir }, [7n]);
  for (const pid of [process.pid, 1]) assert.deepEqual(hostPid.responder.onEvent(cgroupKillEv(pid)), [], `pid ${pid}`);
  assert.deepEqual(kills, []);
});

test('cgroup-tier kill in a host-pid container: only a pid listed in its cgroup', () => {
  const { responder } = setup({ 7: cgroupDir([GHOST[0]!]) }, [7n]);
  assert.deepEqual(responder.onEvent(cgroupKillEv(GHOST[1]!)), [], 'not in the container cgroup');
  assert.deepEqual(kills, []);
  assert.deepEqual(responder.onEvent(cgroupKillEv(GHOST[0]!)), [`killed ${GHOST[0]} from user space`]);
  assert.deepEqual(kills, [[GHOST[0], 'SIGKILL']]);
  const noDir = setup({}, [7n]);
  assert.deepEqual(noDir.responder.onEvent(cgroupKillEv(GHOST[0]!)), [], 'unknown cgroup: nothing to check against');
  assert.equal(kills.length, 1);
});

test('a failed kill (no such process) is not reported as done', () => {
  killFails = true;
  const { responder } = setup({ 7: cgroupDir([GHOST[0]!]) }, [7n]);
  assert.deepEqual(responder.onEvent(cgroupKillEv(GHOST[0]!)), []);
});

test('user space kills only where the kernel could not: not for deny, not for signal-tier kills', () => {
  const { kernel, responder } = setup({ 7: cgroupDir([GHOST[0]!]) }, [7n]);
  assert.deepEqual(responder.onEvent(cgroupKillEv(GHOST[0]!, { action: 'deny', policyAction: 'deny' })), []);
  assert.deepEqual(responder.onEvent(cgroupKillEv(GHOST[0]!, { tier: 'signal' })), []);
  // A quarantine of a host task without a container: no hook, the acting process is the target.
  assert.deepEqual(responder.onEvent(cgroupKillEv(GHOST[0]!, { action: 'quarantine', policyAction: 'quarantine', containerKey: 0n })), []);
  assert.deepEqual(kernel.calls, []);
  assert.deepEqual(kills, []);
});

test('maintain() lifts quarantines of emptied or vanished cgroups, then detaches the hook', () => {
  const empty = cgroupDir([]);
  const vanished = cgroupDir(null);
  const { kernel, responder, logs } = setup({ 1: empty, 2: vanished });
  kernel.attached.add(HOOK);
  kernel.quarantined = [1n, 2n];
  responder.maintain();
  assert.deepEqual(kernel.calls, ['lift 1', 'lift 2', 'flag false', `detach ${HOOK}`]);
  assert.deepEqual(logs, [1, 2].map((k) => `quarantine of container key ${k} lifted: no process left`));
  assert.equal(kernel.isAttached(HOOK), false);
  assert.deepEqual(kills, []);
});

test('maintain() keeps a quarantine whose cgroup directory is not known', () => {
  // Regression: an unresolved key (resolver walk rate-limited, the killed task's /proc entry
  // already gone) was taken for an empty cgroup and the quarantine was lifted within a second.
  const { kernel, responder, logs } = setup({ 1: cgroupDir([]) });
  kernel.attached.add(HOOK);
  kernel.quarantined = [1n, 3n];
  responder.maintain();
  assert.deepEqual(kernel.calls, ['lift 1']);
  assert.deepEqual(kernel.quarantined, [3n]);
  assert.equal(kernel.isAttached(HOOK), true);
  assert.equal(logs.length, 1);
});

test('a quarantine whose cgroup is never found is lifted after UNRESOLVED_QUARANTINE_MS', () => {
  let t = 1_000;
  const { kernel, responder, logs } = setup({}, [], () => t);
  kernel.attached.add(HOOK);
  kernel.quarantined = [3n];
  responder.maintain();
  t += UNRESOLVED_QUARANTINE_MS - 1;
  responder.maintain();
  assert.deepEqual(kernel.quarantined, [3n], 'lifted too early');
  t += 2;
  responder.maintain();
  assert.deepEqual(kernel.quarantined, []);
  assert.equal(kernel.isAttached(HOOK), false);
  assert.match(logs.join('\n'), /never found/);
});

test('the cgroup directory seen at quarantine time is kept when the resolver later loses it', () => {
  const dir = cgroupDir([GHOST[0]!]);
  const dirOf: Record<string, string | undefined> = { 7: dir };
  const { kernel, responder } = setup(dirOf);
  responder.onEvent(quarantineEv());
  kernel.quarantined = [7n];
  delete dirOf['7'];
  responder.maintain();
  assert.deepEqual(kernel.quarantined, [7n], 'a live container was freed');
  assert.equal(kernel.isAttached(HOOK), true);
});

test('maintain() keeps a quarantine with processes left, sweeps it again and keeps the hook', () => {
  const { kernel, responder } = setup({ 1: cgroupDir([]), 2: cgroupDir([GHOST[0]!, GHOST[1]!]) }, [2n]);
  kernel.attached.add(HOOK);
  kernel.quarantined = [1n, 2n];
  responder.maintain();
  assert.deepEqual(kernel.calls, ['lift 1']);
  assert.deepEqual(kernel.quarantined, [2n]);
  assert.equal(kernel.isAttached(HOOK), true);
  assert.deepEqual(kills, [[GHOST[0], 'SIGKILL'], [GHOST[1], 'SIGKILL']]);
});

test('maintain() with no quarantine left detaches a still-attached hook, and does nothing otherwise', () => {
  const a = setup({});
  a.kernel.attached.add(HOOK);
  a.responder.maintain();
  assert.deepEqual(a.kernel.calls, [`detach ${HOOK}`]);
  const b = setup({});
  b.responder.maintain();
  assert.deepEqual(b.kernel.calls, []);
});

test('readCgroupProcs reads one pid a line and tells a missing file from an empty one', () => {
  assert.deepEqual(readCgroupProcs(cgroupDir([3, 40, 500])), [3, 40, 500]);
  assert.deepEqual(readCgroupProcs(cgroupDir([])), []);
  assert.equal(readCgroupProcs(cgroupDir(null)), undefined);
});
