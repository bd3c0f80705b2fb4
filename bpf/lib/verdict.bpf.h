/* SPDX-License-Identifier: GPL-2.0 */
/*
 * From a detected event to an applied action (DESIGN §2, §3). Shared by every hook so that a
 * rule means the same thing on every tier:
 *
 *   rule_cfg[rule] (enabled, level, action)  --  compiled from the policy by user space
 *     -> another tier's hook for the operation?     rule_cfg[rule].tier names the one tier that judges
 *                                                   it, so an operation is judged once (LSM hook and
 *                                                   open tracepoint both loaded, for instance)
 *     -> exception for the container?               exempt[key] bit set: nothing happens
 *     -> recorded offender (process or container)? raise the level by one, take that level's action
 *     -> deny asked on a hook that cannot deny?      kill instead (never a silent downgrade to alert)
 *     -> monitor mode?                               report what would have been done, apply nothing
 *     -> the verdict's timestamp, then apply: deny (the hook's return value), kill (SIGKILL to the
 *        process), quarantine (kill, and every task of the container is killed at its next hooked
 *        kernel entry)
 *     -> level >= attempt                            record the process and its container as offenders
 *     -> emit the event with both kernel timestamps (emit.bpf.h: alert-only events rate-limited per
 *        container and kept out of the ring's last quarter; a kill's event waits for the exit
 *        record to wake user space)
 * A repeat offender touching the object of its last offence again skips the rule check: the hook
 * passes the offender record it found (offender_same_object) and the event says EVF_FAST_PATH.
 */
#ifndef ACES_LIB_VERDICT_BPF_H
#define ACES_LIB_VERDICT_BPF_H

#define SIGKILL 9

#define VERDICT_NONE 0   /* no rule applies: nothing reported */
#define VERDICT_ALLOW 1  /* reported, operation goes on (alert, kill, monitor mode) */
#define VERDICT_DENY 2   /* the hook must refuse the operation */

/* How the calling hook can act. */
#define HOOK_CAN_DENY (1 << 0)    /* the hook's return value refuses the operation */
#define HOOK_CAN_SIGNAL (1 << 1)  /* bpf_send_signal() is allowed in this program type */
#define HOOK_HOST_TASK (1 << 2)   /* the acting task is a host task working for a container */
#define HOOK_LSM (1 << 3)         /* a BPF LSM hook: the operation has not happened yet */
#define HOOK_LSM_GAP (1 << 4)     /* a route the rule's LSM hooks cannot see (bind mounts through
				   * mount(2)): judged here even when the rule's tier is lsm */

/* The tier of a hook: what the event reports, and what rule_cfg[rule].tier is compared with. */
static __always_inline __u8 hook_tier(__u32 hook)
{
	if (hook & HOOK_LSM)
		return TIER_LSM;
	return (hook & HOOK_CAN_DENY) ? TIER_CGROUP : TIER_SIGNAL;
}

/*
 * Whether this hook judges the rule. User space writes the tier the plan chose for each rule
 * into rule_cfg (0: any hook). LSM hooks see operations before the tracepoint and cgroup hooks
 * that watch the same ones, so each side leaves the other's rules alone: the operation is judged
 * once, by the tier that was reported for the rule. The quarantine fast path is every hook's.
 */
static __always_inline bool hook_judges(struct aces_rule_cfg *rc, __u32 rule, __u32 hook)
{
	if (!rc->tier || rule == RULE_QUARANTINED_TASK)
		return true;
	if (rc->tier == TIER_LSM)
		return hook & (HOOK_LSM | HOOK_LSM_GAP);
	return !(hook & HOOK_LSM);
}

static __always_inline bool offender_live(struct aces_offender *o, struct aces_config *cfg, __u64 now)
{
	if (!o)
		return false;
	if (!cfg || cfg->offender_ttl_ns == 0)
		return true;
	/* now is the event's hook entry: another CPU may have renewed the record since. */
	return now < o->last_ns || now - o->last_ns < cfg->offender_ttl_ns;
}

static __always_inline void offender_record(__u32 kind, __u64 id, struct aces_event *ev, __u64 now)
{
	struct aces_offender_key k = { .kind = kind, .id = id };
	struct aces_offender *o = bpf_map_lookup_elem(&offenders, &k);

	if (o) {
		o->last_ns = now;
		o->count += 1;
		o->rule = ev->rule;
		if (ev->level > o->level)
			o->level = ev->level;
		o->obj_dev = ev->obj_dev;
		o->obj_ino = ev->obj_ino;
		o->obj_flags = ev->obj_flags;
		return;
	}
	struct aces_offender fresh = {
		.first_ns = now, .last_ns = now, .count = 1, .rule = ev->rule, .level = ev->level,
		.obj_dev = ev->obj_dev, .obj_ino = ev->obj_ino, .obj_flags = ev->obj_flags,
	};
	offender_mark(kind, id);
	if (bpf_map_update_elem(&offenders, &k, &fresh, BPF_ANY))
		count_drop(DROP_OFFENDER);
}

/* The current task's baseline says its process is a recorded offender (cheap gate of the fast
 * path: one task-storage lookup instead of a hash lookup on every container open). */
static __always_inline void mark_offender_task(void)
{
	struct cred_base *b = bpf_task_storage_get(&cred_bases, bpf_get_current_task_btf(), 0, 0);

	if (b)
		b->offender = 1;
}

/*
 * The fast path for repeat offenders (DESIGN §1.4): a live process record whose last offence was
 * on this very object (device, inode and open flags): the rule is that record's, with no rule
 * check. Returns the record, or NULL when the full check must run. The caller still runs the
 * integrity check first, so a breach is never hidden behind a repeat.
 */
static __always_inline struct aces_offender *offender_same_object(__u32 tgid, struct aces_config *cfg,
								   __u32 dev, __u64 ino, __u32 flags, __u64 now)
{
	struct aces_offender_key k = { .kind = OFFENDER_PROCESS, .id = tgid };
	struct aces_offender *o = bpf_map_lookup_elem(&offenders, &k);

	if (!o || !o->obj_dev || o->obj_dev != dev || o->obj_ino != ino || o->obj_flags != flags ||
	    !o->rule || o->rule >= RULE_MAX)
		return NULL;
	return offender_live(o, cfg, now) ? o : NULL;
}

/* The process or container offender record that applies to this task, or NULL. The presence
 * filter settles most first events of a process without touching the map. */
static __always_inline struct aces_offender *offender_lookup(__u32 tgid, __u64 key,
							     struct aces_config *cfg, __u64 now)
{
	struct aces_offender_key k = { .kind = OFFENDER_PROCESS, .id = tgid };
	struct aces_offender *o;

	if (tgid && offender_maybe(OFFENDER_PROCESS, tgid)) {
		o = bpf_map_lookup_elem(&offenders, &k);
		if (offender_live(o, cfg, now))
			return o;
	}
	if (!key || !offender_maybe(OFFENDER_CONTAINER, key))
		return NULL;
	k.kind = OFFENDER_CONTAINER;
	k.id = key;
	o = bpf_map_lookup_elem(&offenders, &k);
	return offender_live(o, cfg, now) ? o : NULL;
}

static __always_inline bool container_quarantined(__u64 key, struct aces_config *cfg)
{
	if (!key || !cfg || !cfg->quarantine_on)
		return false;
	return bpf_map_lookup_elem(&quarantine, &key) != NULL;
}

static __always_inline void quarantine_container(__u64 key, struct aces_config *cfg, __u64 now)
{
	if (!key)
		return;
	if (bpf_map_update_elem(&quarantine, &key, &now, BPF_NOEXIST) == 0 && cfg)
		cfg->quarantine_on = 1;
	else if (!bpf_map_lookup_elem(&quarantine, &key))
		count_drop(DROP_QUARANTINE);
}

/*
 * ev must hold rule, ts_entry, the task's identity (event_fill_task) and the object facts.
 * known: the offender record the fast path found (offender_same_object), or NULL to look it up.
 *
 * Two halves, so that a hook can read descriptive facts it did not need for the verdict in
 * between (sysctl.bpf.c: the sysctl's full name):
 *   decide_verdict  the verdict, its timestamp, the signal. Returns VERDICT_*; VERDICT_NONE ends
 *                   the event (rule off, another tier's, exempt): then no decide_report.
 *   decide_report   the bookkeeping: the rest of the task's facts, offender records, the kill's
 *                   exit tracking, the event. t: the task of the event.
 * so that neither the kill nor the verdict waits for memory it does not need.
 */
static __always_inline int decide_verdict(struct aces_event *ev, struct aces_config *cfg, __u32 hook,
					  struct aces_offender *known)
{
	__u32 rule = ev->rule;
	struct aces_rule_cfg *rc;
	__u64 key = ev->container_key;
	__u8 level, action, applied;
	int verdict = VERDICT_ALLOW;

	if (!cfg || rule >= RULE_MAX)
		return VERDICT_NONE;
	rc = bpf_map_lookup_elem(&rule_cfg, &rule);
	if (!rc || !rc->enabled || !hook_judges(rc, rule, hook))
		return VERDICT_NONE;
	if (key && exempt_maybe(key)) {
		__u64 *mask = bpf_map_lookup_elem(&exempt, &key);

		if (mask && (*mask & (1ULL << rule)))
			return VERDICT_NONE;
	}

	level = rc->level;
	action = rc->action;
	ev->base_level = level;

	struct aces_offender *o = known;
	if (o)
		ev->flags |= EVF_FAST_PATH;
	else
		/* The hook's entry time stands for "now": TTLs are minutes, and a clock read here
		 * would wait for every load before it. */
		o = offender_lookup((hook & HOOK_HOST_TASK) ? 0 : ev->tgid, key, cfg, ev->ts_entry);
	if (o) {
		ev->flags |= EVF_OFFENDER;
		if (level < LEVEL_BREACH) {
			level += 1;
			ev->flags |= EVF_ESCALATED;
			/* The compiler knows level <= 3 here and would drop the mask; a verifier
			 * that lost that bound in a stack spill (6.1) then refuses the index. */
			__u32 idx = level;
			barrier_var(idx);
			__u8 raised = cfg->level_action[idx & 3];
			if (raised > action)
				action = raised;
		}
	}
	if (action == ACT_DENY && !(hook & HOOK_CAN_DENY))
		action = ACT_KILL;
	ev->level = level;
	ev->policy_action = action;
	ev->tier = hook_tier(hook);

	applied = action;
	if (cfg->mode == MODE_MONITOR) {
		ev->flags |= EVF_MONITOR;
		applied = ACT_ALERT;
	}
	ev->action = applied;
	/* The verdict is taken here; applying it (a signal raises a self-interrupt on 6.13+) is
	 * measured separately, by the killed task's exit time. */
	ev->ts_decision = bpf_ktime_get_ns();
	switch (applied) {
	case ACT_DENY:
		verdict = VERDICT_DENY;
		break;
	case ACT_QUARANTINE:
	case ACT_KILL:
		if (hook & HOOK_CAN_SIGNAL)
			bpf_send_signal(SIGKILL);
		/* Where the program type cannot signal (cgroup hooks) the operation is refused and
		 * user space kills the process (respond/): the event says so by its tier. LSM hooks
		 * do both: the operation never happens and the process dies. */
		if (hook & HOOK_CAN_DENY)
			verdict = VERDICT_DENY;
		break;
	default:
		break;
	}
	return verdict;
}

/* The second half (above): verdict is what decide_verdict returned; returns it. */
static __always_inline int decide_report(struct aces_event *ev, struct aces_config *cfg, __u32 hook,
					 struct task_struct *t, int verdict)
{
	__u64 key = ev->container_key;
	__u64 now = ev->ts_entry;
	bool killed = (ev->action == ACT_KILL || ev->action == ACT_QUARANTINE) && (hook & HOOK_CAN_SIGNAL);

	event_fill_context(ev, t);
	if (ev->action == ACT_QUARANTINE)
		quarantine_container(key, cfg, now);
	ev->seq = next_seq();

	if (ev->level >= LEVEL_ATTEMPT) {
		/* A process the hook just sent SIGKILL (group-wide, uncatchable) gets no record of
		 * its own: exec_sched_exit would delete it in a few µs, and the insertion would
		 * only delay the victim's exit. Its container's record stays. */
		if (!(hook & HOOK_HOST_TASK) && !killed) {
			offender_record(OFFENDER_PROCESS, ev->tgid, ev, now);
			/* Tracing and LSM hooks (task storage is theirs, not cgroup programs'): open
			 * the fast path for this task (files.bpf.c). */
			if (!(hook & HOOK_CAN_DENY) || (hook & HOOK_LSM))
				mark_offender_task();
		}
		if (key)
			offender_record(OFFENDER_CONTAINER, key, ev, now);
		ev->flags |= EVF_RECORDED;
	}
	/* Without the exit tracking the exit record would not come: then the event wakes user
	 * space itself. */
	if (killed && bpf_map_update_elem(&kill_pending, &ev->pid, &ev->seq, BPF_ANY)) {
		count_drop(DROP_KILL_PENDING);
		killed = false;
	}
	emit_event(ev, cfg, killed);
	return verdict;
}

/* Both halves at once: fills the verdict fields, applies the action, emits. Returns VERDICT_*. */
static __always_inline int decide_known(struct aces_event *ev, struct aces_config *cfg, __u32 hook,
					struct aces_offender *known, struct task_struct *t)
{
	int verdict = decide_verdict(ev, cfg, hook, known);

	if (verdict == VERDICT_NONE)
		return verdict;
	return decide_report(ev, cfg, hook, t, verdict);
}

static __always_inline int decide(struct aces_event *ev, struct aces_config *cfg, __u32 hook,
				  struct task_struct *t)
{
	return decide_known(ev, cfg, hook, NULL, t);
}

#endif
