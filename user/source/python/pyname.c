// SPDX-License-Identifier: GPL-2.0
/*
 * Names of Python locks as the program's code spells them (see pyname.h): a
 * lock is named from the frame that waits for it or holds it - a local that
 * is the lock, an attribute of a local (`Store._lock` when the local is
 * self), or a global of the frame's module.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include "source/python/pyname.h"

#define MAX_LOCALS 64

/* asyncio's and threading's own code: their locals name no user's lock */
static int internal_file(const char *f)
{
	size_t n = strlen(f);

	return strstr(f, "/asyncio/") || (n >= 13 && !strcmp(f + n - 13, "/threading.py"));
}

struct find {
	uint64_t lock;
	char *buf;
	size_t len;
	const char *prefix;
};

static int is_lock(struct lw_pymem *m, const char *key, uint64_t value, void *arg)
{
	struct find *f = arg;

	if (value != f->lock)
		return 0;
	snprintf(f->buf, f->len, "%s%s", f->prefix, key);
	return 1;
}

/* Name `lock` as frame fr of w sees it; 0, or -1. */
static int name_in_frame(struct lw_pymem *m, const struct lw_pyframe *fr, uint64_t lock, char *buf,
			 size_t len)
{
	const struct lw_pylayout *L = pymem__layout(m);
	const struct lw_pycode *c = pymem__code(m, fr->code);
	uint64_t names, vals[MAX_LOCALS], globals;
	struct find f = { lock, buf, len, "" };
	char local[64], type[64], prefix[160];
	int n;

	if (!c)
		return -1;
	n = c->nlocalsplus < MAX_LOCALS ? c->nlocalsplus : MAX_LOCALS;
	names = pymem__ptr(m, fr->code + L->co_localsplusnames);
	if (n && !pymem__read(m, fr->addr + L->fr_localsplus, vals, n * 8)) {
		for (int i = 0; i < n; i++)
			vals[i] = pymem__unref(m, vals[i]);
		for (int i = 0; i < n; i++)
			if (vals[i] == lock &&
			    !pymem__str(m, pymem__ptr(m, names + L->tuple_item + i * 8), buf, len))
				return 0;
		for (int i = 0; i < n; i++) {
			if (!vals[i] || pymem__kind(m, vals[i]) != PK_OTHER ||
			    pymem__str(m, pymem__ptr(m, names + L->tuple_item + i * 8), local,
				       sizeof(local)))
				continue;
			pymem__type_name(m, vals[i], type, sizeof(type));
			snprintf(prefix, sizeof(prefix), "%s.",
				 strcmp(local, "self") ? local : type);
			f.prefix = prefix;
			if (pymem__attr_items(m, vals[i], is_lock, &f) == 1)
				return 0;
		}
	}
	f.prefix = "";
	globals = pymem__ptr(m, fr->addr + L->fr_globals);
	return pymem__dict_items(m, globals, is_lock, &f) == 1 ? 0 : -1;
}

/* The name of lock from w's frames: frame `at` first, then the others
 * outside asyncio's and threading's own code. */
static void lock_name(struct lw_pymem *m, const struct lw_pyparticipant *w, int at, uint64_t lock,
		      char *buf, size_t len)
{
	buf[0] = '\0';
	if (at >= 0 && at < w->nframes && !name_in_frame(m, &w->frames[at], lock, buf, len))
		return;
	for (int i = 0; i < w->nframes; i++) {
		const struct lw_pycode *c = pymem__code(m, w->frames[i].code);

		if (i != at && c && !internal_file(c->filename) &&
		    !name_in_frame(m, &w->frames[i], lock, buf, len))
			return;
	}
	buf[0] = '\0';
}

static int hold_frame(const struct lw_pyparticipant *h, uint64_t lock)
{
	for (int i = 0; h && i < h->nholds; i++)
		if (h->holds[i].lock == lock)
			return h->holds[i].frame;
	return -1;
}

/* What a future will run, by its qualified name: a function, a method's,
 * a coroutine's; a builtin's name; else the callable's type. */
static void runs_name(struct lw_pymem *m, uint64_t obj, char *buf, size_t len)
{
	const struct lw_pylayout *L = pymem__layout(m);
	const struct lw_pycode *c;
	char name[64];

	switch (pymem__kind(m, obj)) {
	case PK_METHOD:
		obj = pymem__ptr(m, obj + L->method_func);
		if (pymem__kind(m, obj) != PK_FUNC)
			break;
		/* fall through */
	case PK_FUNC:
		pymem__str(m, pymem__ptr(m, obj + L->func_qualname), buf, len);
		return;
	case PK_CORO:
		c = pymem__code(m, pymem__ref(m, obj + L->gen_iframe + L->fr_code));
		if (c)
			snprintf(buf, len, "%s", c->qualname);
		return;
	case PK_CFUNC:
		if (!pymem__read(m, pymem__ptr(m, pymem__ptr(m, obj + L->cfunc_ml) + L->ml_name),
				 name, sizeof(name))) {
			name[sizeof(name) - 1] = '\0';
			snprintf(buf, len, "%s", name);
		}
		return;
	default:
		break;
	}
	if (obj)
		pymem__type_name(m, obj, buf, len);
}

void pyname__lock(struct lw_pymem *m, const struct lw_pywait *w, char *buf, size_t len)
{
	buf[0] = '\0';
	if (w->kind == LW_LOCK_FUTURE) {
		runs_name(m, w->runs, buf, len);
		return;
	}
	if (w->kind == LW_LOCK_GIL) {
		snprintf(buf, len, "GIL"); /* not the runtime's symbol */
		return;
	}
	if (w->kind == LW_LOCK_TASK || w->kind == LW_LOCK_EVENT_LOOP ||
	    w->kind == LW_LOCK_THREAD_EXIT) {
		/* what is awaited is a task or a thread: its name */
		if (w->holder)
			snprintf(buf, len, "%s", w->holder->name);
		return;
	}
	lock_name(m, w->waiter, -1, w->lock, buf, len);
	if (!buf[0] && w->holder)
		lock_name(m, w->holder, hold_frame(w->holder, w->lock), w->lock, buf, len);
}

void pyname__held(struct lw_pymem *m, const struct lw_pyparticipant *p, int i, char *buf,
		  size_t len)
{
	lock_name(m, p, p->holds[i].frame, p->holds[i].lock, buf, len);
}
