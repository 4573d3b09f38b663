// SPDX-License-Identifier: GPL-2.0
/*
 * The detectors (see detect.h): one rule each for cycles, orphaned locks and
 * long waits, whatever the sources of the waits; candidates that were not
 * reported before go to the confirmation driver, at most
 * LW_CONFIRMS_PER_TURN a turn.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "core/detect.h"
#include "core/seen.h"
#include "sys/clock.h"
#include "sys/hash.h"

struct lw_detect {
	uint64_t wait_threshold_ns;
	struct lw_seen *seen;
	struct lw_finding *cand; /* this run's candidates */
	int ncand, cap;
	struct lw_finding found[LW_CONFIRMS_PER_TURN]; /* this run's confirmed */
	int nfound;
	unsigned int rotor; /* where the next run starts confirming */
	unsigned int standing;
	int pending;
	/* this run's */
	struct lw_graph *g;
	const struct lw_turn *t;
	int err;
};

/* One wait of one participant: the same for the same wait in every turn,
 * different for a later wait on the same lock. A thread is its TID, a task
 * its process and object (the thread its loop runs on may be unknown in one
 * read and known in the next). */
static uint64_t wait_sig(const struct lw_participant *p)
{
	uint64_t id = p->type == LW_PARTICIPANT_TASK ?
			      lw_hash_combine(((uint64_t)1 << 62) | (uint32_t)p->pid, p->addr) :
			      lw_hash64((uint32_t)p->tid);

	return lw_hash_combine(lw_hash_combine(id, lw_hash_str(p->wait.lock->key)),
			       p->wait.start_ns);
}

static uint64_t cycle_sig(struct lw_participant *const *c, int n)
{
	uint64_t sig = 0x6379636c65ull; /* order-independent: a sum */

	for (int i = 0; i < n; i++)
		sig += wait_sig(c[i]);
	return sig;
}

static uint64_t orphan_sig(const struct lw_lock *l)
{
	return lw_hash_combine(lw_hash_combine(0x6f727068616eull, lw_hash_str(l->key)),
			       (uint64_t)l->gone_tid);
}

struct lw_detect *detect__new(uint64_t wait_threshold_ns)
{
	struct lw_detect *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->wait_threshold_ns = wait_threshold_ns;
	d->seen = seen__new();
	if (!d->seen) {
		free(d);
		return NULL;
	}
	return d;
}

static void free_finding(struct lw_finding *f)
{
	for (int k = 0; f->obs && k < f->n; k++)
		observation__free(&f->obs[k]);
	free(f->waiters);
	free(f->obs);
	memset(f, 0, sizeof(*f));
}

static void drop_candidates(struct lw_detect *d)
{
	for (int i = 0; i < d->ncand; i++)
		free_finding(&d->cand[i]);
	for (int i = 0; i < d->nfound; i++)
		free_finding(&d->found[i]);
	d->ncand = d->nfound = 0;
}

void detect__free(struct lw_detect *d)
{
	if (!d)
		return;
	drop_candidates(d);
	free(d->cand);
	seen__free(d->seen);
	free(d);
}

unsigned int detect__standing(const struct lw_detect *d)
{
	return d->standing;
}

int detect__pending(const struct lw_detect *d)
{
	return d->pending;
}

static int add_candidate(struct lw_detect *d, enum lw_finding_kind kind,
			 struct lw_participant *const *w, int n, struct lw_lock *lock, uint64_t sig)
{
	struct lw_finding *f;

	if (d->ncand == d->cap) {
		int cap = d->cap ? d->cap * 2 : 16;
		struct lw_finding *v = realloc(d->cand, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		d->cand = v;
		d->cap = cap;
	}
	f = &d->cand[d->ncand];
	memset(f, 0, sizeof(*f));
	f->waiters = malloc(n * sizeof(*f->waiters));
	f->obs = calloc(n, sizeof(*f->obs));
	if (!f->waiters || !f->obs) {
		free(f->waiters);
		free(f->obs);
		return -ENOMEM;
	}
	memcpy(f->waiters, w, n * sizeof(*w));
	f->kind = kind;
	f->n = n;
	f->lock = lock;
	f->sig = sig;
	d->ncand++;
	return 0;
}

/* Worth confirming now: a wait in it is old enough, or a probe saw it close. */
static int ripe(const struct lw_turn *t, struct lw_participant *const *c, int n)
{
	for (int i = 0; i < n; i++) {
		const struct lw_wait *w = &c[i]->wait;

		if (!t->min_age_ns || (w->flags & LW_WAIT_HINTED) || !w->start_ns ||
		    (t->now_ns >= w->start_ns && t->now_ns - w->start_ns >= t->min_age_ns))
			return 1;
	}
	return 0;
}

static int on_cycle(struct lw_participant **c, int n, void *arg)
{
	struct lw_detect *d = arg;
	uint64_t sig = cycle_sig(c, n);

	if (seen__has(d->seen, sig)) {
		d->standing++;
		return 0;
	}
	if (ripe(d->t, c, n))
		d->err = add_candidate(d, LW_FINDING_DEADLOCK, c, n, NULL, sig);
	return d->err;
}

static int by_lock(const void *a, const void *b)
{
	const struct lw_participant *x = *(struct lw_participant *const *)a;
	const struct lw_participant *y = *(struct lw_participant *const *)b;
	uintptr_t lx = (uintptr_t)x->wait.lock, ly = (uintptr_t)y->wait.lock;

	if (lx != ly)
		return lx < ly ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int orphaned(const struct lw_detect *d, const struct lw_participant *p)
{
	const struct lw_lock *l = p->wait.lock;

	return l && l->holder_gone && !l->holder && !(p->wait.flags & LW_WAIT_TIMED);
}

static int too_long(const struct lw_detect *d, const struct lw_participant *p)
{
	const struct lw_wait *w = &p->wait;
	const struct lw_turn *t = d->t;

	return d->wait_threshold_ns && w->lock && lw_lock_kind_is_native_lock(w->lock->kind) &&
	       !(w->flags & LW_WAIT_TIMED) && w->start_ns && t->now_ns >= w->start_ns &&
	       t->now_ns - w->start_ns >= d->wait_threshold_ns && !seen__has(d->seen, wait_sig(p));
}

/* The waiters that rule `pick` takes, one candidate per lock. */
static int per_lock(struct lw_detect *d, enum lw_finding_kind kind,
		    int (*pick)(const struct lw_detect *d, const struct lw_participant *p))
{
	int n = graph__nparticipants(d->g), k = 0, err = 0;
	struct lw_participant **v = malloc((n + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		struct lw_participant *p = graph__participant(d->g, i);

		if (pick(d, p))
			v[k++] = p;
	}
	qsort(v, k, sizeof(*v), by_lock);
	for (int i = 0, j; i < k && !err; i = j) {
		struct lw_lock *l = v[i]->wait.lock;
		uint64_t sig = kind == LW_FINDING_ORPHANED_LOCK ? orphan_sig(l) : wait_sig(v[i]);

		for (j = i; j < k && v[j]->wait.lock == l; j++)
			;
		if (kind == LW_FINDING_ORPHANED_LOCK && seen__has(d->seen, sig))
			d->standing++;
		else
			err = add_candidate(d, kind, v + i, j - i, l, sig);
	}
	free(v);
	return err;
}

/* Remembered as reported: the finding, and each of its waits, so that a
 * deadlock's waiters get no long_wait on top. */
static void remember(struct lw_detect *d, const struct lw_finding *f)
{
	seen__add(d->seen, f->sig);
	for (int i = 0; i < f->n; i++)
		seen__add(d->seen, wait_sig(f->waiters[i]));
}

/* Drops the waiters of a long wait that a finding confirmed before it in
 * this run already covers; 0 when none is left. */
static int still_long(struct lw_detect *d, struct lw_finding *f)
{
	int k = 0;

	for (int i = 0; i < f->n; i++)
		if (!seen__has(d->seen, wait_sig(f->waiters[i])))
			f->waiters[k++] = f->waiters[i];
	f->n = k;
	return k > 0;
}

int detect__run(struct lw_detect *d, struct lw_graph *g, const struct lw_turn *t,
		struct lw_finding **out)
{
	int budget = LW_CONFIRMS_PER_TURN, err;
	uint64_t until = lw_now_ns() + LW_CONFIRM_TURN_NS;

	drop_candidates(d);
	d->standing = 0;
	d->pending = 0;
	d->g = g;
	d->t = t;
	d->err = 0;
	err = graph__cycles(g, on_cycle, d);
	if (!err)
		err = per_lock(d, LW_FINDING_ORPHANED_LOCK, orphaned);
	if (!err && d->wait_threshold_ns)
		err = per_lock(d, LW_FINDING_LONG_WAIT, too_long);
	if (err < 0)
		return err;
	/*
	 * Deadlocks first, then orphans, then long waits (a deadlock's waiters
	 * get no long wait on top): candidates were found in that order. Within
	 * each kind the run starts where the last one stopped, so candidates
	 * that keep failing to confirm cannot crowd out one that would.
	 */
	for (int first = 0, n; first < d->ncand; first += n) {
		for (n = 1; first + n < d->ncand && d->cand[first + n].kind == d->cand[first].kind;
		     n++)
			;
		for (int k = 0; k < n; k++) {
			struct lw_finding *f = &d->cand[first + (d->rotor + k) % n];

			if (f->kind == LW_FINDING_LONG_WAIT && !still_long(d, f))
				continue;
			if (!budget || lw_now_ns() > until) {
				d->pending = 1;
				break;
			}
			budget--;
			if (!confirm__finding(f))
				continue;
			remember(d, f);
			if (f->kind != LW_FINDING_LONG_WAIT)
				d->standing++;
			d->found[d->nfound++] = *f; /* it owns the arrays now */
			memset(f, 0, sizeof(*f));
		}
	}
	d->rotor++;
	*out = d->found;
	return d->nfound;
}
