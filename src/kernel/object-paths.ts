/** Where the build puts the BPF objects, resolved from this file (dist/src/kernel/ or src/kernel/). */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'bpf'))) return dir;
    dir = resolve(dir, '..');
  }
  throw new Error('ACES package root not found above ' + fileURLToPath(import.meta.url));
}

export function bpfObjectPath(name: 'aces' | 'probes' | 'layout'): string {
  return join(packageRoot(), 'bpf', 'build', `${name}.bpf.o`);
}
