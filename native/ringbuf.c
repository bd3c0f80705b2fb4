// SPDX-License-Identifier: GPL-2.0
/*
 * Ring buffers on the Node event loop.
 *
 * ring_buffer__epoll_fd() is an epoll instance that becomes readable when the kernel wakes
 * the ring; a uv_poll_t watches it, and each wake-up drains the ring into one Buffer handed to
 * JavaScript in a single call. The Buffer holds the records framed one after another (each a
 * u32 length, four zero bytes, the record, zero padding to 8 bytes): one allocation per drain
 * instead of one per record, which under an event storm kept tens of MiB of small blocks in
 * the malloc heap until the garbage collector got to their Buffers. Records reserved with
 * BPF_RB_NO_WAKEUP never make the fd readable: ringbufConsume() drains them on demand.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/*
 * Upper bound of one batch delivered from the event loop, so a producer that outpaces us
 * cannot starve other loop work. The epoll fd is level-triggered: what is left over makes
 * the next loop iteration call us again.
 */
#define ACES_RB_BATCH_MAX 8192
/* The same bound in bytes (the scratch area stays this small for event-loop drains). */
#define ACES_RB_BATCH_BYTES (1u << 20)
/* Per-record framing: length, reserved word; records are padded to this alignment. */
#define ACES_RB_FRAME 8
/* Returned by the sample callback to stop libbpf at the batch bound; not an error. */
#define ACES_RB_STOP (-ECANCELED)

static int on_sample(void *ctx, void *data, size_t size)
{
	struct aces_ringbuf *r = ctx;
	size_t need = ACES_RB_FRAME + ((size + ACES_RB_FRAME - 1) & ~(size_t)(ACES_RB_FRAME - 1));
	uint32_t len = (uint32_t)size;

	if (r->scratch_len + need > r->scratch_cap) {
		size_t cap = r->scratch_cap ? r->scratch_cap : 64 * 1024;
		char *p;

		while (cap < r->scratch_len + need)
			cap *= 2;
		p = realloc(r->scratch, cap);
		if (!p) {
			r->batch_failed = true;
			return -ENOMEM;
		}
		r->scratch = p;
		r->scratch_cap = cap;
	}
	memset(r->scratch + r->scratch_len, 0, need);
	memcpy(r->scratch + r->scratch_len, &len, sizeof(len));
	memcpy(r->scratch + r->scratch_len + ACES_RB_FRAME, data, size);
	r->scratch_len += need;
	r->batch_len++;
	if (r->batch_cap && (r->batch_len >= r->batch_cap || r->scratch_len >= ACES_RB_BATCH_BYTES))
		return ACES_RB_STOP;
	return 0;
}

/* Drains the ring into r->batch; returns the record count or a negative errno. */
static int collect(struct aces_ringbuf *r, uint32_t cap)
{
	int err;

	r->scratch_len = 0;
	r->batch_len = 0;
	r->batch_cap = cap;
	r->batch_failed = false;
	err = ring_buffer__consume(r->rb);
	if (!r->batch_failed && r->batch_len > 0 &&
	    napi_create_buffer_copy(r->env, r->scratch_len, r->scratch, NULL, &r->batch) != napi_ok)
		r->batch_failed = true;
	/* An event-loop drain stops past ACES_RB_BATCH_BYTES (one record over at most); a
	 * synchronous drain (no bound) may have grown the scratch area to the ring's size: do not
	 * keep that much for the event-loop drains. */
	if (r->scratch_cap > 2 * ACES_RB_BATCH_BYTES) {
		free(r->scratch);
		r->scratch = NULL;
		r->scratch_cap = 0;
	}
	if (r->batch_failed)
		return -ENOMEM;
	if (err < 0 && err != ACES_RB_STOP)
		return err;
	return (int)r->batch_len;
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
	napi_value cb, global, result;
	char ebuf[128];
	int n;

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
	n = collect(r, ACES_RB_BATCH_MAX);
	if (n < 0) {
		libbpf_strerror(n, ebuf, sizeof(ebuf));
		aces_throw(env, ACES_E_KERNEL_RINGBUF, n, "ring_buffer__consume", NULL,
			   "ring buffer %u: ring_buffer__consume: %s", r->hdr.id, ebuf);
		raise_uncaught(env);
		goto out;
	}
	if (n == 0)
		goto out;
	if (napi_get_reference_value(env, r->cb, &cb) != napi_ok || !cb ||
	    napi_get_global(env, &global) != napi_ok)
		goto out;
	/* make_callback runs the microtask queue afterwards, as for any I/O callback. */
	napi_make_callback(env, r->actx, global, cb, 1, &r->batch, &result);
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
	free(r->scratch);
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
	napi_value argv[3], name, ret = NULL;
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
	if (napi_create_reference(env, argv[2], 1, &r->cb) != napi_ok ||
	    napi_async_init(env, NULL, name, &r->actx) != napi_ok) {
		rb_close(st, r);
		aces_throw(env, ACES_E_KERNEL_RINGBUF, ENOMEM, "napi_async_init", NULL,
			   "ringbufOpen: cannot register the callback");
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
	napi_value argv[1], cb, undef, result, ret;
	char ebuf[128];
	uint32_t id;
	int n;

	if (!aces_args(env, info, "ringbufConsume", 1, 1, argv, NULL) ||
	    !aces_get_id(env, argv[0], "ringbufConsume", "ring buffer id", &id))
		return NULL;
	r = (struct aces_ringbuf *)aces_table_find(&st->rbs, id);
	if (!r) {
		aces_throw_handle(env, "ringbufConsume", "ring buffer id", id);
		return NULL;
	}
	n = collect(r, 0);
	if (n < 0) {
		libbpf_strerror(n, ebuf, sizeof(ebuf));
		aces_throw(env, ACES_E_KERNEL_RINGBUF, n, "ring_buffer__consume", NULL,
			   "ring_buffer__consume(%u): %s", id, ebuf);
		return NULL;
	}
	if (n > 0) {
		napi_get_reference_value(env, r->cb, &cb);
		napi_get_undefined(env, &undef);
		/* Called from JS: an exception in the callback propagates to our caller. */
		if (napi_call_function(env, undef, cb, 1, &r->batch, &result) != napi_ok)
			return NULL;
	}
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
