// SPDX-License-Identifier: GPL-2.0
/* Map access by name: raw key and value bytes in, raw bytes out. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static bool is_percpu(enum bpf_map_type t)
{
	return t == BPF_MAP_TYPE_PERCPU_HASH || t == BPF_MAP_TYPE_PERCPU_ARRAY ||
	       t == BPF_MAP_TYPE_LRU_PERCPU_HASH || t == BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE;
}

/* The kernel copies per-CPU values one per possible CPU, each padded to 8 bytes. */
static bool value_size(napi_env env, const struct bpf_map *map, const char *call, size_t *out)
{
	size_t vsz = bpf_map__value_size(map);
	int ncpus;

	if (!is_percpu(bpf_map__type(map))) {
		*out = vsz;
		return true;
	}
	ncpus = libbpf_num_possible_cpus();
	if (ncpus < 0) {
		aces_throw(env, ACES_E_KERNEL_MAP, ncpus, "libbpf_num_possible_cpus", NULL,
			   "%s: cannot read the number of possible CPUs", call);
		return false;
	}
	*out = (size_t)ncpus * ((vsz + 7) / 8 * 8);
	return true;
}

struct bpf_map *aces_find_map(napi_env env, struct aces_obj *o, napi_value name,
			      const char *call)
{
	struct bpf_map *map;
	char *s = aces_get_string(env, name, call, "map name");

	if (!s)
		return NULL;
	map = bpf_object__find_map_by_name(o->obj, s);
	free(s);
	if (!map)
		aces_throw_arg(env, call, "the name of a map in the object", "map name", name);
	return map;
}

static struct bpf_map *loaded_map(napi_env env, napi_value *argv, const char *call)
{
	struct aces_obj *o = aces_obj_get(env, argv[0], call);
	struct bpf_map *map;

	if (!o)
		return NULL;
	map = aces_find_map(env, o, argv[1], call);
	if (!map)
		return NULL;
	if (bpf_map__fd(map) < 0) {
		aces_throw(env, ACES_E_KERNEL_STATE, EBADF, call, NULL,
			   "%s: map %s of object %u is not loaded", call, bpf_map__name(map),
			   o->hdr.id);
		return NULL;
	}
	return map;
}

static bool sized_buffer(napi_env env, napi_value v, const char *call, const char *what,
			 const struct bpf_map *map, size_t want, void **data)
{
	char expected[64], label[96];
	size_t len = 0;

	if (!aces_get_buffer(env, v, call, what, data, &len))
		return false;
	if (len == want)
		return true;
	snprintf(expected, sizeof(expected), "a Buffer of %zu bytes", want);
	snprintf(label, sizeof(label), "%s of map %s", what, bpf_map__name(map));
	aces_throw_arg(env, call, expected, label, v);
	return false;
}

static void throw_map(napi_env env, int err, const char *libbpf_call, const struct bpf_map *map)
{
	char ebuf[128];

	libbpf_strerror(err < 0 ? err : -err, ebuf, sizeof(ebuf));
	aces_throw(env, ACES_E_KERNEL_MAP, err, libbpf_call, NULL, "%s(%s): %s", libbpf_call,
		   bpf_map__name(map), ebuf);
}

napi_value aces_map_info(napi_env env, napi_callback_info info)
{
	struct bpf_map *map;
	struct aces_obj *o;
	napi_value argv[2], ret, v;

	if (!aces_args(env, info, "mapInfo", 2, 2, argv, NULL))
		return NULL;
	o = aces_obj_get(env, argv[0], "mapInfo");
	if (!o)
		return NULL;
	map = aces_find_map(env, o, argv[1], "mapInfo");
	if (!map)
		return NULL;
	napi_create_object(env, &ret);
	napi_create_uint32(env, bpf_map__type(map), &v);
	napi_set_named_property(env, ret, "type", v);
	napi_create_uint32(env, bpf_map__key_size(map), &v);
	napi_set_named_property(env, ret, "keySize", v);
	napi_create_uint32(env, bpf_map__value_size(map), &v);
	napi_set_named_property(env, ret, "valueSize", v);
	napi_create_uint32(env, bpf_map__max_entries(map), &v);
	napi_set_named_property(env, ret, "maxEntries", v);
	napi_get_boolean(env, is_percpu(bpf_map__type(map)), &v);
	napi_set_named_property(env, ret, "perCpu", v);
	return ret;
}

napi_value aces_map_lookup(napi_env env, napi_callback_info info)
{
	struct bpf_map *map;
	napi_value argv[3], buf, null;
	void *key, *val;
	size_t vsz;
	int err;

	if (!aces_args(env, info, "mapLookup", 3, 3, argv, NULL))
		return NULL;
	map = loaded_map(env, argv, "mapLookup");
	if (!map || !sized_buffer(env, argv[2], "mapLookup", "key", map, bpf_map__key_size(map),
				  &key) ||
	    !value_size(env, map, "mapLookup", &vsz))
		return NULL;
	if (napi_create_buffer(env, vsz, &val, &buf) != napi_ok) {
		aces_throw(env, ACES_E_KERNEL_MAP, ENOMEM, "mapLookup", NULL,
			   "mapLookup: cannot allocate %zu bytes", vsz);
		return NULL;
	}
	/* Per-CPU padding is not written by the kernel; keep the result deterministic. */
	memset(val, 0, vsz);
	err = bpf_map__lookup_elem(map, key, bpf_map__key_size(map), val, vsz, 0);
	if (err == -ENOENT) {
		napi_get_null(env, &null);
		return null;
	}
	if (err) {
		throw_map(env, err, "bpf_map__lookup_elem", map);
		return NULL;
	}
	return buf;
}

napi_value aces_map_update(napi_env env, napi_callback_info info)
{
	struct bpf_map *map;
	napi_value argv[5];
	napi_valuetype t = napi_undefined;
	uint64_t flags = 0;
	void *key, *val;
	size_t argc, vsz;
	int err;

	if (!aces_args(env, info, "mapUpdate", 4, 5, argv, &argc))
		return NULL;
	map = loaded_map(env, argv, "mapUpdate");
	if (!map || !value_size(env, map, "mapUpdate", &vsz) ||
	    !sized_buffer(env, argv[2], "mapUpdate", "key", map, bpf_map__key_size(map), &key) ||
	    !sized_buffer(env, argv[3], "mapUpdate", "value", map, vsz, &val))
		return NULL;
	if (argc > 4 && napi_typeof(env, argv[4], &t) == napi_ok && t != napi_undefined &&
	    !aces_get_u64(env, argv[4], "mapUpdate", "flags", &flags))
		return NULL;
	err = bpf_map__update_elem(map, key, bpf_map__key_size(map), val, vsz, flags);
	if (err) {
		throw_map(env, err, "bpf_map__update_elem", map);
		return NULL;
	}
	return aces_undefined(env);
}

napi_value aces_map_delete(napi_env env, napi_callback_info info)
{
	struct bpf_map *map;
	napi_value argv[3], ret;
	void *key;
	int err;

	if (!aces_args(env, info, "mapDelete", 3, 3, argv, NULL))
		return NULL;
	map = loaded_map(env, argv, "mapDelete");
	if (!map ||
	    !sized_buffer(env, argv[2], "mapDelete", "key", map, bpf_map__key_size(map), &key))
		return NULL;
	err = bpf_map__delete_elem(map, key, bpf_map__key_size(map), 0);
	if (err && err != -ENOENT) {
		throw_map(env, err, "bpf_map__delete_elem", map);
		return NULL;
	}
	napi_get_boolean(env, err == 0, &ret);
	return ret;
}

napi_value aces_map_keys(napi_env env, napi_callback_info info)
{
	struct bpf_map *map;
	napi_value argv[2], arr = NULL, item;
	size_t ksz;
	uint32_t n = 0;
	uint64_t limit;
	char *prev, *next, *tmp;
	int err;

	if (!aces_args(env, info, "mapKeys", 2, 2, argv, NULL))
		return NULL;
	map = loaded_map(env, argv, "mapKeys");
	if (!map)
		return NULL;
	ksz = bpf_map__key_size(map);
	prev = malloc(ksz ? ksz : 1);
	next = malloc(ksz ? ksz : 1);
	if (!prev || !next) {
		aces_throw(env, ACES_E_KERNEL_MAP, ENOMEM, "mapKeys", NULL, "mapKeys: out of memory");
		goto out;
	}
	/*
	 * A hash walk restarts from the first key when the previous key was deleted under it;
	 * the bound turns endless churn into an error instead of a hang.
	 */
	limit = 2 * (uint64_t)bpf_map__max_entries(map) + 16;
	napi_create_array(env, &arr);
	err = bpf_map__get_next_key(map, NULL, next, ksz);
	while (!err) {
		if (n >= limit) {
			aces_throw(env, ACES_E_KERNEL_MAP, EAGAIN, "bpf_map__get_next_key", NULL,
				   "bpf_map__get_next_key(%s): keys kept changing during the walk",
				   bpf_map__name(map));
			arr = NULL;
			goto out;
		}
		if (napi_create_buffer_copy(env, ksz, next, NULL, &item) != napi_ok) {
			arr = NULL;
			goto out;
		}
		napi_set_element(env, arr, n++, item);
		tmp = prev;
		prev = next;
		next = tmp;
		err = bpf_map__get_next_key(map, prev, next, ksz);
	}
	if (err != -ENOENT) {
		throw_map(env, err, "bpf_map__get_next_key", map);
		arr = NULL;
	}
out:
	free(prev);
	free(next);
	return arr;
}
