/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Is this container task still what it was? Two breach signatures (level 3), checked at the hooks
 * a container task passes (exec, open, the issue-3 syscall hooks), against a baseline taken at
 * its last legitimate transition (exec, fork, first sight):
 *   - its credentials rose: a kernel exploit's commit_creds(prepare_kernel_cred(0)) gives uid 0
 *     and full capabilities in the middle of a system call. Legitimate rises happen at exec
 *     (setuid/setgid/file capabilities: the kernel sets bprm->secureexec) or need privilege already
 *     held (a set*uid() back to a saved root uid needs uid/suid 0 or CAP_SETUID; capset() cannot
 *     raise the permitted set). A new user namespace gives full capabilities inside it: the
 *     baseline follows the user namespace, except a move back towards the initial one.
 *   - it now holds the host's mount namespace or the host's root directory and did not at its
 *     baseline (switch_task_namespaces(init_nsproxy), a chroot into a bind-mounted host root).
 *     A pid-namespace sandbox started from the host holds them from the start: not a change.
 */
#ifndef ACES_LIB_INTEGRITY_BPF_H
#define ACES_LIB_INTEGRITY_BPF_H

#define CAP_SETUID 7

/* Whether mount namespace ns or root directory root is the host's. Plain loads (ns and root come
 * from a task known by its BTF type). */
static __always_inline bool host_ns_or_root(struct mnt_namespace *ns, struct dentry *root, struct aces_config *cfg)
{
	if (cfg->host_mntns && ns->ns.inum == cfg->host_mntns)
		return true;
	return root->d_inode->i_ino == cfg->host_root_ino && root->d_sb->s_dev == cfg->host_root_dev;
}

/*
 * The task holds the host's mount namespace or the host's root directory. t, here and below: a
 * task known by its BTF type (event_fill_task): plain loads, checked on every container open.
 * was: the baseline, or NULL. While the task holds the same namespace and root objects as at
 * its baseline the answer is the baseline's, without the four cache lines behind them. Sound
 * although an address can be reused: the host's namespace and root live as long as the host, so
 * an object at a baseline address is the host's now only if it was the host's then.
 */
static __always_inline bool holds_host_ns(struct task_struct *t, struct aces_config *cfg, struct cred_base *was,
					  struct cred_base *now)
{
	struct mnt_namespace *ns = t->nsproxy->mnt_ns;
	struct dentry *root = t->fs->root.dentry;

	now->mnt_ns = (__u64)ns;
	now->root = (__u64)root;
	if (was && was->valid && was->mnt_ns == now->mnt_ns && was->root == now->root)
		return was->host;
	return host_ns_or_root(ns, root, cfg);
}

/* Kernels before 6.3 (commit f122a08b197d "capability: just use a 'u64' instead of a 'u32[2]'
 * array") kept capability sets as two 32-bit words. */
struct kernel_cap_struct___u32 {
	__u32 cap[2];
} __attribute__((preserve_access_index));
struct cred___u32caps {
	struct kernel_cap_struct___u32 cap_permitted;
} __attribute__((preserve_access_index));

static __always_inline __u64 cred_cap_permitted(const struct cred *c)
{
	if (bpf_core_field_exists(c->cap_permitted.val))
		return c->cap_permitted.val;
	const struct cred___u32caps *old = (const void *)c;
	return BPF_CORE_READ(old, cap_permitted.cap[0]) | ((__u64)BPF_CORE_READ(old, cap_permitted.cap[1]) << 32);
}

/* The task's state now into b; was: its baseline (or NULL), for the shortcut of holds_host_ns. */
static __always_inline void integrity_snapshot(struct task_struct *t, struct aces_config *cfg,
					       struct cred_base *was, struct cred_base *b)
{
	const struct cred *c = t->cred;

	b->cap_permitted = cred_cap_permitted(c);
	b->user_ns = (__u64)c->user_ns;
	b->uid = c->uid.val;
	b->euid = c->euid.val;
	b->suid = c->suid.val;
	b->host = holds_host_ns(t, cfg, was, b);
	b->valid = 1;
}

static __always_inline bool creds_rose(struct cred_base *was, struct cred_base *now)
{
	if (now->user_ns != was->user_ns) {
		struct user_namespace *ns = (void *)now->user_ns;
		struct user_namespace *old = (void *)was->user_ns;

		return BPF_CORE_READ(ns, level) < BPF_CORE_READ(old, level);
	}
	bool could_setuid = was->uid == 0 || was->suid == 0 || was->euid == 0 ||
			    (was->cap_permitted & (1ULL << CAP_SETUID));
	if (now->euid == 0 && was->euid != 0 && !could_setuid)
		return true;
	return (now->cap_permitted & ~was->cap_permitted) != 0;
}

/*
 * Returns the breach rule (RULE_CRED_RISE, RULE_HOST_NS_HELD) or 0. When there is none the
 * current state becomes the baseline (lowered privileges, a new user namespace).
 * secure_exec: called at an exec the kernel marked secure: risen credentials are legitimate.
 */
static __always_inline __u16 integrity_breach(struct task_struct *t, struct aces_config *cfg, bool secure_exec)
{
	struct cred_base *b = bpf_task_storage_get(&cred_bases, t, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	struct cred_base now = {};

	if (!b)
		return 0;
	integrity_snapshot(t, cfg, b, &now);
	if (!b->valid) {
		now.offender = b->offender;
		*b = now;
		return 0;
	}
	if (now.host && !b->host)
		return RULE_HOST_NS_HELD;
	if (!secure_exec && creds_rose(b, &now))
		return RULE_CRED_RISE;
	now.offender = b->offender;
	*b = now;
	return 0;
}

/* A child starts from its parent's baseline. */
static __always_inline void integrity_inherit(struct task_struct *parent, struct task_struct *child)
{
	struct cred_base *pb = bpf_task_storage_get(&cred_bases, parent, 0, 0);
	struct cred_base *cb;

	if (!pb)
		return;
	cb = bpf_task_storage_get(&cred_bases, child, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (cb)
		*cb = *pb;
}

#endif
