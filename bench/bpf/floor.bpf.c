/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The overhead floor: one empty program on every hook the ACES object can attach to. The
 * benchmark loads only the programs whose section matches a program the daemon attached
 * (bench/overhead.ts reads that list from the ready line and the sections of aces.bpf.o), so
 * "floor" is exactly what running BPF on those hooks costs before ACES does any work.
 * Covers no escape technique. Hooks: the sections of the bpf/<family>.bpf.c files; a section ACES adds without a
 * counterpart here is reported by the benchmark as missing from the floor. Minimum kernel: that
 * of the hooks themselves (tp_btf 5.5, lsm 5.7, cgroup/sysctl 5.2).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define EMPTY_TP(name, sec)                                                                        \
	SEC(sec)                                                                                   \
	int name(void *ctx) { return 0; }

EMPTY_TP(fl_sched_exec, "tp_btf/sched_process_exec")
EMPTY_TP(fl_sched_fork, "tp_btf/sched_process_fork")
EMPTY_TP(fl_sched_exit, "tp_btf/sched_process_exit")
EMPTY_TP(fl_cg_mkdir, "tp_btf/cgroup_mkdir")
EMPTY_TP(fl_cg_attach, "tp_btf/cgroup_attach_task")
EMPTY_TP(fl_signal, "tp_btf/signal_generate")
EMPTY_TP(fl_sys_enter, "tp_btf/sys_enter")
EMPTY_TP(fl_x_openat, "tracepoint/syscalls/sys_exit_openat")
EMPTY_TP(fl_x_open, "tracepoint/syscalls/sys_exit_open")
EMPTY_TP(fl_x_openat2, "tracepoint/syscalls/sys_exit_openat2")
EMPTY_TP(fl_x_creat, "tracepoint/syscalls/sys_exit_creat")
EMPTY_TP(fl_e_bpf, "tracepoint/syscalls/sys_enter_bpf")
EMPTY_TP(fl_e_syslog, "tracepoint/syscalls/sys_enter_syslog")
EMPTY_TP(fl_e_perf, "tracepoint/syscalls/sys_enter_perf_event_open")
EMPTY_TP(fl_e_keyctl, "tracepoint/syscalls/sys_enter_keyctl")
EMPTY_TP(fl_e_add_key, "tracepoint/syscalls/sys_enter_add_key")
EMPTY_TP(fl_e_req_key, "tracepoint/syscalls/sys_enter_request_key")
EMPTY_TP(fl_e_ohandle, "tracepoint/syscalls/sys_enter_open_by_handle_at")
EMPTY_TP(fl_x_chroot, "tracepoint/syscalls/sys_exit_chroot")
EMPTY_TP(fl_x_pivot, "tracepoint/syscalls/sys_exit_pivot_root")
EMPTY_TP(fl_e_mount, "tracepoint/syscalls/sys_enter_mount")
EMPTY_TP(fl_x_mount, "tracepoint/syscalls/sys_exit_mount")
EMPTY_TP(fl_x_fsmount, "tracepoint/syscalls/sys_exit_fsmount")
EMPTY_TP(fl_x_otree, "tracepoint/syscalls/sys_exit_open_tree")
EMPTY_TP(fl_e_setns, "tracepoint/syscalls/sys_enter_setns")
EMPTY_TP(fl_x_ptrace, "tracepoint/syscalls/sys_exit_ptrace")
EMPTY_TP(fl_e_connect, "tracepoint/syscalls/sys_enter_connect")
EMPTY_TP(fl_x_connect, "tracepoint/syscalls/sys_exit_connect")
EMPTY_TP(fl_uring_done, "tracepoint/io_uring/io_uring_complete")

/* Allow everything: these programs only stand in for the cost of being called. */
SEC("cgroup/sysctl")
int fl_sysctl(struct bpf_sysctl *ctx) { return 1; }

SEC("cgroup/dev")
int fl_dev(struct bpf_cgroup_dev_ctx *ctx) { return 1; }

SEC("lsm/file_open")
int BPF_PROG(fl_lsm_open, struct file *file) { return 0; }

SEC("lsm/sb_kern_mount")
int BPF_PROG(fl_lsm_kmount, struct super_block *sb) { return 0; }

SEC("lsm/move_mount")
int BPF_PROG(fl_lsm_mmove, const struct path *from, const struct path *to) { return 0; }

SEC("lsm/bprm_check_security")
int BPF_PROG(fl_lsm_bprm, struct linux_binprm *bprm) { return 0; }

SEC("lsm/path_mknod")
int BPF_PROG(fl_lsm_mknod, const struct path *dir, struct dentry *dentry, umode_t mode,
	     unsigned int dev) { return 0; }

char LICENSE[] SEC("license") = "GPL";
