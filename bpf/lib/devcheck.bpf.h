/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One verdict per block-device open. The kernel runs the device cgroup check twice for one
 * open(2) of a block device: may_open -> inode_permission -> devcgroup_inode_permission, then
 * blkdev_open -> bdev_permission -> devcgroup_check_permission, with the same device and access.
 * Judged twice, an open that the policy lets through (alert, monitor mode) would be reported
 * twice and, worse, the second check would find the offender record the first one wrote and
 * escalate: one open under `action: alert` would reach the breach level's action.
 *
 * So the device hook remembers, per CPU, the last check it let through with an event (thread,
 * device, access, time), and a second check of the same thread, device and access is that same
 * operation's: allowed again, without a second event. The open syscalls' exit hooks
 * (files.bpf.c) end the memory when the open returns, opened or failed; opens that no exit hook
 * sees (io_uring, mount's own device lookup, kernels where the open tracepoints are not
 * attached) are bounded by DEVCHECK_WINDOW_NS. A check that denied is never
 * remembered: the operation ended there, and a retry gets its own verdict and event. Only a
 * process with an offender record is looked up (the escalation needs one); a level-1 rule
 * (no record) can report an open twice, at the same level.
 */
#ifndef ACES_LIB_DEVCHECK_BPF_H
#define ACES_LIB_DEVCHECK_BPF_H

/* The µs between the two checks can grow to many ms when the opener is preempted between them
 * (one CPU, the daemon woken by the first check's event; an emulated CPU): the bound is wide. It
 * only matters where no exit hook ends the memory, and then only merges opens of one device by
 * one thread within it, none of which the policy refuses. */
#define DEVCHECK_WINDOW_NS 100000000ULL /* 100 ms */

struct dev_check {
	__u64 pid_tgid;       /* 0: nothing remembered */
	__u64 ts;
	__u32 dev;
	__u32 access;
};
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dev_check);
} dev_checks SEC(".maps");

static __always_inline struct dev_check *dev_check_slot(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&dev_checks, &zero);
}

/* This check repeats one the hook let through for the same operation. */
static __always_inline bool dev_check_repeated(__u64 pid_tgid, __u32 dev, __u32 access, __u64 now)
{
	struct dev_check *c = dev_check_slot();

	return c && c->pid_tgid == pid_tgid && c->dev == dev && c->access == access &&
	       now - c->ts < DEVCHECK_WINDOW_NS;
}

static __always_inline void dev_check_remember(__u64 pid_tgid, __u32 dev, __u32 access, __u64 now)
{
	struct dev_check *c = dev_check_slot();

	if (!c)
		return;
	c->pid_tgid = pid_tgid;
	c->ts = now;
	c->dev = dev;
	c->access = access;
}

/* The current thread's open has returned: its device checks are over. Every failed open of the
 * host comes here: an empty memory (nearly always) costs one load, no helper call. */
static __always_inline void dev_check_end(void)
{
	struct dev_check *c = dev_check_slot();

	if (c && c->pid_tgid && c->pid_tgid == bpf_get_current_pid_tgid())
		c->pid_tgid = 0;
}

#endif
