/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every task of a quarantined container dies at its next system call.
 *
 * Hook: tp_btf/sys_enter. A program here runs on every system call of every task on the host,
 * so user space attaches it only while a quarantine is in force (the first quarantine event
 * wakes the daemon at once) and detaches it when no quarantined container has tasks left.
 * Until it is attached every other ACES hook already kills quarantined tasks, and the daemon
 * sweeps tasks that never enter the kernel again.
 * Minimum kernel: 5.5.
 */

SEC("tp_btf/sys_enter")
int BPF_PROG(quar_sys_enter, struct pt_regs *regs, long id)
{
	struct aces_config *cfg = get_config();

	if (!cfg || !cfg->quarantine_on)
		return 0;
	struct task_struct *t = bpf_get_current_task_btf();
	if (!task_is_container(t, cfg))
		return 0;
	__u64 key = task_container_key(t, cfg);
	if (!container_quarantined(key, cfg))
		return 0;
	__u32 tid = BPF_CORE_READ(t, pid);
	if (bpf_map_lookup_elem(&kill_pending, &tid))
		return 0; /* already dying: one event per task */

	struct aces_event ev = { .rule = RULE_QUARANTINED_TASK, .ts_entry = bpf_ktime_get_ns() };
	event_fill_task(&ev, t, key);
	ev.flags |= EVF_FAST_PATH;
	ev.obj_flags = id;
	decide(&ev, cfg, HOOK_CAN_SIGNAL, t);
	return 0;
}
