/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Feature probes: one tiny program per capability that `aces doctor` and tier selection need.
 * Each is loaded (and where it matters attached) on its own; what loads is what the kernel
 * really allows, whatever its config files say (this machine lists bpf among its LSMs and still
 * refuses lsm/ programs with EPERM).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

/* file_open calls seen while probe_lsm is attached. A kernel built with BPF LSM but booted
 * without bpf among its active LSMs (lsm=) lets the program load and attach and never runs it:
 * only a hit proves that lsm/ programs enforce anything. */
__u64 probe_lsm_hits;

SEC("lsm/file_open")
int BPF_PROG(probe_lsm, struct file *file)
{
	__sync_fetch_and_add(&probe_lsm_hits, 1);
	return 0;
}

/* One per LSM hook the lsm tier uses (lsm.bpf.c), loaded on their own: a hook that is not built
 * (path_mknod needs CONFIG_SECURITY_PATH) or not allowed for BPF fails its load, and only the
 * rules that need it fall back to another tier. */
SEC("lsm/sb_kern_mount")
int BPF_PROG(probe_lsm_kmnt, struct super_block *sb)
{
	return 0;
}

SEC("lsm/move_mount")
int BPF_PROG(probe_lsm_mvmnt, const struct path *from_path, const struct path *to_path)
{
	return 0;
}

SEC("lsm/bprm_check_security")
int BPF_PROG(probe_lsm_bprm, struct linux_binprm *bprm)
{
	return 0;
}

SEC("lsm/path_mknod")
int BPF_PROG(probe_lsm_mknod, const struct path *dir, struct dentry *dentry)
{
	return 0;
}

SEC("lsm/ptrace_access_check")
int BPF_PROG(probe_lsm_ptrace, struct task_struct *child, unsigned int mode)
{
	return 0;
}

SEC("lsm/task_kill")
int BPF_PROG(probe_lsm_kill, struct task_struct *p)
{
	return 0;
}

SEC("lsm/bpf")
int BPF_PROG(probe_lsm_bpf, int cmd)
{
	return 0;
}

SEC("lsm/syslog")
int BPF_PROG(probe_lsm_syslog, int type)
{
	return 0;
}

SEC("lsm/perf_event_alloc")
int BPF_PROG(probe_lsm_perf, struct perf_event *event)
{
	return 0;
}

/* With the helper the program uses: bpf_task_pt_regs (5.15) finds the system call. */
SEC("lsm/key_permission")
int BPF_PROG(probe_lsm_key, key_ref_t key_ref)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());

	return regs ? 0 : 0;
}

SEC("lsm/path_chroot")
int BPF_PROG(probe_lsm_chroot, const struct path *path)
{
	return 0;
}

SEC("lsm/sb_pivotroot")
int BPF_PROG(probe_lsm_pivot, const struct path *old_path)
{
	return 0;
}

SEC("lsm/unix_stream_connect")
int BPF_PROG(probe_lsm_unix, struct sock *sock)
{
	return 0;
}

SEC("fentry/do_sys_openat2")
int BPF_PROG(probe_fentry)
{
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(probe_tp_btf)
{
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_getppid")
int probe_send_signal(void *ctx)
{
	/* Never true: the verifier only needs to see the helper call. */
	if (bpf_get_current_pid_tgid() == 0)
		bpf_send_signal(9);
	return 0;
}

SEC("cgroup/sysctl")
int probe_sysctl(struct bpf_sysctl *ctx)
{
	return 1;
}

SEC("cgroup/dev")
int probe_device(struct bpf_cgroup_dev_ctx *ctx)
{
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
