/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Mounts made by container tasks, judged by the superblock that got mounted.
 *
 * Techniques: mounting a cgroup-v1 hierarchy (the first step of the release_agent escape),
 * mounting a filesystem backed by a block device (the host disk), mounting kernel interfaces
 * (tracefs, debugfs, securityfs, binfmt_misc, bpffs), and overlayfs/FUSE mounts inside a user
 * namespace made in the container (the set-up of several privilege-escalation exploits). On 6.x, mounting an already
 * mounted host disk reuses the host's superblock without opening the device, so neither the
 * devices cgroup nor cgroup/dev is consulted: the mount itself must be caught.
 *
 * Hooks and why:
 *   syscalls/sys_enter_mount   remember the namespace's newest mount and the flags
 *   syscalls/sys_exit_mount    on success, the namespace's newest mount is the one just made
 *                              (mount ids only grow); judge its superblock: s_magic, s_bdev.
 *                              This also covers bind mounts of a cgroupfs and any fstype string.
 *   syscalls/sys_exit_fsmount, sys_exit_open_tree
 *                              new mount API: the fd names a detached mount; the process is
 *                              killed before it can move_mount() it anywhere.
 * mount(2) cannot be refused without LSM: the kill lands after the mount exists, so the block
 * device rule defaults to quarantine (the container's mount namespace, and the mount, go away).
 * Minimum kernel: 5.2 (fsmount); newest-mount lookup handles the 6.1 list, 6.8 rbtree and
 * 6.13+ cached-last layouts of struct mnt_namespace with CO-RE.
 */

#define MS_BIND 4096
#define TRACEFS_MAGIC 0x74726163
#define DEBUGFS_MAGIC 0x64626720
#define SECURITYFS_MAGIC 0x73636673
#define BPF_FS_MAGIC 0xcafe4a11
#define FUSE_SUPER_MAGIC 0x65735546

/* Kernels before 6.8 (commit 2eea9ce4310d "mounts: keep list of mounts in an rbtree") kept the
 * mounts of a namespace on a list, newest last. */
struct mnt_namespace___list {
	struct list_head list;
} __attribute__((preserve_access_index));
struct mount___list {
	struct list_head mnt_list;
} __attribute__((preserve_access_index));

static __always_inline struct mount *ns_newest_mount(struct mnt_namespace *ns)
{
	if (bpf_core_field_exists(ns->mnt_last_node)) {
		struct rb_node *n = BPF_CORE_READ(ns, mnt_last_node);

		return n ? (void *)n - bpf_core_field_offset(struct mount, mnt_node) : NULL;
	}
	if (bpf_core_field_exists(ns->mounts)) {
		struct rb_node *n = BPF_CORE_READ(ns, mounts.rb_node);

		for (int i = 0; i < 64 && n; i++) {
			struct rb_node *r = BPF_CORE_READ(n, rb_right);
			if (!r)
				break;
			n = r;
		}
		return n ? (void *)n - bpf_core_field_offset(struct mount, mnt_node) : NULL;
	}
	struct mnt_namespace___list *old = (void *)ns;
	struct list_head *last = BPF_CORE_READ(old, list.prev);
	return (void *)last - bpf_core_field_offset(struct mount___list, mnt_list);
}

/* Judge a superblock a container task mounted (tracepoints) or is about to mount (lsm.bpf.c:
 * sb_kern_mount, move_mount). hook: HOOK_* of the caller. Returns the VERDICT_* of decide(). */
static __always_inline int judge_mounted_sb(struct task_struct *t, struct aces_config *cfg,
					    struct super_block *sb, __u64 ts, __u32 flags, long ret,
					    __u32 hook)
{
	__u32 magic = BPF_CORE_READ(sb, s_magic);
	struct aces_event ev = { .ts_entry = ts };
	__u64 key = task_container_key(t, cfg);

	if (container_quarantined(key, cfg)) {
		ev.rule = RULE_QUARANTINED_TASK;
		ev.flags |= EVF_FAST_PATH;
	} else if ((ev.rule = integrity_breach(t, cfg, false))) {
		/* reported as the breach */
	} else if (magic == CGROUP_SUPER_MAGIC) {
		ev.rule = RULE_CGROUP_V1_MOUNT;
	} else if (BPF_CORE_READ(sb, s_bdev)) {
		ev.rule = RULE_BLOCKDEV_MOUNT;
	} else if (magic == TRACEFS_MAGIC || magic == DEBUGFS_MAGIC || magic == SECURITYFS_MAGIC ||
		   magic == BINFMTFS_MAGIC || magic == BPF_FS_MAGIC) {
		ev.rule = RULE_KERNEL_FS_MOUNT;
	} else if ((magic == OVERLAYFS_SUPER_MAGIC || magic == FUSE_SUPER_MAGIC) &&
		   BPF_CORE_READ(t, nsproxy, mnt_ns, user_ns, level) > 0) {
		/* overlayfs and FUSE inside a user namespace a container made: the set-up of the
		 * overlayfs and FUSE privilege-escalation exploits (CVE-2021-3493, CVE-2023-0386). */
		ev.rule = RULE_USERNS_MOUNT;
	} else {
		return VERDICT_NONE;
	}
	event_fill_task(&ev, t, key);
	ev.obj_dev = sb_dev(sb);
	ev.obj_magic = magic;
	ev.obj_flags = flags;
	ev.syscall_ret = ret;
	bpf_probe_read_kernel_str(ev.name, sizeof(ev.name), BPF_CORE_READ(sb, s_type, name));
	return decide(&ev, cfg, hook, t);
}

SEC("tracepoint/syscalls/sys_enter_mount")
int mount_enter(struct trace_event_raw_sys_enter *ctx)
{
	struct aces_config *cfg = get_config();
	struct task_struct *t = bpf_get_current_task_btf();

	if (!cfg || !task_is_container(t, cfg))
		return 0;
	struct mount_entry e = {
		.newest = (__u64)ns_newest_mount(BPF_CORE_READ(t, nsproxy, mnt_ns)),
		.flags = (__u32)ctx->args[3],
	};
	__u32 tid = BPF_CORE_READ(t, pid);
	bpf_map_update_elem(&mount_args, &tid, &e, BPF_ANY);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_mount")
int mount_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u64 ts = bpf_ktime_get_ns();
	struct task_struct *t = bpf_get_current_task_btf();
	__u32 tid = BPF_CORE_READ(t, pid);
	struct mount_entry *e = bpf_map_lookup_elem(&mount_args, &tid);

	if (!e)
		return 0;
	struct mount_entry saved = *e;
	bpf_map_delete_elem(&mount_args, &tid);
	if (ctx->ret != 0)
		return 0;
	struct aces_config *cfg = get_config();
	struct mount *m = ns_newest_mount(BPF_CORE_READ(t, nsproxy, mnt_ns));
	if (!cfg || !m || (__u64)m == saved.newest)
		return 0; /* remount, move, propagation flags: nothing new was mounted */
	/* The decision is taken in this hook: its entry time is the event's (the mount itself ran
	 * between the two hooks and is not ACES's latency). */
	/* A bind mount through mount(2) names its source by a path the LSM hooks cannot resolve
	 * (sb_mount gets a string): on the lsm tier this hook still judges those. */
	judge_mounted_sb(t, cfg, BPF_CORE_READ(m, mnt.mnt_sb), ts, saved.flags, ctx->ret,
			 HOOK_CAN_SIGNAL | ((saved.flags & MS_BIND) ? HOOK_LSM_GAP : 0));
	return 0;
}

/* fsmount() and open_tree(OPEN_TREE_CLONE) return an fd for a detached mount. */
static __always_inline void detached_mount_fd(struct trace_event_raw_sys_exit *ctx)
{
	long fd = ctx->ret;

	if (fd < 0)
		return;
	__u64 ts = bpf_ktime_get_ns();
	struct aces_config *cfg = get_config();
	struct task_struct *t = bpf_get_current_task_btf();

	if (!cfg || !task_is_container(t, cfg))
		return;
	struct file *f = task_fd_file(t, fd);
	if (!f)
		return;
	judge_mounted_sb(t, cfg, BPF_CORE_READ(f, f_path.mnt, mnt_sb), ts, 0, fd, HOOK_CAN_SIGNAL);
}

SEC("tracepoint/syscalls/sys_exit_fsmount")
int mount_fsmount(struct trace_event_raw_sys_exit *ctx)
{
	detached_mount_fd(ctx);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_open_tree")
int mount_otree(struct trace_event_raw_sys_exit *ctx)
{
	detached_mount_fd(ctx);
	return 0;
}
