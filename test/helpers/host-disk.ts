// The host's root disk as the e2e block-device tests attack it: device node, numbers, fs type.
import { existsSync, readFileSync, statSync } from 'node:fs';

export interface HostDisk {
  dev: string;
  major: number;
  minor: number;
  fstype: string;
}

/** From the "/" line of /proc/self/mountinfo; undefined when / is not on a block device. */
export function hostRootDisk(): HostDisk | undefined {
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [pre, post] = line.split(' - ');
    if (!pre || !post) continue;
    const f = pre.split(' ');
    if (f[4] !== '/') continue;
    const [fstype, source] = post.split(' ');
    if (!source?.startsWith('/dev/') || !existsSync(source)) return undefined;
    const rdev = statSync(source).rdev;
    return { dev: source, major: Math.floor(rdev / 256) & 0xfff, minor: (rdev & 0xff) | ((rdev >> 12) & 0xfff00), fstype: fstype! };
  }
  return undefined;
}
