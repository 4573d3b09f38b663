// SPDX-License-Identifier: GPL-2.0
/*
 * Python lock orders (see pyorders.h): the locks a look finds a task or a
 * thread holding one inside another, into the order graph.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "source/python/pyname.h"
#include "source/python/pyorders.h"
#include "sys/hash.h"

/* A Python lock's kind in the order graph: the exclusive ones (holders of
 * a semaphore do not exclude each other); 0: none. */
static int order_kind(struct lw_pymem *m, uint64_t lock)
{
	int k = pylook__lock_kind(m, lock);

	return k < 0 || k == LW_LOCK_ASYNCIO_SEMAPHORE ? 0 : k;
}

/* Where pp's frame k and its callers stand, resolved (frames point into the
 * code cache; the order graph copies them), into st. */
static void order_stack(struct lw_pymem *m, const struct lw_pyparticipant *pp, int k,
			struct lw_order_stack *st, struct lw_frame *fr)
{
	memset(st, 0, sizeof(*st));
	st->frames = fr;
	for (int i = k; i >= 0 && i < pp->nframes && st->n < LW_ORDER_FRAMES; i++) {
		const struct lw_pycode *c = pymem__code(m, pp->frames[i].code);
		int line;

		if (!c)
			continue;
		line = pycode__line(c, pp->frames[i].instr);
		fr[st->n] = (struct lw_frame){ .python = 1,
					       .function = (char *)c->qualname,
					       .file = (char *)c->filename,
					       .line = line };
		st->pcs[st->n++] = lw_hash_combine(lw_hash_str(c->filename),
						   lw_hash_combine(lw_hash_str(c->qualname), line));
	}
}

/* Whether pp took its hold i before its hold j: one in an outer frame (a
 * greater index), or lower on the same frame's stack (recorded first). */
static int taken_before(const struct lw_pyparticipant *pp, int i, int j)
{
	return pp->holds[i].frame > pp->holds[j].frame ||
	       (pp->holds[i].frame == pp->holds[j].frame && i < j);
}

/* One order: pp held its hold a when it took its hold b; 1 when new. */
static int put_order(struct lw_order *o, struct lw_source *src, struct lw_pymem *m,
		     const struct lw_pyparticipant *pp, int a, int b)
{
	struct lw_order_edge info = { .src = src, .tid = pp->tid, .task = pp->task ? pp->addr : 0 };
	struct lw_frame held_fr[LW_ORDER_FRAMES], taken_fr[LW_ORDER_FRAMES];
	struct lw_order_stack held, taken;
	struct lw_order_edge *e;
	uint64_t gates[LW_GATES_MAX];
	uint32_t gen[2];
	int added, n = 0;
	char name[2][LW_NAME_LEN];

	memcpy(info.comm, pp->name, strnlen(pp->name, LW_COMM_LEN)); /* cut like a comm */
	/* a lock is its address and its name: an address freed and given to
	 * another lock (the allocator hands the last freed out first: two
	 * locks of one object can swap with the next object's) is another
	 * lock, unless the code names both the same */
	for (int k = 0; k < 2; k++) {
		pyname__held(m, pp, k ? b : a, name[k], sizeof(name[k]));
		gen[k] = name[k][0] ? (uint32_t)lw_hash_str(name[k]) | 1 : 0;
	}
	/* gates: the other locks held since before both */
	for (int k = 0; k < pp->nholds; k++)
		if (k != a && k != b && taken_before(pp, k, a) &&
		    order_kind(m, pp->holds[k].lock) && info.ngates < LW_GATES_MAX)
			info.gates[info.ngates++] = pp->holds[k].lock;
	order_stack(m, pp, pp->holds[a].frame, &held, held_fr);
	order_stack(m, pp, pp->holds[b].frame, &taken, taken_fr);
	e = order__add(o, &info, &held, &taken, pymem__pid(m), pp->holds[a].lock, gen[0],
		       pp->holds[b].lock, gen[1], &added);
	if (!e)
		return 0;
	for (int k = 0; k < 2; k++) {
		struct lw_order_lock *l = k ? e->b : e->a;

		if (l->graph_kind)
			continue;
		l->graph_kind = order_kind(m, pp->holds[k ? b : a].lock);
		l->name = name[k][0] ? strdup(name[k]) : NULL;
	}
	if (added)
		return 1;
	/* seen again: only the gates held both times still gate it */
	for (int k = 0; k < e->ngates; k++)
		for (int j = 0; j < info.ngates; j++)
			if (e->gates[k] == info.gates[j])
				gates[n++] = e->gates[k];
	if (n < e->ngates)
		order__narrow(o, pymem__pid(m), pp->holds[a].lock, gen[0], pp->holds[b].lock,
			      gen[1], 0, gates, n);
	return 0;
}

int pyorders__put(struct lw_order *o, struct lw_source *src, struct lw_pymem *m,
		  const struct lw_pylook *lk, int room)
{
	int added = 0;

	for (int i = 0; i < lk->snap.n && added < room; i++) {
		const struct lw_pyparticipant *pp = &lk->snap.p[i];

		/* one that runs may have been read at two instants: its holds
		 * need not have been held together */
		if (pp->task ? pp->state == -1 : pp->th->sc.nr < 0)
			continue;
		for (int a = 0; pp->nholds > 1 && a < pp->nholds; a++)
			for (int b = 0; b < pp->nholds; b++)
				if (a != b && pp->holds[a].lock != pp->holds[b].lock &&
				    taken_before(pp, a, b) && order_kind(m, pp->holds[a].lock) &&
				    order_kind(m, pp->holds[b].lock))
					added += put_order(o, src, m, pp, a, b);
	}
	return added;
}

int pyorders__stand(struct lw_pymem *m, const struct lw_order_edge *e)
{
	int ok;

	pymem__reset(m); /* memory as it is now */
	ok = order_kind(m, e->a->addr) == e->a->graph_kind &&
	     order_kind(m, e->b->addr) == e->b->graph_kind;
	pymem__trim(m);
	return ok;
}
