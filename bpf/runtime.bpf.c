/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Container-runtime sockets: a container connecting to docker.sock, containerd.sock, crio.sock
 * or podman.sock can start a privileged container of its own.
 *
 * Hook: syscalls/sys_exit_connect (and io_uring IORING_OP_CONNECT, uring.bpf.c). The connected
 * AF_UNIX socket's peer carries the path of the listening socket it reached; its inode
 * (device, inode number) is looked up among the runtime sockets user space registered, so the
 * socket's path inside the container (a bind mount at any name, /proc/<pid>/root/...) does not
 * matter. The caller dies before it can send a request. On BPF LSM kernels unix_stream_connect
 * (lsm.bpf.c) refuses the connection itself, whatever the route (io_uring too).
 * Minimum kernel: 4.x.
 */

#define AF_UNIX 1
#define S_IFSOCK 0140000

/* A container task t connecting to (lsm.bpf.c: unix_stream_connect, before) or connected to
 * (tracepoints: after) the AF_UNIX socket peer: a registered runtime socket? Returns the
 * VERDICT_*. */
static __always_inline int judge_unix_peer(struct task_struct *t, struct aces_config *cfg,
					   struct unix_sock *peer, __u64 ts, __u8 via, __u32 hook)
{
	if (!peer)
		return VERDICT_NONE;
	struct dentry *d = BPF_CORE_READ(peer, path.dentry);
	if (!d)
		return VERDICT_NONE; /* abstract or unbound */
	struct aces_file_key fk = {
		.kind = RUNTIME_SOCKET,
		.dev = BPF_CORE_READ(d, d_sb, s_dev),
		.ino = BPF_CORE_READ(d, d_inode, i_ino),
	};
	if (!bpf_map_lookup_elem(&runtime_objs, &fk))
		return VERDICT_NONE;
	struct aces_event ev = { .flags = via, .obj_dev = fk.dev, .obj_ino = fk.ino };
	dentry_name(d, ev.name, sizeof(ev.name));
	return container_event(&ev, t, cfg, ts, RULE_RUNTIME_SOCKET, hook);
}

/* f is the task's file behind the fd of a connected socket. */
static __always_inline void judge_connected(struct task_struct *t, struct file *f, __u64 ts, __u8 via)
{
	struct aces_config *cfg = get_config();

	if (!f || !cfg || !task_is_container(t, cfg))
		return;
	if ((BPF_CORE_READ(f, f_inode, i_mode) & S_IFMT) != S_IFSOCK)
		return;
	struct socket *sock = BPF_CORE_READ(f, private_data);
	struct sock *sk = BPF_CORE_READ(sock, sk);
	if (!sk || BPF_CORE_READ(sk, __sk_common.skc_family) != AF_UNIX)
		return;
	judge_unix_peer(t, cfg, (void *)BPF_CORE_READ((struct unix_sock *)sk, peer), ts, via, HOOK_CAN_SIGNAL);
}

SEC("tracepoint/syscalls/sys_enter_connect")
int runtime_conn_in(struct trace_event_raw_sys_enter *ctx)
{
	/* Remember the fd: sys_exit_connect only has the result. */
	struct aces_config *cfg;
	struct task_struct *t = current_container_task(&cfg);

	if (!t)
		return 0;
	__u32 tid = BPF_CORE_READ(t, pid);
	__u64 fd = ctx->args[0];
	bpf_map_update_elem(&connect_fds, &tid, &fd, BPF_ANY);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_connect")
int runtime_conn_out(struct trace_event_raw_sys_exit *ctx)
{
	struct task_struct *t = bpf_get_current_task_btf();
	__u32 tid = BPF_CORE_READ(t, pid);
	__u64 *fd = bpf_map_lookup_elem(&connect_fds, &tid);

	if (!fd)
		return 0;
	long f = *fd;
	bpf_map_delete_elem(&connect_fds, &tid);
	if (ctx->ret != 0)
		return 0;
	judge_connected(t, task_fd_file(t, f), bpf_ktime_get_ns(), 0);
	return 0;
}
