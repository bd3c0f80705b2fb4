/**
 * What user space adds to the kernel's verdicts (DESIGN §2, issue: quarantine sweep):
 *   - a quarantine attaches the per-syscall quarantine hook (kept off otherwise: it would cost
 *     every system call on the host) and sweeps the container's processes with SIGKILL, for
 *     tasks that never enter the kernel again (a sleeping shell);
 *   - a kill asked on a cgroup-tier hook, where the program type cannot signal: the operation was
 *     already refused in the kernel; the process is killed here;
 *   - housekeeping: quarantines of containers with no task left are lifted (their cgroup is gone),
 *     expired offender records are deleted.
 * Only container processes are ever touched: every pid is checked to live outside the host pid
 * namespace (or in a registered host-pid container's cgroup) right before it is signalled.
 */
import { readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { KernelEvent } from '../wire/decode-record.js';

export interface ResponderKernel {
  attachLazy(name: string): void;
  detach(name: string): void;
  isAttached(name: string): boolean;
  quarantinedContainers(): bigint[];
  liftQuarantine(key: bigint): boolean;
  setQuarantineFlag(on: boolean): void;
}

export interface ResponderOptions {
  /** Directory of the container's cgroup in the key hierarchy, or undefined if unknown. */
  cgroupDirOf(key: bigint): string | undefined;
  /** Keys of containers registered as sharing the host pid namespace. */
  isHostPidContainer(key: bigint): boolean;
  log(msg: string): void;
}

const HOST_PIDNS = (() => {
  try {
    return readlinkSync('/proc/self/ns/pid');
  } catch {
    return undefined;
  }
})();

function pidnsOf(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return undefined;
  }
}

export function readCgroupProcs(dir: string): number[] | undefined {
  try {
    return readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return undefined;
  }
}

/** How long a quarantine whose cgroup was never found is kept before it is lifted. */
export const UNRESOLVED_QUARANTINE_MS = 60_000;

export class Responder {
  /** Cgroup directory of each quarantined container, remembered while its tasks still exist. */
  private readonly quarantined = new Map<bigint, { dir?: string; since: number }>();

  constructor(
    private readonly kernel: ResponderKernel,
    private readonly opts: ResponderOptions,
    private readonly now: () => number = Date.now,
  ) {}

  private dirOf(key: bigint): string | undefined {
    const q = this.quarantined.get(key);
    if (q?.dir) return q.dir;
    const dir = this.opts.cgroupDirOf(key);
    if (dir) this.quarantined.set(key, { dir, since: q?.since ?? this.now() });
    else if (!q) this.quarantined.set(key, { since: this.now() });
    return dir;
  }

  /** Returns what was done, for the event's `response` field. */
  onEvent(ev: KernelEvent): string[] {
    const done: string[] = [];
    if (ev.monitor) return done;
    if (ev.action === 'quarantine' && ev.containerKey !== 0n) {
      if (!this.kernel.isAttached('quar_sys_enter')) {
        this.kernel.attachLazy('quar_sys_enter');
        done.push('quarantine hook attached');
      }
      this.dirOf(ev.containerKey);
      const n = this.sweep(ev.containerKey);
      done.push(`swept ${n} process${n === 1 ? '' : 'es'}`);
      // Processes forked while the first sweep ran: one more pass shortly after.
      setTimeout(() => this.sweep(ev.containerKey), 50).unref();
    } else if (ev.tier === 'cgroup' && (ev.policyAction === 'kill' || ev.policyAction === 'quarantine')) {
      if (this.killContainerProcess(ev.tgid, ev.containerKey)) done.push(`killed ${ev.tgid} from user space`);
    }
    return done;
  }

  /** SIGKILL every process of the container. Returns how many were signalled. */
  sweep(key: bigint): number {
    const dir = this.quarantined.has(key) ? this.dirOf(key) : this.opts.cgroupDirOf(key);
    if (!dir) return 0;
    let n = 0;
    for (const pid of readCgroupProcs(dir) ?? []) if (this.killContainerProcess(pid, key)) n++;
    return n;
  }

  private killContainerProcess(pid: number, key: bigint): boolean {
    if (pid <= 1 || pid === process.pid) return false;
    const ns = pidnsOf(pid);
    const inHostNs = ns === undefined || ns === HOST_PIDNS;
    if (inHostNs && !this.opts.isHostPidContainer(key)) return false;
    if (inHostNs) {
      const dir = this.opts.cgroupDirOf(key);
      if (!dir || !(readCgroupProcs(dir) ?? []).includes(pid)) return false;
    }
    try {
      process.kill(pid, 'SIGKILL');
      return true;
    } catch {
      return false;
    }
  }

  /** Lift quarantines of containers with no process left; detach the hook when none remain. */
  maintain(): void {
    const keys = this.kernel.quarantinedContainers();
    let active = 0;
    for (const key of keys) {
      const dir = this.dirOf(key);
      // An unresolved key is not a dead container (the resolver's walk is rate-limited and the
      // event's task may be gone already): lifting then would free a container mid-escape. It is
      // kept until its cgroup is found, or for UNRESOLVED_QUARANTINE_MS.
      if (dir === undefined) {
        const since = this.quarantined.get(key)?.since ?? this.now();
        if (this.now() - since < UNRESOLVED_QUARANTINE_MS) {
          active++;
          continue;
        }
      }
      const procs = dir === undefined ? undefined : readCgroupProcs(dir);
      if (!procs || procs.length === 0) {
        this.kernel.liftQuarantine(key);
        this.quarantined.delete(key);
        this.opts.log(`quarantine of container key ${key} lifted: ${dir === undefined ? 'its cgroup was never found' : 'no process left'}`);
      } else {
        active++;
        this.sweep(key);
      }
    }
    if (active === 0 && keys.length > 0) {
      this.kernel.setQuarantineFlag(false);
    }
    if (active === 0 && this.kernel.isAttached('quar_sys_enter')) {
      this.kernel.detach('quar_sys_enter');
    }
  }
}
