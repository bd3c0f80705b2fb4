// "Containers" for kernel tests without Docker: a shell in its own pid namespace (what ACES
// classifies as a container, DESIGN §4), inside a fresh cgroup of the key hierarchy so that its
// container key is its own and a quarantine can only ever reach the test's processes.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, rmdirSync, readFileSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { detectCgroupLayout } from '../../src/containers/cgroup-layout.js';
import { buildTool } from './tools.js';

export interface TestCgroup {
  readonly dir: string;
  cleanup(): void;
}

let counter = 0;

/** A fresh cgroup in the key hierarchy (v1 hybrid: e.g. /sys/fs/cgroup/pids/aces-test-...). */
export function makeTestCgroup(): TestCgroup {
  const layout = detectCgroupLayout();
  const dir = join(layout.keyDir, `aces-test-${process.pid}-${++counter}`);
  mkdirSync(dir);
  return {
    dir,
    cleanup() {
      // Any process left in it was started by this test: kill it by pid, then remove the dir.
      if (!existsSync(dir)) return;
      for (let i = 0; i < 50; i++) {
        const pids = readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
        if (pids.length === 0) break;
        for (const p of pids) {
          try { process.kill(p, 'SIGKILL'); } catch { /* gone */ }
        }
        spawnSync('sleep', ['0.05']);
      }
      try { rmdirSync(dir); } catch { /* still busy: leave it, it is empty soon */ }
    },
  };
}

/** The container key ACES gives the tasks of a test cgroup: its directory's inode. */
export function testCgroupKey(c: TestCgroup): string {
  return statSync(c.dir, { bigint: true }).ino.toString();
}

/** Test cgroups for one suite: make() as many as needed, cleanup() removes them all. */
export function testCgroupSet(): { make(): TestCgroup; cleanup(): void } {
  const made: TestCgroup[] = [];
  return {
    make() {
      const c = makeTestCgroup();
      made.push(c);
      return c;
    },
    cleanup() {
      made.splice(0).forEach((c) => c.cleanup());
    },
  };
}

function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export interface PidnsRunOptions {
  cgroup: TestCgroup;
  /** Private mount namespace too, so mounts vanish with the process. */
  mountNs?: boolean;
  /** UTS namespace too. */
  utsNs?: boolean;
  /** IPC namespace too. */
  ipcNs?: boolean;
  /** Network namespace too (loopback only, down). */
  netNs?: boolean;
  /** chroot into this directory before running the script (needs /bin/sh inside it). */
  chroot?: string;
  timeoutMs?: number;
}

export interface PidnsResult {
  status: number | null;
  /** The signal that ended the namespace's first process, if one did (SIGKILL: ACES killed it). */
  killedBy: number | null;
  stdout: string;
  stderr: string;
}

function pidnsArgs(o: PidnsRunOptions): string {
  return [o.mountNs ? '-m' : '', o.utsNs ? '-u' : '', o.ipcNs ? '-i' : '', o.netNs ? '-n' : '', o.chroot ? `-r ${shQuote(o.chroot)}` : ''].filter(Boolean).join(' ');
}

/** Runs `script` with /bin/sh as pid 1 of a new pid namespace, inside the test cgroup. */
export function runInPidns(script: string, o: PidnsRunOptions): PidnsResult {
  const tool = buildTool('pidns-run');
  const outer = `echo $$ > ${shQuote(join(o.cgroup.dir, 'cgroup.procs'))} && exec ${tool} ${pidnsArgs(o)} ${shQuote(script)}`;
  const r = spawnSync('/bin/sh', ['-c', outer], { encoding: 'utf8', timeout: o.timeoutMs ?? 20_000 });
  const m = /pidns-run: killed by signal (\d+)/.exec(r.stderr ?? '');
  return { status: r.status, killedBy: m ? Number(m[1]) : null, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** The same in the background (a bystander or a long-lived "container"); returns its host pid. */
export function startInPidns(script: string, o: PidnsRunOptions): number {
  const tool = buildTool('pidns-run');
  const outer = `echo $$ > ${shQuote(join(o.cgroup.dir, 'cgroup.procs'))} && exec ${tool} ${pidnsArgs(o)} ${shQuote(script)}`;
  const p = spawn('/bin/sh', ['-c', outer], { stdio: 'ignore', detached: true });
  p.unref();
  return p.pid!;
}

export { shQuote };
