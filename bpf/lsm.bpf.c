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
 *   execve with the cwd or root on a foreign mount: lsm_bprm_check (exec.bpf.c's check)
 *   kill, tkill, sigqueue, pidfd_send_signal -> check_kill_permission -> security_task_kill
 *     -> lsm_task_kill: a signal to a task outside the container is refused before it is
 *     queued (ns.bpf.c's judge)
 *   bpf(BPF_PROG_LOAD) -> lsm_bpf; syslog(2) and /dev/kmsg readers -> lsm_syslog;
 *   perf_event_open(pid -1) -> perf_event_alloc -> lsm_perf_alloc; keyctl, add_key,
 *   request_key -> key_permission -> lsm_key_perm; chroot -> path_chroot -> lsm_chroot;
 *   pivot_root -> sb_pivotroot -> lsm_pivotroot (kernel.bpf.c's judges)
 *   connect(2), io_uring connect -> unix_stream_connect -> lsm_unix_conn (runtime.bpf.c)
 *
 * Every program takes the previous LSM's verdict as its last argument and keeps a refusal.
 * The object must still load where lsm/ programs are refused (this project's CI kernel): user
 * space turns autoload off for every program here unless the tier plan picked lsm.
 * Minimum kernel: 5.7 (BPF LSM), booted with bpf in lsm=.
 */

#define EPERM 1
#define S_IFBLK 0060000

/* What every hook here can do: refuse (its return value) and kill. */
#define LSM_ACTS (HOOK_LSM | HOOK_CAN_DENY | HOOK_CAN_SIGNAL)

static __always_inline int lsm_verdict(int verdict)
{
	return verdict == VERDICT_DENY ? -EPERM : 0;
}

/* The container task making this hook call, or NULL: a host task, or ret, an earlier LSM's
 * refusal, which the program returns as it is. ts: the hook's entry time. */
static __always_inline struct task_struct *lsm_container_task(int ret, struct aces_config **cfg, __u64 *ts)
{
	*ts = bpf_ktime_get_ns();
	if (ret)
		return NULL;
	return current_container_task(cfg);
}

SEC("lsm/file_open")
int BPF_PROG(lsm_file_open, struct file *file, int ret)
{
	__u64 ts;
	struct aces_config *cfg;
	struct task_struct *t = lsm_container_task(ret, &cfg, &ts);

	/* Host tasks: a usermode helper's script is refused at its exec (lsm_bprm_check). */
	if (!t)
		return ret;
	return lsm_verdict(judge_file(t, cfg, file, ts, 0, 0, LSM_ACTS));
}

SEC("lsm/sb_kern_mount")
int BPF_PROG(lsm_kern_mount, struct super_block *sb, int ret)
{
	__u64 ts;
	struct aces_config *cfg;
	struct task_struct *t = lsm_container_task(ret, &cfg, &ts);

	if (!t)
		return ret;
	return lsm_verdict(judge_mounted_sb(t, cfg, sb, ts, 0, 0, LSM_ACTS));
}

SEC("lsm/move_mount")
int BPF_PROG(lsm_move_mount, const struct path *from_path, const struct path *to_path, int ret)
{
	__u64 ts;
	struct aces_config *cfg;
	struct task_struct *t = lsm_container_task(ret, &cfg, &ts);

	if (!t)
		return ret;
	/* Only a mount new to the namespace (fsmount, open_tree(OPEN_TREE_CLONE): a detached mount
	 * in an anonymous namespace) is judged; moving a mount already in it adds nothing, as on
	 * the tracepoint tier, where only the namespace's newest mount counts. */
	struct vfsmount *from = BPF_CORE_READ(from_path, mnt);
	struct mount *m = (void *)from - bpf_core_field_offset(struct mount, mnt);
	if (BPF_CORE_READ(m, mnt_ns) == BPF_CORE_READ(t, nsproxy, mnt_ns))
		return 0;
	return lsm_verdict(judge_mounted_sb(t, cfg, BPF_CORE_READ(from, mnt_sb), ts, 0, 0, LSM_ACTS));
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
		return lsm_verdict(helper_exec(t, bprm, cfg, ts, LSM_ACTS));

	__u64 key = task_container_key(t, cfg);
	struct aces_event ev = { .ts_entry = ts };
	if (container_quarantined(key, cfg)) {
		/* No new program in a quarantined container. */
		ev.rule = RULE_QUARANTINED_TASK;
		ev.flags = EVF_FAST_PATH;
	} else if (BPF_CORE_READ(bprm, interp) == BPF_CORE_READ(bprm, filename) && cwd_or_root_outside(t)) {
		/* The first handler pass only (a script's interpreter is the same exec): the cwd or
		 * root on a mount outside the container (exec.bpf.c judges the same at
		 * sched_process_exec, after the exec). Credentials (cred-rise) are not judged here:
		 * what rose them ran before any hook (docs/rules.md). */
		ev.rule = RULE_EXEC_CWD_OUTSIDE;
	} else {
		return 0;
	}
	exec_event_fill(&ev, t, bprm, key);
	return lsm_verdict(decide(&ev, cfg, LSM_ACTS, t));
}

SEC("lsm/path_mknod")
int BPF_PROG(lsm_path_mknod, const struct path *dir, struct dentry *dentry, umode_t mode,
	     unsigned int dev, int ret)
{
	if (ret)
		return ret;
	if ((mode & S_IFMT) != S_IFBLK)
		return 0;
	__u64 ts;
	struct aces_config *cfg;
	struct task_struct *t = lsm_container_task(ret, &cfg, &ts);

	if (!t)
		return ret;
	/* dev is mknod(2)'s user encoding (new_encode_dev); events carry the kernel's MKDEV. */
	__u32 major = (dev & 0xfff00) >> 8;
	__u32 minor = (dev & 0xff) | ((dev >> 12) & 0xfff00);
	struct aces_event ev = { .obj_dev = (major << 20) | minor, .obj_flags = BPF_DEVCG_ACC_MKNOD };

	dentry_name(dentry, ev.name, sizeof(ev.name));
	/* As device.bpf.c decides it (no integrity check), so that the two lines mean the same. */
	return lsm_verdict(container_event_x(&ev, t, cfg, ts, RULE_BLOCKDEV_MKNOD, LSM_ACTS, false));
}

#define PTRACE_MODE_ATTACH 0x02

SEC("lsm/ptrace_access_check")
int BPF_PROG(lsm_ptrace, struct task_struct *child, unsigned int mode, int ret)
{
	if (ret)
		return ret;
	if (!(mode & PTRACE_MODE_ATTACH))
		return 0;
	__u64 ts;
	struct aces_config *cfg;
	struct task_struct *t = lsm_container_task(ret, &cfg, &ts);

	if (!t)
		return ret;
	if (task_same_container(child, t, task_container_key(t, cfg), cfg))
		return 0;
	return lsm_verdict(target_task_event(t, cfg, child, mode, ts, RULE_PTRACE_FOREIGN, LSM_ACTS));
}

#define SI_FROMUSER_MAX 0 /* si_code <= 0: sent by a task (SI_USER, SI_QUEUE, SI_TKILL ...) */

SEC("lsm/task_kill")
int BPF_PROG(lsm_task_kill, struct task_struct *target, struct kernel_siginfo *info, int sig,
	     const struct cred *cred, int ret)
{
	if (ret)
		return ret;
	/* check_kill_permission() calls the hook for user-sent signals only; sig 0 probes whether
	 * the task exists and is no signal (signal_generate never sees it either). */
	if (sig == 0)
		return 0;
	if ((unsigned long)info > SEND_SIG_PRIV_PTR && BPF_CORE_READ(info, si_code) > SI_FROMUSER_MAX)
		return 0;
	__u64 ts;
	struct aces_config *cfg;
	struct task_struct *t = lsm_container_task(ret, &cfg, &ts);

	if (!t)
		return ret;
	return lsm_verdict(judge_signal(t, cfg, target, sig, ts, LSM_ACTS));
}

/* No ret argument: security_bpf() gained a parameter in 6.14 (bool kernel), so the previous
 * verdict is not at one fixed position; the trampoline does not run this program after a
 * refusal anyway (BPF LSM stops at the first non-zero return). */
SEC("lsm/bpf")
int BPF_PROG(lsm_bpf, int cmd, union bpf_attr *attr, unsigned int size)
{
	if (cmd != BPF_PROG_LOAD_CMD)
		return 0;
	return lsm_verdict(judge_kernel_call(RULE_BPF_LOAD, cmd, LSM_ACTS));
}

SEC("lsm/syslog")
int BPF_PROG(lsm_syslog, int type, int ret)
{
	if (ret)
		return ret;
	if (!syslog_reads(type))
		return 0;
	return lsm_verdict(judge_kernel_call(RULE_SYSLOG_READ, type, LSM_ACTS));
}

#define PERF_ATTACH_TASK 0x04

/* perf_event_open's own hook (security_perf_event_open) does not get the pid argument; the
 * allocated event does: no target task (and no cgroup) is what pid -1 asks for, every task of
 * the CPU. The event is freed when the hook refuses it. */
SEC("lsm/perf_event_alloc")
int BPF_PROG(lsm_perf_alloc, struct perf_event *event, int ret)
{
	if (ret)
		return ret;
	if (BPF_CORE_READ(event, attach_state) & PERF_ATTACH_TASK)
		return 0;
	if (bpf_core_field_exists(event->cgrp) && BPF_CORE_READ(event, cgrp))
		return 0;
	return lsm_verdict(judge_kernel_call(RULE_PERF_SYSTEM_WIDE, BPF_CORE_READ(event, cpu), LSM_ACTS));
}

/* x86-64 system call numbers of the keyring calls. */
#define NR_ADD_KEY 248
#define NR_REQUEST_KEY 249
#define NR_KEYCTL 250

/* Only inside keyctl, add_key or request_key, as on the tracepoint tier: the kernel also checks
 * key permissions on a task's behalf (NFS id mapping, DNS resolution, fscrypt), which a
 * container must keep. Each permission check of a call is judged; the first refusal ends it. */
SEC("lsm/key_permission")
int BPF_PROG(lsm_key_perm, key_ref_t key_ref, const struct cred *cred, unsigned int need_perm, int ret)
{
	if (ret)
		return ret;
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	long nr = BPF_CORE_READ(regs, orig_ax);

	if (nr != NR_ADD_KEY && nr != NR_REQUEST_KEY && nr != NR_KEYCTL)
		return 0;
	return lsm_verdict(judge_keyring_call(nr, LSM_ACTS));
}

/* chroot and pivot_root: the new root is the host's "/"? */
static __always_inline int lsm_new_root(const struct path *new_root, int ret)
{
	__u64 ts;
	struct aces_config *cfg;
	struct task_struct *t = lsm_container_task(ret, &cfg, &ts);

	if (!t)
		return ret;
	return lsm_verdict(judge_new_root(t, cfg, BPF_CORE_READ(new_root, dentry), ts, LSM_ACTS));
}

SEC("lsm/path_chroot")
int BPF_PROG(lsm_chroot, const struct path *path, int ret)
{
	return lsm_new_root(path, ret);
}

SEC("lsm/sb_pivotroot")
int BPF_PROG(lsm_pivotroot, const struct path *old_path, const struct path *new_path, int ret)
{
	return lsm_new_root(new_path, ret);
}

/* connect(2) and io_uring connects of stream and seqpacket AF_UNIX sockets; other is the
 * listening socket, whose path is what the runtime bound. */
SEC("lsm/unix_stream_connect")
int BPF_PROG(lsm_unix_conn, struct sock *sock, struct sock *other, struct sock *newsk, int ret)
{
	__u64 ts;
	struct aces_config *cfg;
	struct task_struct *t = lsm_container_task(ret, &cfg, &ts);

	if (!t)
		return ret;
	return lsm_verdict(judge_unix_peer(t, cfg, (struct unix_sock *)other, ts, 0, LSM_ACTS));
}
