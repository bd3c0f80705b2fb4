// container_key -> container identity (DESIGN §4, pipeline stage "identify").
//
// The kernel reports a cgroup id; its cgroup directory carries the same number as st_ino (see
// cgroup-layout.ts). A miss is resolved from the hinted task's /proc/<pid>/cgroup, checked by
// stat because the task may have moved or exited and a pid can be reused, and failing that by a
// bounded walk of the key hierarchy. The path then gives runtime and id (cgroup-path.ts) and the
// runtime's state files give name, image and labels (runtime-metadata.ts).
//
// resolve() is synchronous and never throws: it runs on the event path, and an unnamed
// container is still reported with its key and runtime 'unknown'.

import { lstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import type { CgroupLayout } from './cgroup-layout.js';
import { keyCgroupPath } from './cgroup-layout.js';
import { parseCgroupPath } from './cgroup-path.js';
import type { CgroupContainerRef, PathRuntime } from './cgroup-path.js';
import { RuntimeMetadataReader } from './runtime-metadata.js';
import type { MetadataRoots, RuntimeMetadata } from './runtime-metadata.js';

export type RuntimeName = PathRuntime;

export interface ContainerIdentity {
  readonly key: bigint;
  /** 'unknown' when the key's cgroup is not a recognised container cgroup, or was not found. */
  readonly runtime: RuntimeName;
  readonly id?: string;
  readonly name?: string;
  readonly image?: string;
  readonly imageId?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly podUid?: string;
  readonly podName?: string;
  /** Kubernetes namespace of the pod. */
  readonly namespace?: string;
  /** The key's cgroup, relative to the key hierarchy's root. */
  readonly cgroupPath?: string;
  /** Docker --privileged, when the runtime records it. */
  readonly privileged?: boolean;
  /**
   * The container shares the host pid namespace, so the kernel can only tell it is a container
   * by its registered cgroup (DESIGN §4).
   */
  readonly hostPid?: boolean;
}

export interface IdentityResolverOptions {
  readonly layout: CgroupLayout;
  /** procfs mount; '/proc'. */
  readonly procDir?: string;
  readonly dockerRoot?: string;
  readonly containerdTaskRoots?: readonly string[];
  readonly crioRunRoot?: string;
  readonly storageRoot?: string;
  /** Most cgroup directories one walk visits. */
  readonly maxWalkDirs?: number;
  /** Deepest cgroup level one walk descends to (the root is level 0). */
  readonly maxWalkDepth?: number;
  /** Least time between two walks triggered by misses, in ms. */
  readonly minWalkIntervalMs?: number;
  /** How long a key that could not be found stays 'unknown' before it is looked up again, in ms. */
  readonly unknownTtlMs?: number;
  /** How long a container found without runtime metadata waits before metadata is read again, in ms. */
  readonly metadataRetryMs?: number;
  /** Most identities kept; the oldest are dropped first. */
  readonly maxCacheEntries?: number;
  /** Clock in ms, for tests. */
  readonly now?: () => number;
}

export interface IdentityResolverStats {
  readonly cacheEntries: number;
  readonly hits: number;
  readonly misses: number;
  /** Misses settled by the hinted pid's /proc/<pid>/cgroup. */
  readonly hintResolved: number;
  /** Misses settled by a hierarchy walk. */
  readonly walkResolved: number;
  readonly walks: number;
  /** Walks stopped by maxWalkDirs. */
  readonly walksTruncated: number;
  readonly unresolved: number;
}

interface CacheEntry {
  identity: ContainerIdentity;
  /** Undefined: valid until forget(). */
  expiresAt?: number;
}

interface WalkEntry {
  path: string;
  depth: number;
}

/** Maps container keys to container identities; see the file comment. */
export class IdentityResolver {
  readonly layout: CgroupLayout;
  private readonly procDir: string;
  private readonly metadata: RuntimeMetadataReader;
  private readonly maxWalkDirs: number;
  private readonly maxWalkDepth: number;
  private readonly minWalkIntervalMs: number;
  private readonly unknownTtlMs: number;
  private readonly metadataRetryMs: number;
  private readonly maxCacheEntries: number;
  private readonly now: () => number;
  private readonly cache = new Map<bigint, CacheEntry>();
  private index = new Map<bigint, string>();
  private lastWalkAt = Number.NEGATIVE_INFINITY;
  private counters = { hits: 0, misses: 0, hintResolved: 0, walkResolved: 0, walks: 0, walksTruncated: 0, unresolved: 0 };

  constructor(opts: IdentityResolverOptions) {
    if (typeof opts !== 'object' || opts === null) throw new TypeError(`expected an options object for IdentityResolver, got ${String(opts)}`);
    const layout = opts.layout;
    if (typeof layout !== 'object' || layout === null || typeof layout.keyDir !== 'string' || !layout.keyDir.startsWith('/')) {
      throw new TypeError(`expected a CgroupLayout with an absolute keyDir for layout, got ${JSON.stringify(layout)}`);
    }
    this.layout = layout;
    this.procDir = absPath(opts.procDir ?? '/proc', 'procDir');
    const roots: Partial<MetadataRoots> = {};
    if (opts.dockerRoot !== undefined) Object.assign(roots, { dockerRoot: absPath(opts.dockerRoot, 'dockerRoot') });
    if (opts.containerdTaskRoots !== undefined) {
      Object.assign(roots, { containerdTaskRoots: opts.containerdTaskRoots.map((r) => absPath(r, 'containerdTaskRoots')) });
    }
    if (opts.crioRunRoot !== undefined) Object.assign(roots, { crioRunRoot: absPath(opts.crioRunRoot, 'crioRunRoot') });
    if (opts.storageRoot !== undefined) Object.assign(roots, { storageRoot: absPath(opts.storageRoot, 'storageRoot') });
    this.metadata = new RuntimeMetadataReader(roots);
    this.maxWalkDirs = count(opts.maxWalkDirs ?? 20_000, 'maxWalkDirs');
    this.maxWalkDepth = count(opts.maxWalkDepth ?? 16, 'maxWalkDepth');
    this.minWalkIntervalMs = count(opts.minWalkIntervalMs ?? 250, 'minWalkIntervalMs');
    this.unknownTtlMs = count(opts.unknownTtlMs ?? 2_000, 'unknownTtlMs');
    this.metadataRetryMs = count(opts.metadataRetryMs ?? 2_000, 'metadataRetryMs');
    this.maxCacheEntries = count(opts.maxCacheEntries ?? 8_192, 'maxCacheEntries');
    this.now = opts.now ?? Date.now;
  }

  /**
   * The identity behind `key`. `hintPid` is a task the kernel saw with that key (the event's
   * tgid); it makes a miss cost one small read and one stat instead of a walk.
   */
  resolve(key: bigint, hintPid?: number): ContainerIdentity {
    const now = this.now();
    const hit = this.cache.get(key);
    if (hit !== undefined && (hit.expiresAt === undefined || hit.expiresAt > now)) {
      this.counters.hits++;
      return hit.identity;
    }
    this.counters.misses++;
    let path: string | undefined;
    try {
      path = this.findPath(key, hintPid, now);
    } catch {
      path = undefined; // a vanished directory mid-lookup is an ordinary race, not an error
    }
    if (path === undefined) {
      this.counters.unresolved++;
      const identity: ContainerIdentity = { key, runtime: 'unknown' };
      this.store(key, { identity, expiresAt: now + this.unknownTtlMs });
      return identity;
    }
    const { identity, complete } = this.identify(key, path);
    this.store(key, complete ? { identity } : { identity, expiresAt: now + this.metadataRetryMs });
    return identity;
  }

  /**
   * The kernel reported `key`'s cgroup path (a new cgroup): resolve from it without a walk. The
   * path is checked by stat like any other candidate.
   */
  learn(key: bigint, cgroupPath: string): ContainerIdentity {
    this.cache.delete(key);
    this.index.set(key, cgroupPath);
    return this.resolve(key);
  }

  /** Drops what is known about `key` (its cgroup was removed; ids are not reused, but memory is). */
  forget(key: bigint): void {
    this.cache.delete(key);
    this.index.delete(key);
  }

  /**
   * Every container cgroup in the key hierarchy now, sub-cgroups of containers included (their
   * tasks report their own key). A cgroup whose name only looks like a container id is listed
   * only when a runtime knows the id, because the list registers cgroups with the kernel as
   * container cgroups. The walk is bounded like any other.
   */
  listContainers(): ContainerIdentity[] {
    this.walk(this.now());
    const out: ContainerIdentity[] = [];
    // Sub-cgroups of one container share its metadata: read it once per call.
    const metaOf = new Map<string, RuntimeMetadata | undefined>();
    for (const [key, path] of this.index) {
      const ref = parseCgroupPath(path);
      if (ref === null) continue;
      let meta: RuntimeMetadata | undefined;
      if (metaOf.has(ref.containerPath)) {
        meta = metaOf.get(ref.containerPath);
      } else {
        meta = this.metadata.lookup(ref);
        metaOf.set(ref.containerPath, meta);
      }
      if (ref.inferred && meta === undefined) continue;
      const identity = buildIdentity(key, path, ref, meta);
      this.store(key, meta !== undefined ? { identity } : { identity, expiresAt: this.now() + this.metadataRetryMs });
      out.push(identity);
    }
    return out.sort((a, b) => (a.cgroupPath! < b.cgroupPath! ? -1 : a.cgroupPath! > b.cgroupPath! ? 1 : 0));
  }

  get stats(): IdentityResolverStats {
    return { cacheEntries: this.cache.size, ...this.counters };
  }

  private findPath(key: bigint, hintPid: number | undefined, now: number): string | undefined {
    if (hintPid !== undefined && Number.isInteger(hintPid) && hintPid > 0) {
      const p = this.pathFromPid(hintPid);
      if (p !== undefined && this.inoOf(p) === key) {
        this.counters.hintResolved++;
        return p;
      }
    }
    const known = this.index.get(key);
    if (known !== undefined && this.inoOf(known) === key) {
      this.counters.walkResolved++;
      return known;
    }
    if (now - this.lastWalkAt < this.minWalkIntervalMs) return undefined;
    this.walk(now);
    const found = this.index.get(key);
    if (found !== undefined) this.counters.walkResolved++;
    return found;
  }

  private pathFromPid(pid: number): string | undefined {
    let text: string;
    try {
      text = readFileSync(`${this.procDir}/${pid}/cgroup`, 'utf8');
    } catch {
      return undefined;
    }
    return keyCgroupPath(text, this.layout);
  }

  private dirOf(path: string): string {
    return path === '/' ? this.layout.keyDir : this.layout.keyDir + path;
  }

  // The hierarchy root may be reached through a symlink (CentOS links cpu -> cpu,cpuacct);
  // nothing below it is.
  private inoOf(path: string): bigint | undefined {
    try {
      const st = path === '/' ? statSync(this.layout.keyDir, { bigint: true }) : lstatSync(this.dirOf(path), { bigint: true });
      return st.isDirectory() ? st.ino : undefined;
    } catch {
      return undefined;
    }
  }

  // Breadth-first so that a truncated walk still covers the shallow levels, where container
  // cgroups sit. Dirent types come from getdents: a symlink is never taken for a directory.
  private walk(now: number): void {
    this.lastWalkAt = now;
    this.counters.walks++;
    const index = new Map<bigint, string>();
    const queue: WalkEntry[] = [{ path: '/', depth: 0 }];
    let visited = 0;
    for (let qi = 0; qi < queue.length; qi++) {
      if (visited >= this.maxWalkDirs) {
        this.counters.walksTruncated++;
        break;
      }
      const { path, depth } = queue[qi]!;
      const ino = this.inoOf(path);
      if (ino === undefined) continue;
      visited++;
      index.set(ino, path);
      if (depth >= this.maxWalkDepth) continue;
      let entries;
      try {
        entries = readdirSync(this.dirOf(path), { withFileTypes: true });
      } catch {
        continue;
      }
      for (const d of entries) {
        if (d.isDirectory()) queue.push({ path: path === '/' ? `/${d.name}` : `${path}/${d.name}`, depth: depth + 1 });
      }
    }
    this.index = index;
  }

  private identify(key: bigint, path: string): { identity: ContainerIdentity; complete: boolean } {
    const ref = parseCgroupPath(path);
    if (ref === null) return { identity: { key, runtime: 'unknown', cgroupPath: path }, complete: true };
    let meta: RuntimeMetadata | undefined;
    try {
      meta = this.metadata.lookup(ref);
    } catch {
      meta = undefined;
    }
    return { identity: buildIdentity(key, path, ref, meta), complete: meta !== undefined };
  }

  private store(key: bigint, entry: CacheEntry): void {
    this.cache.delete(key);
    this.cache.set(key, entry);
    while (this.cache.size > this.maxCacheEntries) {
      const oldest = this.cache.keys().next();
      if (oldest.done === true) break;
      this.cache.delete(oldest.value);
    }
  }
}

function buildIdentity(key: bigint, path: string, ref: CgroupContainerRef, meta: RuntimeMetadata | undefined): ContainerIdentity {
  const out: { -readonly [K in keyof ContainerIdentity]: ContainerIdentity[K] } = {
    key,
    runtime: meta?.runtime ?? ref.runtime,
    id: ref.containerId,
    cgroupPath: path,
  };
  const set = <K extends keyof ContainerIdentity>(k: K, v: ContainerIdentity[K] | undefined): void => {
    if (v !== undefined) out[k] = v;
  };
  set('name', meta?.name);
  set('image', meta?.image);
  set('imageId', meta?.imageId);
  set('labels', meta?.labels);
  set('podUid', meta?.podUid ?? ref.podUid);
  set('podName', meta?.podName);
  set('namespace', meta?.namespace);
  set('privileged', meta?.privileged);
  set('hostPid', meta?.hostPid);
  return out;
}

function absPath(p: string, what: string): string {
  if (typeof p !== 'string' || !p.startsWith('/')) throw new TypeError(`expected an absolute path for ${what}, got ${JSON.stringify(p)}`);
  return p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p;
}

function count(n: number, what: string): number {
  if (!Number.isFinite(n) || n < 0) throw new TypeError(`expected a non-negative number for ${what}, got ${String(n)}`);
  return n;
}
