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
 * whatever the route (write, writev, splice, io_uring), with the sysctl's table, which the
 * attacker cannot vary. A write is allowed when the sysctl is namespaced, so docker --sysctl
 * and in-container tuning keep working:
 *   - its table is registered per namespace (net/, user/, the ipc kernel/ and fs/mqueue/ ones
 *     since 5.19): its table set has an is_seen() callback, the host-wide set has none. The
 *     writer only sees, and so writes, its own namespaces' copies;
 *   - or it is in the host-wide set but acts on the writer's namespace (kernel/hostname,
 *     kernel/ns_last_pid...): user space fills ns_sysctls with those full names, the families
 *     net/ user/ fs/mqueue/ are matched by prefix here.
 * The verdict waits for the sysctl's full name (a walk up its directories, ~1 µs with cold
 * caches) only when the base name is one of a namespaced sysctl (the filter holds the base
 * names too); otherwise the full name is read for the event after the verdict.
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

/* The table set of the sysctl being written has an is_seen() callback: it is a namespace's
 * (proc_sysctl.c: setup_sysctl_set() of net, user, ipc and mqueue namespaces; the host-wide
 * default set has none). Fields of the program's context that it does not expose are read
 * with probe reads (bpf_sysctl_kern, filter.h). */
static __always_inline bool sysctl_table_per_namespace(struct bpf_sysctl *ctx)
{
	struct bpf_sysctl_kern *k = (void *)ctx;
	struct ctl_table_header *head = NULL;

	if (bpf_core_read(&head, sizeof(head), &k->head) || !head)
		return false;
	return BPF_CORE_READ(head, set, is_seen) != NULL;
}

/* Whether a container may write this sysctl (above). name: the event's ACES_NAME_LEN buffer,
 * all zero; filled with the full name when it was needed here, else left empty. */
static __always_inline bool sysctl_namespaced(struct bpf_sysctl *ctx, char *name)
{
	struct bpf_sysctl_kern *k = (void *)ctx;
	const char *procname = NULL;

	if (sysctl_table_per_namespace(ctx))
		return true;
	/* The base name's first ACES_FILTER_NAME_BYTES - 1 bytes, zero-padded as user space
	 * folds them (truncation only adds false positives: the full check below follows). */
	if (!bpf_core_read(&procname, sizeof(procname), &k->table) && procname) {
		procname = BPF_CORE_READ((struct ctl_table *)procname, procname);
		if (procname && bpf_probe_read_kernel_str(name, ACES_FILTER_NAME_BYTES, procname) > 0 &&
		    !ns_sysctl_base_maybe(name))
			goto host;
	}
	__builtin_memset(name, 0, ACES_FILTER_NAME_BYTES);
	if (bpf_sysctl_get_name(ctx, name, ACES_NAME_LEN, 0) < 0) {
		name[0] = 0; /* too long for the buffer: not one of the namespaced names */
		return false;
	}
	if (HAS_PREFIX(name, "net/") || HAS_PREFIX(name, "user/") || HAS_PREFIX(name, "fs/mqueue/"))
		return true;
	return ns_sysctl_maybe(name) && bpf_map_lookup_elem(&ns_sysctls, name);
host:
	__builtin_memset(name, 0, ACES_FILTER_NAME_BYTES);
	return false;
}

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

	__u64 key = task_container_key(t, cfg);
	struct aces_event ev = { .ts_entry = ts };

	if (container_quarantined(key, cfg)) {
		ev.rule = RULE_QUARANTINED_TASK;
		ev.flags |= EVF_FAST_PATH;
	} else {
		if (sysctl_namespaced(ctx, ev.name))
			return 1;
		ev.rule = RULE_SYSCTL_HOST_WRITE;
	}
	event_fill_task(&ev, t, key);
	ev.obj_flags = ctx->file_pos;

	int verdict = decide_verdict(&ev, cfg, HOOK_CAN_DENY, NULL);
	if (verdict == VERDICT_NONE)
		return 1;
	/* The name the event reports, when the verdict did not need it. */
	if (!ev.name[0] && bpf_sysctl_get_name(ctx, ev.name, sizeof(ev.name), 0) < 0)
		ev.name[sizeof(ev.name) - 1] = 0; /* truncated, still a name */
	return decide_report(&ev, cfg, HOOK_CAN_DENY, t, verdict) == VERDICT_DENY ? 0 : 1;
}
