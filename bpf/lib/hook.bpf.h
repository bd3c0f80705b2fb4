/* SPDX-License-Identifier: GPL-2.0 */
/* The common tail of a container hook: quarantine fast path, integrity breach, or the hook's
 * own rule; then fill, decide, act, emit. */
#ifndef ACES_LIB_HOOK_BPF_H
#define ACES_LIB_HOOK_BPF_H

/* ev holds the object facts; returns the VERDICT_* of decide(). integrity: run the integrity
 * check first (off where the hook's own rule is the more precise name for the same change). */
static __always_inline int container_event_x(struct aces_event *ev, struct task_struct *t,
					     struct aces_config *cfg, __u64 ts, __u16 rule, __u32 hook,
					     bool integrity)
{
	__u64 key = task_container_key(t, cfg);

	if (container_quarantined(key, cfg)) {
		ev->rule = RULE_QUARANTINED_TASK;
		ev->flags |= EVF_FAST_PATH;
	} else {
		__u16 br = integrity ? integrity_breach(t, cfg, false) : 0;
		ev->rule = br ? br : rule;
	}
	ev->ts_entry = ts;
	event_fill_task(ev, t, key);
	return decide(ev, cfg, hook, t);
}

static __always_inline int container_event(struct aces_event *ev, struct task_struct *t,
					   struct aces_config *cfg, __u64 ts, __u16 rule, __u32 hook)
{
	return container_event_x(ev, t, cfg, ts, rule, hook, true);
}

/* An event about another task: the target of a signal, a ptrace attach, process_vm_*, pidfd_getfd.
 * The object is the target process (obj_ino: its tgid, name: its comm); target: any task pointer
 * (fields read with probe reads). Returns the VERDICT_* of decide(). */
static __always_inline int target_task_event(struct task_struct *t, struct aces_config *cfg,
					     struct task_struct *target, __u32 obj_flags, __u64 ts,
					     __u16 rule, __u32 hook)
{
	struct aces_event ev = { .obj_ino = BPF_CORE_READ(target, tgid), .obj_flags = obj_flags };

	BPF_CORE_READ_STR_INTO(&ev.name, target, comm);
	return container_event(&ev, t, cfg, ts, rule, hook);
}

/* The current task if it is a container task, else NULL (cfg filled either way). */
static __always_inline struct task_struct *current_container_task(struct aces_config **cfg)
{
	struct task_struct *t = bpf_get_current_task_btf();

	*cfg = get_config();
	if (!*cfg || current_surely_host(*cfg) || !task_is_container(t, *cfg))
		return NULL;
	return t;
}

/* The file behind fd in the current task's table if that task is a container task, else NULL;
 * t and cfg filled for the caller (t NULL for a host task). */
static __always_inline struct file *container_task_fd(long fd, struct task_struct **t, struct aces_config **cfg)
{
	*t = current_container_task(cfg);
	return *t ? task_fd_file(*t, fd) : NULL;
}

#endif
