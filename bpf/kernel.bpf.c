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
 * On BPF LSM kernels the same judges run at the LSM hooks (lsm.bpf.c) and the call fails with
 * EPERM: bpf, syslog, perf_event_alloc, key_permission, path_chroot, sb_pivotroot.
 * open_by_handle_at has no LSM hook of its own (only file_open on the file it opens, which is
 * not on a foreign mount): signal tier everywhere.
 * Minimum kernel: 4.x.
 */

#define BPF_PROG_LOAD_CMD 5
#define SYSLOG_ACTION_READ 2
#define SYSLOG_ACTION_CLEAR 5

/* The current task calls a kernel interface of this family: judged at the syscall's entry
 * (tracepoints, HOOK_CAN_SIGNAL) or at its LSM hook (lsm.bpf.c). Returns the VERDICT_*. */
static __always_inline int judge_kernel_call(__u16 rule, __u32 arg, __u32 hook)
{
	__u64 ts = bpf_ktime_get_ns();
	struct aces_config *cfg;
	struct task_struct *t = current_container_task(&cfg);

	if (!t)
		return VERDICT_NONE;
	struct aces_event ev = { .obj_flags = arg };
	return container_event(&ev, t, cfg, ts, rule, hook);
}

static __always_inline void syscall_rule(__u16 rule, __u32 arg)
{
	judge_kernel_call(rule, arg, HOOK_CAN_SIGNAL);
}

/* syslog(2) actions that read or clear the log (the LSM hook also sees /dev/kmsg readers as
 * SYSLOG_ACTION_READ_ALL). */
static __always_inline bool syslog_reads(long type)
{
	return type >= SYSLOG_ACTION_READ && type <= SYSLOG_ACTION_CLEAR;
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

	if (syslog_reads(type))
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
static __always_inline int judge_keyring_call(__u32 op, __u32 hook)
{
	struct task_struct *t = bpf_get_current_task_btf();

	if (BPF_CORE_READ(t, cred, user_ns, level) != 0)
		return VERDICT_NONE;
	return judge_kernel_call(RULE_KEYCTL_HOST, op, hook);
}

static __always_inline void keyring_call(__u32 op)
{
	judge_keyring_call(op, HOOK_CAN_SIGNAL);
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

/* Is root, the task's new root directory (tracepoints: after a successful chroot or
 * pivot_root; lsm.bpf.c: path_chroot, sb_pivotroot, before it), the host's "/"? */
static __always_inline int judge_new_root(struct task_struct *t, struct aces_config *cfg,
					  struct dentry *root, __u64 ts, __u32 hook)
{
	__u64 ino = BPF_CORE_READ(root, d_inode, i_ino);
	__u32 dev = BPF_CORE_READ(root, d_sb, s_dev);
	if (ino != cfg->host_root_ino || dev != cfg->host_root_dev)
		return VERDICT_NONE;
	struct aces_event ev = { .obj_ino = ino, .obj_dev = dev };
	/* The integrity check would name this same change host-ns-held: the chroot is the cause. */
	return container_event_x(&ev, t, cfg, ts, RULE_HOST_ROOT_CHROOT, hook, false);
}

static __always_inline void new_root_exit(struct trace_event_raw_sys_exit *ctx)
{
	if (ctx->ret != 0)
		return;
	__u64 ts = bpf_ktime_get_ns();
	struct aces_config *cfg;
	struct task_struct *t = current_container_task(&cfg);

	if (!t)
		return;
	judge_new_root(t, cfg, BPF_CORE_READ(t, fs, root.dentry), ts, HOOK_CAN_SIGNAL);
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
