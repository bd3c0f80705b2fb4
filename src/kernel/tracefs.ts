/**
 * Per-syscall tracepoints (syscalls/sys_exit_openat ...) are attached through their tracefs
 * event ids, which libbpf reads from /sys/kernel/tracing. Hosts that boot without tracefs
 * mounted get it mounted at its standard place (as perf and bpftrace do); it stays mounted,
 * which is harmless and what other tools expect.
 */
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

export const TRACEFS_DIR = '/sys/kernel/tracing';

export function tracefsReady(): boolean {
  return existsSync(`${TRACEFS_DIR}/events/syscalls`) || existsSync('/sys/kernel/debug/tracing/events/syscalls');
}

/** Returns undefined when tracefs is usable, else why not. */
export function ensureTracefs(): string | undefined {
  if (tracefsReady()) return undefined;
  const r = spawnSync('mount', ['-t', 'tracefs', 'nodev', TRACEFS_DIR], { encoding: 'utf8' });
  if (r.status !== 0) return `tracefs not mounted and mounting it at ${TRACEFS_DIR} failed: ${(r.stderr || r.error?.message || '').trim()}`;
  if (!tracefsReady()) return 'tracefs mounted but it has no syscall events (CONFIG_FTRACE_SYSCALLS off)';
  return undefined;
}
