// SPDX-License-Identifier: GPL-2.0
/*
 * The Python processes among the watched ones (see pywatch.h): a small table
 * by pid, sized for -p targets and their children.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "sys/log.h"
#include "source/python/pywatch.h"

#define PY_MAX 64 /* Python processes read while watching */

struct entry {
	pid_t pid;
	enum { PY_UNKNOWN, PY_YES, PY_NO } state;
	struct lw_pyproc *pp;
};

struct lw_pywatch {
	lw_pyemit_fn emit;
	void *ctx;
	struct entry py[PY_MAX];
	int n;
};

struct lw_pywatch *pywatch__new(lw_pyemit_fn emit, void *ctx)
{
	struct lw_pywatch *w = calloc(1, sizeof(*w));

	if (w) {
		w->emit = emit;
		w->ctx = ctx;
	}
	return w;
}

void pywatch__free(struct lw_pywatch *w)
{
	if (!w)
		return;
	for (int i = 0; i < w->n; i++)
		pydetect__close(w->py[i].pp);
	free(w);
}

static struct entry *find(struct lw_pywatch *w, pid_t pid)
{
	for (int i = 0; i < w->n; i++)
		if (w->py[i].pid == pid)
			return &w->py[i];
	return NULL;
}

/* Is it a CPython we can read? Says once when it is one we cannot. */
static void open_py(struct entry *p)
{
	char why[300];
	int err = pydetect__open(p->pid, &p->pp, why, sizeof(why));

	if (!err) {
		p->state = PY_YES;
		return;
	}
	p->state = PY_NO;
	if (err == -ENOTSUP)
		lw_err("pid %d: unsupported %s: its asyncio and threading locks are not read "
		       "(native locks still are)",
		       p->pid, why);
	else if (err != -ENOENT)
		lw_debug("pid %d: cannot look for a Python runtime: %s", p->pid, strerror(-err));
}

void pywatch__add(struct lw_pywatch *w, pid_t pid)
{
	struct entry *p = find(w, pid);

	if (!p) {
		if (w->n == PY_MAX)
			return;
		p = &w->py[w->n++];
		p->pid = pid;
	}
	/* new, or a new program (execve): look again */
	pydetect__close(p->pp);
	p->pp = NULL;
	p->state = PY_UNKNOWN;
}

void pywatch__gone(struct lw_pywatch *w, pid_t pid)
{
	struct entry *p = find(w, pid);

	if (!p)
		return;
	pydetect__close(p->pp);
	*p = w->py[--w->n];
}

void pywatch__sweep(struct lw_pywatch *w, uint64_t now_ns)
{
	for (int i = 0; i < w->n; i++) {
		struct entry *p = &w->py[i];

		if (p->state == PY_UNKNOWN)
			open_py(p);
		if (p->state == PY_YES && pydetect__due(p->pp, now_ns))
			pydetect__check(p->pp, w->emit, w->ctx);
	}
}

void pywatch__check(struct lw_pywatch *w, pid_t pid)
{
	struct entry *p;

	pywatch__add(w, pid);
	p = find(w, pid);
	if (!p)
		return;
	open_py(p);
	if (p->pp)
		pydetect__check(p->pp, w->emit, w->ctx);
}

int pywatch__blocked(struct lw_pywatch *w, struct lw_blocked *out, int max)
{
	int n = 0;

	for (int i = 0; i < w->n; i++)
		if (w->py[i].pp)
			n += pydetect__blocked(w->py[i].pp, out + n, max - n);
	return n;
}
