// SPDX-License-Identifier: GPL-2.0
/*
 * ACES native addon: the export table. The functions live in object.c, link.c, map.c and
 * ringbuf.c; src/kernel/native.ts is their only caller.
 */
#include "util.h"

static napi_value init(napi_env env, napi_value exports)
{
	static const struct {
		const char *name;
		napi_callback fn;
	} table[] = {
		{ "setErrorClass", aces_set_error_class },
		{ "open", aces_open },
		{ "programs", aces_programs },
		{ "setAutoload", aces_set_autoload },
		{ "setConst", aces_set_const },
		{ "load", aces_load },
		{ "attach", aces_attach },
		{ "attachCgroup", aces_attach_cgroup },
		{ "detach", aces_detach },
		{ "iterRead", aces_iter_read },
		{ "mapInfo", aces_map_info },
		{ "mapLookup", aces_map_lookup },
		{ "mapUpdate", aces_map_update },
		{ "mapDelete", aces_map_delete },
		{ "mapKeys", aces_map_keys },
		{ "ringbufOpen", aces_ringbuf_open },
		{ "ringbufConsume", aces_ringbuf_consume },
		{ "ringbufClose", aces_ringbuf_close },
		{ "close", aces_close },
		{ "numPossibleCpus", aces_num_possible_cpus },
	};
	napi_property_descriptor props[sizeof(table) / sizeof(table[0])];
	size_t i;

	if (!aces_instance_init(env))
		return NULL;

	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		props[i] = (napi_property_descriptor){
			.utf8name = table[i].name,
			.method = table[i].fn,
			.attributes = napi_enumerable,
		};
	}
	if (napi_define_properties(env, exports, i, props) != napi_ok)
		return NULL;
	return exports;
}

NAPI_MODULE_INIT()
{
	return init(env, exports);
}
