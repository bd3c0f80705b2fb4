#!/usr/bin/env node
// Runs test tiers: `node scripts/run-tests.mjs unit kernel e2e vm`.
//
// Each tier's compiled files (dist/test/<tier>/**/*.test.js) go to one `node --test` run that
// streams the spec reporter to the terminal and writes TAP to dist/test-results/<tier>.tap; the
// TAP summary lines are summed into the closing line, `N passed, N failed, N skipped`, which CI
// reads. Tiers other than unit run one file at a time because they change host state.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const TIERS = ['unit', 'kernel', 'e2e', 'vm'];
const SERIAL = new Set(['kernel', 'e2e', 'vm']);
// A tier with no tests at all means something went missing (every tier has tests).
const OPTIONAL_TIERS = new Set([]);
// Default per-test timeout: a hung test must fail the run, not hang CI. Tests may set their own.
const TIMEOUT_MS = { unit: 30_000, kernel: 120_000, e2e: 300_000, vm: 5_400_000 };
const RESULTS = join(ROOT, 'dist', 'test-results');
const CI = ['true', '1'].includes((process.env.CI ?? '').trim().toLowerCase());

function say(line) {
  process.stdout.write(`run-tests: ${line}\n`);
}

function walk(dir, suffix) {
  if (!existsSync(dir)) return [];
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p, suffix));
    else if (e.isFile() && e.name.endsWith(suffix)) out.push(p);
  }
  return out.sort();
}

// node-gyp would download Node's headers from the internet; use the ones installed next to node
// when present (the nodejs packages ship them), so the build works offline.
function buildEnv() {
  const env = { ...process.env };
  const nodedir = join(dirname(process.execPath), '..');
  if (!env.npm_config_nodedir && existsSync(join(nodedir, 'include', 'node', 'common.gypi'))) {
    env.npm_config_nodedir = nodedir;
  }
  return env;
}

function parseArgs(argv) {
  const tiers = argv.length === 0 ? TIERS : argv;
  for (const t of tiers) {
    if (!TIERS.includes(t)) {
      process.stderr.write(`run-tests: expected one of ${TIERS.join(', ')} for tier, got ${JSON.stringify(t)}\n`);
      process.exit(2);
    }
  }
  return [...new Set(tiers)];
}

function ensureBuilt() {
  if (existsSync(join(ROOT, 'dist'))) {
    // Stale output would test old code without saying so.
    const stale = walk(join(ROOT, 'test'), '.ts').filter((src) => {
      const out = join(ROOT, 'dist', relative(ROOT, src)).replace(/\.ts$/, '.js');
      return !src.endsWith('.d.ts') && existsSync(out) && statSync(src).mtimeMs > statSync(out).mtimeMs;
    });
    if (stale.length > 0) say(`warning: ${stale.length} test source(s) newer than dist/ (run npm run build), e.g. ${relative(ROOT, stale[0])}`);
    return true;
  }
  say('dist/ missing: npm run build');
  const r = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit', env: buildEnv() });
  if (r.status !== 0) {
    say(`build failed (exit ${r.status ?? r.signal})`);
    return false;
  }
  return true;
}

async function prepareE2e() {
  const helper = join(ROOT, 'dist', 'test', 'helpers', 'docker.js');
  if (!existsSync(helper)) return 'dist/test/helpers/docker.js missing';
  try {
    const { ensureDocker, ensureBusyboxImage } = await import(pathToFileURL(helper).href);
    const { ensureDebianImage } = await import(pathToFileURL(join(ROOT, 'dist', 'test', 'helpers', 'debian-image.js')).href);
    await ensureDocker();
    await ensureBusyboxImage();
    // The benign suite's real tools (gdb, strace, dpkg ...): debootstrap once, cached.
    await ensureDebianImage();
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

function tapCounts(file) {
  const counts = { pass: 0, fail: 0, skipped: 0, cancelled: 0, todo: 0, found: false };
  if (!existsSync(file)) return counts;
  let skipDirectives = 0;
  // The summary block is the only unindented "# <count>" block; nested subtests are indented.
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^# (pass|fail|skipped|cancelled|todo) (\d+)$/.exec(line);
    if (m) {
      counts[m[1]] = Number(m[2]);
      counts.found = true;
    }
    // The summary leaves out a skipped describe() (it counts tests, and the suite never ran
    // any), so count SKIP directives at every depth as well.
    if (/^\s*ok \d+ - .* # SKIP\b/.test(line)) skipDirectives++;
  }
  counts.skipped = Math.max(counts.skipped, skipDirectives);
  return counts;
}

function runNodeTest(tier, files) {
  mkdirSync(RESULTS, { recursive: true });
  const tap = join(RESULTS, `${tier}.tap`);
  const args = [
    '--test',
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    '--test-reporter=tap',
    `--test-reporter-destination=${tap}`,
    `--test-timeout=${process.env.ACES_TEST_TIMEOUT_MS ?? TIMEOUT_MS[tier]}`,
  ];
  if (SERIAL.has(tier)) args.push('--test-concurrency=1');
  args.push(...files.map((f) => relative(ROOT, f)));
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: 'inherit' });
    child.on('error', (e) => resolve({ code: 1, error: e.message, tap }));
    child.on('close', (code, signal) => resolve({ code: code ?? 1, signal, tap }));
  });
}

async function main() {
  const tiers = parseArgs(process.argv.slice(2));
  if (!ensureBuilt()) process.exit(1);
  const total = { pass: 0, fail: 0, skipped: 0 };
  const report = [];
  let failed = false;

  for (const tier of tiers) {
    const files = walk(join(ROOT, 'dist', 'test', tier), '.test.js');
    const sources = walk(join(ROOT, 'test', tier), '.test.ts');
    if (files.length === 0) {
      if (sources.length > 0) {
        report.push(`${tier}: FAILED: ${sources.length} test source(s) but nothing compiled in dist/test/${tier}`);
        failed = true;
      } else if (OPTIONAL_TIERS.has(tier)) {
        report.push(`${tier}: no test files`);
      } else {
        report.push(`${tier}: FAILED: no test files in test/${tier}`);
        failed = true;
      }
      continue;
    }
    say(`${tier}: ${files.length} file(s)${SERIAL.has(tier) ? ', one at a time' : ''}`);
    if (tier === 'e2e') {
      const why = await prepareE2e();
      if (why !== undefined) {
        // The tests still run: outside CI they skip with their reasons, in CI they fail and
        // are counted.
        say(`e2e: Docker not ready: ${why}`);
        if (CI) {
          report.push(`e2e: FAILED: Docker not ready: ${why}`);
          failed = true;
        }
      }
    }
    const r = await runNodeTest(tier, files);
    const c = tapCounts(r.tap);
    const fails = c.fail + c.cancelled;
    total.pass += c.pass;
    total.fail += fails;
    total.skipped += c.skipped;
    let status = 'ok';
    if (r.code !== 0 || fails > 0 || !c.found) status = 'FAILED';
    // Tests throw in CI instead of skipping (test/helpers/root.ts); this also catches a bare t.skip().
    if (CI && c.skipped > 0) status = 'FAILED (skips are failures in CI)';
    if (status !== 'ok') failed = true;
    const extra = c.found ? '' : ' (no TAP summary: the runner did not finish)';
    report.push(
      `${tier}: ${status}: ${c.pass} passed, ${fails} failed, ${c.skipped} skipped${c.todo ? `, ${c.todo} todo` : ''}${extra}; exit ${r.code}${r.signal ? ` (${r.signal})` : ''}; TAP in ${relative(ROOT, r.tap)}`,
    );
  }

  process.stdout.write('\n');
  for (const line of report) say(line);
  process.stdout.write(`${total.pass} passed, ${total.fail} failed, ${total.skipped} skipped\n`);
  process.exit(failed ? 1 : 0);
}

main().catch((e) => {
  process.stderr.write(`run-tests: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
