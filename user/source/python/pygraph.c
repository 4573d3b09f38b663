// SPDX-License-Identifier: GPL-2.0
/*
 * The wait-for graph of one look at a Python process (see pygraph.h). Each
 * participant has at most one edge: the lock it waits for and that lock's
 * holder (the one participant whose frames hold it), the task it awaits,
 * the thread it joins, or - for a task whose loop thread is itself blocked
 * on a threading lock - that thread. Following edges from every participant
 * finds the cycles; asyncio locks that no live task can release are found
 * from the tasks that wait for them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "source/python/pygraph.h"

static int by_key(const void *a, const void *b)
{
	const struct lw_pypair *x = a, *y = b;

	return x->key < y->key ? -1 : x->key > y->key;
}

static const struct lw_pypair *find(const struct lw_pypair *v, int n, uint64_t key)
{
	struct lw_pypair k = { .key = key };

	return n ? bsearch(&k, v, n, sizeof(*v), by_key) : NULL;
}

/* Sorted (lock -> holder) and (futex word -> threading lock) pairs. */
static int holders(struct lw_pymem *m, const struct lw_pysnap *s, struct lw_pypair **hold,
		   struct lw_pypair **futex, int *nfutex)
{
	const struct lw_pylayout *L = pymem__layout(m);
	int n = 0, k = 0, w = 0;

	for (int i = 0; i < s->n; i++)
		n += s->p[i].nholds;
	*hold = calloc(n + 1, sizeof(**hold));
	*futex = calloc(n + 1, sizeof(**futex));
	if (!*hold || !*futex)
		return -ENOMEM;
	for (int i = 0; i < s->n; i++)
		for (int j = 0; j < s->p[i].nholds; j++)
			(*hold)[k++] = (struct lw_pypair){ s->p[i].holds[j], i, s->p[i].holds[j] };
	qsort(*hold, k, sizeof(**hold), by_key);
	/* the same lock held by two: neither is believed */
	for (int i = 0; i < k; i++) {
		if (i && (*hold)[i].key == (*hold)[w - 1].key) {
			if ((*hold)[i].idx != (*hold)[w - 1].idx)
				(*hold)[w - 1].idx = -1;
			continue;
		}
		(*hold)[w++] = (*hold)[i];
	}
	k = w;
	for (int i = 0, f = 0; i < k; i++) {
		enum lw_pykind kind = py_kind(m, (*hold)[i].lock);
		uint64_t sem;

		if ((kind != PK_TLOCK && kind != PK_RLOCK) || !pymem__lock_sem(m))
			continue;
		sem = py_ptr(m, (*hold)[i].lock + L->lock_lock);
		if (sem)
			(*futex)[f++] =
				(struct lw_pypair){ sem, (*hold)[i].idx, (*hold)[i].lock,
						    kind == PK_TLOCK ? PL_TLOCK : PL_RLOCK };
		*nfutex = f;
	}
	qsort(*futex, *nfutex, sizeof(**futex), by_key);
	return k;
}

/* Tasks by address, sorted, for live_task(). */
static int index_tasks(struct lw_pygraph *g)
{
	const struct lw_pysnap *s = g->s;

	free(g->tasks);
	g->ntasks = 0;
	g->tasks = calloc(s->n + 1, sizeof(*g->tasks));
	if (!g->tasks)
		return -ENOMEM;
	for (int i = 0; i < s->n; i++)
		if (s->p[i].task)
			g->tasks[g->ntasks++] = (struct lw_pypair){ .key = s->p[i].addr, .idx = i };
	qsort(g->tasks, g->ntasks, sizeof(*g->tasks), by_key);
	return 0;
}

static const struct lw_pypart *live_task(const struct lw_pygraph *g, uint64_t addr)
{
	const struct lw_pysnap *s = g->s;
	const struct lw_pypair *t = find(g->tasks, g->ntasks, addr);

	return t && s->p[t->idx].state == 0 ? &s->p[t->idx] : NULL;
}

/* threads come first in a snapshot */
static const struct lw_pypart *thread_of(const struct lw_pysnap *s, pid_t tid)
{
	for (int i = 0; tid && i < s->n && !s->p[i].task; i++)
		if (s->p[i].tid == tid)
			return &s->p[i];
	return NULL;
}

/* The threading lock (or RLock) object whose semaphore is futex word w. */
static enum lw_pykind tlock_of(struct lw_pymem *m, uint64_t obj, uint64_t w)
{
	const struct lw_pylayout *L = pymem__layout(m);
	enum lw_pykind k = py_kind(m, obj);

	return (k == PK_TLOCK || k == PK_RLOCK) && pymem__lock_sem(m) &&
			       py_ptr(m, obj + L->lock_lock) == w ?
		       k :
		       PK_OTHER;
}

/*
 * A thread waits in a threading lock that no frame holds (taken by hand):
 * find the lock on its innermost frame - a local, or on the value stack
 * (`lock.acquire` or the __exit__ that `with` pushed) - to name it; an
 * RLock also names its owner.
 */
static void waited_tlock(struct lw_pygraph *g, const struct lw_pypart *p, struct lw_pyedge *e)
{
	const struct lw_pylayout *L = pymem__layout(g->m);
	const struct lw_pysnap *s = g->s;
	const struct lw_pycode *c = p->nframes ? py_code(g->m, p->frames[0].code) : NULL;
	uint64_t slots[64], owner, count;
	int n;

	if (!c)
		return;
	if (!strcmp(c->qualname, "Thread._wait_for_tstate_lock") ||
	    !strcmp(c->qualname, "Thread.join")) {
		/* join(): the lock is released when that thread exits (3.13
		 * waits in Thread.join itself, on the C thread handle) */
		int64_t ident;

		e->lock = py_ptr(g->m, p->frames[0].addr + L->fr_localsplus); /* self */
		if (py_int(g->m, py_attr(g->m, e->lock, "_ident"), &ident)) {
			e->lock = 0;
			return;
		}
		e->kind = PL_JOIN;
		for (int j = 0; j < s->n && !s->p[j].task; j++)
			if (s->p[j].ident == (uint64_t)ident)
				e->holder = &s->p[j];
		return;
	}
	n = c->nlocalsplus + c->stacksize < 64 ? c->nlocalsplus + c->stacksize : 64;
	if (py_read(g->m, p->frames[0].addr + L->fr_localsplus, slots, n * 8))
		return;
	for (int i = 0; i < n; i++) {
		uint64_t obj = slots[i];
		enum lw_pykind k = tlock_of(g->m, obj, p->wait_obj);

		if (k == PK_OTHER) {
			if (py_kind(g->m, obj) == PK_CFUNC)
				obj = py_ptr(g->m, obj + L->cfunc_self);
			else if (py_kind(g->m, obj) == PK_METHOD)
				obj = py_ptr(g->m, obj + L->method_self);
			else
				continue;
			k = tlock_of(g->m, obj, p->wait_obj);
		}
		if (k == PK_OTHER)
			continue;
		e->kind = k == PK_TLOCK ? PL_TLOCK : PL_RLOCK;
		e->lock = obj;
		if (k == PK_RLOCK && !py_read(g->m, obj + L->rlock_owner, &owner, 8) &&
		    !py_read(g->m, obj + L->rlock_count, &count, 8) && count)
			for (int j = 0; j < s->n && !s->p[j].task; j++)
				if (s->p[j].ident == owner)
					e->holder = &s->p[j];
		return;
	}
}

/* Every participant's one edge, into g->edges. */
static int edges(struct lw_pygraph *g)
{
	const struct lw_pysnap *s = g->s;
	struct lw_pypair *hold = NULL, *futex = NULL;
	int nhold, nfutex = 0, err = 0;

	free(g->edges);
	g->edges = calloc(s->n + 1, sizeof(*g->edges));
	nhold = holders(g->m, s, &hold, &futex, &nfutex);
	if (!g->edges || nhold < 0 || index_tasks(g)) {
		err = -ENOMEM;
		goto out;
	}
	/* threads first: a task's edge may go to its loop's thread */
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < s->n; i++) {
			const struct lw_pypart *p = &s->p[i], *t;
			struct lw_pyedge *e = &g->edges[i];
			const struct lw_pypair *h;

			if (p->task != pass)
				continue;
			e->waiter = p;
			if (!p->task && p->wait == PW_FUTEX) {
				h = find(futex, nfutex, p->wait_obj);
				if (h) {
					e->kind = h->kind;
					e->lock = h->lock;
					e->holder = h->idx >= 0 ? &s->p[h->idx] : NULL;
				} else {
					waited_tlock(g, p, e);
				}
				continue;
			}
			if (!p->task || p->state)
				continue;
			t = thread_of(s, p->tid);
			if (t && g->edges[t - s->p].lock &&
			    (g->edges[t - s->p].kind == PL_TLOCK ||
			     g->edges[t - s->p].kind == PL_RLOCK)) {
				/* its loop's thread is stuck inside another task */
				e->kind = PL_LOOP;
				e->lock = p->loop;
				e->holder = t;
			} else if (p->wait == PW_ALOCK) {
				h = find(hold, nhold, p->wait_obj);
				e->kind = PL_ALOCK;
				e->lock = p->wait_obj;
				e->holder = h && h->idx >= 0 ? &s->p[h->idx] : NULL;
			} else if (p->wait == PW_TASK) {
				e->kind = PL_TASK;
				e->lock = p->wait_obj;
				e->holder = live_task(g, p->wait_obj);
			} else if (p->wait >= PW_ASEM && p->wait <= PW_AQUEUE) {
				static const enum lw_pylock kinds[] = {
					[PW_ASEM] = PL_ASEM,
					[PW_ACOND] = PL_ACOND,
					[PW_AEVENT] = PL_AEVENT,
					[PW_AQUEUE] = PL_AQUEUE,
				};

				e->kind = kinds[p->wait];
				e->lock = p->wait_obj;
			}
		}
	}
out:
	free(hold);
	free(futex);
	return err;
}

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return x;
}

static uint64_t signature(const struct lw_pyfinding *c)
{
	uint64_t sig = c->orphan ? 0x6f7270 : 0x6379636c;

	for (int i = 0; i < c->n; i++)
		sig += mix(c->e[i].waiter->addr ^ mix(c->e[i].lock));
	return sig;
}

static int is_true(struct lw_pymem *m, uint64_t obj)
{
	char type[8];
	int64_t v;

	py_type_name(m, obj, type, sizeof(type));
	return !strcmp(type, "bool") && !py_int(m, obj, &v) && v;
}

static void add_cand(struct lw_pygraph *g, struct lw_pyfinding *c)
{
	c->sig = signature(c);
	for (int i = 0; i < g->nfound; i++)
		if (g->found[i].sig == c->sig)
			return;
	if (g->nfound < LW_PY_FINDINGS)
		g->found[g->nfound++] = *c;
}

/* Follow edges from every participant; each cycle once. */
static void cycles(struct lw_pygraph *g)
{
	const struct lw_pysnap *s = g->s;
	int *walk = calloc(s->n + 1, sizeof(int));

	if (!walk)
		return;
	for (int i = 0; i < s->n; i++) {
		int path[LW_MAX_CYCLE + 1], n = 0, k = i, id = i + 1;

		while (k >= 0 && !walk[k] && g->edges[k].lock && n <= LW_MAX_CYCLE) {
			walk[k] = id;
			path[n++] = k;
			k = g->edges[k].holder ? (int)(g->edges[k].holder - s->p) : -1;
		}
		if (k >= 0 && walk[k] == id) {
			struct lw_pyfinding c = { 0 };
			int at = 0;

			while (path[at] != k)
				at++;
			for (int j = at; j < n; j++)
				c.e[c.n++] = g->edges[path[j]];
			add_cand(g, &c);
		}
	}
	free(walk);
}

static int accounted_for(struct lw_pygraph *g, const char *acc, const struct lw_pypart *p)
{
	const struct lw_pylayout *L = pymem__layout(g->m);
	const struct lw_pysnap *s = g->s;
	uint64_t list, items[64];
	int64_t n;

	if (p->wait == PW_TASK) {
		const struct lw_pypart *t = live_task(g, p->wait_obj);

		return t && acc[t - s->p];
	}
	if (p->wait != PW_GATHER)
		return 0;
	list = py_attr(g->m, p->wait_obj, "_children");
	if (py_kind(g->m, list) != PK_LIST || py_read(g->m, list + L->var_size, &n, sizeof(n)) ||
	    n <= 0 || n > 64 || py_read(g->m, py_ptr(g->m, list + L->list_item), items, n * 8))
		return 0;
	for (int i = 0; i < n; i++) {
		const struct lw_pypart *t = live_task(g, items[i]);

		if (!t || !acc[t - s->p])
			return 0;
	}
	return 1;
}

/* "loader (RuntimeError), ..." */
static void ended_tasks(struct lw_pygraph *g, char *buf, size_t len)
{
	const struct lw_pysnap *s = g->s;
	size_t used = 0;

	buf[0] = '\0';
	for (int i = 0; i < s->n && used + 1 < len; i++) {
		char type[64];

		if (!s->p[i].task || s->p[i].state != 2 || !s->p[i].exception)
			continue;
		py_type_name(g->m, s->p[i].exception, type, sizeof(type));
		used += snprintf(buf + used, len - used, "%s%s (%s)", used ? ", " : "",
				 s->p[i].name, type);
	}
}

/* asyncio locks that are locked, waited for, and that no live task can
 * release: every live task waits for it, or awaits only such tasks. */
static void orphans(struct lw_pygraph *g)
{
	const struct lw_pysnap *s = g->s;
	char *acc;

	if (!s->complete)
		return;
	acc = calloc(s->n + 1, 1);
	if (!acc)
		return;
	for (int i = 0; i < s->n; i++) {
		const struct lw_pyedge *e = &g->edges[i];
		struct lw_pyfinding c = { .orphan = 1 };
		int changed = 1, all = 1;

		if (!e->lock || e->kind != PL_ALOCK || e->holder)
			continue;
		memset(acc, 0, s->n);
		for (int j = 0; j < s->n; j++)
			if (g->edges[j].lock == e->lock && g->edges[j].kind == PL_ALOCK) {
				if (j < i)
					goto next; /* looked at from its first waiter */
				acc[j] = 1;
				if (c.n < LW_MAX_CYCLE)
					c.e[c.n++] = g->edges[j];
			}
		while (changed) {
			changed = 0;
			for (int j = 0; j < s->n; j++)
				if (s->p[j].task && !s->p[j].state && !acc[j] &&
				    accounted_for(g, acc, &s->p[j]))
					acc[j] = changed = 1;
		}
		for (int j = 0; j < s->n; j++)
			if (s->p[j].task && s->p[j].state <= 0 && !acc[j])
				all = 0;
		if (all && is_true(g->m, py_attr(g->m, e->lock, "_locked"))) {
			ended_tasks(g, c.ended, sizeof(c.ended));
			add_cand(g, &c);
		}
next:;
	}
	free(acc);
}

int pygraph__build(struct lw_pygraph *g, struct lw_pymem *m, const struct lw_pysnap *s)
{
	int err;

	g->m = m;
	g->s = s;
	g->nfound = 0;
	err = edges(g);
	if (err)
		return err;
	cycles(g);
	orphans(g);
	return 0;
}

void pygraph__free(struct lw_pygraph *g)
{
	free(g->edges);
	free(g->tasks);
	memset(g, 0, sizeof(*g));
}
