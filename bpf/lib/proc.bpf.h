/* SPDX-License-Identifier: GPL-2.0 */
/* procfs objects: the task behind a /proc/<pid>/... inode, and whether a task belongs to the
 * same container as another. */
#ifndef ACES_LIB_PROC_BPF_H
#define ACES_LIB_PROC_BPF_H

/* The task behind a struct pid (its first PIDTYPE_PID task), or NULL. */
static __always_inline struct task_struct *pid_first_task(struct pid *pid)
{
	struct hlist_node *first;

	if (!pid)
		return NULL;
	first = BPF_CORE_READ(pid, tasks[PIDTYPE_PID].first);
	if (!first)
		return NULL;
	return (void *)first - bpf_core_field_offset(struct task_struct, pid_links[PIDTYPE_PID]);
}

/* The task a procfs per-task inode belongs to, or NULL for procfs inodes that are not per-task
 * (/proc/sys, /proc/meminfo: their pid is NULL). */
static __always_inline struct task_struct *proc_inode_task(struct inode *inode)
{
	struct proc_inode *pi = (void *)inode - bpf_core_field_offset(struct proc_inode, vfs_inode);

	return pid_first_task(BPF_CORE_READ(pi, pid));
}

/* Whether namespace inode inum is one the task already holds (of any type). A container that
 * shares a host namespace on purpose (--net host, --pid host, --ipc host) may open or join it. */
static __always_inline bool task_holds_ns(struct task_struct *t, __u32 inum)
{
	struct nsproxy *nsp = BPF_CORE_READ(t, nsproxy);

	return inum == BPF_CORE_READ(nsp, mnt_ns, ns.inum) || inum == BPF_CORE_READ(nsp, uts_ns, ns.inum) ||
	       inum == BPF_CORE_READ(nsp, ipc_ns, ns.inum) || inum == BPF_CORE_READ(nsp, net_ns, ns.inum) ||
	       inum == BPF_CORE_READ(nsp, cgroup_ns, ns.inum) || inum == BPF_CORE_READ(nsp, pid_ns_for_children, ns.inum) ||
	       inum == BPF_CORE_READ(t, cred, user_ns, ns.inum) || inum == task_pidns_inum(t);
}

/* A namespace of the host that the task does not hold: joining it leaves the container. */
static __always_inline bool ns_is_foreign_host(struct task_struct *t, __u32 inum)
{
	return bpf_map_lookup_elem(&host_ns, &inum) && !task_holds_ns(t, inum);
}

/* Same process, or a container task of the same container. other: a task pointer computed by
 * hand (probe reads). */
static __always_inline bool task_same_container(struct task_struct *other, struct task_struct *self,
						__u64 self_key, struct aces_config *cfg)
{
	if (BPF_CORE_READ(other, tgid) == BPF_CORE_READ(self, tgid))
		return true;
	if (!task_is_container_probed(other, cfg))
		return false;
	return task_container_key_probed(other, cfg) == self_key;
}

#endif
