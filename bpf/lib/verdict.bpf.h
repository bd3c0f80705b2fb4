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
 *     -> level >= attempt                            record the process and its container as offenders
 *     -> apply: deny (the hook's return value), kill (SIGKILL to the process), quarantine (kill, and
 *        every task of the container is killed at its next hooked kernel entry)
 *     -> emit the event with both kernel timestamps
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
	return now - o->last_ns < cfg->offender_ttl_ns;
}

static __always_inline void offender_record(__u32 kind, __u64 id, __u16 rule, __u8 level, __u64 now)
{
	struct aces_offender_key k = { .kind = kind, .id = id };
	struct aces_offender *o = bpf_map_lookup_elem(&offenders, &k);

	if (o) {
		o->last_ns = now;
		o->count += 1;
		o->rule = rule;
		if (level > o->level)
			o->level = level;
		return;
	}
	struct aces_offender fresh = {
		.first_ns = now, .last_ns = now, .count = 1, .rule = rule, .level = level,
	};
	if (bpf_map_update_elem(&offenders, &k, &fresh, BPF_ANY))
		count_drop(DROP_OFFENDER);
}

/* The process or container offender record that applies to this task, or NULL. */
static __always_inline struct aces_offender *offender_lookup(__u32 tgid, __u64 key,
							     struct aces_config *cfg, __u64 now)
{
	struct aces_offender_key k = { .kind = OFFENDER_PROCESS, .id = tgid };
	struct aces_offender *o = bpf_map_lookup_elem(&offenders, &k);

	if (offender_live(o, cfg, now))
		return o;
	if (!key)
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

static __always_inline void kill_current(__u32 tid, __u64 seq)
{
	bpf_send_signal(SIGKILL);
	if (bpf_map_update_elem(&kill_pending, &tid, &seq, BPF_ANY))
		count_drop(DROP_KILL_PENDING);
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
 * ev must hold rule, ts_entry, container_key, the task fields (event_fill_task) and the object
 * facts. Fills the verdict fields, applies the action, emits. Returns VERDICT_*.
 */
static __always_inline int decide(struct aces_event *ev, struct aces_config *cfg, __u32 hook)
{
	__u32 rule = ev->rule;
	struct aces_rule_cfg *rc;
	__u64 key = ev->container_key;
	__u8 level, action, applied;
	__u64 now;
	int verdict = VERDICT_ALLOW;

	if (!cfg || rule >= RULE_MAX)
		return VERDICT_NONE;
	rc = bpf_map_lookup_elem(&rule_cfg, &rule);
	if (!rc || !rc->enabled || !hook_judges(rc, rule, hook))
		return VERDICT_NONE;
	if (key) {
		__u64 *mask = bpf_map_lookup_elem(&exempt, &key);

		if (mask && (*mask & (1ULL << rule)))
			return VERDICT_NONE;
	}

	level = rc->level;
	action = rc->action;
	ev->base_level = level;
	now = bpf_ktime_get_ns();

	struct aces_offender *o = offender_lookup((hook & HOOK_HOST_TASK) ? 0 : ev->tgid, key, cfg, now);
	if (o) {
		ev->flags |= EVF_OFFENDER;
		if (level < LEVEL_BREACH) {
			level += 1;
			ev->flags |= EVF_ESCALATED;
			__u8 raised = cfg->level_action[level & 3];
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

	if (level >= LEVEL_ATTEMPT) {
		if (!(hook & HOOK_HOST_TASK))
			offender_record(OFFENDER_PROCESS, ev->tgid, rule, level, now);
		if (key)
			offender_record(OFFENDER_CONTAINER, key, rule, level, now);
		ev->flags |= EVF_RECORDED;
	}

	ev->seq = next_seq();
	/* The verdict is taken here; applying it (a signal raises a self-interrupt on 6.13+) is
	 * measured separately, by the killed task's exit time. */
	ev->ts_decision = bpf_ktime_get_ns();
	switch (applied) {
	case ACT_DENY:
		verdict = VERDICT_DENY;
		break;
	case ACT_QUARANTINE:
		quarantine_container(key, cfg, now);
		/* fall through: the acting process dies too */
	case ACT_KILL:
		if (hook & HOOK_CAN_SIGNAL)
			kill_current(ev->pid, ev->seq);
		/* Where the program type cannot signal (cgroup hooks) the operation is refused and
		 * user space kills the process (respond/): the event says so by its tier. LSM hooks
		 * do both: the operation never happens and the process dies. */
		if (hook & HOOK_CAN_DENY)
			verdict = VERDICT_DENY;
		break;
	default:
		break;
	}
	ev->action = applied;
	emit_event(ev, cfg);
	return verdict;
}

#endif
