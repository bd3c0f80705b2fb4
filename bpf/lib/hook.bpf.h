/* SPDX-License-Identifier: GPL-2.0 */
/* The common tail of a container hook: quarantine fast path, integrity breach, or the hook's
 * own rule; then fill, decide, act, emit. */
#ifndef ACES_LIB_HOOK_BPF_H
#define ACES_LIB_HOOK_BPF_H

/* ev holds the object facts; returns the VERDICT_* of decide(). */
static __always_inline int container_event(struct aces_event *ev, struct task_struct *t,
					   struct aces_config *cfg, __u64 ts, __u16 rule, __u32 hook)
{
	__u64 key = task_container_key(t, cfg);

	if (container_quarantined(key, cfg)) {
		ev->rule = RULE_QUARANTINED_TASK;
		ev->flags |= EVF_FAST_PATH;
	} else {
		__u16 br = integrity_breach(t, cfg, false);
		ev->rule = br ? br : rule;
	}
	ev->ts_entry = ts;
	event_fill_task(ev, t, key);
	return decide(ev, cfg, hook);
}

/* The current task if it is a container task, else NULL (cfg filled either way). */
static __always_inline struct task_struct *current_container_task(struct aces_config **cfg)
{
	struct task_struct *t = bpf_get_current_task_btf();

	*cfg = get_config();
	if (!*cfg || !task_is_container(t, *cfg))
		return NULL;
	return t;
}

#endif
