/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel interfaces a container has no business calling (DESIGN §2, level 2):
 *   bpf(BPF_PROG_LOAD)                 loading programs into the shared kernel
 *   syslog(2) read/clear actions       the host's kernel log (addresses, other tenants)
 *   perf_event_open(pid = -1)          system-wide monitoring of every task on a CPU
 *   keyctl / add_key / request_key     the kernel keyring is not namespaced: in the initial user
 *                                      namespace, uid 0 in a container reaches host root's keys
 *   open_by_handle_at                  the "shocker" read/write of host files by file handle
 *   chroot / pivot_root into the host's root (a bind-mounted `/`), to run host binaries
 *
 * Hooks: per-syscall tracepoints. At entry for calls whose effect cannot be used before the
 * caller returns to user space (the process dies first: the loaded program's fd, the read log,
 * the perf fd, the handle's fd never reach it); at exit for chroot/pivot_root, on the new root.
 * Runtime set-up tasks (runc init joins a session keyring) are not container tasks.
 * Minimum kernel: 4.x.
 */

#define BPF_PROG_LOAD_CMD 5
#define SYSLOG_ACTION_READ 2
#define SYSLOG_ACTION_CLEAR 5

static __always_inline void syscall_rule(__u16 rule, __u32 arg)
{
	__u64 ts = bpf_ktime_get_ns();
	struct aces_config *cfg;
	struct task_struct *t = current_container_task(&cfg);

	if (!t)
		return;
	struct aces_event ev = { .obj_flags = arg };
	container_event(&ev, t, cfg, ts, rule, HOOK_CAN_SIGNAL);
}

SEC("tracepoint/syscalls/sys_enter_bpf")
int kernel_bpf(struct trace_event_raw_sys_enter *ctx)
{
	if (ctx->args[0] == BPF_PROG_LOAD_CMD)
		syscall_rule(RULE_BPF_LOAD, ctx->args[0]);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_syslog")
int kernel_syslog(struct trace_event_raw_sys_enter *ctx)
{
	long type = ctx->args[0];

	if (type >= SYSLOG_ACTION_READ && type <= SYSLOG_ACTION_CLEAR)
		syscall_rule(RULE_SYSLOG_READ, type);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_perf_event_open")
int kernel_perf(struct trace_event_raw_sys_enter *ctx)
{
	if ((int)ctx->args[1] == -1)
		syscall_rule(RULE_PERF_SYSTEM_WIDE, (__u32)ctx->args[2]);
	return 0;
}

/* Only in the initial user namespace: a container in its own user namespace gets its own
 * keyrings per user. */
static __always_inline void keyring_call(__u32 op)
{
	struct task_struct *t = bpf_get_current_task_btf();

	if (BPF_CORE_READ(t, cred, user_ns, level) != 0)
		return;
	syscall_rule(RULE_KEYCTL_HOST, op);
}

SEC("tracepoint/syscalls/sys_enter_keyctl")
int kernel_keyctl(struct trace_event_raw_sys_enter *ctx)
{
	keyring_call(ctx->args[0]);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_add_key")
int kernel_add_key(struct trace_event_raw_sys_enter *ctx)
{
	keyring_call(0);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_request_key")
int kernel_req_key(struct trace_event_raw_sys_enter *ctx)
{
	keyring_call(0);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_open_by_handle_at")
int kernel_ohandle(struct trace_event_raw_sys_enter *ctx)
{
	syscall_rule(RULE_OPEN_BY_HANDLE, (__u32)ctx->args[2]);
	return 0;
}

/* After a successful chroot or pivot_root: is the new root the host's "/"? */
static __always_inline void new_root_exit(struct trace_event_raw_sys_exit *ctx)
{
	if (ctx->ret != 0)
		return;
	__u64 ts = bpf_ktime_get_ns();
	struct aces_config *cfg;
	struct task_struct *t = current_container_task(&cfg);

	if (!t)
		return;
	struct dentry *root = BPF_CORE_READ(t, fs, root.dentry);
	__u64 ino = BPF_CORE_READ(root, d_inode, i_ino);
	__u32 dev = BPF_CORE_READ(root, d_sb, s_dev);
	if (ino != cfg->host_root_ino || dev != cfg->host_root_dev)
		return;
	struct aces_event ev = { .obj_ino = ino, .obj_dev = dev };
	/* The integrity check would name this same change host-ns-held: the chroot is the cause. */
	container_event_x(&ev, t, cfg, ts, RULE_HOST_ROOT_CHROOT, HOOK_CAN_SIGNAL, false);
}

SEC("tracepoint/syscalls/sys_exit_chroot")
int kernel_chroot(struct trace_event_raw_sys_exit *ctx)
{
	new_root_exit(ctx);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_pivot_root")
int kernel_pivot(struct trace_event_raw_sys_exit *ctx)
{
	new_root_exit(ctx);
	return 0;
}
