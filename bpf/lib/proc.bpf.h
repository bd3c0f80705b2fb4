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

#define PID_FS_MAGIC 0x50494446

/* The task a pidfd refers to: a pidfs inode (6.9+, the struct pid in i_private) or, before,
 * an anon inode named "[pidfd]" (the struct pid in private_data). NULL for any other file. */
static __always_inline struct task_struct *pidfd_file_task(struct file *f)
{
	struct inode *inode = BPF_CORE_READ(f, f_inode);
	struct pid *pid = NULL;
	char name[8] = {};

	if (BPF_CORE_READ(inode, i_sb, s_magic) == PID_FS_MAGIC) {
		pid = BPF_CORE_READ(inode, i_private);
	} else {
		dentry_name(BPF_CORE_READ(f, f_path.dentry), name, sizeof(name));
		if (NAME_IS(name, "[pidfd]"))
			pid = BPF_CORE_READ(f, private_data);
	}
	return pid_first_task(pid);
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

/* The task behind pidfd file f if it is outside self's container, else NULL. */
static __always_inline struct task_struct *pidfd_foreign_task(struct file *f, struct task_struct *self,
							      struct aces_config *cfg)
{
	struct task_struct *target = pidfd_file_task(f);

	if (!target || task_same_container(target, self, task_container_key(self, cfg), cfg))
		return NULL;
	return target;
}

#endif
