// Container names, images and labels from the runtimes' on-disk state, with no socket or
// network call: the daemon must name containers even when a runtime is hung or compromised,
// and a sync read keeps identity resolution off the event loop's async machinery.
//
// Files read (all written by the runtime as root before the container's first process runs):
//   Docker      <dockerRoot>/containers/<id>/config.v2.json  (Name, Config.Image, Config.Labels)
//               <dockerRoot>/containers/<id>/hostconfig.json (Privileged, PidMode)
//   containerd  <task root>/<namespace>/<id>/config.json     (OCI spec of the bundle; CRI and
//               nerdctl annotations)
//   CRI-O       <runRoot>/overlay-containers/<id>/userdata/config.json (io.kubernetes.* annotations)
//   podman      <graphRoot>/overlay-containers/<id>/userdata/config.json, and for name and image
//               <graphRoot>/overlay-containers/containers.json (containers/storage's index)
// Rootless podman (state under $HOME) is out of scope. A missing or malformed file gives a
// partial answer; nothing here throws.

import { closeSync, constants as fsc, fstatSync, openSync, readdirSync, readSync } from 'node:fs';
import type { CgroupContainerRef } from './cgroup-path.js';

export type MetadataRuntime = 'docker' | 'containerd' | 'cri-o' | 'podman';

export interface RuntimeMetadata {
  readonly runtime: MetadataRuntime;
  readonly id: string;
  readonly name?: string;
  /** Image as the user named it ('nginx:1.25', 'docker.io/library/nginx:1.25'). */
  readonly image?: string;
  /** Content-addressed image id ('sha256:...'), when the runtime records it. */
  readonly imageId?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly podUid?: string;
  readonly podName?: string;
  /** Kubernetes namespace of the pod. */
  readonly namespace?: string;
  /** containerd namespace the container lives in. */
  readonly containerdNamespace?: string;
  /** True for a pod's sandbox (pause) container. */
  readonly sandbox?: boolean;
  /** Docker `--privileged`. */
  readonly privileged?: boolean;
  /** The container shares the host pid namespace (Docker `--pid=host`). */
  readonly hostPid?: boolean;
}

export interface MetadataRoots {
  /** Docker's data root. */
  readonly dockerRoot: string;
  /** containerd runtime-v2 task directories, each holding <namespace>/<id>/config.json. */
  readonly containerdTaskRoots: readonly string[];
  /** containers/storage run root used by CRI-O. */
  readonly crioRunRoot: string;
  /** containers/storage graph root used by podman (and CRI-O's containers.json). */
  readonly storageRoot: string;
}

export const DEFAULT_METADATA_ROOTS: MetadataRoots = {
  dockerRoot: '/var/lib/docker',
  containerdTaskRoots: [
    '/run/containerd/io.containerd.runtime.v2.task',
    // dockerd 20.10 started with its own containerd keeps the bundles here (namespace "moby").
    '/run/docker/containerd/daemon/io.containerd.runtime.v2.task',
  ],
  crioRunRoot: '/run/containers/storage',
  storageRoot: '/var/lib/containers/storage',
};

// Runtime state files are small; a multi-megabyte one is not a runtime's and is not parsed.
const MAX_JSON_BYTES = 4 * 1024 * 1024;
// containers.json lists every container of the store: allow more.
const MAX_INDEX_BYTES = 32 * 1024 * 1024;
// Ids go into paths: only the characters runtimes use, never '/' or a lone '..'.
const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

interface JsonFile {
  readonly value: unknown;
  readonly mtimeMs: number;
  readonly size: number;
}

/** Reads and parses a JSON file without following a symlink at its last component. */
function readJson(path: string, maxBytes = MAX_JSON_BYTES): JsonFile | undefined {
  let fd: number;
  try {
    fd = openSync(path, fsc.O_RDONLY | fsc.O_NOFOLLOW);
  } catch {
    return undefined;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.size > maxBytes) return undefined;
    const buf = Buffer.allocUnsafe(st.size);
    let off = 0;
    while (off < st.size) {
      const n = readSync(fd, buf, off, st.size - off, off);
      if (n === 0) break;
      off += n;
    }
    return { value: JSON.parse(buf.subarray(0, off).toString('utf8')) as unknown, mtimeMs: st.mtimeMs, size: st.size };
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

function obj(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function stringMap(v: unknown): Record<string, string> | undefined {
  const o = obj(v);
  if (o === undefined) return undefined;
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(o)) if (typeof val === 'string') out[k] = val;
  return out;
}

// Drops undefined fields so that results compare cleanly and serialise without noise.
function compact<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

// kubelet's container labels (also Docker labels under dockershim / cri-dockerd).
const K8S_POD_NAME = 'io.kubernetes.pod.name';
const K8S_POD_NAMESPACE = 'io.kubernetes.pod.namespace';
const K8S_POD_UID = 'io.kubernetes.pod.uid';
const K8S_CONTAINER_NAME = 'io.kubernetes.container.name';
const K8S_DOCKER_TYPE = 'io.kubernetes.docker.type';

/**
 * Identity from Docker's config.v2.json and (optionally) hostconfig.json contents. A container
 * that kubelet created through dockershim or cri-dockerd carries its pod in labels.
 */
export function metadataFromDockerConfig(id: string, configV2: unknown, hostConfig?: unknown): RuntimeMetadata {
  const c = obj(configV2) ?? {};
  const cfg = obj(c['Config']) ?? {};
  const labels = stringMap(cfg['Labels']);
  const hc = obj(hostConfig);
  const rawName = str(c['Name']);
  const name = labels?.[K8S_CONTAINER_NAME] ?? (rawName?.startsWith('/') ? rawName.slice(1) : rawName);
  const pidMode = hc !== undefined ? str(hc['PidMode']) : undefined;
  return compact<RuntimeMetadata>({
    runtime: 'docker',
    id,
    name,
    image: str(cfg['Image']),
    imageId: str(c['Image']),
    labels: labels !== undefined && Object.keys(labels).length > 0 ? labels : undefined,
    podUid: labels?.[K8S_POD_UID],
    podName: labels?.[K8S_POD_NAME],
    namespace: labels?.[K8S_POD_NAMESPACE],
    sandbox: labels?.[K8S_DOCKER_TYPE] === 'podsandbox' ? true : undefined,
    privileged: hc !== undefined && typeof hc['Privileged'] === 'boolean' ? hc['Privileged'] : undefined,
    hostPid: pidMode !== undefined ? pidMode === 'host' : hc !== undefined ? false : undefined,
  });
}

/** OCI-spec annotation keys the runtimes write, grouped by writer. */
const CRI_CONTAINERD = {
  type: 'io.kubernetes.cri.container-type',
  name: 'io.kubernetes.cri.container-name',
  image: 'io.kubernetes.cri.image-name',
  podName: 'io.kubernetes.cri.sandbox-name',
  podNamespace: 'io.kubernetes.cri.sandbox-namespace',
  podUid: 'io.kubernetes.cri.sandbox-uid',
} as const;
const CRIO = {
  type: 'io.kubernetes.cri-o.ContainerType',
  image: 'io.kubernetes.cri-o.ImageName',
  imageId: 'io.kubernetes.cri-o.Image',
  labels: 'io.kubernetes.cri-o.Labels',
  manager: 'io.container.manager',
} as const;
const NERDCTL_PREFIX = 'nerdctl/';
// Annotation prefixes that are runtime bookkeeping rather than user labels.
const BOOKKEEPING_PREFIXES = ['nerdctl/', 'io.kubernetes.', 'io.containerd.', 'org.opencontainers.', 'io.container.manager', 'io.podman.'];

/**
 * Identity from an OCI runtime spec (a bundle's config.json), by the annotations its writer
 * leaves: containerd's CRI plugin, CRI-O, nerdctl, podman. `runtime` says whose bundle it is.
 */
export function metadataFromOciSpec(id: string, runtime: MetadataRuntime, spec: unknown): RuntimeMetadata {
  const a = stringMap(obj(spec)?.['annotations']) ?? {};
  const base = { runtime, id } as const;

  if (a[CRI_CONTAINERD.type] !== undefined) {
    const sandbox = a[CRI_CONTAINERD.type] === 'sandbox';
    return compact<RuntimeMetadata>({
      ...base,
      name: a[CRI_CONTAINERD.name],
      image: a[CRI_CONTAINERD.image],
      podName: a[CRI_CONTAINERD.podName],
      namespace: a[CRI_CONTAINERD.podNamespace],
      podUid: a[CRI_CONTAINERD.podUid] ?? a[K8S_POD_UID],
      sandbox: sandbox ? true : undefined,
    });
  }
  if (a[CRIO.type] !== undefined || a[CRIO.manager] === 'cri-o') {
    let labels: Record<string, string> | undefined;
    try {
      labels = a[CRIO.labels] !== undefined ? stringMap(JSON.parse(a[CRIO.labels]!)) : undefined;
    } catch {
      labels = undefined;
    }
    return compact<RuntimeMetadata>({
      ...base,
      name: a[K8S_CONTAINER_NAME] ?? labels?.[K8S_CONTAINER_NAME],
      image: a[CRIO.image],
      imageId: a[CRIO.imageId],
      labels: labels !== undefined && Object.keys(labels).length > 0 ? labels : undefined,
      podName: a[K8S_POD_NAME] ?? labels?.[K8S_POD_NAME],
      namespace: a[K8S_POD_NAMESPACE] ?? labels?.[K8S_POD_NAMESPACE],
      podUid: a[K8S_POD_UID] ?? labels?.[K8S_POD_UID],
      sandbox: a[CRIO.type] === 'sandbox' ? true : undefined,
    });
  }
  // nerdctl copies its own labels into the annotations; other annotations are the user's.
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(a)) {
    if (!BOOKKEEPING_PREFIXES.some((p) => k.startsWith(p))) labels[k] = v;
  }
  return compact<RuntimeMetadata>({
    ...base,
    name: a[`${NERDCTL_PREFIX}name`],
    containerdNamespace: a[`${NERDCTL_PREFIX}namespace`],
    labels: Object.keys(labels).length > 0 ? labels : undefined,
  });
}

/** One entry of containers/storage's containers.json, reduced to what names a container. */
export interface StorageContainer {
  readonly id: string;
  readonly names: readonly string[];
  readonly imageId?: string;
  readonly imageName?: string;
  readonly name?: string;
  readonly podName?: string;
  readonly namespace?: string;
  readonly podUid?: string;
}

/**
 * Parses containers/storage's containers.json: an array of {id, names, image, metadata}, where
 * metadata is a JSON string written by podman or CRI-O (RuntimeContainerMetadata: "image-name",
 * "name", and for CRI-O "pod-name", "namespace", "uid").
 */
export function parseStorageContainers(value: unknown): Map<string, StorageContainer> {
  const out = new Map<string, StorageContainer>();
  if (!Array.isArray(value)) return out;
  for (const e of value) {
    const o = obj(e);
    const id = str(o?.['id']);
    if (o === undefined || id === undefined) continue;
    let meta: Record<string, unknown> = {};
    const rawMeta = str(o['metadata']);
    if (rawMeta !== undefined) {
      try {
        meta = obj(JSON.parse(rawMeta)) ?? {};
      } catch {
        meta = {};
      }
    }
    const names = Array.isArray(o['names']) ? o['names'].filter((n): n is string => typeof n === 'string') : [];
    out.set(id, compact<StorageContainer>({
      id,
      names,
      imageId: str(o['image']),
      imageName: str(meta['image-name']),
      name: str(meta['name']) ?? names[0],
      podName: str(meta['pod-name']),
      namespace: str(meta['namespace']),
      podUid: str(meta['uid']),
    }));
  }
  return out;
}

/**
 * Looks containers up in the runtimes' state directories. Holds only a cache of the parsed
 * containers.json index, refreshed when the file changes.
 */
export class RuntimeMetadataReader {
  readonly roots: MetadataRoots;
  private storageIndex: { mtimeMs: number; size: number; map: Map<string, StorageContainer> } | undefined;

  constructor(roots: Partial<MetadataRoots> = {}) {
    this.roots = { ...DEFAULT_METADATA_ROOTS, ...roots };
  }

  /** Docker's own files for `id`, or undefined when Docker does not know it. */
  docker(id: string): RuntimeMetadata | undefined {
    if (!SAFE_ID.test(id)) return undefined;
    const dir = `${this.roots.dockerRoot}/containers/${id}`;
    const config = readJson(`${dir}/config.v2.json`);
    if (config === undefined) return undefined;
    return metadataFromDockerConfig(id, config.value, readJson(`${dir}/hostconfig.json`)?.value);
  }

  /**
   * containerd's bundle for `id`. With no namespace, 'k8s.io' and 'default' are tried first,
   * then every namespace directory.
   */
  containerd(id: string, namespace?: string): RuntimeMetadata | undefined {
    if (!SAFE_ID.test(id) || (namespace !== undefined && !SAFE_ID.test(namespace))) return undefined;
    for (const root of this.roots.containerdTaskRoots) {
      const namespaces = namespace !== undefined ? [namespace] : this.namespacesOf(root);
      for (const ns of namespaces) {
        const spec = readJson(`${root}/${ns}/${id}/config.json`);
        if (spec === undefined) continue;
        const m = metadataFromOciSpec(id, 'containerd', spec.value);
        return m.containerdNamespace !== undefined ? m : { ...m, containerdNamespace: ns };
      }
    }
    return undefined;
  }

  /** CRI-O's bundle for `id`. */
  crio(id: string): RuntimeMetadata | undefined {
    if (!SAFE_ID.test(id)) return undefined;
    const spec = readJson(`${this.roots.crioRunRoot}/overlay-containers/${id}/userdata/config.json`);
    if (spec === undefined) return undefined;
    const m = metadataFromOciSpec(id, 'cri-o', spec.value);
    const s = this.storageEntry(id);
    return compact<RuntimeMetadata>({
      ...m,
      name: m.name ?? s?.name,
      image: m.image ?? s?.imageName,
      podName: m.podName ?? s?.podName,
      namespace: m.namespace ?? s?.namespace,
      podUid: m.podUid ?? s?.podUid,
    });
  }

  /** podman's bundle and storage entry for `id`. */
  podman(id: string): RuntimeMetadata | undefined {
    if (!SAFE_ID.test(id)) return undefined;
    const spec = readJson(`${this.roots.storageRoot}/overlay-containers/${id}/userdata/config.json`);
    const s = this.storageEntry(id);
    if (spec === undefined && s === undefined) return undefined;
    // podman's OCI annotations carry neither name nor labels (its labels live in its own
    // database), so the bundle only confirms that the container exists.
    return compact<RuntimeMetadata>({
      runtime: 'podman',
      id,
      name: s?.name,
      image: s?.imageName,
      imageId: s?.imageId,
    });
  }

  /**
   * Metadata for the container a cgroup path names. The path's runtime is tried first; when it
   * is only a guess ('kubernetes', 'unknown', or a containerd-shaped path that Docker created
   * with --cgroup-parent) the other runtimes are asked in turn.
   */
  lookup(ref: CgroupContainerRef): RuntimeMetadata | undefined {
    const id = ref.containerId;
    switch (ref.runtime) {
      case 'docker':
        return this.docker(id);
      case 'cri-o':
        return this.crio(id);
      case 'podman':
        return this.podman(id);
      case 'containerd':
        return this.containerd(id, ref.containerdNamespace) ??
          (ref.containerdNamespace !== undefined ? this.containerd(id) : undefined);
      case 'kubernetes':
        return this.containerd(id, 'k8s.io') ?? this.crio(id) ?? this.docker(id) ?? this.containerd(id);
      case 'unknown':
        return this.docker(id) ??
          (ref.containerdNamespace !== undefined ? this.containerd(id, ref.containerdNamespace) : undefined) ??
          this.containerd(id) ?? this.crio(id) ?? this.podman(id);
      case 'lxc':
        return undefined;
    }
  }

  private namespacesOf(root: string): string[] {
    let names: string[];
    try {
      names = readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
    } catch {
      return [];
    }
    const first = ['k8s.io', 'default', 'moby'].filter((n) => names.includes(n));
    return [...first, ...names.filter((n) => !first.includes(n) && SAFE_ID.test(n)).sort()];
  }

  private storageEntry(id: string): StorageContainer | undefined {
    const path = `${this.roots.storageRoot}/overlay-containers/containers.json`;
    const cached = this.storageIndex;
    let st: { mtimeMs: number; size: number } | undefined;
    try {
      const fd = openSync(path, fsc.O_RDONLY | fsc.O_NOFOLLOW);
      try {
        const s = fstatSync(fd);
        st = { mtimeMs: s.mtimeMs, size: s.size };
      } finally {
        closeSync(fd);
      }
    } catch {
      this.storageIndex = undefined;
      return undefined;
    }
    if (cached === undefined || cached.mtimeMs !== st.mtimeMs || cached.size !== st.size) {
      const f = readJson(path, MAX_INDEX_BYTES);
      if (f === undefined) return undefined;
      this.storageIndex = { mtimeMs: f.mtimeMs, size: f.size, map: parseStorageContainers(f.value) };
    }
    return this.storageIndex?.map.get(id);
  }
}
