// Container identity from a cgroup path (pure: no file system access).
//
// Every runtime names the cgroup of a container after the container id, in one of a few shapes
// that depend on the runtime and on the cgroup driver (cgroupfs or systemd). The shapes below
// are the ones the runtimes write, not guesses from sample hosts; DESIGN §4 makes this module
// the one place that knows them. A path that matches none of them is a host cgroup (null).
//
// Paths are the ones in /proc/<pid>/cgroup for a reader in the host cgroup namespace, i.e.
// relative to the hierarchy root and starting with '/'.

/** Runtimes whose cgroup naming is recognised. */
export type PathRuntime = 'docker' | 'containerd' | 'cri-o' | 'podman' | 'lxc' | 'kubernetes' | 'unknown';

/** Kubernetes quality-of-service class, from the pod's parent cgroup. */
export type QosClass = 'guaranteed' | 'burstable' | 'besteffort';

/** What a cgroup path says about the container it belongs to. */
export interface CgroupContainerRef {
  /**
   * Runtime that named the cgroup. 'kubernetes' when the path only says "a container of a pod"
   * (kubelet cgroupfs driver: the engine is not in the name). 'unknown' for a bare 64-hex name
   * under a parent of no known runtime (docker `--cgroup-parent`, for instance).
   */
  readonly runtime: PathRuntime;
  readonly containerId: string;
  readonly podUid?: string;
  readonly qosClass?: QosClass;
  /** containerd namespace, from the cgroupfs shape `/<namespace>/<id>`. */
  readonly containerdNamespace?: string;
  /**
   * The container's own cgroup: the input path cut after the component that names the
   * container. Longer inputs are sub-cgroups inside the container (systemd or a nested runtime
   * in the container, podman's `libpod-<id>.scope/container`).
   */
  readonly containerPath: string;
  /** True when only the shape of the name suggests a container; runtime metadata must confirm it. */
  readonly inferred: boolean;
}

/** One line of /proc/<pid>/cgroup. */
export interface ProcCgroupEntry {
  /** Hierarchy id: 0 for the cgroup-v2 line. */
  readonly hierarchyId: number;
  /** Controllers bound to the hierarchy ('name=systemd' for a named one); empty for v2. */
  readonly controllers: readonly string[];
  readonly path: string;
}

const HEX64 = /^[0-9a-f]{64}$/;
// containerd accepts ids and namespaces of this shape (identifiers.Validate).
const CONTAINERD_IDENT = /^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$/;
// Namespaces where a non-hex id still names a container: the defaults of ctr/nerdctl and CRI.
const CONTAINERD_WELL_KNOWN_NS = new Set(['default', 'k8s.io']);
// Top-level cgroups that belong to the host or to a runtime with its own rule below.
const NOT_A_CONTAINERD_NS = new Set(['docker', 'kubepods', 'libpod_parent', 'lxc', 'machine', 'user', 'system']);

// systemd scope units, one per runtime; the conmon scopes hold the runtime's monitor process,
// which is a host process, so they end the search with "not a container".
const SCOPE_RULES: ReadonlyArray<{ re: RegExp; runtime: PathRuntime | null }> = [
  { re: /^crio-conmon-[0-9a-f]{64}\.scope$/, runtime: null },
  { re: /^libpod-conmon-[0-9a-f]{64}\.scope$/, runtime: null },
  { re: /^docker-([0-9a-f]{64})\.scope$/, runtime: 'docker' },
  { re: /^cri-containerd-([0-9a-f]{64})\.scope$/, runtime: 'containerd' },
  { re: /^crio-([0-9a-f]{64})\.scope$/, runtime: 'cri-o' },
  { re: /^libpod-([0-9a-f]{64})\.scope$/, runtime: 'podman' },
  { re: /^nerdctl-([0-9a-f]{64})\.scope$/, runtime: 'containerd' },
];

// kubelet's cgroup names. The systemd driver escapes '-' in the pod uid as '_'; kind and some
// distributions run the kubelet under a `kubelet.slice`, which prefixes every slice with
// `kubelet-`.
const KUBE_ROOT = /^(?:kubelet-)?kubepods(?:\.slice)?$/;
const KUBE_QOS_CGROUPFS = /^(burstable|besteffort)$/;
const KUBE_QOS_SYSTEMD = /^(?:kubelet-)?kubepods-(burstable|besteffort)\.slice$/;
const KUBE_POD_CGROUPFS = /^pod([0-9A-Fa-f][0-9A-Fa-f-]*)$/;
const KUBE_POD_SYSTEMD = /^(?:kubelet-)?kubepods(?:-(?:burstable|besteffort))?-pod([0-9A-Fa-f][0-9A-Fa-f_]*)\.slice$/;

/**
 * Parses /proc/<pid>/cgroup. A path may contain ':', so only the first two separate fields;
 * the kernel's " (deleted)" suffix for a removed v2 cgroup is dropped. Malformed lines are
 * skipped.
 */
export function parseProcCgroup(text: string): ProcCgroupEntry[] {
  const out: ProcCgroupEntry[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const c1 = line.indexOf(':');
    const c2 = c1 < 0 ? -1 : line.indexOf(':', c1 + 1);
    if (c2 < 0) continue;
    const idText = line.slice(0, c1);
    if (!/^\d+$/.test(idText)) continue;
    let path = line.slice(c2 + 1);
    if (path.endsWith(' (deleted)')) path = path.slice(0, -' (deleted)'.length);
    if (!path.startsWith('/')) continue;
    const ctrl = line.slice(c1 + 1, c2);
    out.push({ hierarchyId: Number(idText), controllers: ctrl === '' ? [] : ctrl.split(','), path });
  }
  return out;
}

/**
 * Maps a cgroup path to the container it belongs to, or null for a host cgroup. The outermost
 * container wins: in `/docker/<a>/docker/<b>` the task escapes from host container `<a>`, and
 * `<b>` is a detail inside it.
 */
export function parseCgroupPath(path: string): CgroupContainerRef | null {
  if (typeof path !== 'string' || !path.startsWith('/')) return null;
  const segs = path.split('/').filter((s) => s !== '');
  const prefix = (i: number): string => '/' + segs.slice(0, i + 1).join('/');

  let inKube = false;
  let qosClass: QosClass | undefined;
  let podUid: string | undefined;
  const pod = (): { podUid?: string; qosClass?: QosClass } =>
    podUid === undefined ? {} : { podUid, qosClass: qosClass ?? 'guaranteed' };

  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i]!;
    const parent = i > 0 ? segs[i - 1]! : undefined;

    for (const rule of SCOPE_RULES) {
      const m = rule.re.exec(seg);
      if (m === null) continue;
      if (rule.runtime === null) return null;
      return { runtime: rule.runtime, containerId: m[1]!, ...pod(), containerPath: prefix(i), inferred: false };
    }

    if (KUBE_ROOT.test(seg) && !inKube) {
      inKube = true;
      continue;
    }
    if (inKube && podUid === undefined) {
      let m = KUBE_QOS_SYSTEMD.exec(seg) ?? (parent !== undefined && KUBE_ROOT.test(parent) ? KUBE_QOS_CGROUPFS.exec(seg) : null);
      if (m !== null) {
        qosClass = m[1] as QosClass;
        continue;
      }
      m = KUBE_POD_SYSTEMD.exec(seg);
      if (m !== null) {
        podUid = m[1]!.replace(/_/g, '-');
        if (qosClass === undefined) qosClass = qosFromPodSlice(seg);
        continue;
      }
      m = KUBE_POD_CGROUPFS.exec(seg);
      if (m !== null) {
        podUid = m[1]!;
        continue;
      }
    }
    if (inKube && podUid !== undefined) {
      // kubelet cgroupfs driver: the engine names the container cgroup itself.
      let m = /^crio-([0-9a-f]{64})$/.exec(seg);
      if (m !== null) return { runtime: 'cri-o', containerId: m[1]!, ...pod(), containerPath: prefix(i), inferred: false };
      m = /^docker-([0-9a-f]{64})$/.exec(seg);
      if (m !== null) return { runtime: 'docker', containerId: m[1]!, ...pod(), containerPath: prefix(i), inferred: false };
      if (HEX64.test(seg)) return { runtime: 'kubernetes', containerId: seg, ...pod(), containerPath: prefix(i), inferred: false };
      // Anything else under a pod cgroup is not a container (kubelet creates nothing else there).
      return null;
    }

    // Docker cgroupfs driver: <cgroup-parent, default /docker>/<id>.
    if (parent === 'docker' && HEX64.test(seg)) {
      return { runtime: 'docker', containerId: seg, containerPath: prefix(i), inferred: false };
    }
    // podman cgroupfs driver: /libpod_parent/[<pod>/]libpod-<id>.
    const libpod = /^libpod-([0-9a-f]{64})$/.exec(seg);
    if (libpod !== null) return { runtime: 'podman', containerId: libpod[1]!, containerPath: prefix(i), inferred: false };
    // LXC 4+: lxc.payload.<name>; older LXC: /lxc/<name>.
    const lxc = /^lxc\.payload\.(.+)$/.exec(seg);
    if (lxc !== null) return { runtime: 'lxc', containerId: lxc[1]!, containerPath: prefix(i), inferred: false };
    if (i === 1 && parent === 'lxc' && /^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(seg)) {
      return { runtime: 'lxc', containerId: seg, containerPath: prefix(i), inferred: false };
    }
    // containerd cgroupfs default (ctr, nerdctl): /<namespace>/<id>.
    if (i === 1 && parent !== undefined && !NOT_A_CONTAINERD_NS.has(parent) && CONTAINERD_IDENT.test(parent) && !isUnitName(parent)) {
      if (CONTAINERD_WELL_KNOWN_NS.has(parent) ? CONTAINERD_IDENT.test(seg) && seg.length <= 76 : HEX64.test(seg)) {
        // A 64-hex id under an unknown parent may also be docker with --cgroup-parent.
        const inferred = !CONTAINERD_WELL_KNOWN_NS.has(parent);
        return { runtime: inferred ? 'unknown' : 'containerd', containerId: seg, containerdNamespace: parent, containerPath: prefix(i), inferred };
      }
    }
    // Any other 64-hex name that is not a systemd unit: a container of some runtime that used a
    // custom parent. Metadata decides.
    if (i > 0 && HEX64.test(seg) && parent !== undefined && !isUnitName(parent)) {
      return { runtime: 'unknown', containerId: seg, containerPath: prefix(i), inferred: true };
    }
  }
  return null;
}

function isUnitName(seg: string): boolean {
  return /\.(?:slice|scope|service|socket|mount|swap|target|device)$/.test(seg);
}

function qosFromPodSlice(seg: string): QosClass {
  if (seg.includes('-burstable-pod')) return 'burstable';
  if (seg.includes('-besteffort-pod')) return 'besteffort';
  return 'guaranteed';
}
