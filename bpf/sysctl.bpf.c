/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Writes to host-global sysctls from a container, refused before they happen.
 *
 * Techniques: kernel.core_pattern (pipe to a container file), kernel.modprobe,
 * kernel.randomize_va_space, kernel.sysrq, vm.*, fs.* ... written through a bind-mounted host
 * /proc, a fresh procfs mount, /proc/sys remounted read-write, or io_uring.
 *
 * Hook: cgroup/sysctl attached at the cgroup-v2 root (every task has a v2 cgroup, also on v1
 * hybrid hosts). proc_sys_call_handler() runs it for every read and write of /proc/sys
 * whatever the route (write, writev, splice, io_uring), with the sysctl's table name, which the
 * attacker cannot vary. A write is allowed when the sysctl is namespaced (user space fills
 * ns_sysctls with the names, plus the net/ user/ fs/mqueue/ families here), so docker --sysctl
 * and in-container tuning keep working.
 *
 *   write(fd) / IORING_OP_WRITE -> proc_sys_call_handler -> BPF_CGROUP_RUN_PROG_SYSCTL  <- here
 *
 * Minimum kernel: 5.2.
 */

static __always_inline bool has_prefix(const char *s, const char *p, int n)
{
	for (int i = 0; i < n - 1; i++) {
		if (s[i] != p[i])
			return false;
	}
	return true;
}
#define HAS_PREFIX(s, lit) has_prefix((s), (lit), sizeof(lit))

SEC("cgroup/sysctl")
int sysctl_write(struct bpf_sysctl *ctx)
{
	if (!ctx->write)
		return 1;
	__u64 ts = bpf_ktime_get_ns();
	struct aces_config *cfg = get_config();
	struct task_struct *t = bpf_get_current_task_btf();

	if (!cfg || !task_is_container(t, cfg))
		return 1;

	/* The key's loads first: their cache misses overlap with the name's copy. */
	__u64 key = task_container_key(t, cfg);
	struct aces_event ev = { .ts_entry = ts };
	if (bpf_sysctl_get_name(ctx, ev.name, sizeof(ev.name), 0) < 0)
		ev.name[0] = 0; /* too long for the buffer: not one of the namespaced names */

	if (container_quarantined(key, cfg)) {
		ev.rule = RULE_QUARANTINED_TASK;
		ev.flags |= EVF_FAST_PATH;
	} else {
		if (HAS_PREFIX(ev.name, "net/") || HAS_PREFIX(ev.name, "user/") ||
		    HAS_PREFIX(ev.name, "fs/mqueue/"))
			return 1;
		if (ns_sysctl_maybe(ev.name) && bpf_map_lookup_elem(&ns_sysctls, ev.name))
			return 1;
		ev.rule = RULE_SYSCTL_HOST_WRITE;
	}
	event_fill_task(&ev, t, key);
	ev.obj_flags = ctx->file_pos;
	return decide(&ev, cfg, HOOK_CAN_DENY, t) == VERDICT_DENY ? 0 : 1;
}
