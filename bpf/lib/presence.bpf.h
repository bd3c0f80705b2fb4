/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Presence filters in front of the hash maps that a container hook looks up before its verdict
 * (aces.h explains the slot function). On a process's first event every hash-map miss is a TLB
 * and a cache miss on a bucket of a large vmalloc'd array; a clear filter bit settles it from one
 * line of a small array. Correctness rests on one order: a writer sets the bit (or raises the
 * count) before it adds the entry, and clears nothing until the entry is gone, so a hook never
 * skips an entry that exists. A false positive only costs the lookup that was done before.
 *
 *   offender_filter  bits, set here by offender_mark() before an "offenders" insert; never cleared
 *                    (records expire and are deleted, their bits stay: a lookup more, no miss)
 *   exempt_filter    bits, written by user space (kernel/aces-object.ts) for "exempt" keys
 *   ns_sysctl_filter bits, written by user space for "ns_sysctls" names (folded, aces.h), and
 *                    for the base names of the namespaced sysctls (sysctl.bpf.c)
 *   setup_count      counts of thread ids per slot: runtime set-up marks come and go with every
 *                    container start, so a bit would fill up; a count goes back to zero
 */
#ifndef ACES_LIB_PRESENCE_BPF_H
#define ACES_LIB_PRESENCE_BPF_H

static __always_inline __u32 filter_slot(__u64 id, __u64 salt, __u32 log2)
{
	return ((id ^ (salt << 56)) * ACES_FILTER_MULT) >> (64 - log2);
}

static __always_inline bool filter_has(struct aces_filter *f, __u64 id, __u64 salt)
{
	__u32 s = filter_slot(id, salt, ACES_FILTER_LOG2);

	if (!f)
		return true; /* no filter: look the entry up */
	return f->words[(s >> 6) & (ACES_FILTER_WORDS - 1)] & (1ULL << (s & 63));
}

static __always_inline struct aces_filter *filter_map(void *map)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(map, &zero);
}

/* Before an "offenders" insert of (kind, id). */
static __always_inline void offender_mark(__u32 kind, __u64 id)
{
	struct aces_filter *f = filter_map(&offender_filter);
	__u32 s = filter_slot(id, kind, ACES_FILTER_LOG2);

	if (f)
		__sync_fetch_and_or(&f->words[(s >> 6) & (ACES_FILTER_WORDS - 1)], 1ULL << (s & 63));
}

static __always_inline bool offender_maybe(__u32 kind, __u64 id)
{
	return filter_has(filter_map(&offender_filter), id, kind);
}

static __always_inline bool exempt_maybe(__u64 key)
{
	return filter_has(filter_map(&exempt_filter), key, FILTER_SALT_EXEMPT);
}

/* The filter id of a name: its first ACES_FILTER_NAME_BYTES bytes, folded (aces.h). name: zero
 * after its NUL, as user space pads the names. */
static __always_inline __u64 name_filter_id(const char *name)
{
	__u64 w0, w1;

	__builtin_memcpy(&w0, name, 8);
	__builtin_memcpy(&w1, name + 8, 8);
	return w0 ^ (w1 * ACES_FILTER_MULT);
}

/* name: an ACES_NAME_LEN buffer, zero after its NUL (as user space pads the map's keys). */
static __always_inline bool ns_sysctl_maybe(const char *name)
{
	return filter_has(filter_map(&ns_sysctl_filter), name_filter_id(name), FILTER_SALT_SYSCTL);
}

/* Whether some namespaced sysctl has this base name (its first ACES_FILTER_NAME_BYTES - 1 bytes). */
static __always_inline bool ns_sysctl_base_maybe(const char *base)
{
	return filter_has(filter_map(&ns_sysctl_filter), name_filter_id(base), FILTER_SALT_SYSCTL_BASE);
}

static __always_inline __u32 *setup_slot(__u32 tid)
{
	__u32 zero = 0;
	struct setup_counts *c = bpf_map_lookup_elem(&setup_count, &zero);

	if (!c)
		return NULL;
	return &c->n[filter_slot(tid, 0, SETUP_SLOTS_LOG2) & ((1 << SETUP_SLOTS_LOG2) - 1)];
}

/* Whether tid is a runtime set-up task ("setup_tasks"). */
static __always_inline bool setup_task(__u32 tid)
{
	__u32 *n = setup_slot(tid);

	if (n && !*n)
		return false;
	return bpf_map_lookup_elem(&setup_tasks, &tid) != NULL;
}

/* Mark tid as a set-up task: the count first, then the entry; a count for an entry that was
 * already there or could not be added is taken back. */
static __always_inline void setup_mark(__u32 tid)
{
	__u32 *n = setup_slot(tid);
	__u8 one = 1;
	long err;

	if (n)
		__sync_fetch_and_add(n, 1);
	err = bpf_map_update_elem(&setup_tasks, &tid, &one, BPF_NOEXIST);
	if (err && n)
		__sync_fetch_and_add(n, -1);
	if (err && err != -17 /* EEXIST */)
		count_drop(DROP_SETUP);
}

/* End tid's set-up mark, if it has one: the entry first, then its count. */
static __always_inline void setup_clear(__u32 tid)
{
	__u32 *n = setup_slot(tid);

	/* A zero count: no entry to delete (every exec and exit of the host passes here). */
	if (n && !*n)
		return;
	if (bpf_map_delete_elem(&setup_tasks, &tid))
		return;
	if (n)
		__sync_fetch_and_add(n, -1);
}

#endif
