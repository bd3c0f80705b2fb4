// Small static C programs from test/fixtures/tools, built on demand into a temp dir so they can
// be bind-mounted into busybox containers or run as usermode helpers.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './aces-daemon.js';

const OUT = '/tmp/aces-tools';

// A debugger's target keeps its frames and symbols (no inlining, debug info).
const EXTRA_FLAGS: Record<string, string[]> = { 'gdb-target': ['-g', '-O0'] };

/** Path of the built tool; `defines` become -D flags (and part of the output name). */
export function buildTool(name: 'uring-write' | 'suid-probe' | 'host-marker' | 'pidns-run' | 'newmount' | 'keyring' | 'ptrace-poke' | 'shocker' | 'unix-get' | 'bpf-load' | 'perf-open' | 'credbase' | 'fd-pass' | 'process-vm' | 'gdb-target' | 'exe-reopen' | 'klog' | 'open-loop', defines: Record<string, string> = {}): string {
  mkdirSync(OUT, { recursive: true });
  const suffix = Object.entries(defines).map(([k, v]) => `${k}=${v}`).join(',').replace(/[^A-Za-z0-9=,._-]/g, '_');
  const out = join(OUT, suffix ? `${name}.${suffix}` : name);
  const src = join(REPO_ROOT, 'test', 'fixtures', 'tools', `${name}.c`);
  // Rebuilt when its source is newer: the output directory outlives checkouts and edits.
  if (existsSync(out) && statSync(out).mtimeMs >= statSync(src).mtimeMs) return out;
  const flags = Object.entries(defines).map(([k, v]) => `-D${k}=${JSON.stringify(v)}`);
  const tmp = `${out}.${process.pid}.tmp`;
  const r = spawnSync('cc', ['-O2', '-static', '-Wall', ...(EXTRA_FLAGS[name] ?? []), ...flags, '-o', tmp, src], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`building ${name} failed:\n${r.stderr}`);
  // Renamed into place: a test of another checkout may be running the old binary right now.
  renameSync(tmp, out);
  return out;
}
