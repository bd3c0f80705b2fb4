// The vm tier's initramfs: static busybox, guest-init.sh as /init, and the kernel modules the
// guest needs before it can reach the host's root over 9p (virtio, 9p) or mount the test disk
// (virtio_blk, ext4), with their dependencies read from each module's .modinfo section.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { REPO_ROOT } from '../helpers/aces-daemon.js';
import type { DebianKernel } from './debian-kernel.js';

/**
 * Modules the guest loads, by name. Those built into a kernel (6.12 has virtio_pci built in,
 * 6.1 has it as a module) are skipped; those absent from both the tree and modules.builtin
 * are an error.
 */
export const GUEST_MODULES: readonly string[] = [
  'virtio_pci', '9pnet_virtio', '9p', 'virtio_blk', 'crc32c_generic', 'ext4', 'binfmt_misc', 'overlay', 'loop',
];

const MODULE_SUFFIX = /\.ko(\.xz|\.zst|\.gz)?$/;

function normalize(name: string): string {
  return name.replace(/-/g, '_');
}

/** The module's bytes, decompressed with the system's xz/zstd/gzip. */
function readModule(path: string): Buffer {
  const ext = MODULE_SUFFIX.exec(path)?.[1];
  if (!ext) return readFileSync(path);
  const tool = ext === '.xz' ? 'xz' : ext === '.zst' ? 'zstd' : 'gzip';
  const r = spawnSync(tool, ['-dc', path], { maxBuffer: 256 << 20 });
  if (r.status !== 0) throw new Error(`${tool} -dc ${path} failed: ${r.stderr.toString()}`);
  return r.stdout;
}

/** The `depends=` list of an ELF64 module's .modinfo section. */
export function moduleDepends(elf: Buffer): string[] {
  if (elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2) throw new Error('expected an ELF64 kernel module');
  const shoff = Number(elf.readBigUInt64LE(0x28));
  const shentsize = elf.readUInt16LE(0x3a);
  const shnum = elf.readUInt16LE(0x3c);
  const shstrndx = elf.readUInt16LE(0x3e);
  const section = (i: number): { name: number; offset: number; size: number } => {
    const b = shoff + i * shentsize;
    return { name: elf.readUInt32LE(b), offset: Number(elf.readBigUInt64LE(b + 0x18)), size: Number(elf.readBigUInt64LE(b + 0x20)) };
  };
  const strtab = section(shstrndx);
  for (let i = 0; i < shnum; i++) {
    const s = section(i);
    const nameStart = strtab.offset + s.name;
    const name = elf.toString('latin1', nameStart, elf.indexOf(0, nameStart));
    if (name !== '.modinfo') continue;
    for (const kv of elf.toString('latin1', s.offset, s.offset + s.size).split('\0')) {
      if (kv.startsWith('depends=')) return kv.slice('depends='.length).split(',').filter(Boolean).map(normalize);
    }
    return [];
  }
  return [];
}

function indexModules(dir: string, out = new Map<string, string>()): Map<string, string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) indexModules(p, out);
    else if (MODULE_SUFFIX.test(e.name)) out.set(normalize(e.name.replace(MODULE_SUFFIX, '')), p);
  }
  return out;
}

function builtinModules(modulesDir: string): Set<string> {
  const f = join(modulesDir, 'modules.builtin');
  if (!existsSync(f)) return new Set();
  return new Set(readFileSync(f, 'utf8').split('\n').filter(Boolean).map((l) => normalize(l.split('/').pop()!.replace(MODULE_SUFFIX, ''))));
}

/** Modules to load, dependencies first, as [name, path]. */
export function moduleClosure(kernel: DebianKernel, wanted: readonly string[] = GUEST_MODULES): Array<[string, string]> {
  const index = indexModules(join(kernel.modulesDir, 'kernel'));
  const builtin = builtinModules(kernel.modulesDir);
  const order: Array<[string, string]> = [];
  const seen = new Set<string>();
  const visit = (name: string, chain: string[]): void => {
    if (seen.has(name)) return;
    seen.add(name);
    const path = index.get(name);
    if (!path) {
      if (builtin.has(name)) return;
      throw new Error(`module ${name} (wanted by ${chain.join(' <- ') || 'the vm tier'}) is neither in ${kernel.pkg} nor built in`);
    }
    for (const dep of moduleDepends(readModule(path))) visit(dep, [name, ...chain]);
    order.push([name, path]);
  };
  for (const w of wanted) visit(normalize(w), []);
  return order;
}

export interface InitramfsOptions {
  /** Written to /aces-vm.env and sourced by /init. */
  readonly env: Readonly<Record<string, string>>;
}

/** Builds <outDir>/initrd.gz for the kernel (rebuilt every time: it is small and fast). */
export function buildInitramfs(kernel: DebianKernel, outDir: string, opts: InitramfsOptions): string {
  const root = join(outDir, 'initramfs');
  rmSync(root, { recursive: true, force: true });
  for (const d of ['bin', 'sbin', 'proc', 'sys', 'dev', 'newroot', 'modules', 'etc']) mkdirSync(join(root, d), { recursive: true });
  copyFileSync('/bin/busybox', join(root, 'bin', 'busybox'));
  chmodSync(join(root, 'bin', 'busybox'), 0o755);
  copyFileSync(join(REPO_ROOT, 'test', 'vm', 'guest-init.sh'), join(root, 'init'));
  chmodSync(join(root, 'init'), 0o755);

  const order = moduleClosure(kernel);
  for (const [name, path] of order) writeFileSync(join(root, 'modules', `${name}.ko`), readModule(path));
  writeFileSync(join(root, 'modules', 'order'), order.map(([n]) => n).join('\n') + '\n');
  const envLines = Object.entries(opts.env).map(([k, v]) => {
    if (!/^[A-Z_][A-Z0-9_]*$/.test(k)) throw new Error(`expected a shell variable name for the guest env, got ${k}`);
    return `${k}='${v.replace(/'/g, `'\\''`)}'`;
  });
  writeFileSync(join(root, 'aces-vm.env'), envLines.join('\n') + '\n');

  const out = join(outDir, 'initrd.gz');
  mkdirSync(dirname(out), { recursive: true });
  const r = spawnSync('/bin/sh', ['-c', `cd '${root}' && find . | cpio -o -H newc --quiet | gzip -1 > '${out}'`], { encoding: 'utf8' });
  if (r.status !== 0 || !existsSync(out) || statSync(out).size === 0) throw new Error(`building the initramfs failed: ${r.stderr}`);
  return out;
}
