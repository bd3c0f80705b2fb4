// The vm tier: the same build of ACES (one BPF object, the same dist/) on Debian's own kernels,
// booted in QEMU with BPF LSM active, runs the project's kernel-tier test files inside the guest
// (test/vm/guest-run.ts), and every rule with an LSM hook must be enforced by LSM there. A third
// boot of 6.12 without bpf in lsm= must fall back to the cgroup and signal tiers and pass the
// same tests. Prints, per kernel, the tier and action of every rule and the result of every
// guest test (each is a subtest here).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { isCi, isRoot, skipOptionUnless } from '../helpers/root.js';
import { REPO_ROOT } from '../helpers/aces-daemon.js';
import { RULES } from '../../src/policy/rules.js';
import { KERNEL_SERIES, prepareKernel, VM_CACHE } from './debian-kernel.js';
import { buildInitramfs } from './initramfs.js';
import { makeDiskImage, runGuest } from './qemu-guest.js';
import { readSummary, readTap } from './guest-results.js';
import type { GuestJob } from './guest-run.js';

interface GuestConfig {
  readonly label: string;
  readonly series: string;
  /** bpf in lsm=: every rule with an LSM hook must get the lsm tier. */
  readonly bpfLsm: boolean;
  /** Compiled test files run in the guest (repo-relative). */
  readonly files: () => string[];
  readonly timeoutMs: number;
}

const LSM_ON = 'lockdown,capability,landlock,bpf';
const LSM_OFF = 'lockdown,capability,landlock';

/** Every kernel-tier test file: the guest proves the same files pass there. */
function kernelTests(): string[] {
  const dir = join(REPO_ROOT, 'dist', 'test', 'kernel');
  return readdirSync(dir).filter((f) => f.endsWith('.test.js')).sort().map((f) => relative(REPO_ROOT, join(dir, f)));
}

/** Without LSM the tests that depend on the tier: the detectors, the daemon's life cycle, helpers. */
function tierDependentTests(): string[] {
  return ['detectors', 'daemon-lifecycle', 'umh', 'ns-ptrace', 'lsm-hooks'].map((n) => join('dist', 'test', 'kernel', `${n}.test.js`));
}

// TCG on two cores: a boot takes ~10 s, each kernel test file 30 s to 3 min (measured here).
const CONFIGS: readonly GuestConfig[] = [
  { label: 'Debian 6.1, BPF LSM active', series: '6.1', bpfLsm: true, files: kernelTests, timeoutMs: 24 * 60_000 },
  { label: 'Debian 6.12, BPF LSM active', series: '6.12', bpfLsm: true, files: kernelTests, timeoutMs: 24 * 60_000 },
  { label: 'Debian 6.12, booted without bpf in lsm=', series: '6.12', bpfLsm: false, files: tierDependentTests, timeoutMs: 12 * 60_000 },
];

/**
 * Narrowing for quick iteration (test/README.md), by comma-separated lists in the environment:
 * ACES_VM_FILES=ns-ptrace,lsm-hooks runs only those kernel test files (base names) in the
 * guests, ACES_VM_CONFIGS=6.1,6.12-nolsm boots only the configs named by series, "-nolsm" for
 * the boot without bpf in lsm=. Unset: everything. A name that matches nothing is an error.
 */
function envList(name: string): string[] | undefined {
  const v = process.env[name]?.trim();
  return v ? v.split(',').map((x) => x.trim()).filter(Boolean) : undefined;
}

const configName = (c: GuestConfig): string => `${c.series}${c.bpfLsm ? '' : '-nolsm'}`;

function selectedConfigs(): readonly GuestConfig[] {
  const want = envList('ACES_VM_CONFIGS');
  if (!want) return CONFIGS;
  const unknown = want.filter((w) => !CONFIGS.some((c) => configName(c) === w));
  if (unknown.length) throw new Error(`ACES_VM_CONFIGS: no config ${unknown.join(', ')} (have ${CONFIGS.map(configName).join(', ')})`);
  return CONFIGS.filter((c) => want.includes(configName(c)));
}

function selectedFiles(files: string[]): string[] {
  const want = envList('ACES_VM_FILES');
  if (!want) return files;
  const base = (f: string) => f.split('/').pop()!.replace(/\.test\.js$/, '');
  const unknown = want.filter((w) => !kernelTests().some((f) => base(f) === w));
  if (unknown.length) throw new Error(`ACES_VM_FILES: no kernel test file ${unknown.join(', ')}`);
  return files.filter((f) => want.includes(base(f)));
}

function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

const missing = ['qemu-system-x86_64', 'apt-get', 'dpkg-deb', 'cpio', 'mkfs.ext4', 'xz']
  .filter((c) => !have(c));
const ready = isRoot() && missing.length === 0 && existsSync('/bin/busybox') && existsSync(join(REPO_ROOT, 'bpf', 'build', 'aces.bpf.o'));

describe('Debian kernels in QEMU', {
  concurrency: false,
  skip: skipOptionUnless(ready, `needs root, /bin/busybox (static), the BPF object and ${missing.join(', ') || 'QEMU'}`),
}, () => {
  for (const cfg of selectedConfigs()) {
    test(cfg.label, { timeout: cfg.timeoutMs + 5 * 60_000 }, async (t) => {
      const kernel = prepareKernel(KERNEL_SERIES.find((s) => s.series === cfg.series)!);
      const work = join(VM_CACHE, 'run', `${cfg.series}${cfg.bpfLsm ? '' : '-nolsm'}`);
      const results = join(work, 'results');
      rmSync(results, { recursive: true, force: true });
      mkdirSync(results, { recursive: true });
      const files = selectedFiles(cfg.files());
      const job: GuestJob = {
        files,
        // TCG runs the guest several times slower than this host: the tests' waits scale.
        env: { ...(isCi() ? { CI: process.env.CI! } : {}), ACES_TEST_SLOWDOWN: '4' },
        testTimeoutMs: 300_000,
      };
      writeFileSync(join(results, 'job.json'), JSON.stringify(job));
      const initrd = buildInitramfs(kernel, work, {
        env: {
          ACES_NODE: process.execPath,
          ACES_RUNNER: join(REPO_ROOT, 'dist', 'test', 'vm', 'guest-run.js'),
          // The guest puts tmpfs on /tmp, /var/tmp and /run: a checkout under one of them is
          // carried over (CI clones wherever it likes).
          ACES_REPO: REPO_ROOT,
        },
      });
      const disk = join(work, 'disk.img');
      const consoleLog = join(work, 'console.log');
      const t0 = Date.now();
      let run: Awaited<ReturnType<typeof runGuest>> | undefined;
      // Software emulation now and then oopses during early boot (int3 while patching kernel
      // text); a guest that crashed before its runner started is booted once more.
      for (let attempt = 1; attempt <= 2; attempt++) {
        makeDiskImage(disk);
        run = await runGuest({
          vmlinuz: kernel.vmlinuz, initrd, resultsDir: results, disk, consoleLog, timeoutMs: cfg.timeoutMs,
          append: `lsm=${cfg.bpfLsm ? LSM_ON : LSM_OFF} panic=-1 quiet`,
          onProgress: (l) => t.diagnostic(`${((Date.now() - t0) / 1000).toFixed(0)}s ${l}`),
        });
        const log = readFileSync(consoleLog, 'utf8');
        if (readSummary(results) || log.includes('aces-vm: switch_root:') || !/Oops|Kernel panic|BUG:/.test(log)) break;
        t.diagnostic(`${kernel.pkg}: the guest crashed while booting (attempt ${attempt}); booting again`);
      }
      const tail = (): string => readFileSync(consoleLog, 'utf8').split('\n').slice(-40).join('\n');
      t.diagnostic(`${kernel.pkg}: guest ran ${(run!.durationMs / 1000).toFixed(0)} s, console in ${relative(REPO_ROOT, consoleLog)}`);
      assert.equal(run!.timedOut, false, `the guest did not finish within ${cfg.timeoutMs / 60_000} min:\n${tail()}`);

      const summary = readSummary(results);
      assert.ok(summary, `the guest wrote no summary:\n${tail()}`);
      assert.equal(summary.kernel, kernel.release);
      assert.equal(summary.readyError, undefined, 'aces run did not start in the guest');
      assert.ok(summary.rules, 'no ready line');
      for (const r of summary.rules) t.diagnostic(`${summary.kernel}  ${r.rule.padEnd(22)} ${r.tier.padEnd(8)} ${r.action}${r.note ? `  (${r.note})` : ''}`);

      // Each guest test is a subtest here, so the report names every test per kernel.
      for (const f of summary.files) {
        const tests = readTap(results, f.tap);
        const base = f.tap.replace(/\.tap$/, '');
        if (tests.length === 0) {
          await t.test(`${base}: ran`, () => assert.fail(`no TAP from ${f.file} (exit ${f.status ?? f.signal})`));
          continue;
        }
        for (const x of tests) {
          await t.test(`${base}: ${x.name}`, (st) => {
            if (x.skip !== undefined) {
              if (isCi()) assert.fail(`skipped in the guest (${x.skip}), and CI=true`);
              st.skip(x.skip);
              return;
            }
            assert.ok(x.ok, x.detail);
          });
        }
        await t.test(`${base}: exit status`, () => assert.equal(f.status, 0, `${f.file} exited ${f.status ?? f.signal}`));
      }

      await t.test('tiers', () => {
        const tierOf = new Map(summary.rules!.map((r) => [r.rule, r]));
        for (const rule of RULES) {
          const got = tierOf.get(rule.name);
          assert.ok(got, `${rule.name} missing from the ready line`);
          assert.notEqual(got.tier, 'unavailable', `${rule.name}: ${got.note ?? ''}`);
          if (cfg.bpfLsm && rule.tiers.includes('lsm')) {
            assert.equal(got.tier, 'lsm', `${rule.name} has an LSM hook but got ${got.tier} (${got.note ?? ''})`);
            const lsmDefault = rule.tierDefaultActions?.lsm;
            if (lsmDefault) assert.equal(got.action, lsmDefault, `${rule.name}: default action on the lsm tier`);
          } else {
            assert.notEqual(got.tier, 'lsm', `${rule.name} got lsm on a kernel without bpf in lsm=`);
          }
        }
        const doctor = summary.doctor as { features?: { lsmLoadable?: { ok: boolean; detail?: string } } } | undefined;
        assert.equal(doctor?.features?.lsmLoadable?.ok, cfg.bpfLsm, `aces doctor's LSM claim: ${JSON.stringify(doctor?.features?.lsmLoadable)}`);
      });
      assert.equal(summary.done, true, `the guest runner did not finish:\n${tail()}`);
      assert.deepEqual(summary.files.map((f) => f.file), files);
    });
  }
});
