/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared internals of the ACES Node-API addon.
 *
 * The addon is a byte pump over libbpf: JavaScript sees small integer ids, never pointers.
 * Every id is looked up in a per-environment table before use, so a stale or forged id
 * becomes an ACES_E_KERNEL_HANDLE error instead of a use-after-free. Ids are never reused
 * within an environment, which is what makes close/detach idempotent: an id that was issued
 * and is no longer in its table was already released.
 */
#ifndef ACES_NATIVE_UTIL_H
#define ACES_NATIVE_UTIL_H

#define NAPI_VERSION 8

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <node_api.h>
#include <uv.h>

#include <bpf/libbpf.h>

#define ACES_E_KERNEL_OPEN "ACES_E_KERNEL_OPEN"
#define ACES_E_KERNEL_LOAD "ACES_E_KERNEL_LOAD"
#define ACES_E_KERNEL_ATTACH "ACES_E_KERNEL_ATTACH"
#define ACES_E_KERNEL_MAP "ACES_E_KERNEL_MAP"
#define ACES_E_KERNEL_RINGBUF "ACES_E_KERNEL_RINGBUF"
#define ACES_E_KERNEL_ITER "ACES_E_KERNEL_ITER"
#define ACES_E_KERNEL_HANDLE "ACES_E_KERNEL_HANDLE"
#define ACES_E_KERNEL_ARG "ACES_E_KERNEL_ARG"
/* An operation that the object's life-cycle stage does not allow (map op before load...). */
#define ACES_E_KERNEL_STATE "ACES_E_KERNEL_STATE"

/* Verifier logs put the reason at the end; keep the tail. */
#define ACES_LOG_CAP (16 * 1024)

/* Every table entry starts with its id so one lookup routine serves all kinds. */
struct aces_entry {
	uint32_t id;
};

struct aces_table {
	struct aces_entry **items;
	size_t len;
	size_t cap;
	uint32_t next_id; /* ids 1 .. next_id-1 were issued */
};

struct aces_obj {
	struct aces_entry hdr;
	struct bpf_object *obj;
	bool load_attempted;
	bool loaded;
};

struct aces_link {
	struct aces_entry hdr;
	uint32_t obj_id;
	struct bpf_link *link;
};

/*
 * Counts uv poll handles that are closing. Environment teardown must wait until the last
 * close callback ran (a loop with live handles cannot be closed), so the async cleanup
 * hook is removed only when this count reaches zero. The state owns the tracker; if the
 * state goes first, the last close callback frees it.
 */
struct aces_rb_tracker {
	napi_async_cleanup_hook_handle hook;
	unsigned int closing;
	bool waiting;  /* the cleanup hook ran and is not removed yet */
	bool orphan;   /* the state is gone */
};

struct aces_ringbuf {
	struct aces_entry hdr;
	uint32_t obj_id;
	napi_env env;
	struct ring_buffer *rb;
	uv_poll_t poll;
	napi_ref cb;
	napi_async_context actx;
	/* The batch being collected by the sample callback: records framed one after another
	 * (src/kernel/ringbuf-batch.ts reads the framing) in one Buffer that lives as long as the
	 * ring and is handed to JavaScript for every drain. A new Buffer per drain was promoted by
	 * V8 before it died under an event storm and held tens of MiB until a full collection. */
	napi_ref buf_ref;
	char *buf;
	size_t batch_bytes;
	uint32_t batch_len;
	/* The sample callback stopped at the batch bound: the ring may hold more. */
	bool batch_full;
	/* Size of a record that did not fit the batch buffer (0: none). */
	size_t oversize;
	/* A drain is handing a batch to JavaScript; drain_requested: the callback asked for more. */
	bool delivering;
	bool drain_requested;
	bool closed;
	struct aces_rb_tracker *tracker;
};

struct aces_state {
	napi_ref error_ctor;
	struct aces_table objs;
	struct aces_table links;
	struct aces_table rbs;
	struct aces_rb_tracker *tracker;
};

struct aces_log {
	char buf[ACES_LOG_CAP + 1];
	size_t len;
	bool truncated;
};

/* util.c */
/* Per-environment state (each worker thread loads its own instance) and libbpf printing. */
bool aces_instance_init(napi_env env);
struct aces_state *aces_state(napi_env env);
struct aces_state *aces_state_new(void);
void aces_state_free(struct aces_state *st);

bool aces_table_add(struct aces_table *t, struct aces_entry *e);
struct aces_entry *aces_table_find(struct aces_table *t, uint32_t id);
void aces_table_remove(struct aces_table *t, uint32_t id);
bool aces_table_issued(const struct aces_table *t, uint32_t id);

void aces_throw(napi_env env, const char *code, int err, const char *call, const char *log,
		const char *fmt, ...) __attribute__((format(printf, 6, 7)));
void aces_throw_arg(napi_env env, const char *call, const char *expected, const char *what,
		    napi_value got);
void aces_throw_handle(napi_env env, const char *call, const char *kind, uint32_t id);

bool aces_args(napi_env env, napi_callback_info info, const char *call, size_t min, size_t max,
	       napi_value *argv, size_t *argc);
bool aces_get_id(napi_env env, napi_value v, const char *call, const char *what, uint32_t *out);
char *aces_get_string(napi_env env, napi_value v, const char *call, const char *what);
bool aces_get_buffer(napi_env env, napi_value v, const char *call, const char *what, void **data,
		     size_t *len);
bool aces_get_bool(napi_env env, napi_value v, const char *call, const char *what, bool *out);
bool aces_get_u64(napi_env env, napi_value v, const char *call, const char *what, uint64_t *out);
bool aces_is_function(napi_env env, napi_value v);
napi_value aces_undefined(napi_env env);

void aces_print_init(void);
void aces_log_begin(struct aces_log *log);
void aces_log_end(void);

/* Looks up an object id that must be open; throws ACES_E_KERNEL_HANDLE otherwise. */
struct aces_obj *aces_obj_get(napi_env env, napi_value v, const char *call);

/* object.c */
napi_value aces_set_error_class(napi_env env, napi_callback_info info);
napi_value aces_open(napi_env env, napi_callback_info info);
napi_value aces_programs(napi_env env, napi_callback_info info);
napi_value aces_set_autoload(napi_env env, napi_callback_info info);
napi_value aces_set_const(napi_env env, napi_callback_info info);
napi_value aces_load(napi_env env, napi_callback_info info);
napi_value aces_close(napi_env env, napi_callback_info info);
napi_value aces_num_possible_cpus(napi_env env, napi_callback_info info);
struct bpf_program *aces_find_prog(napi_env env, struct aces_obj *o, napi_value name,
				   const char *call);

/* link.c */
napi_value aces_attach(napi_env env, napi_callback_info info);
napi_value aces_attach_cgroup(napi_env env, napi_callback_info info);
napi_value aces_detach(napi_env env, napi_callback_info info);
napi_value aces_iter_read(napi_env env, napi_callback_info info);
void aces_links_destroy(struct aces_state *st, uint32_t obj_id, bool all);

/* map.c */
napi_value aces_map_info(napi_env env, napi_callback_info info);
napi_value aces_map_lookup(napi_env env, napi_callback_info info);
napi_value aces_map_update(napi_env env, napi_callback_info info);
napi_value aces_map_delete(napi_env env, napi_callback_info info);
napi_value aces_map_keys(napi_env env, napi_callback_info info);
struct bpf_map *aces_find_map(napi_env env, struct aces_obj *o, napi_value name,
			      const char *call);

/* ringbuf.c */
napi_value aces_ringbuf_open(napi_env env, napi_callback_info info);
napi_value aces_ringbuf_consume(napi_env env, napi_callback_info info);
napi_value aces_ringbuf_close(napi_env env, napi_callback_info info);
void aces_ringbufs_close(struct aces_state *st, uint32_t obj_id, bool all);
void aces_ringbuf_cleanup_hook(napi_async_cleanup_hook_handle handle, void *arg);

#endif
