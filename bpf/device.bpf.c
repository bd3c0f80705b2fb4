/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Block devices from a container: mknod of a block node, and opening one for raw access
 * (debugfs /dev/sda, dd, mounting a disk the host has not mounted), refused before they happen.
 *
 * Hook: cgroup/dev at the cgroup-v2 root. devcgroup_check_permission() runs the v2 program
 * before the v1 devices controller's list, for every task (all are in some v2 cgroup), on
 * mknod (ACC_MKNOD) and on open of a device inode (ACC_READ/ACC_WRITE).
 * Runtime set-up tasks (runc creating --device nodes) are not container tasks and pass.
 * A policy exception lets a container that needs a block device (--device) keep it.
 * An open is checked twice by the kernel; it is judged once (lib/devcheck.bpf.h).
 *
 *   mknodat -> vfs_mknod -> devcgroup_inode_mknod -> BPF_CGROUP_RUN_PROG_DEVICE_CGROUP  <- here
 *   openat  -> blkdev_open -> ... devcgroup_check_permission -> (same)
 *
 * Minimum kernel: 4.15.
 */

/* include/uapi/linux/bpf.h: #defines, so not in vmlinux.h */
#define BPF_DEVCG_ACC_MKNOD (1ULL << 0)
#define BPF_DEVCG_DEV_BLOCK (1ULL << 0)

SEC("cgroup/dev")
int device_access(struct bpf_cgroup_dev_ctx *ctx)
{
	__u32 type = ctx->access_type & 0xffff;
	__u32 access = ctx->access_type >> 16;

	if (type != BPF_DEVCG_DEV_BLOCK)
		return 1;
	__u64 ts = bpf_ktime_get_ns();
	struct aces_config *cfg = get_config();
	struct task_struct *t = bpf_get_current_task_btf();

	if (!cfg || !task_is_container(t, cfg))
		return 1;

	__u32 dev = (ctx->major << 20) | (ctx->minor & 0xfffff);
	__u64 pid_tgid = ((__u64)t->tgid << 32) | t->pid;
	__u64 key = task_container_key(t, cfg);
	struct aces_event ev = { .ts_entry = ts };
	if (container_quarantined(key, cfg)) {
		ev.rule = RULE_QUARANTINED_TASK;
		ev.flags |= EVF_FAST_PATH;
	} else {
		/* The second check of an open already judged (devcheck.bpf.h). Only a process that
		 * offended can have one: the filter keeps the test off its first event. */
		if (offender_maybe(OFFENDER_PROCESS, t->tgid) && dev_check_repeated(pid_tgid, dev, access, ts))
			return 1;
		ev.rule = (access & BPF_DEVCG_ACC_MKNOD) ? RULE_BLOCKDEV_MKNOD : RULE_BLOCKDEV_OPEN;
	}
	event_fill_task(&ev, t, key);
	ev.obj_dev = dev;
	ev.obj_flags = access;
	int verdict = decide(&ev, cfg, HOOK_CAN_DENY, t);
	if (verdict == VERDICT_ALLOW)
		dev_check_remember(pid_tgid, dev, access, ts);
	return verdict == VERDICT_DENY ? 0 : 1;
}
