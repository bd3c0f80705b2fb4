/**
 * The loaded ACES object: loads the programs a tier plan asks for, writes the compiled policy
 * into maps, attaches, and owns every link. Attach is all or nothing: a failure detaches what
 * was attached and closes the object, so nothing is left half-attached.
 */
import { statSync } from 'node:fs';
import { native } from './native.js';
import { splitRecords } from './ringbuf-batch.js';
import { bpfObjectPath } from './object-paths.js';
import { programSpec } from './program-catalog.js';
import {
  aces_config, aces_file_key, aces_offender, aces_offender_key, aces_rule_cfg, type RawConfig, type RawOffender,
} from '../wire/records.js';
import {
  ACES_NAME_LEN, DROP_MAX, DROP_NAMES, FILTER_SALT_EXEMPT, FILTER_SALT_SYSCTL, FILTER_SALT_SYSCTL_BASE, OFFENDER_CONTAINER, OFFENDER_PROCESS,
  RULE_MAX,
} from '../wire/constants.js';
import { baseNameFilterId, filterBytes, nameFilterId } from './presence-filter.js';

export interface RuleMapEntry {
  readonly id: number;
  readonly enabled: boolean;
  readonly level: number;
  readonly action: number;
  /** TIER_* the plan chose for the rule: only that tier's hooks judge it. 0 (default): any hook. */
  readonly tier?: number;
}

export interface OffenderRecord {
  readonly kind: 'process' | 'container';
  readonly id: bigint;
  readonly firstNs: bigint;
  readonly lastNs: bigint;
  readonly count: number;
  readonly rule: number;
  readonly level: number;
}

function u64Key(v: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(v);
  return b;
}

/** Kernel-internal dev_t (MKDEV: major << 20 | minor) from a stat() st_dev (new_encode_dev). */
export function kernelDev(stDev: number | bigint): number {
  const d = BigInt(stDev);
  const major = Number(((d >> 8n) & 0xfffn) | ((d >> 32n) & ~0xfffn));
  const minor = Number((d & 0xffn) | ((d >> 12n) & ~0xffn));
  return ((major << 20) | minor) >>> 0;
}

export class AcesObject {
  private links = new Map<string, number>();
  private ringbufId: number | undefined;
  private closed = false;
  /** Keys with an "exempt" entry: the bits of "exempt_filter". */
  private readonly exemptKeys = new Set<bigint>();
  /** Filter ids of the "ns_sysctls" names written so far: the bits of "ns_sysctl_filter". */
  private readonly nsSysctlIds = new Set<bigint>();
  /** Filter ids of the base names written so far (FILTER_SALT_SYSCTL_BASE bits of the same filter). */
  private readonly nsSysctlBaseIds = new Set<bigint>();

  private constructor(private readonly h: number, readonly programs: readonly string[]) {}

  /** Open and load the object with exactly these programs. */
  static load(programs: readonly string[], path = bpfObjectPath('aces')): AcesObject {
    const h = native.open(path);
    try {
      const wanted = new Set(programs);
      for (const p of native.programs(h)) native.setAutoload(h, p.name, wanted.has(p.name));
      native.load(h);
    } catch (err) {
      native.close(h);
      throw err;
    }
    return new AcesObject(h, programs);
  }

  /** Attach every loaded program except lazy ones. All or nothing. */
  attachAll(cgroupV2Path: string | undefined): void {
    try {
      for (const name of this.programs) {
        const spec = programSpec(name);
        if (spec.attach === 'lazy') continue;
        if (spec.attach === 'cgroup-v2') {
          if (!cgroupV2Path) throw new Error(`program ${name} needs a cgroup2 mount`);
          this.links.set(name, native.attachCgroup(this.h, name, cgroupV2Path));
        } else {
          this.links.set(name, native.attach(this.h, name));
        }
      }
    } catch (err) {
      this.detachAll();
      throw err;
    }
  }

  attachLazy(name: string): void {
    if (this.links.has(name)) return;
    this.links.set(name, native.attach(this.h, name));
  }

  detach(name: string): void {
    const id = this.links.get(name);
    if (id === undefined) return;
    this.links.delete(name);
    native.detach(id);
  }

  isAttached(name: string): boolean {
    return this.links.has(name);
  }

  attachedPrograms(): string[] {
    return [...this.links.keys()];
  }

  detachAll(): void {
    for (const name of [...this.links.keys()]) this.detach(name);
  }

  /** Run the task iterator that announces containers already running. Returns when done. */
  seedRunningContainers(): void {
    const link = native.attach(this.h, 'iter_seed_tasks');
    try {
      native.iterRead(link);
    } finally {
      native.detach(link);
    }
  }

  writeConfig(cfg: RawConfig): void {
    native.mapUpdate(this.h, 'aces_cfg', Buffer.alloc(4), aces_config.encode(cfg));
  }

  /**
   * Read-modify-write of "aces_cfg". The kernel sets quarantine_on itself (quarantine_container,
   * right after it puts a container in "quarantine"); had it done so between our read and our
   * write, the write would shut the gate again and the quarantined container's tasks would live
   * on. So a write that leaves the gate shut looks at "quarantine" afterwards and opens the gate
   * again if a container is in it (a container put there later sets the flag itself).
   */
  updateConfig(patch: Partial<RawConfig>): RawConfig {
    let cfg = { ...this.readConfig(), ...patch } as RawConfig;
    this.writeConfig(cfg);
    if (!cfg.quarantine_on && this.quarantinedContainers().length > 0) {
      cfg = { ...cfg, quarantine_on: 1 };
      this.writeConfig(cfg);
    }
    return cfg;
  }

  readConfig(): RawConfig {
    const v = native.mapLookup(this.h, 'aces_cfg', Buffer.alloc(4));
    if (!v) throw new Error('aces_cfg has no element 0');
    return aces_config.decode(v);
  }

  writeRules(rules: readonly RuleMapEntry[]): void {
    for (const r of rules) {
      if (r.id <= 0 || r.id >= RULE_MAX) throw new Error(`rule id ${r.id} outside 1..${RULE_MAX - 1}`);
      const key = Buffer.alloc(4);
      key.writeUInt32LE(r.id);
      native.mapUpdate(this.h, 'rule_cfg', key, aces_rule_cfg.encode({
        enabled: r.enabled ? 1 : 0, level: r.level, action: r.action, tier: r.tier ?? 0, pad1: 0,
      }));
    }
  }

  /**
   * Names a container may write (namespaced sysctls), as bpf_sysctl_get_name spells them, and
   * the base names for which bpf/sysctl.bpf.c must read the full name before its verdict
   * (namespaced-sysctls.ts). The filter bits go in first (presence-filter.ts).
   */
  writeNamespacedSysctls(names: readonly string[], baseNames: readonly string[]): void {
    const keys = names.map((n) => {
      if (Buffer.byteLength(n) >= ACES_NAME_LEN) throw new Error(`sysctl name too long: ${n}`);
      const key = Buffer.alloc(ACES_NAME_LEN);
      key.write(n);
      return key;
    });
    for (const key of keys) this.nsSysctlIds.add(nameFilterId(key));
    for (const n of [...names, ...baseNames]) this.nsSysctlBaseIds.add(baseNameFilterId(n));
    native.mapUpdate(this.h, 'ns_sysctl_filter', Buffer.alloc(4),
      filterBytes(this.nsSysctlIds, FILTER_SALT_SYSCTL, [this.nsSysctlBaseIds, FILTER_SALT_SYSCTL_BASE]));
    for (const key of keys) native.mapUpdate(this.h, 'ns_sysctls', key, Buffer.from([1]));
  }

  /** Inode numbers of the host's namespaces (setns-host). */
  writeHostNamespaces(inums: readonly number[]): void {
    for (const n of inums) {
      const k = Buffer.alloc(4);
      k.writeUInt32LE(n);
      native.mapUpdate(this.h, 'host_ns', k, Buffer.from([1]));
    }
  }

  /** Replace the runtime binaries and sockets (kind RUNTIME_*) the kernel compares against. */
  setRuntimeObjects(entries: readonly { kind: number; dev: number; ino: bigint }[]): void {
    const want = new Map(entries.map((e) => {
      const k = aces_file_key.encode({ kind: e.kind, dev: e.dev, ino: e.ino });
      return [k.toString('hex'), k] as const;
    }));
    for (const k of native.mapKeys(this.h, 'runtime_objs')) {
      if (!want.has(k.toString('hex'))) native.mapDelete(this.h, 'runtime_objs', k);
    }
    for (const k of want.values()) native.mapUpdate(this.h, 'runtime_objs', k, Buffer.from([1]));
  }

  /**
   * A container's exemption mask (0: none). The filter bit is set before the entry is added and
   * cleared after it is gone: a hook that finds the bit clear may skip the lookup.
   */
  setExemptMask(containerKey: bigint, mask: bigint): void {
    const key = u64Key(containerKey);
    if (mask === 0n) {
      native.mapDelete(this.h, 'exempt', key);
      if (this.exemptKeys.delete(containerKey)) this.writeExemptFilter();
      return;
    }
    if (!this.exemptKeys.has(containerKey)) {
      this.exemptKeys.add(containerKey);
      this.writeExemptFilter();
    }
    native.mapUpdate(this.h, 'exempt', key, u64Key(mask));
  }

  private writeExemptFilter(): void {
    native.mapUpdate(this.h, 'exempt_filter', Buffer.alloc(4), filterBytes(this.exemptKeys, FILTER_SALT_EXEMPT));
  }

  registerHostPidContainer(containerKey: bigint): void {
    const v = Buffer.alloc(4);
    v.writeUInt32LE(1);
    native.mapUpdate(this.h, 'host_ctrs', u64Key(containerKey), v);
  }

  unregisterHostPidContainer(containerKey: bigint): boolean {
    return native.mapDelete(this.h, 'host_ctrs', u64Key(containerKey));
  }

  quarantinedContainers(): bigint[] {
    return native.mapKeys(this.h, 'quarantine').map((k) => k.readBigUInt64LE(0));
  }

  liftQuarantine(containerKey: bigint): boolean {
    return native.mapDelete(this.h, 'quarantine', u64Key(containerKey));
  }

  forgetContainer(containerKey: bigint): void {
    native.mapDelete(this.h, 'known_ctrs', u64Key(containerKey));
  }

  offenders(): OffenderRecord[] {
    const out: OffenderRecord[] = [];
    for (const k of native.mapKeys(this.h, 'offenders')) {
      const v = native.mapLookup(this.h, 'offenders', k);
      if (!v) continue;
      const key = aces_offender_key.decode(k);
      const rec: RawOffender = aces_offender.decode(v);
      out.push({
        kind: key.kind === OFFENDER_PROCESS ? 'process' : 'container',
        id: key.id, firstNs: rec.first_ns, lastNs: rec.last_ns, count: rec.count, rule: rec.rule, level: rec.level,
      });
    }
    return out;
  }

  deleteOffender(kind: 'process' | 'container', id: bigint): boolean {
    return native.mapDelete(this.h, 'offenders', aces_offender_key.encode({
      kind: kind === 'process' ? OFFENDER_PROCESS : OFFENDER_CONTAINER, pad0: 0, id,
    }));
  }

  /** Sum of the per-CPU drop counters, by reason. */
  drops(): Record<string, bigint> {
    const out: Record<string, bigint> = {};
    for (let i = 0; i < DROP_MAX; i++) {
      const key = Buffer.alloc(4);
      key.writeUInt32LE(i);
      const v = native.mapLookup(this.h, 'drops', key);
      let sum = 0n;
      if (v) for (let off = 0; off + 8 <= v.length; off += 8) sum += v.readBigUInt64LE(off);
      out[DROP_NAMES[i] ?? `reason_${i}`] = sum;
    }
    return out;
  }

  openEvents(cb: (records: Buffer[]) => void): void {
    if (this.ringbufId !== undefined) throw new Error('events already open');
    // The records are views into the ring's reused batch buffer: the pipeline decodes (copies)
    // each one before the callback returns.
    this.ringbufId = native.ringbufOpen(this.h, 'events', (batch, length) => cb(splitRecords(batch.subarray(0, length))));
  }

  /** Drain records written without a wakeup. */
  drainEvents(): number {
    return this.ringbufId === undefined ? 0 : native.ringbufConsume(this.ringbufId);
  }

  /** Bytes of kernel memory the maps take (max_entries x (key + value) as an upper bound). */
  mapMemoryBytes(): number {
    let total = 0;
    for (const m of ['events', 'aces_cfg', 'rule_cfg', 'exempt', 'host_ctrs', 'setup_tasks', 'offenders',
      'quarantine', 'kill_pending', 'known_ctrs', 'ctr_fs', 'ns_sysctls', 'mount_args', 'drops', 'seq_counter',
      'umh_scripts', 'connect_fds', 'host_ns', 'runtime_objs', 'offender_filter', 'exempt_filter', 'setup_count', 'ns_sysctl_filter',
      'alert_rate', 'dev_checks']) {
      const i = native.mapInfo(this.h, m);
      total += i.type === 27 /* RINGBUF */ ? i.maxEntries : i.maxEntries * (i.keySize + i.valueSize * (i.perCpu ? native.numPossibleCpus() : 1));
    }
    return total;
  }

  /** Shutdown order: detach links, close the ring buffer, close the object. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.detachAll();
    if (this.ringbufId !== undefined) {
      native.ringbufClose(this.ringbufId);
      this.ringbufId = undefined;
    }
    native.close(this.h);
  }
}

/** The host root ("/") as the kernel names it: never recorded as a container root. */
export function hostRootIdentity(): { dev: number; ino: bigint } {
  const st = statSync('/', { bigint: true });
  return { dev: kernelDev(st.dev), ino: st.ino };
}
