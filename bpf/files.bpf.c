/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Opens from a container, decided on the opened file object.
 *
 * Techniques:
 *   cgroup-v1 release_agent / notify_on_release (on a cgroup-v1 fs mounted anywhere, including a
 *   host cgroupfs bind-mounted into the container); binfmt_misc registration; /proc/sysrq-trigger;
 *   /proc/kmsg; moving into a root cgroup (cgroup.procs / tasks / cgroup.threads of a hierarchy
 *   root); a runtime binary opened for write (runc, containerd-shim, dockerd ...: CVE-2019-5736
 *   through /proc/<pid>/exe, or a bind mount); a file reached through a mount outside the
 *   container's mount namespace (/proc/<pid>/root, /proc/<pid>/cwd of a host task); /proc/<pid>/mem
 *   of a task outside the container opened for write, its environ/cmdline read; a usermode
 *   helper's shell opening its script in a container's root. Integrity (integrity.bpf.h) first.
 *
 * Hooks: syscalls/sys_exit_{open,openat,openat2,creat}, and io_uring completions of
 * IORING_OP_OPENAT/OPENAT2 (uring.bpf.c), on the struct file behind the returned fd (superblock
 * magic, kernfs/procfs names fixed by the kernel, the mount and its namespace, the inode
 * identity, f_mode), so path tricks do not matter and the SIGKILL lands before the process can
 * write through the fd.
 *
 *   openat() -> do_sys_openat2 -> fd_install -> trace sys_exit_openat(ret = fd)  <- here
 *
 * Minimum kernel: 4.x tracepoints; openat2 from 5.6.
 */

#define S_IFMT 00170000
#define S_IFREG 0100000
#define S_IFDIR 0040000

/* Which rule, if any, an open by a container task hits (integrity aside: the caller checks that
 * first). Fills ev->name when it looked at it. */
static __always_inline __u16 container_open_rule(struct aces_event *ev, struct task_struct *t, __u64 key,
						 struct aces_config *cfg, struct file *f, struct super_block *sb,
						 struct dentry *d, __u32 magic, bool write)
{
	if (magic == NSFS_MAGIC) {
		/* /proc/<pid>/ns/<type> of a host namespace the task does not hold: setns() next */
		struct ns_common *ns = file_iprivate(f);
		__u32 inum = BPF_CORE_READ(ns, inum);

		return ns_is_foreign_host(t, inum) ? RULE_SETNS_HOST : 0;
	}
	if (magic == CGROUP_SUPER_MAGIC || magic == CGROUP2_SUPER_MAGIC) {
		dentry_name(d, ev->name, sizeof(ev->name));
		if (magic == CGROUP_SUPER_MAGIC && NAME_IS(ev->name, "release_agent"))
			return write ? RULE_RELEASE_AGENT_WRITE : RULE_RELEASE_AGENT_READ;
		if (!write)
			return 0;
		if (magic == CGROUP_SUPER_MAGIC && NAME_IS(ev->name, "notify_on_release"))
			return RULE_RELEASE_AGENT_WRITE;
		if ((NAME_IS(ev->name, "cgroup.procs") || NAME_IS(ev->name, "tasks") ||
		     NAME_IS(ev->name, "cgroup.threads")) && parent_is_sb_root(d, sb))
			return RULE_CGROUP_ROOT_MOVE;
		return 0;
	}
	if (magic == BINFMTFS_MAGIC && write)
		return RULE_BINFMT_MISC_WRITE;
	if (magic == PROC_SUPER_MAGIC) {
		dentry_name(d, ev->name, sizeof(ev->name));
		if (parent_is_sb_root(d, sb)) {
			if (write && NAME_IS(ev->name, "sysrq-trigger"))
				return RULE_SYSRQ_TRIGGER_WRITE;
			if (NAME_IS(ev->name, "kmsg"))
				return RULE_SYSLOG_READ;
			return 0;
		}
		/* /proc/<pid>/<file> of a task outside the container */
		struct task_struct *owner = proc_inode_task(file_inode_of(f));
		if (!owner || task_same_container(owner, t, key, cfg))
			return 0;
		if (NAME_IS(ev->name, "mem"))
			return write ? RULE_PROC_MEM_WRITE : RULE_PROC_FOREIGN_READ;
		if (NAME_IS(ev->name, "environ") || NAME_IS(ev->name, "cmdline") || NAME_IS(ev->name, "maps") ||
		    NAME_IS(ev->name, "auxv") || NAME_IS(ev->name, "stack") || NAME_IS(ev->name, "syscall"))
			return RULE_PROC_FOREIGN_READ;
		return 0;
	}
	if (write) {
		struct aces_file_key fk = {
			.kind = RUNTIME_BINARY,
			.dev = sb_dev(sb),
			.ino = file_ino(f),
		};
		if (bpf_map_lookup_elem(&runtime_objs, &fk))
			return RULE_RUNTIME_BINARY_WRITE;
	}
	/* Regular files and directories only: a host /dev/null or pipe handed to the container as
	 * stdio and reopened through /proc/self/fd is not an escape. */
	umode_t type = file_imode(f) & S_IFMT;
	if ((type == S_IFREG || type == S_IFDIR) && mount_is_foreign(file_mnt(f), t))
		return RULE_FOREIGN_MOUNT_OPEN;
	return 0;
}

/* The fast path: the task's process is a recorded offender whose last offence was this object
 * opened the same way (verdict.bpf.h). The task-storage flag keeps the offender lookup off the
 * opens of every other container task. */
static __always_inline struct aces_offender *open_repeat(struct task_struct *t, struct aces_config *cfg,
							  struct file *f, struct super_block *sb, unsigned int fmode,
							  __u64 ts)
{
	struct cred_base *b = bpf_task_storage_get(&cred_bases, t, 0, 0);

	if (!b || !b->offender)
		return NULL;
	return offender_same_object(t->tgid, cfg, sb_dev(sb), file_ino(f), fmode, ts);
}

/*
 * Judge a file the task has opened (tracepoints: behind its new fd) or is opening (lsm.bpf.c:
 * file_open, before the fd exists). helper: t is a usermode helper (task_is_umh), else a
 * container task (task_is_container): the caller classified it. via: EVF_IO_URING or 0; ret: the
 * syscall's result for the event; hook: HOOK_* of the caller. Returns the VERDICT_* of decide(),
 * VERDICT_NONE when no rule applies.
 */
static __always_inline int judge_classified_file(struct task_struct *t, struct aces_config *cfg, struct file *f,
						 __u64 ts, __u8 via, long ret, __u32 hook, bool helper)
{
	struct aces_event ev = { .ts_entry = ts, .flags = via };
	struct super_block *sb = file_sb(f);
	__u32 magic = sb_magic(sb);
	unsigned int fmode = file_mode(f);
	bool write = fmode & FMODE_WRITE;
	struct dentry *d = file_dentry_of(f);
	struct aces_offender *repeat = NULL;
	__u64 key;

	if (helper) {
		/* A usermode helper's interpreter (the host's /bin/sh running a release_agent script)
		 * opening its script in a container's root: the script is read after this open, so it
		 * never runs. Only the script itself counts: a core dump handler legitimately opens
		 * the crashed container binary. */
		__u32 tid = BPF_CORE_READ(t, pid);
		struct umh_script *script = bpf_map_lookup_elem(&umh_scripts, &tid);
		if (!script)
			return VERDICT_NONE;
		dentry_name(d, ev.name, sizeof(ev.name));
		if (!names_equal(ev.name, script->name))
			return VERDICT_NONE;
		key = ctr_fs_owner(f);
		if (!key)
			return VERDICT_NONE;
		ev.rule = RULE_UMH_CONTAINER_EXEC;
		ev.flags |= EVF_HOST_TASK;
	} else {
		key = task_container_key(t, cfg);
		if (container_quarantined(key, cfg)) {
			ev.rule = RULE_QUARANTINED_TASK;
			ev.flags |= EVF_FAST_PATH;
		} else {
			ev.rule = integrity_breach(t, cfg, false);
			if (!ev.rule) {
				repeat = open_repeat(t, cfg, f, sb, fmode, ts);
				ev.rule = repeat ? repeat->rule : container_open_rule(&ev, t, key, cfg, f, sb, d, magic, write);
			}
			if (!ev.rule)
				return VERDICT_NONE;
		}
	}

	event_fill_task(&ev, t, key);
	if (!ev.name[0])
		dentry_name(d, ev.name, sizeof(ev.name));
	ev.obj_dev = sb_dev(sb);
	ev.obj_ino = file_ino(f);
	ev.obj_magic = magic;
	ev.obj_flags = fmode;
	ev.syscall_ret = ret;
	return decide_known(&ev, cfg, hook | (helper ? HOOK_HOST_TASK : 0), repeat, t);
}

/* Container tasks and usermode helpers are judged; every other task leaves here. */
static __always_inline bool file_task_judged(struct task_struct *t, struct aces_config *cfg, bool *helper)
{
	*helper = false;
	if (task_is_container(t, cfg))
		return true;
	*helper = task_is_umh(t);
	return *helper;
}

static __always_inline int judge_file(struct task_struct *t, struct aces_config *cfg, struct file *f,
				      __u64 ts, __u8 via, long ret, __u32 hook)
{
	bool helper;

	if (!file_task_judged(t, cfg, &helper))
		return VERDICT_NONE;
	return judge_classified_file(t, cfg, f, ts, via, ret, hook, helper);
}

/* Judge the file behind a new fd of the current task. via: EVF_IO_URING or 0. The task is
 * classified before the fd is looked up: host tasks leave after a few loads. */
static __always_inline void judge_open(struct task_struct *t, long fd, __u64 ts, __u8 via)
{
	struct aces_config *cfg = get_config();
	bool helper;

	if (fd < 0 || !cfg || current_surely_host(cfg) || !file_task_judged(t, cfg, &helper))
		return;
	struct file *f = task_fd_file(t, fd);
	if (f)
		judge_classified_file(t, cfg, f, ts, via, fd, HOOK_CAN_SIGNAL, helper);
	dev_check_end(); /* after the verdict: the open is over either way */
}

static __always_inline void open_exit(struct trace_event_raw_sys_exit *ctx)
{
	if (ctx->ret < 0) {
		/* A failed open (of a block device: refused after its device checks) ends them too. */
		dev_check_end();
		return;
	}
	judge_open(bpf_get_current_task_btf(), ctx->ret, bpf_ktime_get_ns(), 0);
}

SEC("tracepoint/syscalls/sys_exit_openat")
int files_openat(struct trace_event_raw_sys_exit *ctx)
{
	open_exit(ctx);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_open")
int files_open(struct trace_event_raw_sys_exit *ctx)
{
	open_exit(ctx);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_openat2")
int files_openat2(struct trace_event_raw_sys_exit *ctx)
{
	open_exit(ctx);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_creat")
int files_creat(struct trace_event_raw_sys_exit *ctx)
{
	open_exit(ctx);
	return 0;
}
