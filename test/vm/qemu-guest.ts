// Boots one Debian kernel in QEMU for the vm tier and waits for it to power off.
//
// Software emulation (-accel tcg): KVM hangs on this project's CI machine (DESIGN §6), and TCG
// runs everywhere. The host's "/" is shared read-only over 9p (the guest switches root into it), a
// second 9p share takes the results, and a small ext4 image is the guest's "host disk".
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, rmSync } from 'node:fs';

export interface GuestOptions {
  readonly vmlinuz: string;
  readonly initrd: string;
  /** Host directory the guest writes its results to (9p tag "results"). */
  readonly resultsDir: string;
  /** Raw disk image attached as /dev/vda. */
  readonly disk?: string;
  /** Kernel command line after console=ttyS0. */
  readonly append: string;
  readonly memoryMb?: number;
  readonly cpus?: number;
  readonly timeoutMs: number;
  /** Serial console, written as it comes. */
  readonly consoleLog: string;
  /** Called for every console line that starts with "aces-vm:" (progress). */
  readonly onProgress?: (line: string) => void;
}

export interface GuestResult {
  /** QEMU's exit code; null when it was killed. */
  readonly code: number | null;
  readonly timedOut: boolean;
  readonly durationMs: number;
}

/** A fresh ext4 image of sizeMb (mkfs.ext4 from e2fsprogs). */
export function makeDiskImage(path: string, sizeMb = 32): void {
  rmSync(path, { force: true });
  const r = spawnSync('mkfs.ext4', ['-q', '-F', '-L', 'aces-vm-disk', path, `${sizeMb}M`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`mkfs.ext4 ${path}: ${r.stderr}`);
}

/*
 * One virtual CPU by default. With two, multi-threaded TCG now and then let one vCPU run a stale
 * translation of kernel text that the other was patching (text_poke_bp: jump labels flipped when
 * a tracepoint or a perf event is enabled): the guest oopsed on "int3" in early boot, and once in
 * the middle of the run (__schedule, CPU 1 idle, while lsm-hooks.test.js opened perf events). A
 * single vCPU sees its own code writes at once.
 */
export const DEFAULT_GUEST_CPUS = 1;

export function qemuArgs(o: GuestOptions): string[] {
  const args = [
    '-accel', 'tcg', '-cpu', 'max', '-smp', String(o.cpus ?? DEFAULT_GUEST_CPUS), '-m', String(o.memoryMb ?? 3072),
    '-nographic', '-no-reboot', '-nic', 'none',
    '-kernel', o.vmlinuz, '-initrd', o.initrd,
    '-append', `console=ttyS0 ${o.append}`,
    '-virtfs', 'local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap',
    '-virtfs', `local,path=${o.resultsDir},mount_tag=results,security_model=none`,
  ];
  if (o.disk) args.push('-drive', `file=${o.disk},if=virtio,format=raw`);
  return args;
}

/** Runs the guest to its end (power off, panic) or the timeout, whichever comes first. */
export function runGuest(o: GuestOptions): Promise<GuestResult> {
  if (!existsSync(o.vmlinuz)) throw new Error(`no kernel image ${o.vmlinuz}`);
  const started = Date.now();
  const log = createWriteStream(o.consoleLog);
  const child = spawn('qemu-system-x86_64', qemuArgs(o), { stdio: ['ignore', 'pipe', 'pipe'] });
  let partial = '';
  const onData = (d: Buffer): void => {
    log.write(d);
    if (!o.onProgress) return;
    partial += d.toString('utf8');
    const lines = partial.split(/\r?\n/);
    partial = lines.pop() ?? '';
    for (const l of lines) if (l.startsWith('aces-vm:')) o.onProgress(l);
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  return new Promise((resolve) => {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, o.timeoutMs);
    let finished = false;
    const finish = (code: number | null): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      log.end(() => resolve({ code, timedOut, durationMs: Date.now() - started }));
    };
    child.once('error', (e) => {
      log.write(`\nqemu: ${e.message}\n`);
      finish(null);
    });
    child.once('close', (code) => finish(code));
  });
}
