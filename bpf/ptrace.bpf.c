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
			struct aces_event ev = { .obj_ino = BPF_CORE_READ(tracee, tgid) };

			BPF_CORE_READ_STR_INTO(&ev.name, tracee, comm);
			container_event(&ev, t, cfg, ts, RULE_PTRACE_FOREIGN, HOOK_CAN_SIGNAL);
			return 0;
		}
		pos = BPF_CORE_READ(tracee, ptrace_entry.next);
	}
	return 0;
}
