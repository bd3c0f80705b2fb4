// Runs the real `aces run` daemon as a child process for kernel and e2e tests: waits for its
// ready line, collects the JSON lines it writes, and stops it with SIGTERM (which must detach
// everything and exit 0). The daemon is the unit under test; nothing here reaches into it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { patience } from './root.js';

export const REPO_ROOT = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = resolve(dir, '..');
  return dir;
})();
export const ACES_BIN = join(REPO_ROOT, 'bin', 'aces');

export type Line = Record<string, unknown> & { kind: string };
export type EventLine = Line & {
  rule: string;
  level: number;
  action: string;
  policy_action: string;
  tier: string;
  monitor: boolean;
  decided_by: string;
  suppressed?: number;
  via: string;
  offender: boolean;
  escalated: boolean;
  process: { pid: number; tid: number; comm: string; host_task: boolean };
  container: null | { key: string; runtime: string; id?: string; name?: string; image?: string };
  object: { name?: string; fs?: string; dev?: string };
  kernel_ns: { entry: string; decision: string; exit?: string };
  latency_ns: { decision: number; decision_to_exit?: number };
};

export interface AcesRun {
  readonly child: ChildProcess;
  readonly ready: Line;
  lines(): Line[];
  events(): EventLine[];
  waitForEvent(pred: (e: EventLine) => boolean, timeoutMs?: number): Promise<EventLine>;
  stop(): Promise<number | null>;
  stderr(): string;
}

export interface StartAcesOptions {
  mode?: 'enforce' | 'monitor';
  policyYaml?: string;
  extraArgs?: string[];
  readyTimeoutMs?: number;
}

export async function startAces(opts: StartAcesOptions = {}): Promise<AcesRun> {
  const dir = mkdtempSync(join(tmpdir(), 'aces-run-'));
  const eventsPath = join(dir, 'events.jsonl');
  const args = ['run', '--events', eventsPath];
  if (opts.mode) args.push('--mode', opts.mode);
  if (opts.policyYaml) {
    const p = join(dir, 'policy.yaml');
    writeFileSync(p, opts.policyYaml);
    args.push('--policy', p);
  }
  args.push(...(opts.extraArgs ?? []));
  // Run as a user does (./bin/aces): its interpreter line carries the daemon's V8 heap flags.
  const child = spawn(ACES_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout!.resume();

  const readLines = (): Line[] => {
    if (!existsSync(eventsPath)) return [];
    // The daemon may be in the middle of a write: only whole lines (ended by a newline) count.
    const text = readFileSync(eventsPath, 'utf8');
    return text.slice(0, text.lastIndexOf('\n') + 1).split('\n').filter(Boolean).map((l) => JSON.parse(l) as Line);
  };
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));

  const deadline = Date.now() + (opts.readyTimeoutMs ?? patience(60_000));
  let ready: Line | undefined;
  while (!ready) {
    ready = readLines().find((l) => l.kind === 'ready');
    if (ready) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`aces run did not become ready (exit ${child.exitCode}):\n${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  const run: AcesRun = {
    child,
    ready,
    lines: readLines,
    events: () => readLines().filter((l): l is EventLine => l.kind === 'event'),
    async waitForEvent(pred, timeoutMs = patience(10_000)) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const hit = run.events().find(pred);
        if (hit) return hit;
        if (Date.now() > end) {
          throw new Error(`no matching event within ${timeoutMs} ms; events:\n${JSON.stringify(run.events(), null, 1)}\nstderr:\n${stderr}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
    stderr: () => stderr,
  };
  return run;
}

/**
 * The tier the ready line gives `rule` ('lsm', 'cgroup', 'signal', 'detect', 'unavailable'):
 * kernel tests assert what that tier does (an lsm deny leaves the process alive with EPERM, a
 * signal-tier kill ends it), so the same test file runs on every kernel.
 */
export function readyTier(run: AcesRun, rule: string): string {
  const rules = (run.ready.rules ?? []) as Array<{ rule: string; tier: string }>;
  const r = rules.find((x) => x.rule === rule);
  if (!r) throw new Error(`rule ${rule} is not in the ready line`);
  return r.tier;
}
