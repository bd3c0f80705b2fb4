/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Which files belong to a container's root filesystem, seen from the host.
 *
 * A usermode helper started for a container (release_agent, a core_pattern pipe, a binfmt_misc
 * interpreter) reaches the container's files through host paths the attacker picks:
 *   /var/lib/docker/overlay2/<id>/merged/x  or /proc/<pid>/root/x  -> the overlay superblock
 *   /var/lib/docker/overlay2/<id>/diff/x                           -> the upper layer dir, on the
 *   /var/lib/docker/overlay2/<layer>/diff/bin/busybox              -> host fs (a lower layer dir)
 * so the container's root is recorded by kernel object, not path: the overlay superblock, and
 * each layer's directory (device, inode). For a root that is not a whole overlay (vfs, btrfs
 * drivers, plain chroot) the root directory itself is recorded as a layer. A file belongs to a
 * container when its superblock is a recorded one or one of its ancestors is a recorded layer.
 * Lower layers are shared by containers of one image; the map names the last one seen.
 */
#ifndef ACES_LIB_CTRFS_BPF_H
#define ACES_LIB_CTRFS_BPF_H

#define CTR_FS_MAX_LAYERS 16
#define CTR_FS_MAX_DEPTH 48

static __always_inline void ctr_fs_put(__u32 kind, __u32 dev, __u64 ino, __u64 key)
{
	struct aces_ctr_fs_key k = { .kind = kind, .dev = dev, .ino = ino };

	if (bpf_map_update_elem(&ctr_fs, &k, &key, BPF_ANY))
		count_drop(DROP_CONTAINER);
}

static __always_inline void ctr_fs_record(struct task_struct *t, __u64 key, struct aces_config *cfg)
{
	struct dentry *root = BPF_CORE_READ(t, fs, root.dentry);
	struct super_block *sb = BPF_CORE_READ(root, d_sb);
	__u32 dev = sb_dev(sb);
	__u64 ino = BPF_CORE_READ(root, d_inode, i_ino);

	/* A "container" whose root is the host's (a host process that made a pid namespace) has no
	 * root of its own to record: recording "/" would flag every helper on the host. */
	if (cfg && dev == cfg->host_root_dev && ino == cfg->host_root_ino)
		return;

	if (BPF_CORE_READ(sb, s_magic) != OVERLAYFS_SUPER_MAGIC || BPF_CORE_READ(sb, s_root) != root) {
		ctr_fs_put(CTR_FS_LAYER, dev, ino, key);
		return;
	}
	ctr_fs_put(CTR_FS_SUPER, dev, 0, key);

	/* overlayfs may be a module: its types then come from module BTF, or not at all. */
	if (!bpf_core_type_exists(struct ovl_fs))
		return;
	struct ovl_fs *ofs = BPF_CORE_READ(sb, s_fs_info);
	unsigned int n = BPF_CORE_READ(ofs, numlayer);
	void *layers = BPF_CORE_READ(ofs, layers);
	__u32 lsize = bpf_core_type_size(struct ovl_layer);

	for (int i = 0; i < CTR_FS_MAX_LAYERS; i++) {
		if (i >= n)
			break;
		struct ovl_layer *l = layers + i * lsize;
		struct vfsmount *m = BPF_CORE_READ(l, mnt);
		if (!m)
			continue; /* layers[0] is the upper layer; absent on read-only overlays */
		struct dentry *d = BPF_CORE_READ(m, mnt_root);
		ctr_fs_put(CTR_FS_LAYER, sb_dev(BPF_CORE_READ(m, mnt_sb)),
			   BPF_CORE_READ(d, d_inode, i_ino), key);
	}
}

/* The container key whose root holds this file, or 0. */
static __always_inline __u64 ctr_fs_owner(struct file *f)
{
	struct super_block *sb = file_sb(f);
	struct aces_ctr_fs_key k = { .kind = CTR_FS_SUPER, .dev = sb_dev(sb), .ino = 0 };
	__u64 *v = bpf_map_lookup_elem(&ctr_fs, &k);

	if (v)
		return *v;
	k.kind = CTR_FS_LAYER;
	struct dentry *d = BPF_CORE_READ(f, f_path.dentry);
	for (int i = 0; i < CTR_FS_MAX_DEPTH; i++) {
		k.ino = BPF_CORE_READ(d, d_inode, i_ino);
		v = bpf_map_lookup_elem(&ctr_fs, &k);
		if (v)
			return *v;
		struct dentry *parent = BPF_CORE_READ(d, d_parent);
		if (!parent || parent == d)
			break;
		d = parent;
	}
	return 0;
}

/* A usermode helper: a host task the kernel started itself (its parent is a kernel thread:
 * kthreadd for UMH_WAIT_EXEC, a kworker for UMH_WAIT_PROC). */
static __always_inline bool task_is_umh(struct task_struct *t)
{
	return task_pid_level(t) == 0 &&
	       (BPF_CORE_READ(t, real_parent, flags) & PF_KTHREAD);
}

#endif
