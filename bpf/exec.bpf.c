/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Process lifecycle: classification state, container discovery, quarantine gate, and the last
 * line against usermode-helper escapes.
 *
 * Techniques: release_agent / core_pattern pipe / binfmt_misc interpreter pointing at a file in
 * a container's root (the helper runs as host root); any new process of a quarantined container.
 *
 * Hooks (not syscall tracepoints, so they cost nothing on syscalls):
 *   tp_btf/sched_process_fork  runtime set-up marking, offender inheritance, quarantine
 *   tp_btf/sched_process_exec  end of set-up, first sight of a container (its root is recorded
 *                              for ctrfs.bpf.h), quarantine, helper exec of a container file,
 *                              integrity (credentials, host namespaces; integrity.bpf.h), and a
 *                              cwd or root outside the container's mounts (CVE-2024-21626)
 *   tp_btf/sched_process_exit  exit time of tasks ACES killed; map cleanup
 *
 *   call_usermodehelper_exec_work -> user_mode_thread(..) -> kernel_execve(path)
 *     -> exec_binprm (binfmt_script / binfmt_misc may substitute bprm->file)
 *     -> trace_sched_process_exec(p, old_pid, bprm)   <- here, before the first user instruction:
 *        SIGKILL is pending when exec returns to user space.
 * A script's own file is gone from bprm by then (only its interpreter is left), so files.bpf.c
 * also checks what a helper opens: the host shell opening the container's script.
 *
 *   iter/task                  start-up seeding of containers already running
 *   tp_btf/cgroup_mkdir        a container's cgroup is created: user space names it before it runs
 *   tp_btf/cgroup_attach_task  runtime set-up marking for host-pid containers
 *
 * Minimum kernel: 5.5 (tp_btf). Older layouts handled by CO-RE where noted.
 */

/* First sight of a container: record its root for ctrfs.bpf.h and tell user space. */
static __always_inline void container_seen(struct task_struct *p, __u64 key, struct aces_config *cfg, __u64 ts)
{
	if (bpf_map_lookup_elem(&known_ctrs, &key))
		return;
	if (bpf_map_update_elem(&known_ctrs, &key, &ts, BPF_NOEXIST))
		return; /* another CPU announced it first */
	ctr_fs_record(p, key, cfg);

	struct aces_container rec = {
		.kind = REC_CONTAINER,
		.version = ACES_WIRE_VERSION,
		.tgid = BPF_CORE_READ(p, tgid),
		.container_key = key,
		.pidns = task_pidns_inum(p),
		.mntns = task_mntns_inum(p),
		.ts = ts,
	};
	/* Wake user space now: policy exceptions for the new container depend on its identity. */
	if (bpf_ringbuf_output(&events, &rec, sizeof(rec), 0))
		count_drop(DROP_RINGBUF);
}

/* The working directory or root of a task on a mount outside its mount namespace: a leaked
 * host directory fd used as cwd (CVE-2024-21626: WORKDIR /proc/self/fd/N during runc exec). */
static __always_inline bool cwd_or_root_outside(struct task_struct *p)
{
	return mount_is_foreign(BPF_CORE_READ(p, fs, pwd.mnt), p) ||
	       mount_is_foreign(BPF_CORE_READ(p, fs, root.mnt), p);
}

/* The task and the file being exec'd, into ev (sched_process_exec, and lsm.bpf.c's
 * bprm_check_security, which judges the cwd before the exec). */
static __always_inline void exec_event_fill(struct aces_event *ev, struct task_struct *p,
					    struct linux_binprm *bprm, __u64 key)
{
	struct file *f = BPF_CORE_READ(bprm, file);

	event_fill_task(ev, p, key);
	dentry_name(BPF_CORE_READ(f, f_path.dentry), ev->name, sizeof(ev->name));
	ev->obj_dev = sb_dev(file_sb(f));
	ev->obj_ino = BPF_CORE_READ(f, f_inode, i_ino);
}

static __always_inline void container_exec(struct task_struct *p, struct linux_binprm *bprm,
					   struct aces_config *cfg, __u64 ts)
{
	__u64 key = task_container_key(p, cfg);
	struct aces_event ev = { .ts_entry = ts };

	if (container_quarantined(key, cfg)) {
		ev.rule = RULE_QUARANTINED_TASK;
		ev.flags |= EVF_FAST_PATH;
	} else {
		bool secure = BPF_CORE_READ_BITFIELD_PROBED(bprm, secureexec);

		ev.rule = integrity_breach(p, cfg, secure);
		if (!ev.rule && cwd_or_root_outside(p))
			ev.rule = RULE_EXEC_CWD_OUTSIDE;
	}
	if (ev.rule) {
		exec_event_fill(&ev, p, bprm, key);
		decide(&ev, cfg, HOOK_CAN_SIGNAL, p);
		return;
	}
	container_seen(p, key, cfg, ts);
}

#define PATH_SCAN 128

/* The last component of a kernel path string, into out (NUL-terminated). */
static __always_inline void path_basename(const char *kpath, char *out, __u32 outlen)
{
	char buf[PATH_SCAN] = {};
	int start = 0;

	bpf_probe_read_kernel_str(buf, sizeof(buf), kpath);
	for (int i = 0; i < PATH_SCAN; i++) {
		if (buf[i] == 0)
			break;
		if (buf[i] == '/')
			start = i + 1;
	}
	bpf_probe_read_kernel_str(out, outlen, kpath + (start & (PATH_SCAN - 1)));
}

/* A host task exec'ing a container's file on the kernel's behalf. Called at sched_process_exec
 * and, on the lsm tier, at bprm_check_security (lsm.bpf.c), which runs for every binary handler
 * pass: the script's own file at the first, the substituted interpreter at the next. hook:
 * HOOK_* of the caller. Returns the VERDICT_* of decide(). */
static __always_inline int helper_exec(struct task_struct *p, struct linux_binprm *bprm,
				       struct aces_config *cfg, __u64 ts, __u32 hook)
{
	bool umh = BPF_CORE_READ(p, real_parent, flags) & PF_KTHREAD;
	/* binfmt_misc (and scripts) replace the exec'd file by an interpreter: a host process
	 * running an ordinary file may then run a container's interpreter. */
	const char *interp = BPF_CORE_READ(bprm, interp);
	const char *filename = BPF_CORE_READ(bprm, filename);
	bool substituted = interp != filename;

	if (!umh && !substituted)
		return VERDICT_NONE;
	struct file *f = BPF_CORE_READ(bprm, file);
	__u64 key = ctr_fs_owner(f);
	if (!key) {
		/* The LSM hook saw the script's own file at the first handler pass. */
		if (umh && substituted && !(hook & HOOK_LSM)) {
			/* A helper script run by a host interpreter: the interpreter opens the script
			 * next; files.bpf.c judges that open (the script's own file is no longer in
			 * bprm by now). */
			__u32 tid = BPF_CORE_READ(p, pid);
			struct umh_script s = {};

			path_basename(filename, s.name, sizeof(s.name));
			bpf_map_update_elem(&umh_scripts, &tid, &s, BPF_ANY);
		}
		return VERDICT_NONE;
	}

	struct aces_event ev = { .rule = RULE_UMH_CONTAINER_EXEC, .ts_entry = ts };
	event_fill_task(&ev, p, key);
	ev.flags |= EVF_HOST_TASK;
	ev.obj_dev = sb_dev(file_sb(f));
	ev.obj_ino = BPF_CORE_READ(f, f_inode, i_ino);
	ev.obj_magic = BPF_CORE_READ(f, f_inode, i_sb, s_magic);
	dentry_name(BPF_CORE_READ(f, f_path.dentry), ev.name, sizeof(ev.name));
	return decide(&ev, cfg, hook | HOOK_HOST_TASK, p);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(exec_sched_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__u64 ts = bpf_ktime_get_ns();
	struct aces_config *cfg = get_config();

	if (!cfg)
		return 0;
	if (task_pid_level(p) > 0) {
		__u32 tid = BPF_CORE_READ(p, pid);
		__u32 old = old_pid;

		/* The first exec ends runtime set-up: from here on this task is the workload. */
		setup_clear(tid);
		if (old != tid)
			setup_clear(old);
		container_exec(p, bprm, cfg, ts);
		return 0;
	}
	/* Set-up marks of tasks that migrated into a cgroup (host-pid containers) end here too. */
	__u32 tid0 = BPF_CORE_READ(p, pid);
	__u32 old0 = old_pid;
	setup_clear(tid0);
	if (old0 != tid0)
		setup_clear(old0);
	if (task_is_container(p, cfg)) {
		container_exec(p, bprm, cfg, ts);
		return 0;
	}
	helper_exec(p, bprm, cfg, ts, HOOK_CAN_SIGNAL);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(exec_sched_fork, struct task_struct *parent, struct task_struct *child)
{
	struct aces_config *cfg = get_config();

	if (!cfg)
		return 0;
	bool parent_ctr = task_is_container(parent, cfg);

	if (!parent_ctr) {
		/* Entering a container pid namespace from outside, or forked by a set-up task (runc's
		 * init chain after joining a host-pid container's cgroup): runtime set-up until it
		 * execs. */
		__u32 ptid = BPF_CORE_READ(parent, pid);
		if (task_pid_level(child) > 0 || setup_task(ptid))
			setup_mark(BPF_CORE_READ(child, pid));
		return 0;
	}

	__u32 ptgid = BPF_CORE_READ(parent, tgid);
	__u32 ctgid = BPF_CORE_READ(child, tgid);
	__u64 key = task_container_key(parent, cfg);

	if (container_quarantined(key, cfg)) {
		/* No new process in a quarantined container: the parent dies now, the child at its
		 * first hooked kernel entry (quarantine.bpf.c) or by the user-space sweep. */
		struct aces_event ev = { .rule = RULE_QUARANTINED_TASK, .ts_entry = bpf_ktime_get_ns() };

		event_fill_task(&ev, parent, key);
		ev.flags |= EVF_FAST_PATH;
		decide(&ev, cfg, HOOK_CAN_SIGNAL, parent);
		return 0;
	}
	integrity_inherit(parent, child);
	if (ptgid == ctgid)
		return 0;
	/* Children inherit their parent's offender record. */
	struct aces_offender_key k = { .kind = OFFENDER_PROCESS, .id = ptgid };
	struct aces_offender *o = bpf_map_lookup_elem(&offenders, &k);
	if (o) {
		struct aces_offender copy = *o;

		k.id = ctgid;
		offender_mark(OFFENDER_PROCESS, ctgid);
		if (bpf_map_update_elem(&offenders, &k, &copy, BPF_ANY))
			count_drop(DROP_OFFENDER);
	}
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(exec_sched_exit, struct task_struct *p)
{
	__u32 tid = BPF_CORE_READ(p, pid);
	__u64 *seq = bpf_map_lookup_elem(&kill_pending, &tid);

	if (seq) {
		emit_exit(tid, *seq, bpf_ktime_get_ns());
		bpf_map_delete_elem(&kill_pending, &tid);
	}
	if (task_pid_level(p) == 0 && (BPF_CORE_READ(p, real_parent, flags) & PF_KTHREAD))
		bpf_map_delete_elem(&umh_scripts, &tid);
	/* Set-up marks exist for host tasks too (cgroup migration). */
	setup_clear(tid);
	/* A process record dies with the process: pids are reused, records must not be. */
	if (tid == BPF_CORE_READ(p, tgid)) {
		struct aces_offender_key k = { .kind = OFFENDER_PROCESS, .id = tid };

		bpf_map_delete_elem(&offenders, &k);
	}
	return 0;
}

/* Run once at start-up: containers that were running before ACES get their roots recorded and
 * are announced, as if their first exec had been seen. Never acts on a task. */
SEC("iter/task")
int iter_seed_tasks(struct bpf_iter__task *ctx)
{
	struct task_struct *t = ctx->task;
	struct aces_config *cfg = get_config();

	if (!t || !cfg)
		return 0;
	if (BPF_CORE_READ(t, pid) != BPF_CORE_READ(t, tgid) || !BPF_CORE_READ(t, mm))
		return 0;
	if (!task_is_container(t, cfg))
		return 0;
	container_seen(t, task_container_key(t, cfg), cfg, bpf_ktime_get_ns());
	return 0;
}

/* A new cgroup: a container is about to start (runc creates its cgroups, then starts its first
 * program). User space learns the container's identity now, before any of its code runs:
 * policy exceptions, and the cgroups of containers that share the host pid namespace. */
SEC("tp_btf/cgroup_mkdir")
int BPF_PROG(exec_cg_mkdir, struct cgroup *cgrp, const char *path)
{
	struct aces_cgroup rec = {
		.kind = REC_CGROUP,
		.version = ACES_WIRE_VERSION,
		.hierarchy_id = BPF_CORE_READ(cgrp, root, hierarchy_id),
		.cgroup_id = BPF_CORE_READ(cgrp, kn, id),
		.ts = bpf_ktime_get_ns(),
	};

	bpf_probe_read_kernel_str(rec.path, sizeof(rec.path), path);
	if (bpf_ringbuf_output(&events, &rec, sizeof(rec), 0))
		count_drop(DROP_RINGBUF);
	return 0;
}

/* A task that is not a container task moving into a cgroup (runc init joining a new container's
 * cgroups, docker exec): runtime set-up until its next exec. Only matters for containers that
 * share the host pid namespace; pid-namespace containers are marked at fork. */
SEC("tp_btf/cgroup_attach_task")
int BPF_PROG(exec_cg_attach, struct cgroup *dst, const char *path, struct task_struct *task, bool threadgroup)
{
	struct aces_config *cfg = get_config();

	if (!cfg || task_is_container(task, cfg))
		return 0;
	setup_mark(BPF_CORE_READ(task, pid));
	return 0;
}
