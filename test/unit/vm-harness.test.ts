// The pure parts of the vm tier's harness (test/vm/): which kernel package is the newest, module
// dependencies from .modinfo, reading node:test TAP back, the QEMU command line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KERNEL_SERIES, newestPackage } from '../vm/debian-kernel.js';
import { moduleDepends } from '../vm/initramfs.js';
import { parseTap } from '../vm/guest-results.js';
import { qemuArgs } from '../vm/qemu-guest.js';

const series = (s: string) => KERNEL_SERIES.find((x) => x.series === s)!;

test('the newest package of a series by number, not by listing order; other flavours ignored', () => {
  const names = [
    'linux-image-6.1.0-9-amd64', 'linux-image-6.1.0-57-amd64', 'linux-image-6.1.0-10-amd64',
    'linux-image-6.1.0-60-cloud-amd64', 'linux-image-6.1.0-61-amd64-dbg', 'linux-image-6.1.0-62-rt-amd64',
    'linux-image-6.12.9+deb12-amd64', 'linux-image-6.12.118+deb12-amd64', 'linux-image-6.12.120+deb12-amd64-unsigned',
    'linux-image-6.12.119+deb12-cloud-amd64',
  ];
  assert.equal(newestPackage(series('6.1'), names), 'linux-image-6.1.0-57-amd64');
  assert.equal(newestPackage(series('6.12'), names), 'linux-image-6.12.118+deb12-amd64');
  assert.throws(() => newestPackage(series('6.12'), ['linux-image-6.1.0-57-amd64']), /apt-get update/);
});

/** A minimal ELF64 with a section header table: null, .shstrtab, .modinfo. */
function fakeModule(modinfo: string): Buffer {
  const shstr = Buffer.from('\0.shstrtab\0.modinfo\0');
  const info = Buffer.from(modinfo);
  const dataOff = 64;
  const shoff = dataOff + shstr.length + info.length;
  const buf = Buffer.alloc(shoff + 3 * 64);
  buf.writeUInt32BE(0x7f454c46, 0);
  buf[4] = 2; // ELFCLASS64
  buf[5] = 1; // little endian
  buf.writeBigUInt64LE(BigInt(shoff), 0x28);
  buf.writeUInt16LE(64, 0x3a);
  buf.writeUInt16LE(3, 0x3c);
  buf.writeUInt16LE(1, 0x3e);
  shstr.copy(buf, dataOff);
  info.copy(buf, dataOff + shstr.length);
  const sh = (i: number, name: number, off: number, size: number): void => {
    const b = shoff + i * 64;
    buf.writeUInt32LE(name, b);
    buf.writeBigUInt64LE(BigInt(off), b + 0x18);
    buf.writeBigUInt64LE(BigInt(size), b + 0x20);
  };
  sh(1, 1, dataOff, shstr.length);
  sh(2, 11, dataOff + shstr.length, info.length);
  return buf;
}

test('module dependencies come from the depends= entry of .modinfo, dashes as underscores', () => {
  assert.deepEqual(moduleDepends(fakeModule('license=GPL\0depends=9pnet,netfs,crc32c-generic\0vermagic=6.1\0')),
    ['9pnet', 'netfs', 'crc32c_generic']);
  assert.deepEqual(moduleDepends(fakeModule('license=GPL\0depends=\0')), []);
  assert.throws(() => moduleDepends(Buffer.alloc(64)), /ELF64/);
});

test('TAP from node:test: leaf tests named with their suites, skips, a suite that failed in a hook', () => {
  const tap = [
    'TAP version 13',
    '# Subtest: enforce mode',
    '    # Subtest: release_agent',
    '    ok 1 - release_agent',
    '    # Subtest: mount',
    '    not ok 2 - mount',
    '      ---',
    '      error: boom',
    '      ...',
    '    ok 3 - raw open # SKIP no block device',
    '    1..3',
    'not ok 1 - enforce mode',
    '  ---',
    '  error: 1 subtest failed',
    '  ...',
    '# Subtest: monitor mode',
    '    ok 1 - ready line',
    'not ok 2 - monitor mode',
    '  ---',
    '  error: after hook failed',
    '  ...',
    'ok 3 - plain test',
    '1..3',
  ].join('\n');
  const got = parseTap(tap);
  assert.deepEqual(got.map((t) => [t.name, t.ok, t.skip]), [
    ['enforce mode > release_agent', true, undefined],
    ['enforce mode > mount', false, undefined],
    ['enforce mode > raw open', true, 'no block device'],
    ['monitor mode > ready line', true, undefined],
    ['monitor mode', false, undefined],
    ['plain test', true, undefined],
  ]);
  assert.match(got[1]!.detail, /error: boom/);
  assert.match(got[4]!.detail, /after hook failed/);
});

test('QEMU: software emulation, the host root read-only, results writable, the test disk', () => {
  const a = qemuArgs({
    vmlinuz: '/k', initrd: '/i', resultsDir: '/r', disk: '/d.img', append: 'lsm=bpf', timeoutMs: 1, consoleLog: '/c',
  }).join(' ');
  assert.match(a, /-accel tcg/);
  assert.doesNotMatch(a, /kvm/);
  // One vCPU: with two, TCG let a vCPU run kernel text the other was patching (guest oops on int3).
  assert.match(a, /-smp 1 /);
  assert.match(a, /local,path=\/,mount_tag=hostroot,security_model=none,readonly=on/);
  assert.match(a, /local,path=\/r,mount_tag=results,security_model=none(?!,readonly)/);
  assert.match(a, /-drive file=\/d\.img,if=virtio,format=raw/);
  assert.match(a, /-append console=ttyS0 lsm=bpf/);
});
