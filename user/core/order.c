// SPDX-License-Identifier: GPL-2.0
/*
 * The order graph (see order.h): locks and orders in hash tables, kept until
 * their process goes; and the search for an inversion through a new order,
 * breadth first, so the cycle found is a shortest one.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "core/order.h"
#include "sys/hash.h"

#define HASH_MIN 1024

struct lw_order {
	struct lw_order_lock **locks;
	struct lw_order_edge **edges;
	struct lw_order_stack **stacks;
	uint32_t lsize, esize, ssize;
	uint64_t nlocks, nedges, nstacks;
	struct lw_order_edge **changed; /* since the last order__since() */
	int nchanged, capchanged;
	struct lw_order_edge **out; /* what order__changed() returned */
	int nout;
};

static uint64_t lock_hash(pid_t pid, uint64_t addr, uint32_t gen)
{
	return lw_hash_combine(lw_hash_combine(lw_hash_key(pid), addr), gen);
}

static uint64_t edge_hash(pid_t pid, const struct lw_order_lock *a, const struct lw_order_lock *b,
			  unsigned int modes)
{
	return lw_hash_combine(
		lw_hash_combine(lw_hash_combine(lw_hash_key(pid), (uintptr_t)a), (uintptr_t)b),
		modes);
}

struct lw_order *order__new(void)
{
	struct lw_order *o = calloc(1, sizeof(*o));

	if (!o)
		return NULL;
	o->lsize = o->esize = o->ssize = HASH_MIN;
	o->locks = calloc(o->lsize, sizeof(*o->locks));
	o->edges = calloc(o->esize, sizeof(*o->edges));
	o->stacks = calloc(o->ssize, sizeof(*o->stacks));
	if (!o->locks || !o->edges || !o->stacks) {
		order__free(o);
		return NULL;
	}
	return o;
}

static void free_stack(struct lw_order_stack *s)
{
	if (s->frames)
		lw_frames_free(s->frames, s->n);
	free(s->frames);
	free(s);
}

void order__free(struct lw_order *o)
{
	if (!o)
		return;
	for (uint32_t i = 0; o->edges && i < o->esize; i++)
		while (o->edges[i]) {
			struct lw_order_edge *e = o->edges[i];

			o->edges[i] = e->hnext;
			free(e);
		}
	for (uint32_t i = 0; o->locks && i < o->lsize; i++)
		while (o->locks[i]) {
			struct lw_order_lock *l = o->locks[i];

			o->locks[i] = l->hnext;
			free(l->name);
			free(l);
		}
	for (uint32_t i = 0; o->stacks && i < o->ssize; i++)
		while (o->stacks[i]) {
			struct lw_order_stack *s = o->stacks[i];

			o->stacks[i] = s->hnext;
			free_stack(s);
		}
	free(o->locks);
	free(o->edges);
	free(o->stacks);
	free(o->changed);
	free(o->out);
	free(o);
}

uint64_t order__count(const struct lw_order *o)
{
	return o->nedges;
}

/* Doubles a table once it holds as many entries as slots. */
static void grow(void ***table, uint32_t *size, uint64_t count, size_t next_off,
		 uint64_t (*hash)(const void *))
{
	uint32_t nsize = *size * 2;
	void **t;

	if (count < *size || !(t = calloc(nsize, sizeof(*t))))
		return;
	for (uint32_t i = 0; i < *size; i++) {
		void *p = (*table)[i], *next;

		for (; p; p = next) {
			uint32_t h = hash(p) & (nsize - 1);

			next = *(void **)((char *)p + next_off);
			*(void **)((char *)p + next_off) = t[h];
			t[h] = p;
		}
	}
	free(*table);
	*table = t;
	*size = nsize;
}

static uint64_t lock_hash_of(const void *p)
{
	const struct lw_order_lock *l = p;

	return lock_hash(l->pid, l->addr, l->gen);
}

static uint64_t edge_hash_of(const void *p)
{
	const struct lw_order_edge *e = p;

	return edge_hash(e->a->pid, e->a, e->b, e->modes);
}

static uint64_t stack_hash(const struct lw_order_stack *s)
{
	uint64_t h = lw_hash_combine(lw_hash_key(s->n), s->from_call);

	for (int i = 0; i < s->n && i < LW_ORDER_FRAMES; i++)
		h = lw_hash_combine(h, s->pcs[i]);
	return h;
}

static uint64_t stack_hash_of(const void *p)
{
	return stack_hash(p);
}

/* The graph's copy of s, shared by every order taken there; NULL when out
 * of memory (the order is kept, without where). */
static const struct lw_order_stack *stack_ref(struct lw_order *o, const struct lw_order_stack *s)
{
	struct lw_order_stack c = { .from_call = s->from_call }, *k;
	uint32_t h;

	/* only the pcs that count: the rest of a copy can be anything */
	c.n = s->n < 0 ? 0 : s->n > LW_ORDER_FRAMES ? LW_ORDER_FRAMES : s->n;
	memcpy(c.pcs, s->pcs, c.n * sizeof(c.pcs[0]));
	h = stack_hash(&c) & (o->ssize - 1);
	for (k = o->stacks[h]; k; k = k->hnext)
		if (k->n == c.n && k->from_call == c.from_call &&
		    !memcmp(k->pcs, c.pcs, c.n * sizeof(c.pcs[0]))) {
			k->refs++;
			return k;
		}
	k = malloc(sizeof(*k));
	if (!k)
		return NULL;
	*k = c;
	if (s->frames && !(k->frames = lw_frames_dup(s->frames, c.n))) {
		free(k);
		return NULL;
	}
	k->refs = 1;
	k->hnext = o->stacks[h];
	o->stacks[h] = k;
	o->nstacks++;
	grow((void ***)&o->stacks, &o->ssize, o->nstacks, offsetof(struct lw_order_stack, hnext),
	     stack_hash_of);
	return k;
}

static void stack_unref(struct lw_order *o, const struct lw_order_stack *s)
{
	struct lw_order_stack **pp;

	if (!s || --((struct lw_order_stack *)s)->refs)
		return;
	for (pp = &o->stacks[stack_hash(s) & (o->ssize - 1)]; *pp; pp = &(*pp)->hnext)
		if (*pp == s) {
			*pp = s->hnext;
			free_stack((struct lw_order_stack *)s);
			o->nstacks--;
			return;
		}
}

static struct lw_order_lock *lock_of(struct lw_order *o, pid_t pid, uint64_t addr, uint32_t gen,
				     int add)
{
	uint32_t h = lock_hash(pid, addr, gen) & (o->lsize - 1);
	struct lw_order_lock *l;

	for (l = o->locks[h]; l; l = l->hnext)
		if (l->pid == pid && l->addr == addr && l->gen == gen)
			return l;
	if (!add || !(l = calloc(1, sizeof(*l))))
		return NULL;
	l->pid = pid;
	l->addr = addr;
	l->gen = gen;
	l->hnext = o->locks[h];
	o->locks[h] = l;
	o->nlocks++;
	grow((void ***)&o->locks, &o->lsize, o->nlocks, offsetof(struct lw_order_lock, hnext),
	     lock_hash_of);
	return l;
}

static struct lw_order_edge *edge_of(struct lw_order *o, struct lw_order_lock *a,
				     struct lw_order_lock *b, unsigned int modes)
{
	struct lw_order_edge *e;

	for (e = o->edges[edge_hash(a->pid, a, b, modes) & (o->esize - 1)]; e; e = e->hnext)
		if (e->a == a && e->b == b && e->modes == modes)
			return e;
	return NULL;
}

static void mark_changed(struct lw_order *o, struct lw_order_edge *e)
{
	if (e->changed)
		return;
	if (o->nchanged == o->capchanged) {
		int cap = o->capchanged ? o->capchanged * 2 : 64;
		struct lw_order_edge **v = realloc(o->changed, cap * sizeof(*v));

		if (!v)
			return;
		o->changed = v;
		o->capchanged = cap;
	}
	o->changed[o->nchanged++] = e;
	e->changed = 1;
}

struct lw_order_edge *order__add(struct lw_order *o, const struct lw_order_edge *info,
				 const struct lw_order_stack *held_at,
				 const struct lw_order_stack *taken_at, pid_t pid, uint64_t a,
				 uint32_t gen_a, uint64_t b, uint32_t gen_b, int *added)
{
	struct lw_order_lock *la = lock_of(o, pid, a, gen_a, 1), *lb = lock_of(o, pid, b, gen_b, 1);
	struct lw_order_edge *e;
	uint32_t h;

	*added = 0;
	if (!la || !lb)
		return NULL;
	la->kind = (info->modes & LW_HOLD_KIND) & ~LW_HOLD_READ;
	lb->kind = ((info->modes >> 8) & LW_HOLD_KIND) & ~LW_HOLD_READ;
	e = edge_of(o, la, lb, info->modes);
	if (e)
		return e;
	e = malloc(sizeof(*e));
	if (!e)
		return NULL;
	*e = *info;
	e->held_at = held_at ? stack_ref(o, held_at) : NULL;
	e->taken_at = taken_at ? stack_ref(o, taken_at) : NULL;
	e->changed = 0;
	e->a = la;
	e->b = lb;
	e->next_out = la->out;
	la->out = e;
	h = edge_hash(pid, la, lb, e->modes) & (o->esize - 1);
	e->hnext = o->edges[h];
	o->edges[h] = e;
	o->nedges++;
	grow((void ***)&o->edges, &o->esize, o->nedges, offsetof(struct lw_order_edge, hnext),
	     edge_hash_of);
	mark_changed(o, e);
	*added = 1;
	return e;
}

void order__narrow(struct lw_order *o, pid_t pid, uint64_t a, uint32_t gen_a, uint64_t b,
		   uint32_t gen_b, unsigned int modes, const uint64_t *gates, int ngates)
{
	struct lw_order_lock *la = lock_of(o, pid, a, gen_a, 0), *lb = lock_of(o, pid, b, gen_b, 0);
	struct lw_order_edge *e = la && lb ? edge_of(o, la, lb, modes) : NULL;

	if (!e || ngates > LW_GATES_MAX)
		return;
	if (ngates > 0)
		memcpy(e->gates, gates, ngates * sizeof(*gates));
	e->ngates = ngates;
	mark_changed(o, e);
}

void order__forget(struct lw_order *o, pid_t pid)
{
	int k = 0;

	for (int i = 0; i < o->nchanged; i++)
		if (o->changed[i]->a->pid != pid)
			o->changed[k++] = o->changed[i];
	o->nchanged = k;
	for (int i = k = 0; i < o->nout; i++)
		if (o->out[i]->a->pid != pid)
			o->out[k++] = o->out[i];
	o->nout = k;
	for (uint32_t i = 0; i < o->esize; i++)
		for (struct lw_order_edge **pp = &o->edges[i]; *pp;) {
			struct lw_order_edge *e = *pp;

			if (e->a->pid != pid) {
				pp = &e->hnext;
				continue;
			}
			*pp = e->hnext;
			stack_unref(o, e->held_at);
			stack_unref(o, e->taken_at);
			free(e);
			o->nedges--;
		}
	for (uint32_t i = 0; i < o->lsize; i++)
		for (struct lw_order_lock **pp = &o->locks[i]; *pp;) {
			struct lw_order_lock *l = *pp;

			if (l->pid != pid) {
				pp = &l->hnext;
				continue;
			}
			*pp = l->hnext;
			free(l->name);
			free(l);
			o->nlocks--;
		}
}

void order__again(struct lw_order *o, struct lw_order_edge *e)
{
	mark_changed(o, e);
}

int order__changed(struct lw_order *o, struct lw_order_edge ***out)
{
	free(o->out);
	o->out = o->changed;
	o->nout = o->nchanged;
	for (int i = 0; i < o->nout; i++)
		o->out[i]->changed = 0;
	o->changed = NULL;
	o->nchanged = o->capchanged = 0;
	*out = o->out;
	return o->nout;
}

/* --- the search for an inversion --- */

/* A state of the search: at a lock, entered as a reader or not, with the
 * gates of the new order that the path so far does not always carry. */
struct state {
	struct lw_order_lock *at;
	int read;
	unsigned int broken;
	int parent; /* state index, -1: the start */
	struct lw_order_edge *via;
};

struct search {
	struct state *v;
	int n, cap;
	uint32_t *slot; /* index + 1 into v, open addressing; 0: empty */
	uint32_t nslots;
};

static uint32_t state_hash(const struct lw_order_lock *at, int read, unsigned int broken)
{
	return (uint32_t)lw_hash_combine((uintptr_t)at, (uint64_t)read << 8 | broken);
}

/* Adds the state unless seen; its index, -1 when seen, -2 out of room. */
static int visit(struct search *s, struct lw_order_lock *at, int read, unsigned int broken,
		 int parent, struct lw_order_edge *via)
{
	uint32_t i = state_hash(at, read, broken) & (s->nslots - 1);

	for (; s->slot[i]; i = (i + 1) & (s->nslots - 1)) {
		struct state *x = &s->v[s->slot[i] - 1];

		if (x->at == at && x->read == read && x->broken == broken)
			return -1;
	}
	if (s->n == s->cap || (uint32_t)s->n * 2 >= s->nslots)
		return -2;
	s->v[s->n] = (struct state){ at, read, broken, parent, via };
	s->slot[i] = ++s->n;
	return s->n - 1;
}

/* The gates of e that f was taken without (a bit each). */
static unsigned int breaks(const struct lw_order_edge *e, const struct lw_order_edge *f)
{
	unsigned int m = 0;

	for (int i = 0; i < e->ngates; i++) {
		int has = 0;

		for (int k = 0; k < f->ngates && !has; k++)
			has = f->gates[k] == e->gates[i];
		if (!has)
			m |= 1u << i;
	}
	return m;
}

int order__cycle_through(struct lw_order *o, struct lw_order_edge *e, struct lw_order_edge **out,
			 int max)
{
	unsigned int full = (1u << e->ngates) - 1;
	struct search s = { .cap = 4096, .nslots = 8192 };
	int found = -1, n = 0;

	s.v = malloc(s.cap * sizeof(*s.v));
	s.slot = calloc(s.nslots, sizeof(*s.slot));
	if (!s.v || !s.slot)
		goto out;
	visit(&s, e->b, !!(e->modes & LW_ORDER_B_READ), 0, -1, NULL);
	for (int head = 0; head < s.n && found < 0; head++) {
		struct state cur = s.v[head];

		for (struct lw_order_edge *f = cur.at->out; f && found < 0; f = f->next_out) {
			unsigned int broken = cur.broken | breaks(e, f);
			int read = !!(f->modes & LW_ORDER_B_READ), k;

			/* readers of the same rwlock do not wait for each other */
			if (cur.read && (f->modes & LW_ORDER_A_READ))
				continue;
			if (f->b == e->a) {
				if ((read && (e->modes & LW_ORDER_A_READ)) || broken != full)
					continue;
				k = visit(&s, f->b, read, broken, head, f);
				if (k >= 0)
					found = k;
				continue;
			}
			k = visit(&s, f->b, read, broken, head, f);
			if (k == -2) {
				/* grow, within LW_ORDER_SEARCH_MAX */
				struct state *v;
				uint32_t *slot;

				if (s.cap * 2 > LW_ORDER_SEARCH_MAX ||
				    !(v = realloc(s.v, s.cap * 2 * sizeof(*v))))
					goto out;
				s.v = v;
				s.cap *= 2;
				if (!(slot = calloc(s.nslots * 2, sizeof(*slot))))
					goto out;
				free(s.slot);
				s.slot = slot;
				s.nslots *= 2;
				for (int j = 0; j < s.n; j++) {
					uint32_t i =
						state_hash(s.v[j].at, s.v[j].read, s.v[j].broken) &
						(s.nslots - 1);

					while (s.slot[i])
						i = (i + 1) & (s.nslots - 1);
					s.slot[i] = j + 1;
				}
				visit(&s, f->b, read, broken, head, f);
			}
		}
	}
	if (found < 0)
		goto out;
	/* e, then the path from e->b to e->a in order */
	for (int k = found; k > 0 && s.v[k].parent >= 0; k = s.v[k].parent)
		n++;
	if (n + 1 > max)
		goto out;
	out[0] = e;
	for (int k = found, i = n; k > 0 && s.v[k].parent >= 0; k = s.v[k].parent)
		out[i--] = s.v[k].via;
	n++;
out:
	free(s.v);
	free(s.slot);
	return found < 0 ? 0 : n;
}
