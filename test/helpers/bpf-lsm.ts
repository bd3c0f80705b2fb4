// Whether this kernel runs BPF LSM programs, found without ACES's own probe: bpf is among the
// active LSMs and bpftool loads an lsm/ program compiled here. Tests compare ACES's tier plan
// and `aces doctor` with it. (bpftool 7.1, Debian bookworm's, cannot attach lsm/ programs; a
// kernel that loads them with bpf active runs them.)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './aces-daemon.js';

/** True when bpftool loads a one-program object compiled from `SEC(section) ... BPF_PROG(p, proto)`. */
export function bpftoolLoads(section: string, proto: string): boolean {
  const dir = mkdtempSync(join(tmpdir(), 'aces-bpftool-'));
  try {
    const src = join(dir, 'p.bpf.c');
    writeFileSync(src, `#include "vmlinux.h"\n#include <bpf/bpf_helpers.h>\n#include <bpf/bpf_tracing.h>\n` +
      `SEC("${section}") int BPF_PROG(p, ${proto}) { return 0; }\nchar LICENSE[] SEC("license") = "GPL";\n`);
    const cc = spawnSync('clang', ['-g', '-O2', '-target', 'bpf', '-D__TARGET_ARCH_x86', '-I', join(REPO_ROOT, 'bpf', 'build'), '-c', src, '-o', join(dir, 'p.o')], { encoding: 'utf8' });
    if (cc.status !== 0) throw new Error(`clang: ${cc.stderr}`);
    const pin = `/sys/fs/bpf/aces-probe-${process.pid}-${Date.now()}`;
    const ld = spawnSync('bpftool', ['prog', 'load', join(dir, 'p.o'), pin], { encoding: 'utf8' });
    rmSync(pin, { force: true });
    return ld.status === 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** bpf is in /sys/kernel/security/lsm. */
export function bpfLsmListed(): boolean {
  try {
    return readFileSync('/sys/kernel/security/lsm', 'utf8').trim().split(',').includes('bpf');
  } catch {
    return false;
  }
}

let cached: boolean | undefined;

/** BPF LSM programs load here and bpf is an active LSM. */
export function bpfLsmWorks(): boolean {
  cached ??= bpfLsmListed() && bpftoolLoads('lsm/file_open', 'struct file *file');
  return cached;
}
