// SPDX-License-Identifier: GPL-2.0
/* Holds across looks (see pyholds.h). */
#include <stdlib.h>
#include <string.h>
#include "source/python/pyholds.h"

static int by_hold(const void *a, const void *b)
{
	const struct lw_pyhold *x = a, *y = b;

	if (x->lock != y->lock)
		return x->lock < y->lock ? -1 : 1;
	if (x->holder != y->holder)
		return x->holder < y->holder ? -1 : 1;
	if (x->still != y->still)
		return x->still < y->still ? -1 : 1;
	return x->task - y->task;
}

/* Hold j of p as a key (since 0). */
static struct lw_pyhold key_of(const struct lw_pyparticipant *p, int j)
{
	return (struct lw_pyhold){ .lock = p->holds[j].lock,
				   .holder = p->addr,
				   .still = pylook__fingerprint(p),
				   .task = p->task };
}

void pyholds__update(struct lw_pyholds *h, const struct lw_pysnap *s, uint64_t now_ns)
{
	struct lw_pyhold *v;
	int n = 0, k = 0;

	for (int i = 0; i < s->n; i++)
		n += s->p[i].nholds;
	v = calloc(n + 1, sizeof(*v));
	if (!v)
		return;
	for (int i = 0; i < s->n; i++)
		for (int j = 0; j < s->p[i].nholds; j++)
			v[k++] = key_of(&s->p[i], j);
	qsort(v, k, sizeof(*v), by_hold);
	for (int i = 0; i < k; i++) {
		const struct lw_pyhold *old =
			h->n ? bsearch(&v[i], h->v, h->n, sizeof(*v), by_hold) : NULL;

		v[i].since_ns = old ? old->since_ns : now_ns;
		h->seen += !old;
	}
	free(h->v);
	h->v = v;
	h->n = k;
}

const struct lw_pyhold *pyholds__find(const struct lw_pyholds *h, const struct lw_pyparticipant *p,
				      int j)
{
	struct lw_pyhold k = key_of(p, j);

	return h->n ? bsearch(&k, h->v, h->n, sizeof(k), by_hold) : NULL;
}

int pyholds__stands(const struct lw_pyhold *was, const struct lw_pyparticipant *p)
{
	for (int j = 0; j < p->nholds; j++) {
		struct lw_pyhold k = key_of(p, j);

		if (!by_hold(&k, was))
			return 1;
	}
	return 0;
}

void pyholds__free(struct lw_pyholds *h)
{
	free(h->v);
	memset(h, 0, sizeof(*h));
}
