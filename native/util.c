// SPDX-License-Identifier: GPL-2.0
/* Handle tables, argument checks, the JS error bridge and libbpf log capture. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct aces_state *aces_state(napi_env env)
{
	void *data = NULL;

	if (napi_get_instance_data(env, &data) != napi_ok)
		return NULL;
	return data;
}

struct aces_state *aces_state_new(void)
{
	struct aces_state *st = calloc(1, sizeof(*st));

	if (!st)
		return NULL;
	st->objs.next_id = 1;
	st->links.next_id = 1;
	st->rbs.next_id = 1;
	st->tracker = calloc(1, sizeof(*st->tracker));
	if (!st->tracker) {
		free(st);
		return NULL;
	}
	return st;
}

void aces_state_free(struct aces_state *st)
{
	size_t i;

	/*
	 * Ring buffers normally went away in the async cleanup hook, which can still close
	 * their uv handles; whatever is left here can only release libbpf memory.
	 */
	for (i = 0; i < st->rbs.len; i++) {
		struct aces_ringbuf *r = (struct aces_ringbuf *)st->rbs.items[i];

		if (r->rb)
			ring_buffer__free(r->rb);
		r->rb = NULL;
	}
	aces_links_destroy(st, 0, true);
	for (i = 0; i < st->objs.len; i++) {
		struct aces_obj *o = (struct aces_obj *)st->objs.items[i];

		bpf_object__close(o->obj);
		free(o);
	}
	free(st->objs.items);
	free(st->links.items);
	free(st->rbs.items);
	if (st->tracker->closing == 0)
		free(st->tracker);
	else
		st->tracker->orphan = true;
	free(st);
}

static void state_finalize(napi_env env, void *data, void *hint)
{
	aces_state_free(data);
}

bool aces_instance_init(napi_env env)
{
	struct aces_state *st = aces_state_new();

	if (!st || napi_set_instance_data(env, st, state_finalize, NULL) != napi_ok) {
		if (st)
			aces_state_free(st);
		napi_throw_error(env, "ACES_E_KERNEL_ADDON", "aces_native: cannot allocate state");
		return false;
	}
	/* Open ring buffers hold uv handles that must be closed before the loop goes away. */
	if (napi_add_async_cleanup_hook(env, aces_ringbuf_cleanup_hook, st, NULL) != napi_ok) {
		napi_throw_error(env, "ACES_E_KERNEL_ADDON", "aces_native: cannot register cleanup");
		return false;
	}
	aces_print_init();
	return true;
}

bool aces_table_add(struct aces_table *t, struct aces_entry *e)
{
	if (t->next_id == UINT32_MAX)
		return false;
	if (t->len == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		struct aces_entry **items = realloc(t->items, cap * sizeof(*items));

		if (!items)
			return false;
		t->items = items;
		t->cap = cap;
	}
	e->id = t->next_id++;
	t->items[t->len++] = e;
	return true;
}

struct aces_entry *aces_table_find(struct aces_table *t, uint32_t id)
{
	size_t i;

	for (i = 0; i < t->len; i++)
		if (t->items[i]->id == id)
			return t->items[i];
	return NULL;
}

void aces_table_remove(struct aces_table *t, uint32_t id)
{
	size_t i;

	for (i = 0; i < t->len; i++) {
		if (t->items[i]->id == id) {
			t->items[i] = t->items[--t->len];
			return;
		}
	}
}

bool aces_table_issued(const struct aces_table *t, uint32_t id)
{
	return id >= 1 && id < t->next_id;
}

static void set_named(napi_env env, napi_value obj, const char *name, napi_value v)
{
	if (v)
		napi_set_named_property(env, obj, name, v);
}

static napi_value str(napi_env env, const char *s)
{
	napi_value v = NULL;

	if (napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v) != napi_ok)
		return NULL;
	return v;
}

void aces_throw(napi_env env, const char *code, int err, const char *call, const char *log,
		const char *fmt, ...)
{
	struct aces_state *st;
	napi_value vcode, vmsg, verrno = NULL, details = NULL, ctor = NULL, error = NULL;
	bool pending = false;
	char msg[1024];
	va_list ap;

	if (napi_is_exception_pending(env, &pending) != napi_ok || pending)
		return;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	vcode = str(env, code);
	vmsg = str(env, msg);
	napi_create_int32(env, err < 0 ? -err : err, &verrno);
	if (napi_create_object(env, &details) == napi_ok) {
		set_named(env, details, "errno", verrno);
		set_named(env, details, "call", str(env, call));
		if (log && log[0])
			set_named(env, details, "log", str(env, log));
	}

	st = aces_state(env);
	if (st && st->error_ctor && napi_get_reference_value(env, st->error_ctor, &ctor) == napi_ok &&
	    ctor) {
		napi_value argv[3] = { vcode, vmsg, details };

		/* A throwing constructor leaves its own exception pending, which is what JS sees. */
		if (napi_new_instance(env, ctor, 3, argv, &error) != napi_ok)
			return;
	} else {
		/* setErrorClass not called yet: a plain Error with the same fields. */
		if (napi_create_error(env, vcode, vmsg, &error) != napi_ok)
			return;
		set_named(env, error, "errno", verrno);
		set_named(env, error, "call", str(env, call));
		if (log && log[0])
			set_named(env, error, "log", str(env, log));
	}
	napi_throw(env, error);
}

static void describe(napi_env env, napi_value v, char *out, size_t n)
{
	napi_valuetype t = napi_undefined;
	bool flag = false;

	if (!v || napi_typeof(env, v, &t) != napi_ok) {
		snprintf(out, n, "nothing");
		return;
	}
	switch (t) {
	case napi_undefined:
		snprintf(out, n, "undefined");
		return;
	case napi_null:
		snprintf(out, n, "null");
		return;
	case napi_boolean:
		napi_get_value_bool(env, v, &flag);
		snprintf(out, n, "%s", flag ? "true" : "false");
		return;
	case napi_number: {
		double d = 0;

		napi_get_value_double(env, v, &d);
		snprintf(out, n, "%.17g", d);
		return;
	}
	case napi_string: {
		char buf[48];
		size_t len = 0, total = 0;

		napi_get_value_string_utf8(env, v, NULL, 0, &total);
		napi_get_value_string_utf8(env, v, buf, sizeof(buf), &len);
		snprintf(out, n, "\"%s%s\"", buf, total > len ? "..." : "");
		return;
	}
	case napi_symbol:
		snprintf(out, n, "a symbol");
		return;
	case napi_function:
		snprintf(out, n, "a function");
		return;
	case napi_bigint:
		snprintf(out, n, "a bigint");
		return;
	default:
		break;
	}
	if (napi_is_buffer(env, v, &flag) == napi_ok && flag) {
		void *data;
		size_t len = 0;

		napi_get_buffer_info(env, v, &data, &len);
		snprintf(out, n, "a Buffer of %zu bytes", len);
		return;
	}
	if (napi_is_array(env, v, &flag) == napi_ok && flag) {
		snprintf(out, n, "an array");
		return;
	}
	snprintf(out, n, "an object");
}

void aces_throw_arg(napi_env env, const char *call, const char *expected, const char *what,
		    napi_value got)
{
	char desc[96];

	describe(env, got, desc, sizeof(desc));
	aces_throw(env, ACES_E_KERNEL_ARG, EINVAL, call, NULL, "expected %s for %s, got %s",
		   expected, what, desc);
}

void aces_throw_handle(napi_env env, const char *call, const char *kind, uint32_t id)
{
	aces_throw(env, ACES_E_KERNEL_HANDLE, EBADF, call, NULL, "%s: %s %u is not open", call, kind,
		   id);
}

bool aces_args(napi_env env, napi_callback_info info, const char *call, size_t min, size_t max,
	       napi_value *argv, size_t *argc)
{
	size_t n = max;

	if (napi_get_cb_info(env, info, &n, argv, NULL, NULL) != napi_ok) {
		aces_throw(env, ACES_E_KERNEL_ARG, EINVAL, call, NULL, "%s: cannot read arguments",
			   call);
		return false;
	}
	if (n < min) {
		aces_throw(env, ACES_E_KERNEL_ARG, EINVAL, call, NULL,
			   "expected %zu arguments for %s, got %zu", min, call, n);
		return false;
	}
	if (argc)
		*argc = n < max ? n : max;
	return true;
}

bool aces_get_id(napi_env env, napi_value v, const char *call, const char *what, uint32_t *out)
{
	napi_valuetype t;
	double d;

	if (napi_typeof(env, v, &t) != napi_ok || t != napi_number ||
	    napi_get_value_double(env, v, &d) != napi_ok || d < 1 || d > UINT32_MAX ||
	    d != (double)(uint32_t)d) {
		aces_throw_arg(env, call, "a positive integer id", what, v);
		return false;
	}
	*out = (uint32_t)d;
	return true;
}

char *aces_get_string(napi_env env, napi_value v, const char *call, const char *what)
{
	napi_valuetype t;
	size_t len = 0, got = 0;
	char *s;

	if (napi_typeof(env, v, &t) != napi_ok || t != napi_string ||
	    napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok || len == 0) {
		aces_throw_arg(env, call, "a non-empty string", what, v);
		return NULL;
	}
	s = malloc(len + 1);
	if (!s) {
		aces_throw(env, ACES_E_KERNEL_ARG, ENOMEM, call, NULL, "%s: out of memory", call);
		return NULL;
	}
	napi_get_value_string_utf8(env, v, s, len + 1, &got);
	/* A NUL inside the JS string would silently shorten the name libbpf sees. */
	if (strlen(s) != len) {
		free(s);
		aces_throw_arg(env, call, "a string without NUL characters", what, v);
		return NULL;
	}
	return s;
}

bool aces_get_buffer(napi_env env, napi_value v, const char *call, const char *what, void **data,
		     size_t *len)
{
	bool is = false;

	if (napi_is_buffer(env, v, &is) == napi_ok && is &&
	    napi_get_buffer_info(env, v, data, len) == napi_ok)
		return true;
	if (napi_is_typedarray(env, v, &is) == napi_ok && is) {
		napi_typedarray_type type;
		napi_value ab;
		size_t off;

		if (napi_get_typedarray_info(env, v, &type, len, data, &ab, &off) == napi_ok &&
		    type == napi_uint8_array)
			return true;
	}
	aces_throw_arg(env, call, "a Buffer", what, v);
	return false;
}

bool aces_get_bool(napi_env env, napi_value v, const char *call, const char *what, bool *out)
{
	napi_valuetype t;

	if (napi_typeof(env, v, &t) != napi_ok || t != napi_boolean ||
	    napi_get_value_bool(env, v, out) != napi_ok) {
		aces_throw_arg(env, call, "a boolean", what, v);
		return false;
	}
	return true;
}

bool aces_get_u64(napi_env env, napi_value v, const char *call, const char *what, uint64_t *out)
{
	napi_valuetype t;
	double d;

	/* 2^53: beyond it a JS number no longer names one integer. */
	if (napi_typeof(env, v, &t) != napi_ok || t != napi_number ||
	    napi_get_value_double(env, v, &d) != napi_ok || d < 0 || d > 9007199254740992.0 ||
	    d != (double)(uint64_t)d) {
		aces_throw_arg(env, call, "a non-negative integer", what, v);
		return false;
	}
	*out = (uint64_t)d;
	return true;
}

bool aces_is_function(napi_env env, napi_value v)
{
	napi_valuetype t;

	return napi_typeof(env, v, &t) == napi_ok && t == napi_function;
}

napi_value aces_undefined(napi_env env)
{
	napi_value v = NULL;

	napi_get_undefined(env, &v);
	return v;
}

struct aces_obj *aces_obj_get(napi_env env, napi_value v, const char *call)
{
	struct aces_state *st = aces_state(env);
	struct aces_obj *o;
	uint32_t id;

	if (!aces_get_id(env, v, call, "object handle", &id))
		return NULL;
	o = st ? (struct aces_obj *)aces_table_find(&st->objs, id) : NULL;
	if (!o)
		aces_throw_handle(env, call, "object handle", id);
	return o;
}

/*
 * libbpf has one process-wide print hook. The log being captured belongs to the thread
 * that runs the libbpf call (each worker thread has its own Node environment), so the
 * capture slot is thread-local.
 */
static _Thread_local struct aces_log *active_log;
static bool debug_forward;

static void log_append(struct aces_log *log, const char *s, size_t n)
{
	if (n >= ACES_LOG_CAP) {
		memcpy(log->buf, s + n - ACES_LOG_CAP, ACES_LOG_CAP);
		log->len = ACES_LOG_CAP;
		log->truncated = true;
	} else {
		if (log->len + n > ACES_LOG_CAP) {
			size_t drop = log->len + n - ACES_LOG_CAP;

			memmove(log->buf, log->buf + drop, log->len - drop);
			log->len -= drop;
			log->truncated = true;
		}
		memcpy(log->buf + log->len, s, n);
		log->len += n;
	}
	log->buf[log->len] = '\0';
}

static int aces_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	struct aces_log *log = active_log;
	char small[1024];
	va_list cp;
	int n;

	if (debug_forward) {
		va_copy(cp, ap);
		vfprintf(stderr, fmt, cp);
		va_end(cp);
	}
	if (!log || level == LIBBPF_DEBUG)
		return 0;

	va_copy(cp, ap);
	n = vsnprintf(small, sizeof(small), fmt, cp);
	va_end(cp);
	if (n < 0)
		return 0;
	if ((size_t)n < sizeof(small)) {
		log_append(log, small, (size_t)n);
	} else {
		char *big = malloc((size_t)n + 1);

		if (!big)
			return 0;
		vsnprintf(big, (size_t)n + 1, fmt, ap);
		log_append(log, big, (size_t)n);
		free(big);
	}
	return 0;
}

void aces_print_init(void)
{
	const char *dbg = getenv("ACES_LIBBPF_DEBUG");

	debug_forward = dbg && strcmp(dbg, "1") == 0;
	libbpf_set_print(aces_print);
}

void aces_log_begin(struct aces_log *log)
{
	log->len = 0;
	log->truncated = false;
	log->buf[0] = '\0';
	active_log = log;
}

void aces_log_end(void)
{
	struct aces_log *log = active_log;
	static const char mark[] = "...\n";
	char *nl;

	active_log = NULL;
	if (!log || !log->truncated)
		return;
	/* The kept tail starts mid-line; replace that fragment with a marker. */
	nl = memchr(log->buf, '\n', log->len);
	if (nl && (size_t)(nl - log->buf) + 1 >= sizeof(mark) - 1) {
		size_t frag = (size_t)(nl - log->buf) + 1;

		memmove(log->buf + sizeof(mark) - 1, nl + 1, log->len - frag + 1);
		memcpy(log->buf, mark, sizeof(mark) - 1);
		log->len = log->len - frag + sizeof(mark) - 1;
	}
}
