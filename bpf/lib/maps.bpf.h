/* SPDX-License-Identifier: GPL-2.0 */
/* Every map of the ACES object. Names are what `bpftool map` shows: at most 15 characters. */
#ifndef ACES_LIB_MAPS_BPF_H
#define ACES_LIB_MAPS_BPF_H

/* Events to user space. Wakeups are batched (see emit.bpf.h). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 * 1024 * 1024);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct aces_config);
} aces_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, RULE_MAX);
	__type(key, __u32);
	__type(value, struct aces_rule_cfg);
} rule_cfg SEC(".maps");

/* container key -> bit mask of rule ids that a policy exception lifts for it */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u64);
} exempt SEC(".maps");

/* Containers that share the host pid namespace, registered by user space (DESIGN §4). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u32);
} host_ctrs SEC(".maps");

/* Runtime set-up tasks: in a container pid namespace, not yet past their first exec there. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, __u8);
} setup_tasks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct aces_offender_key);
	__type(value, struct aces_offender);
} offenders SEC(".maps");

/* Presence filters (aces.h, presence.bpf.h) in front of "offenders" (bits set by the kernel, by
 * offender kind) and "exempt" (bits set by user space). Separate maps: each has one writer. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct aces_filter);
} offender_filter SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct aces_filter);
} exempt_filter SEC(".maps");

/* A counting filter in front of "setup_tasks": marks come and go with every container start, so
 * slots count the thread ids in them (presence.bpf.h). */
#define SETUP_SLOTS_LOG2 10
struct setup_counts {
	__u32 n[1 << SETUP_SLOTS_LOG2];
};
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct setup_counts);
} setup_count SEC(".maps");

/* Rate limit of alert-only events, per container key: one-second windows (emit.bpf.h). */
struct alert_window {
	__u64 start_ns;       /* start of the current window */
	__u64 written;        /* alert-only events written in it (64-bit: atomics of clang 14) */
	__u64 suppressed;     /* held back since the container's last written event */
};
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct alert_window);
} alert_rate SEC(".maps");

/* container key -> time it was quarantined */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u64);
} quarantine SEC(".maps");

/* thread id -> seq of the event that killed it, to report its exit time */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, __u64);
} kill_pending SEC(".maps");

/* container keys already announced to user space (REC_CONTAINER) */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u64);
	__type(value, __u64);
} known_ctrs SEC(".maps");

/* file systems that make up container roots -> container key */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct aces_ctr_fs_key);
	__type(value, __u64);
} ctr_fs SEC(".maps");

/* usermode helpers that run a script: thread id -> the script's file name (its last path
 * component), so that only the helper's open of that script is judged, not every file it reads
 * (a core dump handler such as apport opens the crashed container binary through /proc). */
struct umh_script {
	char name[ACES_NAME_LEN];
};
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct umh_script);
} umh_scripts SEC(".maps");

/* sysctl names (as bpf_sysctl_get_name gives them) that a container may write: namespaced ones */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 512);
	__type(key, char[ACES_NAME_LEN]);
	__type(value, __u8);
} ns_sysctls SEC(".maps");

/* Presence filter in front of "ns_sysctls" (presence.bpf.h), written by user space. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct aces_filter);
} ns_sysctl_filter SEC(".maps");

/* mount(2) in flight: thread id -> newest mount of the namespace at entry */
struct mount_entry {
	__u64 newest;
	__u32 flags;
	__u32 pad;
};
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct mount_entry);
} mount_args SEC(".maps");

/* connect(2) in flight: thread id -> fd */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u64);
} connect_fds SEC(".maps");

/* inode numbers of the host's namespaces (all types), from the daemon's /proc/self/ns */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u8);
} host_ns SEC(".maps");

/* runtime binaries and sockets by (kind, dev, ino), from the daemon */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, struct aces_file_key);
	__type(value, __u8);
} runtime_objs SEC(".maps");

/* Credential baseline of each container task: what it held after its last legitimate
 * transition (exec, fork). A rise beyond it without one is the signature of a kernel exploit. */
struct cred_base {
	__u64 cap_permitted;
	__u64 user_ns;
	__u32 uid;
	__u32 euid;
	__u32 suid;
	__u8 valid;
	__u8 host;            /* held the host's mount namespace or root already at baseline */
	__u8 offender;        /* its process has an offender record: worth the fast-path lookup */
	__u8 pad;
	/* The mount namespace and root dentry that "host" was computed from (integrity.bpf.h):
	 * while the task still holds these very objects, it is not computed again. */
	__u64 mnt_ns;
	__u64 root;
};
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct cred_base);
} cred_bases SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, DROP_MAX);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

/* [0] next event seq */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} seq_counter SEC(".maps");

static __always_inline struct aces_config *get_config(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&aces_cfg, &zero);
}

static __always_inline void count_drop(__u32 reason)
{
	__u64 *n = bpf_map_lookup_elem(&drops, &reason);
	if (n)
		*n += 1;
}

#endif
