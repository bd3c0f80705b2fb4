/**
 * Kernel objects of the host that rules compare against, found by their identity (device,
 * inode) rather than their path: the host's namespaces, the container runtimes' binaries and
 * sockets. Read from this daemon's own view, which must be the host's (ACES runs on the host).
 */
import { readdirSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { kernelDev } from './aces-object.js';

export const NS_TYPES = ['cgroup', 'ipc', 'mnt', 'net', 'pid', 'time', 'user', 'uts'] as const;

/** Namespace inode numbers of this process (the host's), by type. */
export function hostNamespaceInodes(procSelf = '/proc/self'): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of NS_TYPES) {
    try {
      const m = /\[(\d+)\]/.exec(readlinkSync(join(procSelf, 'ns', t)));
      if (m) out[t] = Number(m[1]);
    } catch {
      // a namespace type this kernel does not have (time before 5.6)
    }
  }
  return out;
}

export const RUNTIME_BINARY_NAMES = [
  'runc', 'crun', 'runsc', 'youki', 'containerd', 'containerd-shim', 'containerd-shim-runc-v1', 'containerd-shim-runc-v2',
  'dockerd', 'docker-init', 'docker-proxy', 'docker', 'ctr', 'nerdctl', 'crio', 'conmon', 'podman', 'kubelet',
  'buildkitd', 'k3s', 'rke2',
];
export const RUNTIME_BINARY_DIRS = [
  '/usr/bin', '/usr/sbin', '/usr/local/bin', '/usr/local/sbin', '/bin', '/sbin', '/usr/libexec/docker',
  '/usr/libexec/podman', '/usr/libexec/crio', '/opt/bin', '/var/lib/rancher/k3s/data/current/bin',
];
export const RUNTIME_SOCKET_PATHS = [
  '/run/docker.sock', '/var/run/docker.sock', '/run/containerd/containerd.sock', '/run/containerd/containerd.sock.ttrpc',
  '/var/run/containerd/containerd.sock', '/run/crio/crio.sock', '/var/run/crio/crio.sock', '/run/podman/podman.sock',
  '/var/run/podman/podman.sock', '/run/k3s/containerd/containerd.sock', '/run/cri-dockerd.sock',
  '/var/run/cri-dockerd.sock', '/run/buildkit/buildkitd.sock', '/run/docker/containerd/containerd.sock',
];

export interface FileIdentity {
  readonly path: string;
  readonly dev: number;
  readonly ino: bigint;
}

function identity(path: string, want: 'file' | 'socket'): FileIdentity | undefined {
  try {
    const st = statSync(path, { bigint: true });
    if (want === 'file' ? !st.isFile() : !st.isSocket()) return undefined;
    return { path: realpathSync(path), dev: kernelDev(st.dev), ino: st.ino };
  } catch {
    return undefined;
  }
}

function dedupe(list: (FileIdentity | undefined)[]): FileIdentity[] {
  const seen = new Map<string, FileIdentity>();
  for (const f of list) if (f) seen.set(`${f.dev}:${f.ino}`, f);
  return [...seen.values()];
}

/** Runtime binaries present on this host. */
export function runtimeBinaries(dirs = RUNTIME_BINARY_DIRS, names = RUNTIME_BINARY_NAMES): FileIdentity[] {
  return dedupe(dirs.flatMap((d) => names.map((n) => identity(join(d, n), 'file'))));
}

/** Runtime sockets present now, including rootless ones under /run/user/<uid>/. */
export function runtimeSockets(paths = RUNTIME_SOCKET_PATHS, runUser = '/run/user'): FileIdentity[] {
  const all = [...paths];
  try {
    for (const uid of readdirSync(runUser)) {
      all.push(join(runUser, uid, 'docker.sock'), join(runUser, uid, 'podman', 'podman.sock'));
    }
  } catch {
    // no per-user runtime dirs
  }
  return dedupe(all.map((p) => identity(p, 'socket')));
}
