/* SPDX-License-Identifier: GPL-2.0 */
/* Facts about a task: pid namespace level, namespace inodes, container key. */
#ifndef ACES_LIB_TASK_BPF_H
#define ACES_LIB_TASK_BPF_H

#define PF_KTHREAD 0x00200000

/* Level of the task's own (active) pid namespace: 0 is the host's (init_pid_ns).
 * thread_pid, not nsproxy->pid_ns_for_children: after unshare(CLONE_NEWPID) the latter
 * names the children's namespace while the task itself still lives in the old one. */
static __always_inline unsigned int task_pid_level(struct task_struct *t)
{
	return BPF_CORE_READ(t, thread_pid, level);
}

static __always_inline __u32 task_pidns_inum(struct task_struct *t)
{
	struct pid *p = BPF_CORE_READ(t, thread_pid);
	unsigned int level = BPF_CORE_READ(p, level) & 31;
	/* numbers[] is a flexible array indexed by a run-time level: compute the element address
	 * from relocated offset and size so that CO-RE still applies on other kernels. */
	struct upid *up = (void *)p + bpf_core_field_offset(struct pid, numbers) +
			  level * bpf_core_type_size(struct upid);

	return BPF_CORE_READ(up, ns, ns.inum);
}

static __always_inline __u32 task_mntns_inum(struct task_struct *t)
{
	return BPF_CORE_READ(t, nsproxy, mnt_ns, ns.inum);
}

#define KEY_SUBSYS_MAX 16

/* The container key: a cgroup id (DESIGN §4). On cgroup-v1 hybrid hosts every task sits in
 * the v2 root, so the key comes from one v1 hierarchy that user space chose.
 *
 * Two readers of the same fields: task_container_key() for a task the verifier knows by its BTF
 * type (the current task, tp_btf and iterator arguments: plain loads, a few ns), and
 * task_container_key_probed() for a task pointer computed by hand (a /proc inode's task, a
 * tracee found through a list: one probe-read helper call per hop). */
static __always_inline __u64 task_container_key(struct task_struct *t, struct aces_config *cfg)
{
	if (cfg && cfg->key_source == KEY_CGROUP_V1) {
		struct css_set *cs = t->cgroups;
		struct cgroup_subsys_state *css = NULL;
		__u32 id = cfg->key_subsys_id;
		__u32 n = bpf_core_field_size(cs->subsys) / sizeof(cs->subsys[0]);

		/* Plain loads need a constant index: pick it by unrolled comparison, within this
		 * kernel's subsys[] (its size is relocated, so the verifier sees the bound). */
#pragma unroll
		for (__u32 i = 0; i < KEY_SUBSYS_MAX; i++) {
			if (i < n && i == id)
				css = cs->subsys[i];
		}
		if (!css)
			return 0;
		return css->cgroup->kn->id;
	}
	return t->cgroups->dfl_cgrp->kn->id;
}

static __always_inline __u64 task_container_key_probed(struct task_struct *t, struct aces_config *cfg)
{
	if (cfg && cfg->key_source == KEY_CGROUP_V1) {
		__u32 id = cfg->key_subsys_id;
		struct css_set *cs = BPF_CORE_READ(t, cgroups);
		struct cgroup_subsys_state *css = NULL;

		if (id >= KEY_SUBSYS_MAX)
			return 0;
		bpf_core_read(&css, sizeof(css), &cs->subsys[id]);
		return BPF_CORE_READ(css, cgroup, kn, id);
	}
	return BPF_CORE_READ(t, cgroups, dfl_cgrp, kn, id);
}

#endif
