// SPDX-License-Identifier: GPL-2.0
/* Attaching programs: links are ids in a table, each owned by the object it came from. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "util.h"

static struct bpf_program *loaded_prog(napi_env env, napi_value *argv, const char *call,
				       struct aces_obj **out)
{
	struct aces_obj *o = aces_obj_get(env, argv[0], call);
	struct bpf_program *prog;

	if (!o)
		return NULL;
	prog = aces_find_prog(env, o, argv[1], call);
	if (!prog)
		return NULL;
	if (!o->loaded) {
		aces_throw(env, ACES_E_KERNEL_STATE, EINVAL, call, NULL,
			   "%s: object %u is not loaded", call, o->hdr.id);
		return NULL;
	}
	if (bpf_program__fd(prog) < 0) {
		aces_throw(env, ACES_E_KERNEL_STATE, EINVAL, call, NULL,
			   "%s: program %s was not loaded (autoload off)", call,
			   bpf_program__name(prog));
		return NULL;
	}
	*out = o;
	return prog;
}

static napi_value add_link(napi_env env, struct aces_obj *o, struct bpf_link *link,
			   const char *call)
{
	struct aces_state *st = aces_state(env);
	struct aces_link *l = calloc(1, sizeof(*l));
	napi_value ret;

	if (!l || !aces_table_add(&st->links, &l->hdr)) {
		free(l);
		bpf_link__destroy(link);
		aces_throw(env, ACES_E_KERNEL_ATTACH, ENOMEM, call, NULL, "%s: out of handles", call);
		return NULL;
	}
	l->obj_id = o->hdr.id;
	l->link = link;
	napi_create_uint32(env, l->hdr.id, &ret);
	return ret;
}

napi_value aces_attach(napi_env env, napi_callback_info info)
{
	struct bpf_program *prog;
	struct bpf_link *link;
	struct aces_log *log;
	struct aces_obj *o;
	napi_value argv[2], ret = NULL;
	char ebuf[128];
	int err;

	if (!aces_args(env, info, "attach", 2, 2, argv, NULL))
		return NULL;
	prog = loaded_prog(env, argv, "attach", &o);
	if (!prog)
		return NULL;
	log = malloc(sizeof(*log));
	if (!log) {
		aces_throw(env, ACES_E_KERNEL_ATTACH, ENOMEM, "attach", NULL, "attach: out of memory");
		return NULL;
	}
	aces_log_begin(log);
	link = bpf_program__attach(prog);
	err = link ? 0 : errno;
	aces_log_end();
	if (!link) {
		libbpf_strerror(-err, ebuf, sizeof(ebuf));
		aces_throw(env, ACES_E_KERNEL_ATTACH, err, "bpf_program__attach", log->buf,
			   "bpf_program__attach(%s, %s): %s", bpf_program__name(prog),
			   bpf_program__section_name(prog), ebuf);
	} else {
		ret = add_link(env, o, link, "attach");
	}
	free(log);
	return ret;
}

napi_value aces_attach_cgroup(napi_env env, napi_callback_info info)
{
	struct bpf_program *prog;
	struct bpf_link *link;
	struct aces_log *log;
	struct aces_obj *o;
	napi_value argv[3], ret = NULL;
	char ebuf[128], *dir;
	int fd, err;

	if (!aces_args(env, info, "attachCgroup", 3, 3, argv, NULL))
		return NULL;
	prog = loaded_prog(env, argv, "attachCgroup", &o);
	if (!prog)
		return NULL;
	dir = aces_get_string(env, argv[2], "attachCgroup", "cgroup directory");
	if (!dir)
		return NULL;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		err = errno;
		aces_throw(env, ACES_E_KERNEL_ATTACH, err, "open", NULL, "open(%s): %s", dir,
			   strerror(err));
		free(dir);
		return NULL;
	}
	log = malloc(sizeof(*log));
	if (!log) {
		close(fd);
		free(dir);
		aces_throw(env, ACES_E_KERNEL_ATTACH, ENOMEM, "attachCgroup", NULL,
			   "attachCgroup: out of memory");
		return NULL;
	}
	aces_log_begin(log);
	link = bpf_program__attach_cgroup(prog, fd);
	err = link ? 0 : errno;
	aces_log_end();
	/* The link holds its own reference on the cgroup. */
	close(fd);
	if (!link) {
		libbpf_strerror(-err, ebuf, sizeof(ebuf));
		aces_throw(env, ACES_E_KERNEL_ATTACH, err, "bpf_program__attach_cgroup", log->buf,
			   "bpf_program__attach_cgroup(%s, %s): %s", bpf_program__name(prog), dir,
			   ebuf);
	} else {
		ret = add_link(env, o, link, "attachCgroup");
	}
	free(log);
	free(dir);
	return ret;
}

napi_value aces_detach(napi_env env, napi_callback_info info)
{
	struct aces_state *st = aces_state(env);
	struct aces_link *l;
	napi_value argv[1];
	uint32_t id;

	if (!aces_args(env, info, "detach", 1, 1, argv, NULL) ||
	    !aces_get_id(env, argv[0], "detach", "link id", &id))
		return NULL;
	l = (struct aces_link *)aces_table_find(&st->links, id);
	if (!l) {
		if (aces_table_issued(&st->links, id))
			return aces_undefined(env);
		aces_throw_handle(env, "detach", "link id", id);
		return NULL;
	}
	aces_table_remove(&st->links, id);
	bpf_link__destroy(l->link);
	free(l);
	return aces_undefined(env);
}

void aces_links_destroy(struct aces_state *st, uint32_t obj_id, bool all)
{
	size_t i = st->links.len;

	/* Walk backwards: removal moves the last entry into the freed slot. */
	while (i-- > 0) {
		struct aces_link *l = (struct aces_link *)st->links.items[i];

		if (!all && l->obj_id != obj_id)
			continue;
		aces_table_remove(&st->links, l->hdr.id);
		bpf_link__destroy(l->link);
		free(l);
	}
}

/* Iterator output is a seq_file; anything this large is a runaway program, not data. */
#define ACES_ITER_MAX (64u << 20)

napi_value aces_iter_read(napi_env env, napi_callback_info info)
{
	struct aces_state *st = aces_state(env);
	struct aces_link *l;
	napi_value argv[1], ret = NULL;
	size_t len = 0, cap = 16384;
	char *buf = NULL, *grown, ebuf[128];
	uint32_t id;
	ssize_t n;
	int fd, err;

	if (!aces_args(env, info, "iterRead", 1, 1, argv, NULL) ||
	    !aces_get_id(env, argv[0], "iterRead", "link id", &id))
		return NULL;
	l = (struct aces_link *)aces_table_find(&st->links, id);
	if (!l) {
		aces_throw_handle(env, "iterRead", "link id", id);
		return NULL;
	}
	fd = bpf_iter_create(bpf_link__fd(l->link));
	if (fd < 0) {
		err = errno;
		libbpf_strerror(-err, ebuf, sizeof(ebuf));
		aces_throw(env, ACES_E_KERNEL_ITER, err, "bpf_iter_create", NULL,
			   "bpf_iter_create(link %u): %s", id, ebuf);
		return NULL;
	}
	buf = malloc(cap);
	if (!buf)
		goto nomem;
	for (;;) {
		if (len == cap) {
			if (cap >= ACES_ITER_MAX) {
				aces_throw(env, ACES_E_KERNEL_ITER, E2BIG, "read", NULL,
					   "iterRead(link %u): more than %u bytes of output", id,
					   ACES_ITER_MAX);
				goto out;
			}
			grown = realloc(buf, cap * 2);
			if (!grown)
				goto nomem;
			buf = grown;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len);
		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			err = errno;
			aces_throw(env, ACES_E_KERNEL_ITER, err, "read", NULL,
				   "iterRead(link %u): read: %s", id, strerror(err));
			goto out;
		}
		len += (size_t)n;
	}
	if (napi_create_buffer_copy(env, len, buf, NULL, &ret) != napi_ok)
		ret = NULL;
	goto out;
nomem:
	aces_throw(env, ACES_E_KERNEL_ITER, ENOMEM, "iterRead", NULL, "iterRead: out of memory");
out:
	free(buf);
	close(fd);
	return ret;
}
