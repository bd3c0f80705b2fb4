/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The lsm tier: the same detections as the tracepoint tier, taken before the operation happens,
 * so a deny is a deny (-EPERM) and the process lives on.
 *
 * Each program is a shim over the judge of the family that owns the technique, so a rule means
 * the same on every tier: judge_file() (files.bpf.c), judge_mounted_sb() (mount.bpf.c),
 * helper_exec() (exec.bpf.c). decide() then sees HOOK_LSM: the event says tier lsm, and a deny
 * (or the deny half of a kill) is this hook's return value. rule_cfg[rule].tier keeps the
 * tracepoint and cgroup hooks off the rules enforced here, so an operation is judged once.
 *
 *   open(2), openat2, io_uring OPENAT -> do_dentry_open -> security_file_open  -> lsm_file_open
 *     release_agent / notify_on_release, binfmt_misc, /proc/sysrq-trigger: the open fails
 *   mount(2) new mount -> do_new_mount_fc -> security_sb_kern_mount(sb)      -> lsm_kern_mount
 *   fsconfig(FSCONFIG_CMD_CREATE) -> vfs_cmd_create -> security_sb_kern_mount(sb)
 *     the superblock exists (also a reused one: an already mounted host disk), the mount does
 *     not yet: cgroup-v1 and block-device mounts fail before they are attached anywhere, and
 *     the new mount API fails before fsmount() can make even a detached mount
 *   open_tree(OPEN_TREE_CLONE) + move_mount -> security_move_mount(from, to)  -> lsm_move_mount
 *     a detached copy of a mount (its own anonymous namespace) is refused its place in the tree
 *   mount(2) MS_BIND: security_sb_mount only gets the source as a string, which BPF cannot
 *     resolve; mount.bpf.c's tracepoints judge those after the fact (HOOK_LSM_GAP)
 *   execve / kernel_execve -> search_binary_handler -> security_bprm_check  -> lsm_bprm_check
 *     a usermode helper about to run a container's file (its script at the first handler
 *     pass, a substituted binfmt_misc interpreter at the next) is refused
 *   mknod(2) -> security_path_mknod (CONFIG_SECURITY_PATH)                    -> lsm_path_mknod
 *     a block device node: a second line before cgroup/dev (device.bpf.c)
 *   ptrace(ATTACH/SEIZE), process_vm_writev, pidfd_getfd ... -> __ptrace_may_access
 *     -> security_ptrace_access_check(child, PTRACE_MODE_ATTACH_*)            -> lsm_ptrace
 *     a task outside the container: the attach fails (read-mode checks, as by ps, pass)
 *   nsenter's open of /proc/<host pid>/ns/<type>: lsm_file_open (files.bpf.c's judge)
 *
 * Every program takes the previous LSM's verdict as its last argument and keeps a refusal.
 * The object must still load where lsm/ programs are refused (this project's CI kernel): user
 * space turns autoload off for every program here unless the tier plan picked lsm.
 * Minimum kernel: 5.7 (BPF LSM), booted with bpf in lsm=.
 */

#define EPERM 1
#define S_IFBLK 0060000

static __always_inline int lsm_verdict(int verdict)
{
	return verdict == VERDICT_DENY ? -EPERM : 0;
}

SEC("lsm/file_open")
int BPF_PROG(lsm_file_open, struct file *file, int ret)
{
	if (ret)
		return ret;
	__u64 ts = bpf_ktime_get_ns();
	struct aces_config *cfg;
	struct task_struct *t = current_container_task(&cfg);

	/* Host tasks: a usermode helper's script is refused at its exec (lsm_bprm_check). */
	if (!t)
		return 0;
	return lsm_verdict(judge_file(t, cfg, file, ts, 0, 0, HOOK_LSM | HOOK_CAN_DENY | HOOK_CAN_SIGNAL));
}

SEC("lsm/sb_kern_mount")
int BPF_PROG(lsm_kern_mount, struct super_block *sb, int ret)
{
	if (ret)
		return ret;
	__u64 ts = bpf_ktime_get_ns();
	struct aces_config *cfg;
	struct task_struct *t = current_container_task(&cfg);

	if (!t)
		return 0;
	return lsm_verdict(judge_mounted_sb(t, cfg, sb, ts, 0, 0, HOOK_LSM | HOOK_CAN_DENY | HOOK_CAN_SIGNAL));
}

SEC("lsm/move_mount")
int BPF_PROG(lsm_move_mount, const struct path *from_path, const struct path *to_path, int ret)
{
	if (ret)
		return ret;
	__u64 ts = bpf_ktime_get_ns();
	struct aces_config *cfg;
	struct task_struct *t = current_container_task(&cfg);

	if (!t)
		return 0;
	/* Only a mount new to the namespace (fsmount, open_tree(OPEN_TREE_CLONE): a detached mount
	 * in an anonymous namespace) is judged; moving a mount already in it adds nothing, as on
	 * the tracepoint tier, where only the namespace's newest mount counts. */
	struct vfsmount *from = BPF_CORE_READ(from_path, mnt);
	struct mount *m = (void *)from - bpf_core_field_offset(struct mount, mnt);
	if (BPF_CORE_READ(m, mnt_ns) == BPF_CORE_READ(t, nsproxy, mnt_ns))
		return 0;
	return lsm_verdict(judge_mounted_sb(t, cfg, BPF_CORE_READ(from, mnt_sb), ts, 0, 0,
					    HOOK_LSM | HOOK_CAN_DENY | HOOK_CAN_SIGNAL));
}

SEC("lsm/bprm_check_security")
int BPF_PROG(lsm_bprm_check, struct linux_binprm *bprm, int ret)
{
	if (ret)
		return ret;
	__u64 ts = bpf_ktime_get_ns();
	struct aces_config *cfg = get_config();
	struct task_struct *t = bpf_get_current_task_btf();

	if (!cfg)
		return 0;
	if (!task_is_container(t, cfg))
		return lsm_verdict(helper_exec(t, bprm, cfg, ts, HOOK_LSM | HOOK_CAN_DENY | HOOK_CAN_SIGNAL));

	/* No new program in a quarantined container. */
	__u64 key = task_container_key(t, cfg);
	if (!container_quarantined(key, cfg))
		return 0;
	struct aces_event ev = { .rule = RULE_QUARANTINED_TASK, .ts_entry = ts, .flags = EVF_FAST_PATH };
	event_fill_task(&ev, t, key);
	return lsm_verdict(decide(&ev, cfg, HOOK_LSM | HOOK_CAN_DENY | HOOK_CAN_SIGNAL));
}

SEC("lsm/path_mknod")
int BPF_PROG(lsm_path_mknod, const struct path *dir, struct dentry *dentry, umode_t mode,
	     unsigned int dev, int ret)
{
	if (ret)
		return ret;
	if ((mode & S_IFMT) != S_IFBLK)
		return 0;
	__u64 ts = bpf_ktime_get_ns();
	struct aces_config *cfg;
	struct task_struct *t = current_container_task(&cfg);

	if (!t)
		return 0;
	/* dev is mknod(2)'s user encoding (new_encode_dev); events carry the kernel's MKDEV. */
	__u32 major = (dev & 0xfff00) >> 8;
	__u32 minor = (dev & 0xff) | ((dev >> 12) & 0xfff00);
	__u64 key = task_container_key(t, cfg);
	struct aces_event ev = { .rule = RULE_BLOCKDEV_MKNOD, .ts_entry = ts };
	/* As device.bpf.c decides it, so that the two lines mean the same. */
	if (container_quarantined(key, cfg)) {
		ev.rule = RULE_QUARANTINED_TASK;
		ev.flags |= EVF_FAST_PATH;
	}
	event_fill_task(&ev, t, key);
	ev.obj_dev = (major << 20) | minor;
	ev.obj_flags = BPF_DEVCG_ACC_MKNOD;
	dentry_name(dentry, ev.name, sizeof(ev.name));
	return lsm_verdict(decide(&ev, cfg, HOOK_LSM | HOOK_CAN_DENY | HOOK_CAN_SIGNAL));
}

#define PTRACE_MODE_ATTACH 0x02

SEC("lsm/ptrace_access_check")
int BPF_PROG(lsm_ptrace, struct task_struct *child, unsigned int mode, int ret)
{
	if (ret)
		return ret;
	if (!(mode & PTRACE_MODE_ATTACH))
		return 0;
	__u64 ts = bpf_ktime_get_ns();
	struct aces_config *cfg;
	struct task_struct *t = current_container_task(&cfg);

	if (!t)
		return 0;
	if (task_same_container(child, t, task_container_key(t, cfg), cfg))
		return 0;
	struct aces_event ev = { .obj_ino = BPF_CORE_READ(child, tgid), .obj_flags = mode };
	BPF_CORE_READ_STR_INTO(&ev.name, child, comm);
	return lsm_verdict(container_event(&ev, t, cfg, ts, RULE_PTRACE_FOREIGN,
					   HOOK_LSM | HOOK_CAN_DENY | HOOK_CAN_SIGNAL));
}
