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

/* The task's identity, which the verdict needs (offender records are by tgid and container key);
 * decide() reads the rest (event_fill_context) after the verdict. t: a task the verifier knows
 * by its BTF type (bpf_get_current_task_btf(), tp_btf and iterator arguments): its fields are
 * plain loads, not one probe-read helper call per pointer hop. */
static __always_inline void event_fill_task(struct aces_event *ev, struct task_struct *t, __u64 key)
{
	ev->kind = REC_EVENT;
	ev->version = ACES_WIRE_VERSION;
	ev->container_key = key;
	ev->pid = t->pid;
	ev->tgid = t->tgid;
}

/* What only describes the task: read after the verdict, so that a first event (cold caches)
 * does not wait for the parent, credentials and namespaces before its verdict. */
static __always_inline void event_fill_context(struct aces_event *ev, struct task_struct *t)
{
	const struct cred *c = t->cred;

	ev->ppid = t->real_parent->tgid;
	ev->uid = c->uid.val;
	ev->euid = c->euid.val;
	ev->pidns = task_pidns_inum(t);
	ev->mntns = t->nsproxy->mnt_ns->ns.inum;
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

#define RING_BYTES (4 * 1024 * 1024) /* max_entries of "events" */
/* The last quarter of the ring is kept for decisions: a flood of alerts can fill the ring between
 * two drains, and then a kill's or a deny's record would be lost with them. */
#define DECISION_HEADROOM_BYTES (RING_BYTES / 4)
#define NSEC_PER_SEC 1000000000ULL

/*
 * Per-container rate limit of alert-only events (the policy asked for nothing but a report):
 * at most cfg->alert_rate of them per one-second window are written. The others are counted
 * (DROP_RATE_LIMITED, and the container's window), and the container's next written event,
 * of any kind, carries that count in ev->suppressed: a storm is summarised, never silent.
 * Returns whether ev is to be written.
 */
static __always_inline bool alert_admit(struct aces_event *ev, struct aces_config *cfg, bool alert_only)
{
	__u64 key = ev->container_key;
	struct alert_window *w;

	if (!key || !cfg->alert_rate)
		return true;
	w = bpf_map_lookup_elem(&alert_rate, &key);
	if (!w) {
		if (alert_only) {
			struct alert_window fresh = { .start_ns = ev->ts_decision, .written = 1 };

			/* A full map (LRU: only under concurrent updates) costs the limit, not the event. */
			bpf_map_update_elem(&alert_rate, &key, &fresh, BPF_NOEXIST);
		}
		return true;
	}
	if (alert_only) {
		/* Windows restart lazily; two CPUs restarting one at once lose a few counts of a
		 * limit, never an event's report. */
		if (ev->ts_decision - w->start_ns >= NSEC_PER_SEC) {
			w->start_ns = ev->ts_decision;
			w->written = 0;
		}
		if (__sync_fetch_and_add(&w->written, 1) >= cfg->alert_rate) {
			__sync_fetch_and_add(&w->suppressed, 1);
			count_drop(DROP_RATE_LIMITED);
			return false;
		}
	}
	if (w->suppressed)
		ev->suppressed = __sync_lock_test_and_set(&w->suppressed, 0);
	return true;
}

/* Count an alert that is not written in its container's window (made if missing), for the
 * container's next written event to carry. false: no window to carry it (no container, limit off,
 * map full). */
static __always_inline bool hold_back(struct aces_event *ev, struct aces_config *cfg)
{
	__u64 key = ev->container_key;
	struct alert_window *w;

	if (!key || !cfg->alert_rate)
		return false;
	w = bpf_map_lookup_elem(&alert_rate, &key);
	if (w) {
		__sync_fetch_and_add(&w->suppressed, 1);
		return true;
	}
	struct alert_window fresh = { .start_ns = ev->ts_decision, .suppressed = 1 };
	return bpf_map_update_elem(&alert_rate, &key, &fresh, BPF_NOEXIST) == 0;
}

/*
 * Write a decided event. killed: the hook sent the SIGKILL itself and the task's exit record will
 * follow (kill_pending): that record wakes user space, after the task is gone, so that the daemon
 * is not scheduled onto the victim's CPU between the signal and the exit.
 */
static __always_inline void emit_event(struct aces_event *ev, struct aces_config *cfg, bool killed)
{
	bool alert_only = ev->policy_action <= ACT_ALERT;
	__u64 flags;

	/* Headroom first: a count taken over by alert_admit() must travel in a written record. An
	 * alert held back here is summarised like a rate-limited one: counted in its container's
	 * window, carried by the container's next written event. Without a window (no container,
	 * limit off) it is a plain drop. */
	if (alert_only && bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= RING_BYTES - DECISION_HEADROOM_BYTES) {
		if (hold_back(ev, cfg))
			count_drop(DROP_RINGBUF_HEADROOM);
		else
			count_drop(DROP_RINGBUF);
		return;
	}
	if (!alert_admit(ev, cfg, alert_only))
		return;
	flags = killed ? BPF_RB_NO_WAKEUP : wakeup_flags(cfg, ev->level);
	if (bpf_ringbuf_output(&events, ev, sizeof(*ev), flags)) {
		count_drop(DROP_RINGBUF);
		/* The count this record carried goes back to its container's window. */
		if (ev->suppressed) {
			struct alert_window *w = bpf_map_lookup_elem(&alert_rate, &ev->container_key);

			if (w)
				__sync_fetch_and_add(&w->suppressed, ev->suppressed);
		}
	}
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

	/* The kill event before it did not wake user space (emit_event): this record does, now
	 * that the task is gone. */
	if (bpf_ringbuf_output(&events, &rec, sizeof(rec), BPF_RB_FORCE_WAKEUP))
		count_drop(DROP_RINGBUF);
}

#endif
