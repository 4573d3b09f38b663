// SPDX-License-Identifier: GPL-2.0
/*
 * The detectors (see detect.h): one rule each for cycles, orphaned locks,
 * long waits, long holds, stalled event loops and lock-order inversions,
 * whatever the sources of
 * the waits, holds and orders; candidates that were not reported before go
 * to the confirmation driver, at most LW_CONFIRMS_PER_TURN a turn.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "core/detect.h"
#include "core/order.h"
#include "core/seen.h"
#include "sys/clock.h"
#include "sys/hash.h"

struct lw_detect {
	uint64_t wait_threshold_ns;
	uint64_t hold_threshold_ns;
	uint64_t stall_threshold_ns;
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

/* One hold: its lock, its holder, since when. */
static uint64_t hold_sig(const struct lw_lock *l)
{
	return lw_hash_combine(lw_hash_combine(lw_hash_combine(0x686f6c64ull, lw_hash_str(l->key)),
					       (uint32_t)l->holder->tid),
			       l->hold.since_ns);
}

/* An inversion: the set of its orders, whichever order closed it. */
static uint64_t orders_sig(struct lw_order_edge *const *e, int n)
{
	uint64_t sig = 0x6f72646572ull;

	for (int i = 0; i < n; i++)
		sig += lw_hash_combine(
			lw_hash_combine(lw_hash_combine(lw_hash_key(e[i]->a->pid), e[i]->a->addr),
					e[i]->b->addr),
			(uint64_t)e[i]->a->gen << 32 | e[i]->b->gen);
	return sig;
}

struct lw_detect *detect__new(uint64_t wait_threshold_ns, uint64_t hold_threshold_ns,
			      uint64_t stall_threshold_ns)
{
	struct lw_detect *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->wait_threshold_ns = wait_threshold_ns;
	d->hold_threshold_ns = hold_threshold_ns;
	d->stall_threshold_ns = stall_threshold_ns;
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
	observation__free(&f->hold);
	free(f->waiters);
	free(f->obs);
	free(f->orders);
	free(f->locks);
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

static struct lw_finding *add_candidate(struct lw_detect *d, enum lw_finding_kind kind,
					struct lw_participant *const *w, int n,
					struct lw_lock *lock, uint64_t sig)
{
	struct lw_finding *f;

	if (d->ncand == d->cap) {
		int cap = d->cap ? d->cap * 2 : 16;
		struct lw_finding *v = realloc(d->cand, cap * sizeof(*v));

		if (!v)
			return NULL;
		d->cand = v;
		d->cap = cap;
	}
	f = &d->cand[d->ncand];
	memset(f, 0, sizeof(*f));
	f->waiters = malloc((n + 1) * sizeof(*f->waiters));
	f->obs = calloc(n + 1, sizeof(*f->obs));
	if (!f->waiters || !f->obs) {
		free(f->waiters);
		free(f->obs);
		return NULL;
	}
	if (n)
		memcpy(f->waiters, w, n * sizeof(*w));
	f->kind = kind;
	f->n = n;
	f->lock = lock;
	f->sig = sig;
	d->ncand++;
	return f;
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
	if (ripe(d->t, c, n) && !add_candidate(d, LW_FINDING_DEADLOCK, c, n, NULL, sig))
		d->err = -ENOMEM;
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
		else if (!add_candidate(d, kind, v + i, j - i, l, sig))
			err = -ENOMEM;
	}
	free(v);
	return err;
}

/*
 * Locks whose holder a source saw take them: gone with it (an orphan nobody
 * waits for yet: the waited-for ones are per_lock's), or held past the
 * hold threshold, waiters or not.
 */
static int by_gone(const void *x, const void *y)
{
	const struct lw_lock *a = *(struct lw_lock *const *)x, *b = *(struct lw_lock *const *)y;

	if (a->pid != b->pid)
		return a->pid < b->pid ? -1 : 1;
	if (a->gone_tid != b->gone_tid)
		return a->gone_tid < b->gone_tid ? -1 : 1;
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

/* Locks a source saw their holder take and exit with, nobody waiting for
 * them yet (the waited-for ones are per_lock's): one finding per thread
 * that exited, naming them all. */
static int per_exit(struct lw_detect *d)
{
	int n = graph__nall_locks(d->g), k = 0, err = 0;
	struct lw_lock **v = malloc((n + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		struct lw_lock *l = graph__lock_at(d->g, i);

		if (l->hold.src && l->holder_gone && !l->holder && !l->nwaiters) {
			if (seen__has(d->seen, orphan_sig(l)))
				d->standing++;
			else
				v[k++] = l;
		}
	}
	qsort(v, k, sizeof(*v), by_gone);
	for (int i = 0, j; i < k && !err; i = j) {
		struct lw_finding *f;

		for (j = i; j < k && v[j]->pid == v[i]->pid && v[j]->gone_tid == v[i]->gone_tid;
		     j++)
			;
		f = add_candidate(d, LW_FINDING_ORPHANED_LOCK, NULL, 0, v[i], orphan_sig(v[i]));
		if (!f || !(f->locks = malloc((j - i) * sizeof(*f->locks)))) {
			err = -ENOMEM;
			break;
		}
		memcpy(f->locks, v + i, (j - i) * sizeof(*v));
		f->nlocks = j - i;
	}
	free(v);
	return err;
}

/* A wait nothing outside the process can end, and that has lasted: no
 * timeout, on the process's own memory, for LW_HANG_NS. */
static int stuck_inside(const struct lw_turn *t, const struct lw_participant *p)
{
	const struct lw_wait *w = &p->wait;

	return p->type == LW_PARTICIPANT_THREAD && w->lock && !(w->flags & LW_WAIT_TIMED) &&
	       !strncmp(w->lock->key, "anon:", 5) && w->start_ns &&
	       t->now_ns >= w->start_ns + LW_HANG_NS;
}

static int by_pid(const void *a, const void *b)
{
	const struct lw_participant *x = *(struct lw_participant *const *)a;
	const struct lw_participant *y = *(struct lw_participant *const *)b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* p waits in a deadlock or for an orphaned lock, found this run or
 * reported before: that says more than a hang. */
static int in_deadlock(const struct lw_detect *d, const struct lw_participant *p)
{
	if (seen__has(d->seen, wait_sig(p)))
		return 1;
	for (int i = 0; i < d->ncand; i++) {
		const struct lw_finding *f = &d->cand[i];

		for (int k = 0; k < f->n && f->kind != LW_FINDING_LONG_WAIT; k++)
			if (f->waiters[k] == p)
				return 1;
	}
	return 0;
}

/* Processes whose every thread is stuck inside: hung, with no cycle. */
static int per_hang(struct lw_detect *d)
{
	int n = graph__nparticipants(d->g), k = 0, err = 0;
	struct lw_participant **v = malloc((n + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		struct lw_participant *p = graph__participant(d->g, i);

		if (stuck_inside(d->t, p) && graph__threads(d->g, p->pid) > 0)
			v[k++] = p;
	}
	qsort(v, k, sizeof(*v), by_pid);
	for (int i = 0, j; i < k && !err; i = j) {
		uint64_t sig = 0x68616e67ull;
		int cycle = 0;

		for (j = i; j < k && v[j]->pid == v[i]->pid; j++) {
			sig += wait_sig(v[j]);
			cycle |= in_deadlock(d, v[j]);
		}
		if (cycle || j - i != graph__threads(d->g, v[i]->pid))
			continue;
		if (seen__has(d->seen, sig))
			continue;
		if (!add_candidate(d, LW_FINDING_HANG, v + i, j - i, NULL, sig))
			err = -ENOMEM;
	}
	free(v);
	return err;
}

/* Locks held past the hold threshold, waited for or not; event loops held
 * by one callback past the stall threshold (a stall is one hold: reported
 * once). */
static int per_hold(struct lw_detect *d, enum lw_finding_kind kind, uint64_t threshold_ns)
{
	const struct lw_turn *t = d->t;

	for (int i = 0; threshold_ns && i < graph__nall_locks(d->g); i++) {
		struct lw_lock *l = graph__lock_at(d->g, i);

		if (!l->hold.src || !l->holder || !l->hold.since_ns ||
		    (l->kind == LW_LOCK_EVENT_LOOP) != (kind == LW_FINDING_LOOP_STALL) ||
		    t->now_ns < l->hold.since_ns || t->now_ns - l->hold.since_ns < threshold_ns ||
		    seen__has(d->seen, hold_sig(l)))
			continue;
		if (!add_candidate(d, kind, NULL, 0, l, hold_sig(l)))
			return -ENOMEM;
	}
	return 0;
}

#define ORDERS_CYCLE_MAX 4096 /* orders of one inversion, at most */

/* New or changed orders: an inversion each one closes, once. */
/* A candidate of this run already (a cycle found through two of its orders). */
static int candidate(const struct lw_detect *d, uint64_t sig)
{
	for (int i = 0; i < d->ncand; i++)
		if (d->cand[i].sig == sig)
			return 1;
	return 0;
}

static int per_order(struct lw_detect *d)
{
	struct lw_order_edge **changed, **cycle = malloc(ORDERS_CYCLE_MAX * sizeof(*cycle));
	int n = order__changed(graph__order(d->g), &changed), err = 0;

	if (!cycle)
		return -ENOMEM;
	for (int i = 0; i < n && !err; i++) {
		int k = order__cycle_through(graph__order(d->g), changed[i], cycle,
					     ORDERS_CYCLE_MAX);
		struct lw_finding *f;
		uint64_t sig;

		if (k < 2 || seen__has(d->seen, sig = orders_sig(cycle, k)) || candidate(d, sig))
			continue;
		f = add_candidate(d, LW_FINDING_LOCK_ORDER, NULL, 0, NULL, sig);
		if (!f || !(f->orders = malloc(k * sizeof(*f->orders)))) {
			err = -ENOMEM;
			break;
		}
		memcpy(f->orders, cycle, k * sizeof(*cycle));
		f->norders = k;
	}
	free(cycle);
	return err;
}

/* Remembered as reported: the finding, and each of its waits, so that a
 * deadlock's waiters get no long_wait on top. */
/* op (seen__add, seen__remove) on each signature a finding stands for */
static void each_sig(struct lw_detect *d, const struct lw_finding *f,
		     void (*op)(struct lw_seen *, uint64_t))
{
	op(d->seen, f->sig);
	for (int i = 0; i < f->nlocks; i++)
		op(d->seen, orphan_sig(f->locks[i]));
	for (int i = 0; i < f->n; i++)
		op(d->seen, wait_sig(f->waiters[i]));
}

static void remember(struct lw_detect *d, const struct lw_finding *f)
{
	each_sig(d, f, seen__add);
}

void detect__unreported(struct lw_detect *d, const struct lw_finding *f)
{
	each_sig(d, f, seen__remove);
	if (f->kind == LW_FINDING_DEADLOCK || f->kind == LW_FINDING_ORPHANED_LOCK)
		d->standing--;
	if (f->kind == LW_FINDING_LOCK_ORDER && f->norders)
		order__again(graph__order(d->g), f->orders[0]); /* its orders, handed out again */
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

/* Inversions left unconfirmed for lack of budget (from the k-th of the n
 * candidates at first): the order graph hands their orders out again. */
static void put_off(struct lw_detect *d, int first, int n, int k)
{
	for (; k < n; k++) {
		struct lw_finding *f = &d->cand[first + (d->rotor + k) % n];

		if (f->kind == LW_FINDING_LOCK_ORDER)
			order__again(graph__order(d->g), f->orders[0]);
	}
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
	if (!err)
		err = per_exit(d);
	if (!err)
		err = per_hold(d, LW_FINDING_LONG_HOLD, d->hold_threshold_ns);
	if (!err)
		err = per_hold(d, LW_FINDING_LOOP_STALL, d->stall_threshold_ns);
	if (!err)
		err = per_order(d);
	if (!err)
		err = per_hang(d);
	if (err < 0)
		return err;
	/*
	 * Deadlocks first, then orphans, then long waits (a deadlock's waiters
	 * get no long wait on top), then locks gone with their holder, long
	 * holds, stalled loops and inversions: candidates were found in that
	 * order. Within
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
				put_off(d, first, n, k);
				break;
			}
			budget--;
			if (!confirm__finding(f))
				continue;
			remember(d, f);
			if (f->kind == LW_FINDING_DEADLOCK || f->kind == LW_FINDING_ORPHANED_LOCK)
				d->standing++;
			d->found[d->nfound++] = *f; /* it owns the arrays now */
			memset(f, 0, sizeof(*f));
		}
	}
	/* the next run starts past the candidates this one tried */
	d->rotor += LW_CONFIRMS_PER_TURN - budget > 0 ? LW_CONFIRMS_PER_TURN - budget : 1;
	*out = d->found;
	return d->nfound;
}
