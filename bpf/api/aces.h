/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Wire structs and constants shared by the BPF programs and the TypeScript side.
 *
 * Every struct here is fixed-width with explicit padding; test/unit/wire-layout checks
 * each one against the BTF of the compiled object, so a field moved here and not in
 * src/wire/ fails a test instead of corrupting events. Constants keep the same spelling
 * in TypeScript (src/wire/constants.ts) so one grep finds both sides.
 *
 * This header must not include vmlinux.h: it only needs the __u8.. __u64 types, which
 * the includer provides (vmlinux.h in BPF, linux/types.h elsewhere).
 */
#ifndef ACES_API_ACES_H
#define ACES_API_ACES_H

#define ACES_WIRE_VERSION 1

/* Ring-buffer record kinds: the first __u16 of every record. */
#define REC_EVENT 1       /* struct aces_event: an escape event and its verdict */
#define REC_EXIT 2        /* struct aces_exit: a task that ACES killed has exited */
#define REC_CONTAINER 3   /* struct aces_container: a container key seen for the first time */
#define REC_CGROUP 4      /* struct aces_cgroup: a cgroup was created (container start, before exec) */

/* Rule ids: stable, never reused. Names live in src/policy/rules.ts. */
#define RULE_CGROUP_V1_MOUNT 1
#define RULE_RELEASE_AGENT_WRITE 2
#define RULE_RELEASE_AGENT_READ 3
#define RULE_SYSCTL_HOST_WRITE 4
#define RULE_BINFMT_MISC_WRITE 5
#define RULE_SYSRQ_TRIGGER_WRITE 6
#define RULE_BLOCKDEV_MOUNT 7
#define RULE_BLOCKDEV_MKNOD 8
#define RULE_BLOCKDEV_OPEN 9
#define RULE_UMH_CONTAINER_EXEC 10
#define RULE_QUARANTINED_TASK 11
/* issue 3: namespaces, privilege escalation, runtime and kernel interfaces */
#define RULE_SETNS_HOST 12
#define RULE_FOREIGN_MOUNT_OPEN 13
#define RULE_SIGNAL_HOST 14
#define RULE_PROC_FOREIGN_READ 15
#define RULE_KEYCTL_HOST 16
#define RULE_PTRACE_FOREIGN 17
#define RULE_PROC_MEM_WRITE 18
#define RULE_CRED_RISE 19
#define RULE_HOST_NS_HELD 20
#define RULE_USERNS_MOUNT 21
#define RULE_OPEN_BY_HANDLE 22
#define RULE_HOST_ROOT_CHROOT 23
#define RULE_RUNTIME_BINARY_WRITE 24
#define RULE_RUNTIME_SOCKET 25
#define RULE_EXEC_CWD_OUTSIDE 26
#define RULE_BPF_LOAD 27
#define RULE_KERNEL_FS_MOUNT 28
#define RULE_SYSLOG_READ 29
#define RULE_CGROUP_ROOT_MOVE 30
#define RULE_PERF_SYSTEM_WIDE 31
#define RULE_MAX 64

/* Levels (DESIGN §2). */
#define LEVEL_PROBE 1
#define LEVEL_ATTEMPT 2
#define LEVEL_BREACH 3

/* Actions, ordered by strength. */
#define ACT_ALERT 1
#define ACT_DENY 2
#define ACT_KILL 3
#define ACT_QUARANTINE 4

/* Enforcement tiers (DESIGN §3): the mechanism that applied the action. */
#define TIER_LSM 1
#define TIER_CGROUP 2
#define TIER_SIGNAL 3

/* aces_event.flags */
#define EVF_MONITOR (1 << 0)     /* monitor mode: the action was only recorded, not applied */
#define EVF_FAST_PATH (1 << 1)   /* decided from the offender map before the full check */
#define EVF_OFFENDER (1 << 2)    /* the process or container was already a recorded offender */
#define EVF_ESCALATED (1 << 3)   /* level raised by one because of the offender record */
#define EVF_RECORDED (1 << 4)    /* this event added or refreshed an offender record */
#define EVF_HOST_TASK (1 << 5)   /* the acting task is a host task (usermode helper) */
#define EVF_IO_URING (1 << 6)    /* the operation came through io_uring, not a system call */

/* Container key kinds (aces_config.key_source). */
#define KEY_CGROUP_V2 0          /* cgroup id of the task's cgroup-v2 (default hierarchy) cgroup */
#define KEY_CGROUP_V1 1          /* kernfs id of the task's cgroup in v1 hierarchy key_subsys_id */

#define MODE_ENFORCE 0
#define MODE_MONITOR 1

/* Drop counters (per-CPU array "drops"), never silent. */
#define DROP_RINGBUF 0           /* event not written: ring buffer full */
#define DROP_OFFENDER 1          /* offender map update failed */
#define DROP_QUARANTINE 2        /* quarantine map update failed */
#define DROP_KILL_PENDING 3      /* kill not tracked for its exit time */
#define DROP_CONTAINER 4         /* container root not recorded */
#define DROP_SETUP 5             /* runtime setup task not recorded */
#define DROP_RATE_LIMITED 6      /* alert-only event folded into its container's next event by the
				  * rate limiter (aces_event.suppressed): summarised, not lost */
#define DROP_RINGBUF_HEADROOM 7  /* alert-only event not written: the ring's last quarter is kept
				  * for decisions (deny, kill, quarantine); summarised like
				  * DROP_RATE_LIMITED (its container's next event carries it) */
#define DROP_MAX 8

#define ACES_COMM_LEN 16
#define ACES_NAME_LEN 64

struct aces_event {
	__u16 kind;           /* REC_EVENT */
	__u16 version;        /* ACES_WIRE_VERSION */
	__u16 rule;           /* RULE_* */
	__u8 level;           /* level after escalation */
	__u8 base_level;      /* level the policy gives the rule */
	__u8 action;          /* action applied (ACT_ALERT in monitor mode) */
	__u8 policy_action;   /* action the policy and escalation asked for */
	__u8 tier;            /* TIER_* that enforced it */
	__u8 flags;           /* EVF_* */
	__u32 suppressed;     /* alert-only events of this container the rate limiter held back
			       * since its last written event (DROP_RATE_LIMITED) */
	__u64 seq;            /* per-boot event number; REC_EXIT records point back to it */
	__u64 ts_entry;       /* bpf_ktime_get_ns() at hook entry */
	__u64 ts_decision;    /* bpf_ktime_get_ns() once the verdict was taken */
	__u64 container_key;  /* cgroup id that names the container (0: not a container task) */
	__u32 pid;            /* thread id, host pid namespace */
	__u32 tgid;           /* process id, host pid namespace */
	__u32 ppid;           /* parent process id, host pid namespace */
	__u32 uid;            /* real uid, host view */
	__u32 euid;
	__u32 pidns;          /* pid namespace inode */
	__u32 mntns;          /* mount namespace inode */
	__u32 obj_dev;        /* kernel dev_t (MKDEV(major,minor) = major << 20 | minor) of the object */
	__u64 obj_ino;        /* inode number of the object, when there is one */
	__u32 obj_magic;      /* filesystem magic of the object */
	__u32 obj_flags;      /* open flags, mount flags or device access mask, per rule */
	__s32 syscall_ret;    /* result of the syscall seen at exit, or 0 */
	__u32 pad1;
	char comm[ACES_COMM_LEN];
	char name[ACES_NAME_LEN]; /* dentry name, sysctl name or filesystem type, per rule */
};

struct aces_exit {
	__u16 kind;           /* REC_EXIT */
	__u16 version;
	__u32 pid;            /* the task that exited (thread id) */
	__u64 seq;            /* event that killed it */
	__u64 ts_exit;        /* bpf_ktime_get_ns() in sched_process_exit */
};

struct aces_container {
	__u16 kind;           /* REC_CONTAINER */
	__u16 version;
	__u32 tgid;           /* a process of that container (host pid) */
	__u64 container_key;
	__u32 pidns;
	__u32 mntns;
	__u64 ts;
};

#define ACES_CGROUP_PATH_LEN 256
struct aces_cgroup {
	__u16 kind;           /* REC_CGROUP */
	__u16 version;
	__u32 hierarchy_id;   /* cgroup_root hierarchy id: 0 for the v2 hierarchy */
	__u64 cgroup_id;      /* kernfs id: the container key when this is the key hierarchy */
	__u64 ts;
	char path[ACES_CGROUP_PATH_LEN]; /* path below the hierarchy root, e.g. /docker/<id> */
};

/* Single-element array "config". */
struct aces_config {
	__u32 mode;           /* MODE_* */
	__u32 key_source;     /* KEY_* */
	__u32 key_subsys_id;  /* v1 subsystem id when key_source == KEY_CGROUP_V1 */
	__u32 wakeup_level;   /* wake user space at once for events at or above this level */
	__u64 offender_ttl_ns;/* offender records older than this are ignored (0: never expire) */
	__u32 quarantine_on;  /* non-zero while any container is quarantined */
	__u8 level_action[4]; /* ACT_* for an escalated level, indexed by level (0 unused) */
	__u32 host_ctrs;      /* number of registered containers that share the host pid namespace */
	__u32 host_root_dev;  /* the host's "/": never recorded as a container root */
	__u64 host_root_ino;
	__u32 host_mntns;     /* inode number of the host's mount namespace */
	__u32 alert_rate;     /* alert-only events written per container and second (0: no limit) */
};

/* Array "rule_cfg", indexed by rule id. */
struct aces_rule_cfg {
	__u8 enabled;
	__u8 level;
	__u8 action;          /* ACT_* the policy asks for at this level */
	__u8 tier;            /* TIER_* the tier plan chose: only that tier's hooks judge the rule (0: any) */
	__u32 pad1;
};

/* Key of the "offenders" map. */
#define OFFENDER_PROCESS 1
#define OFFENDER_CONTAINER 2
struct aces_offender_key {
	__u32 kind;           /* OFFENDER_* */
	__u32 pad0;
	__u64 id;             /* tgid or container key */
};

struct aces_offender {
	__u64 first_ns;
	__u64 last_ns;
	__u32 count;
	__u16 rule;           /* rule of the last event */
	__u8 level;           /* highest level reached */
	__u8 pad0;
	/* Object of the last event: the same object again, with the same flags, is decided from
	 * this record (fast path) instead of the full rule check. obj_dev 0: none recorded. */
	__u32 obj_dev;
	__u32 obj_flags;
	__u64 obj_ino;
};

/* Key of the "runtime_objs" map: files of the container runtimes, by identity. */
#define RUNTIME_BINARY 1      /* runc, containerd, containerd-shim*, dockerd, crun, conmon ... */
#define RUNTIME_SOCKET 2      /* docker.sock, containerd.sock, crio.sock, podman.sock ... */
struct aces_file_key {
	__u32 kind;
	__u32 dev;
	__u64 ino;
};

/* Key of the "ctr_fs" map: file systems that make up a container's root. */
#define CTR_FS_SUPER 1        /* a container root superblock (overlay "merged"): ino = 0 */
#define CTR_FS_LAYER 2        /* a layer directory (upper or lower) on the backing fs */
struct aces_ctr_fs_key {
	__u32 kind;
	__u32 dev;
	__u64 ino;
};

/*
 * Presence filters (lib/presence.bpf.h): one bit per slot, set for every id that may have an entry
 * in a hash map, so that a hook skips the lookup of an id whose bit is clear. A hash-map miss
 * touches a bucket in a large vmalloc'd array (a TLB and a cache miss on a process's first event);
 * the filter is one cache line of a small array. Bits are only ever set by the map's writer before
 * the entry is added, so a clear bit is proof of absence; a set bit only costs the lookup.
 *   slot = ((id ^ (salt << 56)) * ACES_FILTER_MULT) >> (64 - ACES_FILTER_LOG2)
 */
#define ACES_FILTER_LOG2 12
#define ACES_FILTER_WORDS ((1 << ACES_FILTER_LOG2) / 64)
#define ACES_FILTER_MULT 0x9E3779B97F4A7C15ULL
#define FILTER_SALT_EXEMPT 1           /* "exempt" keys: written by user space */
#define FILTER_SALT_SYSCTL 2           /* "ns_sysctls" names, folded: id = w0 ^ (w1 * ACES_FILTER_MULT)
					* over the first two little-endian 64-bit words of the
					* zero-padded name; written by user space */
#define FILTER_SALT_SYSCTL_BASE 3      /* base names of the namespaced sysctls (the last path
					* component), cut to ACES_FILTER_NAME_BYTES - 1 bytes and
					* folded the same way; written by user space */
#define ACES_FILTER_NAME_BYTES 16      /* bytes of a name that its filter id folds */
struct aces_filter {
	__u64 words[ACES_FILTER_WORDS];
};

#endif
