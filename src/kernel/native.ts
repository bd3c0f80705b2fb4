/**
 * The only importer of the native addon (build/Release/aces_native.node).
 *
 * The addon is a byte pump over libbpf: ids instead of pointers, raw bytes in and out,
 * no decoding and no policy. Every failure is thrown as a {@link KernelError}.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { KernelError } from './kernel-error.js';

/** Id of an open BPF object. */
export type ObjectHandle = number;
/** Id of an attached link. */
export type LinkId = number;
/** Id of an open ring buffer reader. */
export type RingbufId = number;

export interface ProgramInfo {
  name: string;
  /** ELF section, e.g. `tracepoint/syscalls/sys_enter_getppid` (`?` marks autoload off). */
  section: string;
}

export interface MapInfo {
  /** `enum bpf_map_type` value. */
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  /** Lookups return `numPossibleCpus() * roundup(valueSize, 8)` bytes. */
  perCpu: boolean;
}

/**
 * One drain of a ring buffer: `batch[0, length)` holds framed records in ring order, split by
 * {@link splitRecords} (ringbuf-batch.ts). `batch` is the ring's one batch buffer, reused by the
 * next drain: it is valid only during the call, so copy what you keep. A `ringbufConsume()` of the
 * same ring from inside the callback only asks the running drain to go on after the call.
 */
export type RingbufCallback = (batch: Buffer, length: number) => void;

/** Flags of {@link NativeAddon.mapUpdate}, as in linux/bpf.h. */
export const BPF_ANY = 0;
export const BPF_NOEXIST = 1;
export const BPF_EXIST = 2;

export interface NativeAddon {
  /** Registers the class the addon throws; done by {@link loadNative}. */
  setErrorClass(ctor: typeof KernelError): void;
  /** bpf_object__open_file. Throws ACES_E_KERNEL_OPEN. */
  open(path: string): ObjectHandle;
  programs(h: ObjectHandle): ProgramInfo[];
  /** Before load only (ACES_E_KERNEL_STATE after). */
  setAutoload(h: ObjectHandle, prog: string, on: boolean): void;
  /**
   * Writes the initial bytes of a global variable (`const volatile cfg_x`) before load;
   * the value must be exactly the variable's size.
   */
  setConst(h: ObjectHandle, name: string, value: Uint8Array): void;
  /** bpf_object__load. Throws ACES_E_KERNEL_LOAD with `log` holding the verifier output. */
  load(h: ObjectHandle): void;
  /** bpf_program__attach (by section: tracepoint, tp_btf, raw_tp, lsm, ...). */
  attach(h: ObjectHandle, prog: string): LinkId;
  /** bpf_program__attach_cgroup on the cgroup directory (cgroup v2). */
  attachCgroup(h: ObjectHandle, prog: string, cgroupDirPath: string): LinkId;
  /** bpf_link__destroy; a second call with the same id does nothing. */
  detach(link: LinkId): void;
  /**
   * Runs a BPF iterator once (bpf_iter_create on an `iter/` link, read to EOF) and returns
   * what the program wrote with bpf_seq_write/BPF_SEQ_PRINTF. Throws ACES_E_KERNEL_ITER.
   */
  iterRead(link: LinkId): Buffer;
  mapInfo(h: ObjectHandle, map: string): MapInfo;
  /** null when the key is absent. */
  mapLookup(h: ObjectHandle, map: string, key: Uint8Array): Buffer | null;
  mapUpdate(h: ObjectHandle, map: string, key: Uint8Array, value: Uint8Array, flags?: number): void;
  /** false when the key was absent. */
  mapDelete(h: ObjectHandle, map: string, key: Uint8Array): boolean;
  mapKeys(h: ObjectHandle, map: string): Buffer[];
  /**
   * Delivers ring-buffer records on the event loop, one call per drain. The reader keeps
   * the process alive until {@link NativeAddon.ringbufClose}.
   */
  ringbufOpen(h: ObjectHandle, map: string, cb: RingbufCallback): RingbufId;
  /**
   * Drains what is in the ring now (records written with BPF_RB_NO_WAKEUP do not wake the
   * poll) through the same callback, synchronously, in batches; returns the record count. Called
   * from inside that callback it returns 0 and the running drain goes on after the call.
   */
  ringbufConsume(id: RingbufId): number;
  /** A second call with the same id does nothing. */
  ringbufClose(id: RingbufId): void;
  /** bpf_object__close; also destroys its remaining links and ring buffers. Idempotent. */
  close(h: ObjectHandle): void;
  numPossibleCpus(): number;
}

const ADDON_FUNCTIONS: readonly (keyof NativeAddon)[] = [
  'setErrorClass',
  'open',
  'programs',
  'setAutoload',
  'setConst',
  'load',
  'attach',
  'attachCgroup',
  'detach',
  'iterRead',
  'mapInfo',
  'mapLookup',
  'mapUpdate',
  'mapDelete',
  'mapKeys',
  'ringbufOpen',
  'ringbufConsume',
  'ringbufClose',
  'close',
  'numPossibleCpus',
];

const ENOENT = 2;

/** The directory holding binding.gyp: src/kernel from sources, dist/src/kernel once compiled. */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'binding.gyp'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) {
      throw new KernelError(
        'ACES_E_KERNEL_ADDON',
        `native addon not found: no binding.gyp above ${fileURLToPath(import.meta.url)}`,
        { errno: ENOENT, call: 'require' },
      );
    }
    dir = parent;
  }
}

/** Absolute path of the addon file this module loads. */
export function nativePath(): string {
  return join(packageRoot(), 'build', 'Release', 'aces_native.node');
}

let loaded: NativeAddon | undefined;

/**
 * Loads the addon once and returns it. Throws KernelError ACES_E_KERNEL_ADDON when the
 * addon is not built, cannot be loaded, or is older than this file.
 */
export function loadNative(): NativeAddon {
  if (loaded) return loaded;
  const path = nativePath();
  if (!existsSync(path)) {
    throw new KernelError('ACES_E_KERNEL_ADDON', `native addon not built: run npm run build (${path} is missing)`, {
      errno: ENOENT,
      call: 'require',
    });
  }
  let mod: unknown;
  try {
    mod = createRequire(import.meta.url)(path);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    throw new KernelError('ACES_E_KERNEL_ADDON', `native addon failed to load (${path}): ${msg}`, {
      call: 'require',
      cause: err,
    });
  }
  const missing = ADDON_FUNCTIONS.filter(
    (name) => typeof (mod as Record<string, unknown> | null)?.[name] !== 'function',
  );
  if (missing.length > 0) {
    throw new KernelError(
      'ACES_E_KERNEL_ADDON',
      `native addon is out of date (missing ${missing.join(', ')}): run npm run build`,
      { call: 'require' },
    );
  }
  const addon = mod as NativeAddon;
  addon.setErrorClass(KernelError);
  loaded = addon;
  return addon;
}

/**
 * The addon, loaded on first use: importing this module never fails, so code that only
 * needs types or pure helpers runs without a build; the first call throws
 * ACES_E_KERNEL_ADDON if the addon is missing.
 */
export const native: NativeAddon = new Proxy({} as NativeAddon, {
  get(_target, prop) {
    return Reflect.get(loadNative(), prop);
  },
  has(_target, prop) {
    return Reflect.has(loadNative(), prop);
  },
});
