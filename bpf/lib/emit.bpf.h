/* SPDX-License-Identifier: GPL-2.0 */
/* Filling and sending records. Wakeups are batched: an event wakes user space at once only
 * when its level is at or above cfg->wakeup_level, or when the ring is filling up; the daemon
 * also drains on a short timer. A failed write bumps DROP_RINGBUF, never silently. */
#ifndef ACES_LIB_EMIT_BPF_H
#define ACES_LIB_EMIT_BPF_H

#define WAKEUP_FILL_BYTES (256 * 1024)

static __always_inline __u64 next_seq(void)
{
	__u32 zero = 0;
	__u64 *s = bpf_map_lookup_elem(&seq_counter, &zero);

	if (!s)
		return 0;
	return __sync_fetch_and_add(s, 1) + 1;
}

static __always_inline void event_fill_task(struct aces_event *ev, struct task_struct *t, __u64 key)
{
	ev->kind = REC_EVENT;
	ev->version = ACES_WIRE_VERSION;
	ev->container_key = key;
	ev->pid = BPF_CORE_READ(t, pid);
	ev->tgid = BPF_CORE_READ(t, tgid);
	ev->ppid = BPF_CORE_READ(t, real_parent, tgid);
	ev->uid = BPF_CORE_READ(t, cred, uid.val);
	ev->euid = BPF_CORE_READ(t, cred, euid.val);
	ev->pidns = task_pidns_inum(t);
	ev->mntns = task_mntns_inum(t);
	BPF_CORE_READ_STR_INTO(&ev->comm, t, comm);
}

static __always_inline __u64 wakeup_flags(struct aces_config *cfg, __u8 level)
{
	if (cfg && level >= cfg->wakeup_level)
		return 0;
	if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= WAKEUP_FILL_BYTES)
		return BPF_RB_FORCE_WAKEUP;
	return BPF_RB_NO_WAKEUP;
}

static __always_inline void emit_event(struct aces_event *ev, struct aces_config *cfg)
{
	if (bpf_ringbuf_output(&events, ev, sizeof(*ev), wakeup_flags(cfg, ev->level)))
		count_drop(DROP_RINGBUF);
}

static __always_inline void emit_exit(__u32 pid, __u64 seq, __u64 ts)
{
	struct aces_exit rec = {
		.kind = REC_EXIT,
		.version = ACES_WIRE_VERSION,
		.pid = pid,
		.seq = seq,
		.ts_exit = ts,
	};

	/* An exit record completes a kill event that already woke user space: no wakeup. */
	if (bpf_ringbuf_output(&events, &rec, sizeof(rec), BPF_RB_NO_WAKEUP))
		count_drop(DROP_RINGBUF);
}

#endif
