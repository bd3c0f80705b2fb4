/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Opens of kernel-interface files from a container, decided on the opened file object.
 *
 * Techniques: cgroup-v1 release_agent / notify_on_release (on a cgroup-v1 fs mounted anywhere,
 * including a host cgroupfs bind-mounted into the container), binfmt_misc registration,
 * /proc/sysrq-trigger; and a usermode helper's shell opening a container's script.
 *
 * Hooks: syscalls/sys_exit_{open,openat,openat2,creat}. Detection is at the exit of the open,
 * on the new struct file behind the returned fd (its superblock magic, its kernfs/procfs name,
 * its f_mode), so path tricks (other mount points, symlinks, /proc/self/root, relative dirfds)
 * do not matter, and the SIGKILL lands before the process can write through the fd: a kill at
 * syscall entry would not stop the open, a kill at write would come too late.
 * Names compared here are fixed by the kernel (kernfs cftype names, procfs entries).
 *
 *   openat() -> do_sys_openat2 -> fd_install -> trace sys_exit_openat(ret = fd)  <- here
 *
 * io_uring opens do not pass through these tracepoints: sysctls are covered by the cgroup
 * hook (sysctl.bpf.c); io_uring for the other files is issue #3's work.
 * Minimum kernel: 4.x tracepoints; openat2 from 5.6.
 */

static __always_inline void open_checked(struct trace_event_raw_sys_exit *ctx)
{
	long fd = ctx->ret;

	if (fd < 0)
		return;
	__u64 ts = bpf_ktime_get_ns();
	struct aces_config *cfg = get_config();
	struct task_struct *t = bpf_get_current_task_btf();
	bool helper = false;

	if (!cfg)
		return;
	if (!task_is_container(t, cfg)) {
		helper = task_is_umh(t);
		if (!helper)
			return;
	}

	struct file *f = task_fd_file(t, fd);
	if (!f)
		return;

	struct aces_event ev = { .ts_entry = ts };
	struct super_block *sb = file_sb(f);
	__u32 magic = BPF_CORE_READ(sb, s_magic);
	unsigned int fmode = BPF_CORE_READ(f, f_mode);
	bool write = fmode & FMODE_WRITE;
	struct dentry *d = BPF_CORE_READ(f, f_path.dentry);
	__u64 key;

	if (helper) {
		/* A usermode helper's interpreter (the host's /bin/sh running a release_agent script)
		 * opening its script in a container's root: the script is read after this open, so it
		 * never runs. Only the script itself counts: a core dump handler legitimately opens
		 * the crashed container binary. */
		__u32 tid = BPF_CORE_READ(t, pid);
		struct umh_script *script = bpf_map_lookup_elem(&umh_scripts, &tid);
		if (!script)
			return;
		dentry_name(d, ev.name, sizeof(ev.name));
		if (!names_equal(ev.name, script->name))
			return;
		key = ctr_fs_owner(f);
		if (!key)
			return;
		ev.rule = RULE_UMH_CONTAINER_EXEC;
		ev.flags |= EVF_HOST_TASK;
	} else {
		key = task_container_key(t, cfg);
		if (container_quarantined(key, cfg)) {
			ev.rule = RULE_QUARANTINED_TASK;
			ev.flags |= EVF_FAST_PATH;
		} else if (magic == CGROUP_SUPER_MAGIC) {
			dentry_name(d, ev.name, sizeof(ev.name));
			if (NAME_IS(ev.name, "release_agent"))
				ev.rule = write ? RULE_RELEASE_AGENT_WRITE : RULE_RELEASE_AGENT_READ;
			else if (write && NAME_IS(ev.name, "notify_on_release"))
				ev.rule = RULE_RELEASE_AGENT_WRITE;
			else
				return;
		} else if (magic == BINFMTFS_MAGIC && write) {
			ev.rule = RULE_BINFMT_MISC_WRITE;
		} else if (magic == PROC_SUPER_MAGIC && write) {
			/* /proc/sysrq-trigger sits directly under the procfs root. */
			if (BPF_CORE_READ(d, d_parent) != BPF_CORE_READ(sb, s_root))
				return;
			dentry_name(d, ev.name, sizeof(ev.name));
			if (!NAME_IS(ev.name, "sysrq-trigger"))
				return;
			ev.rule = RULE_SYSRQ_TRIGGER_WRITE;
		} else {
			return;
		}
	}

	event_fill_task(&ev, t, key);
	if (!ev.name[0])
		dentry_name(d, ev.name, sizeof(ev.name));
	ev.obj_dev = sb_dev(sb);
	ev.obj_ino = BPF_CORE_READ(f, f_inode, i_ino);
	ev.obj_magic = magic;
	ev.obj_flags = fmode;
	ev.syscall_ret = fd;
	decide(&ev, cfg, HOOK_CAN_SIGNAL | (helper ? HOOK_HOST_TASK : 0));
}

SEC("tracepoint/syscalls/sys_exit_openat")
int files_openat(struct trace_event_raw_sys_exit *ctx)
{
	open_checked(ctx);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_open")
int files_open(struct trace_event_raw_sys_exit *ctx)
{
	open_checked(ctx);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_openat2")
int files_openat2(struct trace_event_raw_sys_exit *ctx)
{
	open_checked(ctx);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_creat")
int files_creat(struct trace_event_raw_sys_exit *ctx)
{
	open_checked(ctx);
	return 0;
}
