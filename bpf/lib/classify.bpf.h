/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one place that decides whether a task is a container task (DESIGN §4).
 *
 * A task is a container task when
 *   - its pid namespace is not the host's and it is not a runtime set-up task, or
 *   - it shares the host pid namespace but sits in a cgroup that user space registered as a
 *     container's (docker --pid host, kubernetes hostPID pods) and is not a runtime set-up task:
 *     user space registers the cgroup when the kernel reports its creation (REC_CGROUP), before
 *     the runtime starts the container's first program; window in docs/architecture.md.
 *
 * A runtime set-up task is one that entered a container pid namespace from outside (runc init
 * after clone(CLONE_NEWPID) or after setns, for `docker run` and `docker exec`) and has not
 * executed anything there yet: it mounts cgroupfs and procfs, creates device nodes and writes
 * namespaced sysctls on the runtime's behalf. exec.bpf.c marks it at fork and clears the mark at
 * its first exec. Children of container tasks are container tasks, whatever namespaces they make,
 * so `unshare -p -f` inside a container cannot opt out.
 *
 * Host processes in private mount namespaces (systemd services) stay in the host pid namespace
 * and are never container tasks.
 */
#ifndef ACES_LIB_CLASSIFY_BPF_H
#define ACES_LIB_CLASSIFY_BPF_H

/* The decision, on facts read by the caller: the task's pid-namespace level and thread id, and
 * (for host-pid containers only) its container key. */
static __always_inline bool task_is_container_facts(unsigned int level, __u32 tid, struct task_struct *t,
						    struct aces_config *cfg, bool probed)
{
	if (level > 0)
		return !setup_task(tid);
	if (cfg && cfg->host_ctrs) {
		__u64 key = probed ? task_container_key_probed(t, cfg) : task_container_key(t, cfg);

		if (!bpf_map_lookup_elem(&host_ctrs, &key))
			return false;
		/* runc init joins the container's cgroup before its set-up (exec.bpf.c marks tasks
		 * that migrate into a cgroup until their next exec). */
		return !setup_task(tid);
	}
	return false;
}

/* t known by its BTF type (see task_container_key): plain loads. */
static __always_inline bool task_is_container(struct task_struct *t, struct aces_config *cfg)
{
	return task_is_container_facts(t->thread_pid->level, t->pid, t, cfg, false);
}

/* t a pointer computed by hand: probe reads. */
static __always_inline bool task_is_container_probed(struct task_struct *t, struct aces_config *cfg)
{
	return task_is_container_facts(task_pid_level(t), BPF_CORE_READ(t, pid), t, cfg, true);
}

/*
 * The cheap first test of every hook: the current task is a host task that is not a usermode
 * helper, so no hook judges it. A necessary condition only (task_is_container still decides for
 * the rest), read with plain loads through the task's BTF pointer instead of helper calls, so that
 * host tasks pay little more than an empty program: host pid namespace, no host-pid container
 * registered, parent not a kernel thread.
 */
static __always_inline bool current_surely_host(struct aces_config *cfg)
{
	struct task_struct *t = bpf_get_current_task_btf();

	return t->thread_pid->level == 0 && !cfg->host_ctrs && !(t->real_parent->flags & PF_KTHREAD);
}

#endif
