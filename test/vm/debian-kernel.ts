// Debian kernel packages for the vm tier: the newest linux-image of a series, as the package
// index lists it, downloaded with apt-get and unpacked once into test/vm/cache/ (git-ignored).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/aces-daemon.js';

export const VM_CACHE = join(REPO_ROOT, 'test', 'vm', 'cache');

/** A kernel series the vm tier boots, and how its image packages are named. */
export interface KernelSeries {
  /** '6.1', '6.12'. */
  readonly series: string;
  /** Matches the signed image packages of the series (not -dbg, -unsigned, cloud or rt). */
  readonly pattern: RegExp;
}

export const KERNEL_SERIES: readonly KernelSeries[] = [
  // bookworm: linux-image-6.1.0-57-amd64
  { series: '6.1', pattern: /^linux-image-6\.1\.0-(\d+)-amd64$/ },
  // bookworm-security: linux-image-6.12.118+deb12-amd64
  { series: '6.12', pattern: /^linux-image-6\.12\.(\d+)\+deb\d+-amd64$/ },
];

export interface DebianKernel {
  readonly series: string;
  readonly pkg: string;
  /** uname -r of the kernel: the directory under lib/modules. */
  readonly release: string;
  readonly vmlinuz: string;
  readonly modulesDir: string;
}

function run(cmd: string, args: string[], cwd?: string): string {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.error) throw new Error(`${cmd} ${args.join(' ')}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr.trim()}`);
  return r.stdout;
}

/**
 * The newest package of the series in apt's index: the highest ABI or patch number, not the
 * order apt happens to print. Throws when the index has none (run `apt-get update`).
 */
export function newestPackage(s: KernelSeries, names = run('apt-cache', ['pkgnames', 'linux-image-6.']).split('\n')): string {
  let best: { name: string; n: number } | undefined;
  for (const name of names) {
    const m = s.pattern.exec(name.trim());
    if (!m) continue;
    const n = Number(m[1]);
    if (!best || n > best.n) best = { name: name.trim(), n };
  }
  if (!best) throw new Error(`expected a package matching ${s.pattern} in the apt index for kernel ${s.series}, got none (apt-get update?)`);
  return best.name;
}

/** Downloads (once) and unpacks (once) the newest kernel of the series; returns its files. */
export function prepareKernel(s: KernelSeries, cache = VM_CACHE): DebianKernel {
  const pkg = newestPackage(s);
  const debs = join(cache, 'debs');
  mkdirSync(debs, { recursive: true });
  let deb = readdirSync(debs).find((f) => f.startsWith(`${pkg}_`) && f.endsWith('.deb'));
  if (!deb) {
    // apt-get download writes into the working directory; as root it warns that _apt cannot
    // write there and downloads unsandboxed, which is fine for a cache.
    run('apt-get', ['-q', 'download', pkg], debs);
    deb = readdirSync(debs).find((f) => f.startsWith(`${pkg}_`) && f.endsWith('.deb'));
    if (!deb) throw new Error(`apt-get download ${pkg} left no .deb in ${debs}`);
  }
  const tree = join(cache, 'kernels', pkg);
  if (!existsSync(join(tree, '.complete'))) {
    // Unpack beside the final place and rename, so an interrupted run never leaves half a tree.
    const tmp = `${tree}.tmp`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    run('dpkg-deb', ['-x', join(debs, deb), tmp]);
    run('touch', [join(tmp, '.complete')]);
    rmSync(tree, { recursive: true, force: true });
    renameSync(tmp, tree);
  }
  const releases = readdirSync(join(tree, 'lib', 'modules'));
  if (releases.length !== 1) throw new Error(`expected one lib/modules/<release> in ${pkg}, got ${releases.join(', ')}`);
  const release = releases[0]!;
  const vmlinuz = join(tree, 'boot', `vmlinuz-${release}`);
  if (!existsSync(vmlinuz)) throw new Error(`${pkg} has no boot/vmlinuz-${release}`);
  return { series: s.series, pkg, release, vmlinuz, modulesDir: join(tree, 'lib', 'modules', release) };
}
