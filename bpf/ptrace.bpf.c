/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ptrace of a task outside the container (attach, seize, then poke its memory or registers).
 *
 * Hook: syscalls/sys_exit_ptrace. After a successful request, the tracer's `ptraced` list holds
 * every task it traces; one outside the container means an attach crossed the boundary. The
 * tracer dies before it returns to user space, so no PEEK/POKE ever follows, and a dying tracer
 * detaches from its tracees. (On BPF LSM kernels ptrace_access_check denies the attach itself: lsm.bpf.c.)
 * The other route to the same memory, /proc/<pid>/mem, is judged at open (files.bpf.c).
 * Minimum kernel: 4.x.
 */

#define PTRACED_SCAN 16

SEC("tracepoint/syscalls/sys_exit_ptrace")
int ptrace_exit(struct trace_event_raw_sys_exit *ctx)
{
	if (ctx->ret < 0)
		return 0;
	__u64 ts = bpf_ktime_get_ns();
	struct aces_config *cfg;
	struct task_struct *t = current_container_task(&cfg);

	if (!t)
		return 0;
	__u64 key = task_container_key(t, cfg);
	struct list_head *head = &t->ptraced;
	struct list_head *pos = BPF_CORE_READ(t, ptraced.next);

	for (int i = 0; i < PTRACED_SCAN; i++) {
		if (!pos || pos == head)
			return 0;
		struct task_struct *tracee = (void *)pos - bpf_core_field_offset(struct task_struct, ptrace_entry);
		if (!task_same_container(tracee, t, key, cfg)) {
			target_task_event(t, cfg, tracee, 0, ts, RULE_PTRACE_FOREIGN, HOOK_CAN_SIGNAL);
			return 0;
		}
		pos = BPF_CORE_READ(tracee, ptrace_entry.next);
	}
	return 0;
}

/*
 * process_vm_writev / process_vm_readv and pidfd_getfd into a task outside the container.
 *
 * The kernel checks these as ptrace attaches (mm_access / __pidfd_fget ->
 * ptrace_may_access(PTRACE_MODE_ATTACH_REALCREDS)), so on BPF LSM kernels lsm_ptrace refuses them
 * (lsm.bpf.c). On the signal tier nothing records the target once the call returns: it is named
 * at entry by a pid (in the caller's pid namespace) or a pidfd, and judged there.
 *
 *   process_vm_writev  writes another process's memory without ptrace: ptrace-foreign (level 2)
 *   process_vm_readv   reads it: proc-foreign-read (level 1), the rule of /proc/<pid>/mem read and
 *                      of environ, which reach the same bytes; a repeat is raised to a kill
 *   pidfd_getfd        copies one of another process's fds (same check as an attach):
 *                      ptrace-foreign
 *
 * A kill at entry does not stop a system call, but this one copies page by page and
 * pin_user_pages_remote() gives up on a pending fatal signal before the first page, so the
 * killed caller copies nothing (test/kernel/process-vm.test.ts checks the target's memory).
 *
 * The pid is looked up with kfuncs: bpf_task_from_vpid (6.13+) in the caller's own pid
 * namespace; bpf_task_from_pid (6.2+) in the host's, which is the caller's only for a --pid host
 * container. Both are weak: where they are missing (6.1) these programs load and see nothing,
 * and the LSM hook covers the calls on kernels that have BPF LSM. On 6.2-6.12 a container with
 * its own pid namespace can only name tasks of that namespace: a host task that joined it
 * (nsenter -p) is the one target missed there.
 */
extern struct task_struct *bpf_task_from_pid(s32 pid) __ksym __weak;
extern struct task_struct *bpf_task_from_vpid(s32 vpid) __ksym __weak;
extern void bpf_task_release(struct task_struct *p) __ksym __weak;

/* libbpf 1.2 has it; Debian 12's libbpf-dev (1.1) does not. */
#ifndef bpf_ksym_exists
#define bpf_ksym_exists(sym) ({ _Static_assert(!__builtin_constant_p(!!sym), #sym " should be __weak"); !!sym; })
#endif

/* The task named by pid as the calling task sees it, acquired (release it), or NULL. */
static __always_inline struct task_struct *task_by_caller_pid(struct task_struct *self, __s32 pid)
{
	if (bpf_ksym_exists(bpf_task_from_vpid))
		return bpf_task_from_vpid(pid);
	if (bpf_ksym_exists(bpf_task_from_pid) && task_pid_level(self) == 0)
		return bpf_task_from_pid(pid);
	return NULL;
}

static __always_inline void judge_vm_access(struct trace_event_raw_sys_enter *ctx, __u16 rule)
{
	__u64 ts = bpf_ktime_get_ns();
	struct aces_config *cfg;
	struct task_struct *t = current_container_task(&cfg);

	if (!t)
		return;
	struct task_struct *target = task_by_caller_pid(t, (__s32)ctx->args[0]);
	if (!target)
		return;
	if (!task_same_container(target, t, task_container_key(t, cfg), cfg))
		target_task_event(t, cfg, target, ctx->id, ts, rule, HOOK_CAN_SIGNAL);
	bpf_task_release(target);
}

SEC("tracepoint/syscalls/sys_enter_process_vm_writev")
int ptrace_vm_write(struct trace_event_raw_sys_enter *ctx)
{
	judge_vm_access(ctx, RULE_PTRACE_FOREIGN);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_process_vm_readv")
int ptrace_vm_read(struct trace_event_raw_sys_enter *ctx)
{
	judge_vm_access(ctx, RULE_PROC_FOREIGN_READ);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_pidfd_getfd")
int ptrace_getfd(struct trace_event_raw_sys_enter *ctx)
{
	__u64 ts = bpf_ktime_get_ns();
	struct aces_config *cfg;
	struct task_struct *t;
	struct file *f = container_task_fd(ctx->args[0], &t, &cfg);
	struct task_struct *target = f ? pidfd_foreign_task(f, t, cfg) : NULL;

	if (target)
		target_task_event(t, cfg, target, ctx->id, ts, RULE_PTRACE_FOREIGN, HOOK_CAN_SIGNAL);
	return 0;
}
