/* SPDX-License-Identifier: GPL-2.0 */
/*
 * io_uring: operations submitted through a ring never pass the open/connect system call
 * tracepoints (io_uring_enter() runs them, possibly on an io-wq worker thread). Their completions
 * do: the opened fd or connected socket is judged exactly like the system call's result, with
 * the event marked as coming through io_uring. (sysctl writes through io_uring are refused by
 * cgroup/sysctl, which every route passes.)
 *
 * Hook: io_uring/io_uring_complete (tracefs event; its raw arguments differ between 6.1 and 6.4+,
 * its event record does not), in the context of the submitter or of an io-wq worker, which
 * shares the submitter's files and thread group: the fd is in the same table and the SIGKILL
 * takes the whole process.
 * Minimum kernel: 5.5 (io_uring_complete with req).
 */

#define IORING_OP_CONNECT_ 16
#define IORING_OP_OPENAT_ 18
#define IORING_OP_OPENAT2_ 28

SEC("tracepoint/io_uring/io_uring_complete")
int uring_complete(struct trace_event_raw_io_uring_complete *ctx)
{
	int res = BPF_CORE_READ(ctx, res);

	if (res < 0)
		return 0;
	struct io_kiocb *req = BPF_CORE_READ(ctx, req);
	__u8 op = BPF_CORE_READ(req, opcode);

	if (op == IORING_OP_OPENAT_ || op == IORING_OP_OPENAT2_) {
		judge_open(bpf_get_current_task_btf(), res, bpf_ktime_get_ns(), EVF_IO_URING);
	} else if (op == IORING_OP_CONNECT_) {
		judge_connected(bpf_get_current_task_btf(), BPF_CORE_READ(req, file), bpf_ktime_get_ns(), EVF_IO_URING);
	}
	return 0;
}
