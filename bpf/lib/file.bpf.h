/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel file objects: fd -> struct file, superblock facts, dentry names.
 *
 * A struct file reached through the fd table is a plain number to the verifier, so each field
 * used to cost one probe-read helper call per pointer hop (about a dozen per container open).
 * From 6.2 the bpf_rdonly_cast kfunc gives the verifier a read-only typed view of such a
 * pointer: its fields are then plain loads (JIT'd as one instruction with a fault fixup), and
 * independent cache misses overlap instead of waiting on each other's helper calls. Every
 * accessor below takes the typed route when the kfunc exists (resolved at load time: the other
 * branch is dead code to the verifier) and the probe-read route before 6.2.
 */
#ifndef ACES_LIB_FILE_BPF_H
#define ACES_LIB_FILE_BPF_H

extern void *bpf_rdonly_cast(const void *obj__ign, __u32 btf_id__k) __ksym __weak;

#ifndef bpf_ksym_exists
#define bpf_ksym_exists(sym) ({ _Static_assert(!__builtin_constant_p(!!sym), #sym " should be __weak"); !!sym; })
#endif

/* Whether typed views exist on this kernel; TYPED(p, struct x): p as a read-only struct x *. */
#define HAVE_TYPED() bpf_ksym_exists(bpf_rdonly_cast)
#define TYPED(p, type) ((type *)bpf_rdonly_cast((p), bpf_core_type_id_kernel(type)))

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
	if (HAVE_TYPED())
		return TYPED(f, struct file)->f_inode->i_sb;
	return BPF_CORE_READ(f, f_inode, i_sb);
}

static __always_inline struct inode *file_inode_of(struct file *f)
{
	if (HAVE_TYPED())
		return TYPED(f, struct file)->f_inode;
	return BPF_CORE_READ(f, f_inode);
}

static __always_inline unsigned int file_mode(struct file *f)
{
	if (HAVE_TYPED())
		return TYPED(f, struct file)->f_mode;
	return BPF_CORE_READ(f, f_mode);
}

static __always_inline struct dentry *file_dentry_of(struct file *f)
{
	if (HAVE_TYPED())
		return TYPED(f, struct file)->f_path.dentry;
	return BPF_CORE_READ(f, f_path.dentry);
}

static __always_inline struct vfsmount *file_mnt(struct file *f)
{
	if (HAVE_TYPED())
		return TYPED(f, struct file)->f_path.mnt;
	return BPF_CORE_READ(f, f_path.mnt);
}

static __always_inline __u64 file_ino(struct file *f)
{
	if (HAVE_TYPED())
		return TYPED(f, struct file)->f_inode->i_ino;
	return BPF_CORE_READ(f, f_inode, i_ino);
}

static __always_inline umode_t file_imode(struct file *f)
{
	if (HAVE_TYPED())
		return TYPED(f, struct file)->f_inode->i_mode;
	return BPF_CORE_READ(f, f_inode, i_mode);
}

static __always_inline void *file_iprivate(struct file *f)
{
	if (HAVE_TYPED())
		return TYPED(f, struct file)->f_inode->i_private;
	return BPF_CORE_READ(f, f_inode, i_private);
}

static __always_inline __u32 sb_magic(struct super_block *sb)
{
	if (HAVE_TYPED())
		return TYPED(sb, struct super_block)->s_magic;
	return BPF_CORE_READ(sb, s_magic);
}

/* Whether d sits directly under its superblock's root (/proc/<name>, a hierarchy's root files). */
static __always_inline bool parent_is_sb_root(struct dentry *d, struct super_block *sb)
{
	if (HAVE_TYPED())
		return TYPED(d, struct dentry)->d_parent == TYPED(sb, struct super_block)->s_root;
	return BPF_CORE_READ(d, d_parent) == BPF_CORE_READ(sb, s_root);
}

/* Copy a dentry's name into buf (NUL-terminated, zero-padded by the caller's init). */
static __always_inline void dentry_name(struct dentry *d, char *buf, __u32 len)
{
	const unsigned char *name;

	if (HAVE_TYPED())
		name = TYPED(d, struct dentry)->d_name.name;
	else
		name = BPF_CORE_READ(d, d_name.name);
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
	struct mnt_namespace *ns;

	if (HAVE_TYPED())
		ns = TYPED(m, struct mount)->mnt_ns;
	else
		ns = BPF_CORE_READ(m, mnt_ns);

	if (!ns || (unsigned long)ns >= MNT_NS_INTERNAL_ERR)
		return false;
	return ns != t->nsproxy->mnt_ns;
}

static __always_inline __u32 sb_dev(struct super_block *sb)
{
	if (HAVE_TYPED())
		return TYPED(sb, struct super_block)->s_dev;
	return BPF_CORE_READ(sb, s_dev);
}

#endif
