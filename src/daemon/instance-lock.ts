/**
 * One `aces run` per host. A second daemon would attach a second set of programs, judge every
 * operation twice and report for the other one (a monitor-mode daemon says "would deny" for what
 * an enforcing one denied). The lock is a pid file created with O_EXCL. A file left behind by a
 * daemon that could not remove it (kill -9, a crash) names a process that is gone or is no longer
 * an aces daemon (pid reuse): it is taken over.
 */
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { StartupError } from './startup-error.js';

export const INSTANCE_LOCK_PATH = '/run/aces.pid';

/** The pid in a lock file, if it holds one. */
function holderOf(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** pid is a live `aces run` (bin/aces, or the compiled CLI run by node). */
export function isAcesDaemon(pid: number): boolean {
  let args: string[];
  try {
    args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return false;
  }
  const cli = args.findIndex((a) => basename(a) === 'aces' || a.endsWith('/cli/main.js'));
  return cli >= 0 && args[cli + 1] === 'run';
}

export class InstanceLock {
  private released = false;

  private constructor(readonly path: string) {}

  static acquire(path = INSTANCE_LOCK_PATH): InstanceLock {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        writeFileSync(path, `${process.pid}\n`, { flag: 'wx', mode: 0o644 });
        return new InstanceLock(path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
          throw new StartupError('ACES_E_START_LOCK', `cannot create the instance lock ${path}: ${(err as Error).message}`);
        }
      }
      const other = holderOf(path);
      if (other !== undefined && other !== process.pid && isAcesDaemon(other)) {
        throw new StartupError('ACES_E_START_RUNNING',
          `another aces run is active on this host (pid ${other}, ${path}): stop it first; two would judge and report every operation twice`);
      }
      // Left by a daemon that is gone: take it over.
      try {
        unlinkSync(path);
      } catch {
        /* removed meanwhile by its owner or another starter: try again */
      }
    }
    throw new StartupError('ACES_E_START_LOCK', `cannot take the instance lock ${path}: it keeps coming back`);
  }

  /** Removes the file if it is still ours. Idempotent. */
  release(): void {
    if (this.released) return;
    this.released = true;
    if (holderOf(this.path) !== process.pid) return;
    try {
      unlinkSync(this.path);
    } catch {
      /* already gone */
    }
  }
}
