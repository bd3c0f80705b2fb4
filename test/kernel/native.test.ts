/**
 * The native addon against this kernel: open/load, map bytes, attach, ring buffer delivery,
 * iterators, cgroup attach, and the error paths. Needs root, clang and a built addon.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { KernelError } from '../../src/kernel/kernel-error.js';
import { BPF_NOEXIST, loadNative, nativePath, type NativeAddon } from '../../src/kernel/native.js';
import { splitRecords } from '../../src/kernel/ringbuf-batch.js';
import { patience } from '../helpers/root.js';

const BPF_MAP_TYPE_HASH = 1;
const BPF_MAP_TYPE_PERCPU_ARRAY = 6;
const EEXIST = 17;
const ENOENT = 2;
const MAGIC = 0xace5;

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'binding.gyp'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('binding.gyp not found above the test');
    dir = up;
  }
  return dir;
}

function skipReason(): string | false {
  if (process.getuid?.() !== 0) return 'needs root: loads BPF programs';
  if (spawnSync('clang', ['--version']).status !== 0) return 'needs clang to build the fixture';
  if (!existsSync('/sys/kernel/btf/vmlinux')) return 'needs kernel BTF (/sys/kernel/btf/vmlinux)';
  return false;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}

function u64(n: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(n);
  return b;
}

function must<T>(v: T | null | undefined, what: string): T {
  if (v === null || v === undefined) throw new assert.AssertionError({ message: `${what} is missing` });
  return v;
}

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: patience(60_000) });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} failed:\n${r.stderr}`);
}

/** Asserts that fn throws a KernelError with this code and returns it. */
function throwsKernel(fn: () => unknown, code: string): KernelError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof KernelError, `expected a KernelError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    assert.ok(err.errno > 0, `errno of ${err.code} should be positive`);
    assert.ok(err.call.length > 0);
    return err;
  }
  assert.fail(`expected ${code}, nothing was thrown`);
}

/** Collects ring-buffer batches and lets the test wait for a record. */
class Records {
  readonly batches: Buffer[][] = [];
  private waiter: (() => void) | undefined;

  // The batch buffer is reused by the next drain: keep a copy.
  readonly cb = (batch: Buffer, length: number): void => {
    this.batches.push(splitRecords(Buffer.from(batch.subarray(0, length))));
    this.waiter?.();
  };

  all(): Buffer[] {
    return this.batches.flat();
  }

  async waitFor(pred: (r: Buffer) => boolean, ms = 5000): Promise<Buffer> {
    const deadline = Date.now() + ms;
    for (;;) {
      const hit = this.all().find(pred);
      if (hit) return hit;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching ring-buffer record within ${ms} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = undefined;
    }
  }
}

function cgroupV2Mount(): string | undefined {
  for (const line of readFileSync('/proc/self/mounts', 'utf8').split('\n')) {
    const f = line.split(' ');
    if (f[2] === 'cgroup2' && f[1] !== undefined) return f[1];
  }
  return undefined;
}

test('native addon over libbpf', { skip: skipReason(), timeout: 180_000 }, async (t) => {
  const root = repoRoot();
  const work = mkdtempSync(join(tmpdir(), 'aces-native-'));
  const n: NativeAddon = loadNative();
  const objects: number[] = [];
  const links: number[] = [];
  const rings: number[] = [];
  const cgroups: string[] = [];
  t.after(() => {
    for (const id of rings) n.ringbufClose(id);
    for (const id of links) n.detach(id);
    for (const h of objects) n.close(h);
    for (const dir of cgroups) if (existsSync(dir)) rmdirSync(dir);
    rmSync(work, { recursive: true, force: true });
  });
  const open = (path: string): number => {
    const h = n.open(path);
    objects.push(h);
    return h;
  };

  // The shared bpf/build/vmlinux.h when `make -C bpf vmlinux` ran, else a private copy.
  const includes = ['-I', join(root, 'bpf', 'build'), '-I', join(root, 'bpf')];
  if (!existsSync(join(root, 'bpf', 'build', 'vmlinux.h'))) {
    const r = spawnSync('bpftool', ['btf', 'dump', 'file', '/sys/kernel/btf/vmlinux', 'format', 'c'], {
      maxBuffer: 256 << 20,
      timeout: 60_000,
    });
    assert.equal(r.status, 0, `bpftool btf dump failed: ${String(r.stderr)}`);
    writeFileSync(join(work, 'vmlinux.h'), r.stdout);
    includes.unshift('-I', work);
  }
  const obj = join(work, 'native-fixture.bpf.o');
  run('clang', [
    '-g', '-O2', '-target', 'bpf', '-D__TARGET_ARCH_x86', '-Wall', '-Werror', ...includes,
    '-c', join(root, 'test', 'fixtures', 'bpf', 'native-fixture.bpf.c'), '-o', obj,
  ]);
  // getppid() on demand (argv[1] times, default once): the helper blocks on stdin so the test
  // can filter on its pid first.
  const helper = join(work, 'getppid');
  writeFileSync(
    `${helper}.c`,
    '#include <stdlib.h>\n#include <unistd.h>\n#include <sys/syscall.h>\n' +
      'int main(int argc, char **argv) { char c; long n = argc > 1 ? atol(argv[1]) : 1;\n' +
      '  if (read(0, &c, 1) != 1) return 2; while (n-- > 0) syscall(SYS_getppid); return 0; }\n',
  );
  run('clang', ['-O2', '-o', helper, `${helper}.c`]);

  const callGetppid = async (h: number, times = 1, cpu?: number): Promise<number> => {
    // taskset execs the helper: the pid stays the same.
    const child = cpu === undefined
      ? spawn(helper, [String(times)], { stdio: ['pipe', 'ignore', 'inherit'] })
      : spawn('taskset', ['-c', String(cpu), helper, String(times)], { stdio: ['pipe', 'ignore', 'inherit'] });
    const pid = must(child.pid, 'helper pid');
    n.mapUpdate(h, 'fx_filter', u32(0), u32(pid));
    child.stdin.end('x');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    const [code] = (await once(child, 'exit')) as [number | null];
    clearTimeout(timer);
    assert.equal(code, 0, 'the getppid helper did not finish');
    return pid;
  };

  const ncpus = n.numPossibleCpus();
  assert.ok(Number.isInteger(ncpus) && ncpus >= 1);

  const h = open(obj);

  await t.test('programs() lists every program with its section', () => {
    const progs = n.programs(h);
    assert.deepEqual(
      progs.map((p) => p.name).sort(),
      ['fx_bad', 'fx_bad_long', 'fx_getppid', 'fx_iter', 'fx_sysctl'],
    );
    assert.equal(progs.find((p) => p.name === 'fx_getppid')?.section, 'tracepoint/syscalls/sys_enter_getppid');
    assert.equal(progs.find((p) => p.name === 'fx_sysctl')?.section, 'cgroup/sysctl');
  });

  await t.test('setConst writes a load-time constant and checks name and size', () => {
    const err = throwsKernel(() => n.setConst(h, 'cfg_magic', Buffer.alloc(3)), 'ACES_E_KERNEL_ARG');
    assert.match(err.message, /^expected a Buffer of 4 bytes for cfg_magic, got a Buffer of 3 bytes$/);
    throwsKernel(() => n.setConst(h, 'no_such_var', u32(1)), 'ACES_E_KERNEL_ARG');
    throwsKernel(() => n.setConst(h, 'fx_hash', u32(1)), 'ACES_E_KERNEL_ARG');
    n.setConst(h, 'cfg_magic', u32(MAGIC));
  });

  await t.test('map operations need a loaded object', () => {
    throwsKernel(() => n.mapLookup(h, 'fx_hash', u32(1)), 'ACES_E_KERNEL_STATE');
    throwsKernel(() => n.attach(h, 'fx_getppid'), 'ACES_E_KERNEL_STATE');
  });

  await t.test('load', () => {
    n.load(h);
    throwsKernel(() => n.setAutoload(h, 'fx_bad', true), 'ACES_E_KERNEL_STATE');
    throwsKernel(() => n.setConst(h, 'cfg_magic', u32(1)), 'ACES_E_KERNEL_STATE');
    throwsKernel(() => n.load(h), 'ACES_E_KERNEL_STATE');
    // The constant reached the kernel's frozen .rodata.
    assert.deepEqual(n.mapLookup(h, '.rodata', u32(0)), u32(MAGIC));
    // fx_bad kept autoload off, so it has no fd and cannot be attached.
    throwsKernel(() => n.attach(h, 'fx_bad'), 'ACES_E_KERNEL_STATE');
  });

  await t.test('mapInfo', () => {
    assert.deepEqual(n.mapInfo(h, 'fx_hash'), {
      type: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 8, maxEntries: 16, perCpu: false,
    });
    assert.deepEqual(n.mapInfo(h, 'fx_percpu'), {
      type: BPF_MAP_TYPE_PERCPU_ARRAY, keySize: 4, valueSize: 12, maxEntries: 4, perCpu: true,
    });
    const err = throwsKernel(() => n.mapInfo(h, 'nope'), 'ACES_E_KERNEL_ARG');
    assert.match(err.message, /^expected the name of a map in the object for map name, got "nope"$/);
  });

  await t.test('hash map round trip', () => {
    assert.equal(n.mapLookup(h, 'fx_hash', u32(7)), null);
    n.mapUpdate(h, 'fx_hash', u32(7), u64(42n));
    n.mapUpdate(h, 'fx_hash', u32(9), u64(1n << 40n));
    assert.deepEqual(n.mapLookup(h, 'fx_hash', u32(7)), u64(42n));
    assert.deepEqual(
      n.mapKeys(h, 'fx_hash').map((k) => k.readUInt32LE(0)).sort((a, b) => a - b),
      [7, 9],
    );
    const exists = throwsKernel(() => n.mapUpdate(h, 'fx_hash', u32(7), u64(1n), BPF_NOEXIST), 'ACES_E_KERNEL_MAP');
    assert.equal(exists.errno, EEXIST);
    assert.equal(exists.call, 'bpf_map__update_elem');
    assert.deepEqual(n.mapLookup(h, 'fx_hash', u32(7)), u64(42n));
    assert.equal(n.mapDelete(h, 'fx_hash', u32(7)), true);
    assert.equal(n.mapDelete(h, 'fx_hash', u32(7)), false);
    assert.equal(n.mapLookup(h, 'fx_hash', u32(7)), null);
    assert.deepEqual(n.mapKeys(h, 'fx_hash'), [u32(9)]);
    assert.equal(n.mapDelete(h, 'fx_hash', u32(9)), true);
    assert.deepEqual(n.mapKeys(h, 'fx_hash'), []);

    const bad = throwsKernel(() => n.mapLookup(h, 'fx_hash', Buffer.alloc(3)), 'ACES_E_KERNEL_ARG');
    assert.equal(bad.message, 'expected a Buffer of 4 bytes for key of map fx_hash, got a Buffer of 3 bytes');
    throwsKernel(() => n.mapUpdate(h, 'fx_hash', u32(1), Buffer.alloc(4)), 'ACES_E_KERNEL_ARG');
    throwsKernel(() => n.mapUpdate(h, 'fx_hash', u32(1), u64(1n), -1), 'ACES_E_KERNEL_ARG');
    // The addon is called from TypeScript, but it must still refuse what the types forbid.
    const untyped = n as unknown as Record<string, (...a: unknown[]) => unknown>;
    const notBuf = throwsKernel(() => untyped['mapLookup']!(h, 'fx_hash', 'abcd'), 'ACES_E_KERNEL_ARG');
    assert.equal(notBuf.message, 'expected a Buffer for key, got "abcd"');
  });

  await t.test('per-CPU values are ncpus * roundup(valueSize, 8) bytes', () => {
    const stride = 16;
    const zero = must(n.mapLookup(h, 'fx_percpu', u32(1)), 'fx_percpu[1]');
    assert.equal(zero.length, ncpus * stride);
    assert.ok(zero.every((b) => b === 0));
    const v = Buffer.alloc(ncpus * stride);
    for (let cpu = 0; cpu < ncpus; cpu++) {
      v.writeUInt32LE(100 + cpu, cpu * stride);
      v.writeUInt32LE(200 + cpu, cpu * stride + 4);
      v.writeUInt32LE(300 + cpu, cpu * stride + 8);
    }
    n.mapUpdate(h, 'fx_percpu', u32(1), v);
    assert.deepEqual(n.mapLookup(h, 'fx_percpu', u32(1)), v);
    throwsKernel(() => n.mapUpdate(h, 'fx_percpu', u32(1), Buffer.alloc(12)), 'ACES_E_KERNEL_ARG');
    assert.equal(n.mapKeys(h, 'fx_percpu').length, 4);
    // An array element cannot be deleted: the kernel's EINVAL comes back as a map error.
    assert.equal(throwsKernel(() => n.mapDelete(h, 'fx_percpu', u32(1)), 'ACES_E_KERNEL_MAP').errno, 22);
  });

  await t.test('attach, ring-buffer delivery, consume without wakeup, detach', async () => {
    const recs = new Records();
    throwsKernel(() => n.ringbufOpen(h, 'fx_hash', recs.cb), 'ACES_E_KERNEL_ARG');
    const rb = n.ringbufOpen(h, 'fx_events', recs.cb);
    rings.push(rb);
    const link = n.attach(h, 'fx_getppid');
    links.push(link);

    const pid = await callGetppid(h);
    const rec = await recs.waitFor((r) => r.readUInt32LE(0) === pid);
    assert.equal(rec.length, 16);
    assert.equal(rec.readUInt32LE(4), MAGIC);
    assert.equal(rec.readBigUInt64LE(8), 1n);
    assert.ok(recs.batches.every((b) => Array.isArray(b) && b.length > 0));

    const perCpu = must(n.mapLookup(h, 'fx_percpu', u32(0)), 'fx_percpu[0]');
    let hits = 0;
    for (let cpu = 0; cpu < ncpus; cpu++) hits += perCpu.readUInt32LE(cpu * 16);
    assert.equal(hits, 1);

    // BPF_RB_NO_WAKEUP: the poll stays quiet, ringbufConsume finds the record. The epoll fd
    // is level-triggered, so first let the loop poll once more and see the ring empty.
    await new Promise((r) => setTimeout(r, 50));
    n.mapUpdate(h, 'fx_filter', u32(1), u32(1));
    const before = recs.all().length;
    const quiet = await callGetppid(h);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(recs.all().length, before, 'a no-wakeup record must not wake the poll');
    assert.equal(n.ringbufConsume(rb), 1);
    assert.equal(recs.all().length, before + 1);
    assert.equal(recs.all().at(-1)?.readUInt32LE(0), quiet);
    assert.equal(n.ringbufConsume(rb), 0);
    n.mapUpdate(h, 'fx_filter', u32(1), u32(0));

    n.detach(link);
    n.detach(link);
    await callGetppid(h);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(n.ringbufConsume(rb), 0);
    assert.equal(recs.all().length, before + 1, 'no record once detached');

    n.ringbufClose(rb);
    n.ringbufClose(rb);
    throwsKernel(() => n.ringbufConsume(rb), 'ACES_E_KERNEL_HANDLE');
  });

  await t.test('a backlog of several batches: every record in ring order, one reused batch buffer, a nested consume defers to the running drain', async () => {
    const RECORDS = 9000; // 24 framed bytes each: about 210 KiB, four 64 KiB batches
    const seen: { tgid: number; hits: bigint }[] = [];
    const buffers = new Set<Buffer>();
    const lengths: number[] = [];
    let nested: number | undefined;
    let copyOfFirst: Buffer | undefined;
    let firstAfterNested: Buffer | undefined;
    const rb = n.ringbufOpen(h, 'fx_events', (batch, length) => {
      buffers.add(batch);
      lengths.push(length);
      const records = splitRecords(batch.subarray(0, length));
      if (nested === undefined) {
        // Asked from inside the callback (the daemon drains after a breach event): it must
        // not refill the batch this call is reading.
        copyOfFirst = Buffer.from(batch.subarray(0, length));
        nested = n.ringbufConsume(rb);
        firstAfterNested = Buffer.from(batch.subarray(0, length));
      }
      for (const r of records) seen.push({ tgid: r.readUInt32LE(0), hits: r.readBigUInt64LE(8) });
    });
    rings.push(rb);
    const link = n.attach(h, 'fx_getppid');
    links.push(link);
    await new Promise((r) => setTimeout(r, 50));
    n.mapUpdate(h, 'fx_filter', u32(1), u32(1)); // no wakeup: only ringbufConsume() sees them
    const pid = await callGetppid(h, RECORDS, 0); // one CPU: its counter numbers the records
    n.mapUpdate(h, 'fx_filter', u32(1), u32(0));
    n.detach(link);
    assert.equal(seen.length, 0, 'no-wakeup records must wait for ringbufConsume');

    assert.equal(n.ringbufConsume(rb), RECORDS);
    assert.equal(nested, 0, 'a consume from inside the callback hands nothing over itself');
    assert.deepEqual(firstAfterNested, copyOfFirst, 'the nested consume left the batch being read alone');
    assert.equal(seen.length, RECORDS);
    assert.ok(seen.every((r) => r.tgid === pid));
    const first = seen[0]!.hits;
    assert.ok(seen.every((r, i) => r.hits === first + BigInt(i)), 'records arrive in ring order, none twice or lost');
    assert.ok(lengths.length >= 3, `${lengths.length} batches for ${RECORDS} records`);
    assert.ok(lengths.every((l) => l > 0 && l <= 64 * 1024 + 24), `batch lengths ${lengths.join(',')}`);
    assert.equal(buffers.size, 1, 'every drain reuses the ring\'s one batch buffer');
    assert.equal(n.ringbufConsume(rb), 0);
    n.ringbufClose(rb);
  });

  await t.test('an exception in the ring-buffer callback reaches the caller of ringbufConsume', async () => {
    const rb = n.ringbufOpen(h, 'fx_events', () => {
      throw new Error('from callback');
    });
    rings.push(rb);
    const link = n.attach(h, 'fx_getppid');
    links.push(link);
    n.mapUpdate(h, 'fx_filter', u32(1), u32(1));
    await callGetppid(h);
    n.mapUpdate(h, 'fx_filter', u32(1), u32(0));
    n.detach(link);
    assert.throws(() => n.ringbufConsume(rb), /from callback/);
    n.ringbufClose(rb);
  });

  await t.test('iterRead returns what an iter/ program wrote', () => {
    n.mapUpdate(h, 'fx_filter', u32(0), u32(process.pid));
    const link = n.attach(h, 'fx_iter');
    links.push(link);
    assert.deepEqual(n.iterRead(link), u32(process.pid));
    n.detach(link);
    throwsKernel(() => n.iterRead(link), 'ACES_E_KERNEL_HANDLE');
  });

  await t.test('attachCgroup denies sysctl access inside the cgroup only', { skip: cgroupV2Mount() === undefined && 'no cgroup2 mount' }, async () => {
    const mount = cgroupV2Mount() as string;
    const cg = join(mount, `aces-native-test-${process.pid}`);
    mkdirSync(cg);
    cgroups.push(cg);
    const inCgroup = (): ReturnType<typeof spawnSync> =>
      spawnSync('/bin/sh', ['-c', `echo $$ > ${cg}/cgroup.procs && exec cat /proc/sys/kernel/ostype`], {
        encoding: 'utf8',
        timeout: 10_000,
      });

    const missing = throwsKernel(() => n.attachCgroup(h, 'fx_sysctl', join(cg, 'missing')), 'ACES_E_KERNEL_ATTACH');
    assert.equal(missing.errno, ENOENT);

    const link = n.attachCgroup(h, 'fx_sysctl', cg);
    links.push(link);
    const denied = inCgroup();
    assert.notEqual(denied.status, 0);
    assert.match(String(denied.stderr), /Operation not permitted/);
    assert.equal(readFileSync('/proc/sys/kernel/ostype', 'utf8').trim(), 'Linux');
    n.detach(link);
    const allowed = inCgroup();
    assert.equal(allowed.status, 0, String(allowed.stderr));
    assert.equal(String(allowed.stdout).trim(), 'Linux');
    rmdirSync(cg);
  });

  await t.test('a verifier failure throws ACES_E_KERNEL_LOAD with the verifier log', () => {
    const bad = open(obj);
    n.setAutoload(bad, 'fx_bad', true);
    const err = throwsKernel(() => n.load(bad), 'ACES_E_KERNEL_LOAD');
    assert.equal(err.call, 'bpf_object__load');
    assert.equal(err.name, 'KernelError');
    const log = must(err.log, 'KernelError.log');
    assert.ok(log.length > 0 && log.length <= 16 * 1024);
    assert.match(log, /BEGIN PROG LOAD LOG/);
    assert.match(log, /invalid mem access 'map_value_or_null'/);
    throwsKernel(() => n.load(bad), 'ACES_E_KERNEL_STATE');
    n.close(bad);
  });

  await t.test('a verifier log longer than 16 KiB keeps its tail', () => {
    const bad = open(obj);
    n.setAutoload(bad, 'fx_bad_long', true);
    const log = must(throwsKernel(() => n.load(bad), 'ACES_E_KERNEL_LOAD').log, 'KernelError.log');
    assert.ok(log.length <= 16 * 1024, `log is ${log.length} bytes`);
    assert.ok(log.length > 8 * 1024, `log is only ${log.length} bytes`);
    assert.ok(log.startsWith('...\n'), 'a cut log starts with a marker');
    assert.doesNotMatch(log, /BEGIN PROG LOAD LOG/);
    assert.match(log, /invalid mem access 'map_value_or_null'/);
    assert.match(log, /failed to load object/);
    n.close(bad);
  });

  await t.test('open errors', () => {
    assert.equal(throwsKernel(() => n.open(join(work, 'missing.o')), 'ACES_E_KERNEL_OPEN').errno, ENOENT);
    writeFileSync(join(work, 'not-elf.o'), 'not an ELF file');
    throwsKernel(() => n.open(join(work, 'not-elf.o')), 'ACES_E_KERNEL_OPEN');
    throwsKernel(() => n.open(''), 'ACES_E_KERNEL_ARG');
  });

  await t.test('bad handles and arguments', () => {
    const untyped = n as unknown as Record<string, (...a: unknown[]) => unknown>;
    throwsKernel(() => n.programs(1_000_000), 'ACES_E_KERNEL_HANDLE');
    throwsKernel(() => n.close(1_000_000), 'ACES_E_KERNEL_HANDLE');
    throwsKernel(() => n.detach(1_000_000), 'ACES_E_KERNEL_HANDLE');
    throwsKernel(() => n.ringbufClose(1_000_000), 'ACES_E_KERNEL_HANDLE');
    throwsKernel(() => n.ringbufConsume(1_000_000), 'ACES_E_KERNEL_HANDLE');
    const frac = throwsKernel(() => n.programs(1.5), 'ACES_E_KERNEL_ARG');
    assert.equal(frac.message, 'expected a positive integer id for object handle, got 1.5');
    throwsKernel(() => untyped['programs']!('1'), 'ACES_E_KERNEL_ARG');
    throwsKernel(() => untyped['programs']!(), 'ACES_E_KERNEL_ARG');
    throwsKernel(() => n.setAutoload(h, 'nope', true), 'ACES_E_KERNEL_ARG');
    throwsKernel(() => untyped['setAutoload']!(h, 'fx_bad', 1), 'ACES_E_KERNEL_ARG');
    throwsKernel(() => untyped['ringbufOpen']!(h, 'fx_events', 42), 'ACES_E_KERNEL_ARG');
    throwsKernel(() => n.mapInfo(h, 'fx\0hash'), 'ACES_E_KERNEL_ARG');

    const gone = n.open(obj);
    n.close(gone);
    n.close(gone);
    throwsKernel(() => n.programs(gone), 'ACES_E_KERNEL_HANDLE');
    throwsKernel(() => n.mapInfo(gone, 'fx_hash'), 'ACES_E_KERNEL_HANDLE');
  });

  await t.test('close destroys the links and ring buffers the caller left behind', async () => {
    const loadedCopies = (): number => {
      const r = spawnSync('bpftool', ['-j', 'prog', 'show', 'name', 'fx_getppid'], {
        encoding: 'utf8',
        timeout: 10_000,
      });
      assert.equal(r.status, 0, r.stderr);
      const parsed: unknown = JSON.parse(r.stdout || '[]');
      return Array.isArray(parsed) ? parsed.length : 1;
    };
    const before = loadedCopies();
    const h2 = n.open(obj);
    n.load(h2);
    const rb = n.ringbufOpen(h2, 'fx_events', () => {});
    const link = n.attach(h2, 'fx_getppid');
    assert.equal(loadedCopies(), before + 1);
    n.close(h2);
    n.close(h2);
    n.detach(link);
    n.ringbufClose(rb);
    throwsKernel(() => n.ringbufConsume(rb), 'ACES_E_KERNEL_HANDLE');
    // The kernel frees a program after its last reference on a work queue: poll briefly.
    for (let i = 0; i < 50 && loadedCopies() !== before; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(loadedCopies(), before, 'the link left attached must die with its object');
  });

  await t.test('a closed ring buffer does not keep the process alive; teardown closes open ones', () => {
    const nativeUrl = pathToFileURL(join(root, 'dist', 'src', 'kernel', 'native.js')).href;
    const workerFile = join(work, 'ringbuf-worker.mjs');
    writeFileSync(
      workerFile,
      `import { parentPort } from 'node:worker_threads';
      import { native } from ${JSON.stringify(nativeUrl)};
      const h = native.open(${JSON.stringify(obj)});
      native.load(h);
      native.ringbufOpen(h, 'fx_events', () => {});
      parentPort.postMessage('open');
      `,
    );
    const mainFile = join(work, 'ringbuf-main.mjs');
    writeFileSync(
      mainFile,
      `import { Worker } from 'node:worker_threads';
      import { native } from ${JSON.stringify(nativeUrl)};
      const h = native.open(${JSON.stringify(obj)});
      native.load(h);
      const rb = native.ringbufOpen(h, 'fx_events', () => {});
      native.ringbufClose(rb);
      native.close(h);
      // This worker never closes its ring buffer: environment teardown must close it.
      const w = new Worker(${JSON.stringify(workerFile)});
      w.on('message', () => void w.terminate());
      w.on('exit', () => console.log('worker gone'));
      `,
    );
    const r = spawnSync(process.execPath, [mainFile], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.error, undefined, 'the child did not exit on its own');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'worker gone');
  });

  assert.ok(existsSync(nativePath()));
});
