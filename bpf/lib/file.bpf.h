/* SPDX-License-Identifier: GPL-2.0 */
/* Kernel file objects: fd -> struct file, superblock facts, dentry names. */
#ifndef ACES_LIB_FILE_BPF_H
#define ACES_LIB_FILE_BPF_H

/* Filesystem magics (include/uapi/linux/magic.h) */
#define CGROUP_SUPER_MAGIC 0x27e0eb
#define CGROUP2_SUPER_MAGIC 0x63677270
#define PROC_SUPER_MAGIC 0x9fa0
#define SYSFS_MAGIC 0x62656572
#define BINFMTFS_MAGIC 0x42494e4d
#define OVERLAYFS_SUPER_MAGIC 0x794c7630
#define NSFS_MAGIC 0x6e736673

#define FMODE_WRITE 0x2

/* t: a task known by its BTF type (the current task): plain loads down to the fd array, whose
 * element (a pointer to a pointer is not typed for the verifier) is one probe read. */
static __always_inline struct file *task_fd_file(struct task_struct *t, long fd)
{
	struct fdtable *fdt = t->files->fdt;
	unsigned int max = fdt->max_fds;
	struct file **fds = fdt->fd;
	struct file *f = NULL;

	if (fd < 0 || fd >= max)
		return NULL;
	bpf_core_read(&f, sizeof(f), &fds[fd]);
	return f;
}

static __always_inline struct super_block *file_sb(struct file *f)
{
	return BPF_CORE_READ(f, f_inode, i_sb);
}

/* Copy a dentry's name into buf (NUL-terminated, zero-padded by the caller's init). */
static __always_inline void dentry_name(struct dentry *d, char *buf, __u32 len)
{
	const unsigned char *name = BPF_CORE_READ(d, d_name.name);

	bpf_probe_read_kernel_str(buf, len, name);
}

/* Exact compare of a NUL-terminated buffer with a literal (n includes the NUL). */
static __always_inline bool name_is(const char *buf, const char *lit, int n)
{
	for (int i = 0; i < n; i++) {
		if (buf[i] != lit[i])
			return false;
	}
	return true;
}
#define NAME_IS(buf, lit) name_is((buf), (lit), sizeof(lit))

/* Compare two NUL-terminated ACES_NAME_LEN buffers. */
static __always_inline bool names_equal(const char *a, const char *b)
{
	for (int i = 0; i < ACES_NAME_LEN; i++) {
		if (a[i] != b[i])
			return false;
		if (a[i] == 0)
			return true;
	}
	return true;
}

#define MNT_NS_INTERNAL_ERR ((unsigned long)-4095)

/* A mount that belongs to a real mount namespace other than the task's (internal mounts such as
 * pipefs or anon inodes have none). t: a task known by its BTF type. */
static __always_inline bool mount_is_foreign(struct vfsmount *vfsmnt, struct task_struct *t)
{
	struct mount *m = (void *)vfsmnt - bpf_core_field_offset(struct mount, mnt);
	struct mnt_namespace *ns = BPF_CORE_READ(m, mnt_ns);

	if (!ns || (unsigned long)ns >= MNT_NS_INTERNAL_ERR)
		return false;
	return ns != t->nsproxy->mnt_ns;
}

static __always_inline __u32 sb_dev(struct super_block *sb)
{
	return BPF_CORE_READ(sb, s_dev);
}

#endif
