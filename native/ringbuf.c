// SPDX-License-Identifier: GPL-2.0
/*
 * Ring buffers on the Node event loop.
 *
 * ring_buffer__epoll_fd() is an epoll instance that becomes readable when the kernel wakes
 * the ring; a uv_poll_t watches it, and each wake-up drains up to one batch of the ring into the
 * ring's batch buffer, handed to JavaScript in a single call. The buffer holds the records framed
 * one after another (each a u32 length, four zero bytes, the record, zero padding to 8 bytes):
 * one Buffer for the ring's life instead of one per drain or per record, which under an event
 * storm kept tens of MiB in the daemon until the garbage collector got to them. Records reserved
 * with BPF_RB_NO_WAKEUP never make the fd readable: ringbufConsume() drains them on demand.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/*
 * Upper bound of one batch, so a producer that outpaces us cannot starve other loop work. The
 * epoll fd is level-triggered: what is left over makes the next loop iteration call us again;
 * ringbufConsume() hands a large backlog over in several batches.
 */
#define ACES_RB_BATCH_MAX 8192
/* The same bound in bytes: a batch stops at the first record that reaches it. */
#define ACES_RB_BATCH_BYTES (64u * 1024)
/* Room after the bound for that last record (ours are under 1 KiB; libbpf has consumed a
 * record before it shows it to us, so one that does not fit cannot be left in the ring). */
#define ACES_RB_RECORD_MAX (64u * 1024)
/* Size of the ring's batch buffer. */
#define ACES_RB_BUF_BYTES (ACES_RB_BATCH_BYTES + ACES_RB_FRAME + ACES_RB_RECORD_MAX)
/* ringbufConsume() hands over at most this many batches (4 MiB, the daemon's ring): a producer
 * that refills the ring as fast as JavaScript decodes it cannot keep the caller in the loop; what
 * is left goes by the event loop's wake-ups, a batch at a time, and the next drain. */
#define ACES_RB_CONSUME_BATCHES 64
/* Per-record framing: length, reserved word; records are padded to this alignment. */
#define ACES_RB_FRAME 8
/* Returned by the sample callback to stop libbpf at the batch bound; not an error. */
#define ACES_RB_STOP (-ECANCELED)

static int on_sample(void *ctx, void *data, size_t size)
{
	struct aces_ringbuf *r = ctx;
	size_t need = ACES_RB_FRAME + ((size + ACES_RB_FRAME - 1) & ~(size_t)(ACES_RB_FRAME - 1));
	uint32_t len = (uint32_t)size;

	if (r->batch_bytes + need > ACES_RB_BUF_BYTES) {
		r->oversize = size;
		return -E2BIG;
	}
	memset(r->buf + r->batch_bytes, 0, need);
	memcpy(r->buf + r->batch_bytes, &len, sizeof(len));
	memcpy(r->buf + r->batch_bytes + ACES_RB_FRAME, data, size);
	r->batch_bytes += need;
	r->batch_len++;
	if (r->batch_len >= ACES_RB_BATCH_MAX || r->batch_bytes >= ACES_RB_BATCH_BYTES) {
		r->batch_full = true;
		return ACES_RB_STOP;
	}
	return 0;
}

/* Drains up to one batch of the ring into r->buf; returns the record count, or -1 with a
 * JavaScript exception pending. */
static int collect(struct aces_ringbuf *r)
{
	char ebuf[128];
	int err;

	r->batch_bytes = 0;
	r->batch_len = 0;
	r->batch_full = false;
	r->oversize = 0;
	err = ring_buffer__consume(r->rb);
	if (r->oversize) {
		aces_throw(r->env, ACES_E_KERNEL_RINGBUF, E2BIG, "ring_buffer__consume", NULL,
			   "ring buffer %u: a record of %zu bytes does not fit the %zu-byte batch "
			   "buffer (it was consumed and is lost)",
			   r->hdr.id, r->oversize, (size_t)ACES_RB_BUF_BYTES);
		return -1;
	}
	if (err < 0 && err != ACES_RB_STOP) {
		libbpf_strerror(err, ebuf, sizeof(ebuf));
		aces_throw(r->env, ACES_E_KERNEL_RINGBUF, err, "ring_buffer__consume", NULL,
			   "ring buffer %u: ring_buffer__consume: %s", r->hdr.id, ebuf);
		return -1;
	}
	return (int)r->batch_len;
}

/*
 * Collects batches and hands each to the callback as (buffer, length): the ring's one batch
 * buffer, valid only during the call. One batch per event-loop wake-up (fairness: the epoll fd
 * says again what is left); a synchronous drain goes on while a batch stopped at its bound; both
 * go on when the callback asked for a drain (a nested ringbufConsume() only sets
 * drain_requested: it must not overwrite the batch being read). Returns the records handed
 * over, or -1 with a JavaScript exception pending (a synchronous drain; the event-loop drain
 * raises it as uncaught).
 */
static int deliver(struct aces_state *st, struct aces_ringbuf *r, bool sync)
{
	napi_env env = r->env;
	uint32_t id = r->hdr.id;
	napi_value cb, recv, argv[2], result;
	napi_status status;
	int n, i, total = 0;

	r->delivering = true;
	for (i = 0; i < ACES_RB_CONSUME_BATCHES; i++) {
		r->drain_requested = false;
		n = collect(r);
		if (n < 0) {
			total = -1;
			break;
		}
		if (n == 0)
			break;
		total += n;
		if (napi_get_reference_value(env, r->cb, &cb) != napi_ok || !cb ||
		    napi_get_reference_value(env, r->buf_ref, &argv[0]) != napi_ok || !argv[0] ||
		    napi_create_uint32(env, (uint32_t)r->batch_bytes, &argv[1]) != napi_ok) {
			aces_throw(env, ACES_E_KERNEL_RINGBUF, EINVAL, "ringbuf", NULL,
				   "ring buffer %u: the callback or the batch buffer is gone", id);
			total = -1;
			break;
		}
		if (sync) {
			napi_get_undefined(env, &recv);
			status = napi_call_function(env, recv, cb, 2, argv, &result);
		} else {
			napi_get_global(env, &recv);
			/* make_callback runs the microtask queue afterwards, as for any I/O callback. */
			status = napi_make_callback(env, r->actx, recv, cb, 2, argv, &result);
		}
		if (status != napi_ok) {
			total = -1;
			break;
		}
		/* The callback may have closed its own ring (r is freed only in on_closed). */
		if (!aces_table_find(&st->rbs, id) || r->closed)
			break;
		if (!r->drain_requested && !(sync && r->batch_full))
			break;
	}
	r->delivering = false;
	return total;
}

static void raise_uncaught(napi_env env)
{
	napi_value e;
	bool pending = false;

	if (napi_is_exception_pending(env, &pending) == napi_ok && pending &&
	    napi_get_and_clear_last_exception(env, &e) == napi_ok)
		napi_fatal_exception(env, e);
}

static void on_poll(uv_poll_t *h, int status, int events)
{
	struct aces_ringbuf *r = h->data;
	napi_env env = r->env;
	napi_handle_scope scope;

	if (r->closed || napi_open_handle_scope(env, &scope) != napi_ok)
		return;
	if (status < 0) {
		/* Polling cannot recover; stop instead of spinning and tell the process. */
		uv_poll_stop(&r->poll);
		aces_throw(env, ACES_E_KERNEL_RINGBUF, -status, "uv_poll", NULL,
			   "ring buffer %u: polling failed: %s", r->hdr.id, uv_strerror(status));
		raise_uncaught(env);
		goto out;
	}
	if (!r->delivering)
		deliver(aces_state(env), r, false);
	raise_uncaught(env);
out:
	napi_close_handle_scope(env, scope);
}

static void on_closed(uv_handle_t *h)
{
	struct aces_ringbuf *r = h->data;
	struct aces_rb_tracker *t = r->tracker;

	/* Deferred to here: the JS callback may close its own ring while it runs. */
	if (r->cb)
		napi_delete_reference(r->env, r->cb);
	if (r->actx)
		napi_async_destroy(r->env, r->actx);
	if (r->buf_ref)
		napi_delete_reference(r->env, r->buf_ref);
	free(r);
	if (--t->closing > 0)
		return;
	if (t->waiting) {
		t->waiting = false;
		napi_remove_async_cleanup_hook(t->hook);
	}
	if (t->orphan)
		free(t);
}

static void rb_close(struct aces_state *st, struct aces_ringbuf *r)
{
	r->closed = true;
	aces_table_remove(&st->rbs, r->hdr.id);
	ring_buffer__free(r->rb);
	r->rb = NULL;
	r->tracker->closing++;
	uv_poll_stop(&r->poll);
	uv_close((uv_handle_t *)&r->poll, on_closed);
}

void aces_ringbufs_close(struct aces_state *st, uint32_t obj_id, bool all)
{
	size_t i = st->rbs.len;

	while (i-- > 0) {
		struct aces_ringbuf *r = (struct aces_ringbuf *)st->rbs.items[i];

		if (all || r->obj_id == obj_id)
			rb_close(st, r);
	}
}

void aces_ringbuf_cleanup_hook(napi_async_cleanup_hook_handle handle, void *arg)
{
	struct aces_state *st = arg;
	struct aces_rb_tracker *t = st->tracker;

	t->hook = handle;
	t->waiting = true;
	aces_ringbufs_close(st, 0, true);
	if (t->closing == 0) {
		t->waiting = false;
		napi_remove_async_cleanup_hook(handle);
	}
}

napi_value aces_ringbuf_open(napi_env env, napi_callback_info info)
{
	struct aces_state *st = aces_state(env);
	struct aces_ringbuf *r = NULL;
	struct aces_log *log = NULL;
	struct uv_loop_s *loop;
	struct bpf_map *map;
	struct aces_obj *o;
	napi_value argv[3], name, buf, ret = NULL;
	char ebuf[128];
	int err;

	if (!aces_args(env, info, "ringbufOpen", 3, 3, argv, NULL))
		return NULL;
	o = aces_obj_get(env, argv[0], "ringbufOpen");
	if (!o)
		return NULL;
	map = aces_find_map(env, o, argv[1], "ringbufOpen");
	if (!map)
		return NULL;
	if (bpf_map__type(map) != BPF_MAP_TYPE_RINGBUF) {
		aces_throw_arg(env, "ringbufOpen", "the name of a ring buffer map", "map name",
			       argv[1]);
		return NULL;
	}
	if (!aces_is_function(env, argv[2])) {
		aces_throw_arg(env, "ringbufOpen", "a function", "callback", argv[2]);
		return NULL;
	}
	if (bpf_map__fd(map) < 0) {
		aces_throw(env, ACES_E_KERNEL_STATE, EBADF, "ringbufOpen", NULL,
			   "ringbufOpen: map %s of object %u is not loaded", bpf_map__name(map),
			   o->hdr.id);
		return NULL;
	}
	if (napi_get_uv_event_loop(env, &loop) != napi_ok) {
		aces_throw(env, ACES_E_KERNEL_RINGBUF, EINVAL, "napi_get_uv_event_loop", NULL,
			   "ringbufOpen: no event loop");
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	log = malloc(sizeof(*log));
	if (!r || !log) {
		aces_throw(env, ACES_E_KERNEL_RINGBUF, ENOMEM, "ringbufOpen", NULL,
			   "ringbufOpen: out of memory");
		goto fail;
	}
	r->env = env;
	r->obj_id = o->hdr.id;
	r->tracker = st->tracker;

	aces_log_begin(log);
	r->rb = ring_buffer__new(bpf_map__fd(map), on_sample, r, NULL);
	err = r->rb ? 0 : errno;
	aces_log_end();
	if (!r->rb) {
		libbpf_strerror(-err, ebuf, sizeof(ebuf));
		aces_throw(env, ACES_E_KERNEL_RINGBUF, err, "ring_buffer__new", log->buf,
			   "ring_buffer__new(%s): %s", bpf_map__name(map), ebuf);
		goto fail;
	}
	err = uv_poll_init(loop, &r->poll, ring_buffer__epoll_fd(r->rb));
	if (err) {
		ring_buffer__free(r->rb);
		aces_throw(env, ACES_E_KERNEL_RINGBUF, -err, "uv_poll_init", NULL,
			   "ringbufOpen: uv_poll_init: %s", uv_strerror(err));
		goto fail;
	}
	r->poll.data = r;
	if (!aces_table_add(&st->rbs, &r->hdr)) {
		aces_throw(env, ACES_E_KERNEL_RINGBUF, ENOMEM, "ringbufOpen", NULL,
			   "ringbufOpen: out of handles");
		/* From here on the uv handle exists: only its close callback may free r. */
		r->hdr.id = 0;
		r->closed = true;
		ring_buffer__free(r->rb);
		r->rb = NULL;
		r->tracker->closing++;
		uv_close((uv_handle_t *)&r->poll, on_closed);
		free(log);
		return NULL;
	}
	napi_create_string_utf8(env, "aces:ringbuf", NAPI_AUTO_LENGTH, &name);
	if (napi_create_buffer(env, ACES_RB_BUF_BYTES, (void **)&r->buf, &buf) != napi_ok ||
	    napi_create_reference(env, buf, 1, &r->buf_ref) != napi_ok ||
	    napi_create_reference(env, argv[2], 1, &r->cb) != napi_ok ||
	    napi_async_init(env, NULL, name, &r->actx) != napi_ok) {
		rb_close(st, r);
		aces_throw(env, ACES_E_KERNEL_RINGBUF, ENOMEM, "napi_async_init", NULL,
			   "ringbufOpen: cannot allocate the batch buffer or register the callback");
		free(log);
		return NULL;
	}
	err = uv_poll_start(&r->poll, UV_READABLE, on_poll);
	if (err) {
		rb_close(st, r);
		aces_throw(env, ACES_E_KERNEL_RINGBUF, -err, "uv_poll_start", NULL,
			   "ringbufOpen: uv_poll_start: %s", uv_strerror(err));
		free(log);
		return NULL;
	}
	free(log);
	napi_create_uint32(env, r->hdr.id, &ret);
	return ret;
fail:
	free(log);
	free(r);
	return NULL;
}

napi_value aces_ringbuf_consume(napi_env env, napi_callback_info info)
{
	struct aces_state *st = aces_state(env);
	struct aces_ringbuf *r;
	napi_value argv[1], ret;
	uint32_t id;
	int n = 0;

	if (!aces_args(env, info, "ringbufConsume", 1, 1, argv, NULL) ||
	    !aces_get_id(env, argv[0], "ringbufConsume", "ring buffer id", &id))
		return NULL;
	r = (struct aces_ringbuf *)aces_table_find(&st->rbs, id);
	if (!r) {
		aces_throw_handle(env, "ringbufConsume", "ring buffer id", id);
		return NULL;
	}
	if (r->delivering)
		r->drain_requested = true; /* from inside the callback: the running drain goes on */
	else if ((n = deliver(st, r, true)) < 0)
		return NULL; /* an exception in the callback propagates to our caller */
	napi_create_int32(env, n, &ret);
	return ret;
}

napi_value aces_ringbuf_close(napi_env env, napi_callback_info info)
{
	struct aces_state *st = aces_state(env);
	struct aces_ringbuf *r;
	napi_value argv[1];
	uint32_t id;

	if (!aces_args(env, info, "ringbufClose", 1, 1, argv, NULL) ||
	    !aces_get_id(env, argv[0], "ringbufClose", "ring buffer id", &id))
		return NULL;
	r = (struct aces_ringbuf *)aces_table_find(&st->rbs, id);
	if (!r) {
		if (aces_table_issued(&st->rbs, id))
			return aces_undefined(env);
		aces_throw_handle(env, "ringbufClose", "ring buffer id", id);
		return NULL;
	}
	rb_close(st, r);
	return aces_undefined(env);
}
