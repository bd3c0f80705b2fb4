/* SPDX-License-Identifier: GPL-2.0 */
/*
 * io_uring: operations submitted through a ring never pass the open/connect system call
 * tracepoints (io_uring_enter() runs them, possibly on an io-wq worker thread). Their completions
 * do: the opened fd or connected socket is judged exactly like the system call's result, with
 * the event marked as coming through io_uring. (sysctl writes through io_uring are refused by
 * cgroup/sysctl, which every route passes.) An open into the ring's own file table (a direct
 * descriptor) has no fd: its file is read from that table, before a linked request can use it.
 *
 * Hook: io_uring/io_uring_complete (tracefs event; its raw arguments differ between 6.1 and 6.4+,
 * its event record does not), in the context of the submitter or of an io-wq worker, which
 * shares the submitter's files and thread group: the fd is in the same table and the SIGKILL
 * takes the whole process.
 * Minimum kernel: 5.5 (io_uring_complete with req); direct-descriptor opens from 6.13.
 */

#define IORING_OP_CONNECT_ 16
#define IORING_OP_OPENAT_ 18
#define IORING_OP_OPENAT2_ 28
#define IORING_FILE_INDEX_ALLOC_ (~0U)
#define FFS_MASK_ (~3UL) /* io_uring/filetable.h: FFS_NOWAIT | FFS_ISREG in the low bits */

/*
 * An open into the ring's own file table (a direct descriptor: sqe->file_index) installs no fd;
 * its result is 0 or, for IORING_FILE_INDEX_ALLOC, the slot. The file is read back from the
 * table: ctx->file_table.data.nodes[slot]->file_ptr, the layout since 6.13 (io_rsrc_node). On
 * older kernels this returns NULL (not covered there without LSM: docs/rules.md).
 */
static __always_inline struct file *uring_direct_file(struct io_kiocb *req, int res)
{
	if (!bpf_core_type_exists(struct io_open) || !bpf_core_field_exists(struct io_rsrc_node, file_ptr) ||
	    !bpf_core_field_exists(struct io_file_table, data))
		return NULL;
	/* io_kiocb_to_cmd(): an open's command data starts the request */
	__u32 slot = BPF_CORE_READ((struct io_open *)req, file_slot);

	if (!slot)
		return NULL;
	__u32 idx = slot == IORING_FILE_INDEX_ALLOC_ ? (__u32)res : slot - 1;
	struct io_ring_ctx *ctx = BPF_CORE_READ(req, ctx);
	struct io_rsrc_node **nodes = BPF_CORE_READ(ctx, file_table.data.nodes);
	struct io_rsrc_node *node = NULL;

	if (idx >= BPF_CORE_READ(ctx, file_table.data.nr))
		return NULL;
	bpf_core_read(&node, sizeof(node), &nodes[idx]);
	return (struct file *)(BPF_CORE_READ(node, file_ptr) & FFS_MASK_);
}

SEC("tracepoint/io_uring/io_uring_complete")
int uring_complete(struct trace_event_raw_io_uring_complete *ctx)
{
	int res = BPF_CORE_READ(ctx, res);

	if (res < 0)
		return 0;
	struct io_kiocb *req = BPF_CORE_READ(ctx, req);
	__u8 op = BPF_CORE_READ(req, opcode);

	if (op == IORING_OP_OPENAT_ || op == IORING_OP_OPENAT2_) {
		struct file *direct = uring_direct_file(req, res);
		struct aces_config *cfg = get_config();

		if (!direct)
			judge_open(bpf_get_current_task_btf(), res, bpf_ktime_get_ns(), EVF_IO_URING);
		else if (cfg)
			judge_file(bpf_get_current_task_btf(), cfg, direct, bpf_ktime_get_ns(), EVF_IO_URING, res,
				   HOOK_CAN_SIGNAL);
	} else if (op == IORING_OP_CONNECT_) {
		judge_connected(bpf_get_current_task_btf(), BPF_CORE_READ(req, file), bpf_ktime_get_ns(), EVF_IO_URING);
	}
	return 0;
}
