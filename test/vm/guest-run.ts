// Runs inside the vm tier's guest (after guest-init.sh switches root into the host's root): records
// what this kernel gives ACES (`aces doctor --json`, the ready line of a real `aces run`), then
// runs the project's test files one at a time with TAP output into the results share. The host
// side (lsm-kernels.test.ts) reads summary.json and the TAP files back.
//
//   node dist/test/vm/guest-run.js RESULTS_DIR     (RESULTS_DIR/job.json says what to run)
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, renameSync } from 'node:fs';
import { release } from 'node:os';
import { basename, join } from 'node:path';
import { ACES_BIN, REPO_ROOT, startAces } from '../helpers/aces-daemon.js';

/** What the host asks the guest to run (RESULTS_DIR/job.json). */
export interface GuestJob {
  /** Compiled test files, relative to the repository root. */
  readonly files: readonly string[];
  /** Extra environment for the test runs (CI, ACES_TEST_TIMEOUT_MS ...). */
  readonly env: Readonly<Record<string, string>>;
  readonly testTimeoutMs: number;
}

export interface GuestRuleTier {
  readonly rule: string;
  readonly tier: string;
  readonly action: string;
  readonly note?: string;
}

export interface GuestFileResult {
  readonly file: string;
  readonly tap: string;
  readonly status: number | null;
  readonly signal: string | null;
  readonly durationMs: number;
}

/** RESULTS_DIR/summary.json, rewritten after every step so a guest that dies leaves what it did. */
export interface GuestSummary {
  kernel: string;
  lsmList: string;
  doctor?: unknown;
  doctorError?: string;
  /** Tier of every rule from the ready line of `aces run --mode monitor`. */
  rules?: GuestRuleTier[];
  readyError?: string;
  readyMs?: number;
  files: GuestFileResult[];
  done: boolean;
}

function say(msg: string): void {
  process.stdout.write(`aces-vm: ${msg}\n`);
}

function readText(p: string): string {
  try {
    return readFileSync(p, 'utf8').trim();
  } catch {
    return '';
  }
}

async function main(): Promise<void> {
  const results = process.argv[2];
  if (!results) throw new Error('usage: guest-run.js RESULTS_DIR');
  const job = JSON.parse(readFileSync(join(results, 'job.json'), 'utf8')) as GuestJob;
  const summary: GuestSummary = { kernel: release(), lsmList: readText('/sys/kernel/security/lsm'), files: [], done: false };
  const save = (): void => {
    const tmp = join(results, 'summary.json.tmp');
    writeFileSync(tmp, JSON.stringify(summary, null, 1));
    renameSync(tmp, join(results, 'summary.json'));
  };
  const env = { ...process.env, ...job.env };
  save();

  let t0 = Date.now();
  const doc = spawnSync(process.execPath, [ACES_BIN, 'doctor', '--json'], { cwd: REPO_ROOT, encoding: 'utf8', env, timeout: 300_000 });
  try {
    summary.doctor = JSON.parse(doc.stdout);
  } catch {
    summary.doctorError = `exit ${doc.status}: ${doc.stderr}`;
  }
  say(`aces doctor: exit ${doc.status} in ${Date.now() - t0} ms`);
  save();

  t0 = Date.now();
  try {
    const aces = await startAces({ mode: 'monitor', readyTimeoutMs: 300_000 });
    summary.readyMs = Date.now() - t0;
    const rules = aces.ready.rules as Array<{ rule: string; tier: string; action: string; note?: string }>;
    summary.rules = rules.map((r) => ({ rule: r.rule, tier: r.tier, action: r.action, ...(r.note ? { note: r.note } : {}) }));
    const code = await aces.stop();
    if (code !== 0) summary.readyError = `aces run exited ${code} on SIGTERM: ${aces.stderr()}`;
  } catch (e) {
    summary.readyError = e instanceof Error ? e.message : String(e);
  }
  say(`aces run ready in ${summary.readyMs ?? '-'} ms${summary.readyError ? `: ${summary.readyError}` : ''}`);
  save();

  for (const file of job.files) {
    const tap = join(results, `${basename(file).replace(/\.test\.js$/, '')}.tap`);
    say(`test ${file}`);
    t0 = Date.now();
    const r = spawnSync(process.execPath, [
      '--test', '--test-concurrency=1', `--test-timeout=${job.testTimeoutMs}`,
      '--test-reporter=tap', `--test-reporter-destination=${tap}`,
      '--test-reporter=spec', '--test-reporter-destination=stdout',
      file,
    ], { cwd: REPO_ROOT, env, stdio: 'inherit' });
    summary.files.push({ file, tap: basename(tap), status: r.status, signal: r.signal, durationMs: Date.now() - t0 });
    say(`test ${file}: exit ${r.status ?? r.signal} in ${Date.now() - t0} ms`);
    save();
  }
  summary.done = true;
  save();
}

main().catch((e) => {
  say(`runner failed: ${e instanceof Error ? e.stack : String(e)}`);
  process.exit(1);
});
