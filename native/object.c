// SPDX-License-Identifier: GPL-2.0
/* BPF object life cycle: open, inspect programs, autoload, load-time constants, load, close. */
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/btf.h>

#include "util.h"

static const char *errstr(int err, char *buf, size_t n)
{
	libbpf_strerror(err < 0 ? err : -err, buf, n);
	return buf;
}

napi_value aces_set_error_class(napi_env env, napi_callback_info info)
{
	struct aces_state *st = aces_state(env);
	napi_value argv[1];

	if (!aces_args(env, info, "setErrorClass", 1, 1, argv, NULL))
		return NULL;
	if (!aces_is_function(env, argv[0])) {
		aces_throw_arg(env, "setErrorClass", "a constructor", "ctor", argv[0]);
		return NULL;
	}
	if (st->error_ctor) {
		napi_delete_reference(env, st->error_ctor);
		st->error_ctor = NULL;
	}
	napi_create_reference(env, argv[0], 1, &st->error_ctor);
	return aces_undefined(env);
}

napi_value aces_open(napi_env env, napi_callback_info info)
{
	struct aces_state *st = aces_state(env);
	struct aces_log *log;
	struct bpf_object *obj;
	struct aces_obj *o;
	napi_value argv[1], ret;
	char *path, ebuf[128];
	int err;

	if (!aces_args(env, info, "open", 1, 1, argv, NULL))
		return NULL;
	path = aces_get_string(env, argv[0], "open", "path");
	if (!path)
		return NULL;
	log = malloc(sizeof(*log));
	o = calloc(1, sizeof(*o));
	if (!log || !o) {
		free(log);
		free(o);
		free(path);
		aces_throw(env, ACES_E_KERNEL_OPEN, ENOMEM, "open", NULL, "open: out of memory");
		return NULL;
	}

	aces_log_begin(log);
	obj = bpf_object__open_file(path, NULL);
	err = obj ? 0 : errno;
	aces_log_end();

	if (!obj) {
		aces_throw(env, ACES_E_KERNEL_OPEN, err, "bpf_object__open_file", log->buf,
			   "bpf_object__open_file(%s): %s", path, errstr(err, ebuf, sizeof(ebuf)));
		goto fail;
	}
	o->obj = obj;
	if (!aces_table_add(&st->objs, &o->hdr)) {
		bpf_object__close(obj);
		aces_throw(env, ACES_E_KERNEL_OPEN, ENOMEM, "open", NULL, "open: out of handles");
		goto fail;
	}
	free(log);
	free(path);
	napi_create_uint32(env, o->hdr.id, &ret);
	return ret;
fail:
	free(log);
	free(o);
	free(path);
	return NULL;
}

struct bpf_program *aces_find_prog(napi_env env, struct aces_obj *o, napi_value name,
				   const char *call)
{
	struct bpf_program *prog;
	char *s = aces_get_string(env, name, call, "program name");

	if (!s)
		return NULL;
	prog = bpf_object__find_program_by_name(o->obj, s);
	free(s);
	if (!prog)
		aces_throw_arg(env, call, "the name of a program in the object", "program name",
			       name);
	return prog;
}

napi_value aces_programs(napi_env env, napi_callback_info info)
{
	struct bpf_program *prog;
	struct aces_obj *o;
	napi_value argv[1], arr;
	uint32_t i = 0;

	if (!aces_args(env, info, "programs", 1, 1, argv, NULL))
		return NULL;
	o = aces_obj_get(env, argv[0], "programs");
	if (!o)
		return NULL;
	napi_create_array(env, &arr);
	bpf_object__for_each_program(prog, o->obj) {
		napi_value item, name, sec;

		napi_create_object(env, &item);
		napi_create_string_utf8(env, bpf_program__name(prog), NAPI_AUTO_LENGTH, &name);
		napi_create_string_utf8(env, bpf_program__section_name(prog), NAPI_AUTO_LENGTH, &sec);
		napi_set_named_property(env, item, "name", name);
		napi_set_named_property(env, item, "section", sec);
		napi_set_element(env, arr, i++, item);
	}
	return arr;
}

napi_value aces_set_autoload(napi_env env, napi_callback_info info)
{
	struct bpf_program *prog;
	struct aces_obj *o;
	napi_value argv[3];
	char ebuf[128];
	bool on;
	int err;

	if (!aces_args(env, info, "setAutoload", 3, 3, argv, NULL))
		return NULL;
	o = aces_obj_get(env, argv[0], "setAutoload");
	if (!o)
		return NULL;
	prog = aces_find_prog(env, o, argv[1], "setAutoload");
	if (!prog || !aces_get_bool(env, argv[2], "setAutoload", "on", &on))
		return NULL;
	if (o->load_attempted) {
		aces_throw(env, ACES_E_KERNEL_STATE, EBUSY, "setAutoload", NULL,
			   "setAutoload: object %u was already loaded", o->hdr.id);
		return NULL;
	}
	err = bpf_program__set_autoload(prog, on);
	if (err) {
		aces_throw(env, ACES_E_KERNEL_LOAD, err, "bpf_program__set_autoload", NULL,
			   "bpf_program__set_autoload(%s): %s", bpf_program__name(prog),
			   errstr(err, ebuf, sizeof(ebuf)));
		return NULL;
	}
	return aces_undefined(env);
}

/*
 * Load-time constants (`const volatile cfg_x` in BPF C) live in the initial image of an
 * internal map (.rodata, .data, .bss). Their offsets come from the object's BTF, so the
 * TypeScript side names a variable and hands over its bytes.
 */
napi_value aces_set_const(napi_env env, napi_callback_info info)
{
	const struct btf_var_secinfo *vs;
	const struct btf_type *t;
	struct bpf_map *map = NULL;
	const void *init;
	struct aces_obj *o;
	napi_value argv[3];
	struct btf *btf;
	size_t vlen, init_sz;
	uint32_t id, n, off = 0, size = 0;
	char *name, ebuf[128], *img;
	napi_value ret = NULL;
	void *val;
	int i, err;
	bool found = false;

	if (!aces_args(env, info, "setConst", 3, 3, argv, NULL))
		return NULL;
	o = aces_obj_get(env, argv[0], "setConst");
	if (!o)
		return NULL;
	name = aces_get_string(env, argv[1], "setConst", "variable name");
	if (!name)
		return NULL;
	if (!aces_get_buffer(env, argv[2], "setConst", "value", &val, &vlen))
		goto out;
	if (o->load_attempted) {
		aces_throw(env, ACES_E_KERNEL_STATE, EBUSY, "setConst", NULL,
			   "setConst: object %u was already loaded", o->hdr.id);
		goto out;
	}
	btf = bpf_object__btf(o->obj);
	if (!btf) {
		aces_throw(env, ACES_E_KERNEL_MAP, ENOENT, "bpf_object__btf", NULL,
			   "setConst(%s): the object has no BTF", name);
		goto out;
	}
	n = btf__type_cnt(btf);
	for (id = 1; id < n && !found; id++) {
		const char *sec;

		t = btf__type_by_id(btf, id);
		if (!btf_is_datasec(t))
			continue;
		sec = btf__name_by_offset(btf, t->name_off);
		vs = btf_var_secinfos(t);
		for (i = 0; i < btf_vlen(t); i++, vs++) {
			const struct btf_type *var = btf__type_by_id(btf, vs->type);

			if (!var || !btf_is_var(var) ||
			    strcmp(btf__name_by_offset(btf, var->name_off), name) != 0)
				continue;
			if (sec && sec[0] == '.')
				map = bpf_object__find_map_by_name(o->obj, sec);
			off = vs->offset;
			size = vs->size;
			found = true;
			break;
		}
	}
	if (!found || !map) {
		aces_throw_arg(env, "setConst", "the name of a global variable of the object",
			       "variable name", argv[1]);
		goto out;
	}
	if (vlen != size) {
		char expected[64];

		snprintf(expected, sizeof(expected), "a Buffer of %u bytes", size);
		aces_throw_arg(env, "setConst", expected, name, argv[2]);
		goto out;
	}
	init = bpf_map__initial_value(map, &init_sz);
	if (!init || (size_t)off + size > init_sz) {
		aces_throw(env, ACES_E_KERNEL_MAP, EINVAL, "bpf_map__initial_value", NULL,
			   "setConst(%s): variable lies outside the image of %s", name,
			   bpf_map__name(map));
		goto out;
	}
	img = malloc(init_sz);
	if (!img) {
		aces_throw(env, ACES_E_KERNEL_MAP, ENOMEM, "setConst", NULL, "setConst: out of memory");
		goto out;
	}
	memcpy(img, init, init_sz);
	memcpy(img + off, val, size);
	err = bpf_map__set_initial_value(map, img, init_sz);
	free(img);
	if (err) {
		aces_throw(env, ACES_E_KERNEL_MAP, err, "bpf_map__set_initial_value", NULL,
			   "bpf_map__set_initial_value(%s): %s", bpf_map__name(map),
			   errstr(err, ebuf, sizeof(ebuf)));
		goto out;
	}
	ret = aces_undefined(env);
out:
	free(name);
	return ret;
}

napi_value aces_load(napi_env env, napi_callback_info info)
{
	struct aces_log *log;
	struct aces_obj *o;
	napi_value argv[1];
	char ebuf[128];
	int err;

	if (!aces_args(env, info, "load", 1, 1, argv, NULL))
		return NULL;
	o = aces_obj_get(env, argv[0], "load");
	if (!o)
		return NULL;
	if (o->load_attempted) {
		aces_throw(env, ACES_E_KERNEL_STATE, EBUSY, "load", NULL,
			   "load: object %u was already loaded (a failed load cannot be retried: "
			   "close and open it again)",
			   o->hdr.id);
		return NULL;
	}
	log = malloc(sizeof(*log));
	if (!log) {
		aces_throw(env, ACES_E_KERNEL_LOAD, ENOMEM, "load", NULL, "load: out of memory");
		return NULL;
	}
	o->load_attempted = true;
	aces_log_begin(log);
	err = bpf_object__load(o->obj);
	aces_log_end();
	/* libbpf parses the kernel's BTF (vmlinux, ~6 MB raw, more once indexed) for CO-RE and frees
	 * it when the load ends; glibc keeps the freed pages in the heap, which would stay in the
	 * daemon's RSS for its whole life. Give them back now. */
	malloc_trim(0);
	if (err) {
		aces_throw(env, ACES_E_KERNEL_LOAD, err, "bpf_object__load", log->buf,
			   "bpf_object__load(%s): %s", bpf_object__name(o->obj),
			   errstr(err, ebuf, sizeof(ebuf)));
		free(log);
		return NULL;
	}
	free(log);
	o->loaded = true;
	return aces_undefined(env);
}

napi_value aces_close(napi_env env, napi_callback_info info)
{
	struct aces_state *st = aces_state(env);
	struct aces_obj *o;
	napi_value argv[1];
	uint32_t id;

	if (!aces_args(env, info, "close", 1, 1, argv, NULL) ||
	    !aces_get_id(env, argv[0], "close", "object handle", &id))
		return NULL;
	o = (struct aces_obj *)aces_table_find(&st->objs, id);
	if (!o) {
		if (aces_table_issued(&st->objs, id))
			return aces_undefined(env);
		aces_throw_handle(env, "close", "object handle", id);
		return NULL;
	}
	/* A ring buffer or link left behind would outlive the programs and maps it points at. */
	aces_ringbufs_close(st, id, false);
	aces_links_destroy(st, id, false);
	aces_table_remove(&st->objs, id);
	bpf_object__close(o->obj);
	free(o);
	return aces_undefined(env);
}

napi_value aces_num_possible_cpus(napi_env env, napi_callback_info info)
{
	napi_value ret;
	char ebuf[128];
	int n = libbpf_num_possible_cpus();

	if (n < 0) {
		aces_throw(env, ACES_E_KERNEL_MAP, n, "libbpf_num_possible_cpus", NULL,
			   "libbpf_num_possible_cpus: %s", errstr(n, ebuf, sizeof(ebuf)));
		return NULL;
	}
	napi_create_int32(env, n, &ret);
	return ret;
}
