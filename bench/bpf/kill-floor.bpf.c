/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kill-latency baselines of bench/block-latency.ts, on the hook ACES kills from
 * (sys_exit_openat):
 *   mode 1  bare floor: bpf_send_signal(SIGKILL) and nothing else;
 *   mode 2  user-space round trip: a ring-buffer record with wakeup, user space calls kill(2).
 * The target is one tgid written by user space; the exit time comes from sched_process_exit.
 * Covers no escape technique. Minimum kernel: 5.5 (tp_btf), bpf_send_signal 5.3.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define SIGKILL 9

enum { CTL_TGID, CTL_MODE, CTL_T_DETECT, CTL_T_EXIT, CTL_MAX };

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, CTL_MAX);
	__type(key, __u32);
	__type(value, __u64);
} kf_ctl SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} kf_events SEC(".maps");

static __always_inline __u64 *ctl(__u32 i)
{
	return bpf_map_lookup_elem(&kf_ctl, &i);
}

SEC("tracepoint/syscalls/sys_exit_openat")
int kf_openat(void *ctx)
{
	__u64 *tgid = ctl(CTL_TGID);

	if (!tgid || !*tgid || *tgid != bpf_get_current_pid_tgid() >> 32)
		return 0;
	__u64 *mode = ctl(CTL_MODE), *det = ctl(CTL_T_DETECT);

	if (!mode || !det || *det)
		return 0;
	if (*mode == 1) {
		/* As ACES's decide(): the timestamp, then the signal. */
		*det = bpf_ktime_get_ns();
		bpf_send_signal(SIGKILL);
	} else if (*mode == 2) {
		__u64 now = bpf_ktime_get_ns();

		*det = now;
		bpf_ringbuf_output(&kf_events, &now, sizeof(now), 0);
	}
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(kf_exit, struct task_struct *p)
{
	__u64 *tgid = ctl(CTL_TGID), *ex = ctl(CTL_T_EXIT);

	if (!tgid || !ex || !*tgid || p->tgid != *tgid || p->pid != p->tgid || *ex)
		return 0;
	*ex = bpf_ktime_get_ns();
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
