// SPDX-License-Identifier: GPL-2.0
/*
 * The confirmation driver. Waits captured earlier go stale: glibc sets a
 * mutex's __owner after taking the lock word and clears it before releasing
 * it, a woken waiter keeps its wait until it runs, a Python read may catch a
 * task between two awaits. So nothing is reported until each wait of a
 * finding has been re-checked twice, LW_CONFIRM_GAP_MS apart, by the source
 * that saw it, and stood exactly as the graph says both times with nothing
 * moved in between (the same fingerprint: the same syscall and context-switch
 * count of a thread, the same frames of a task).
 */
#include <stdlib.h>
#include <string.h>
#include "core/detect.h"
#include "core/order.h"
#include "sys/clock.h"

static unsigned int round_no;

unsigned int confirm__round(void)
{
	return ++round_no;
}

void observation__free(struct lw_observation *o)
{
	lw_frames_free(o->frames, o->nframes);
	free(o->frames);
	o->frames = NULL;
	o->nframes = 0;
}

static int observe(const struct lw_participant *p, struct lw_observation *o)
{
	struct lw_source *s = p->wait.src;

	memset(o, 0, sizeof(*o));
	o->still = 1;
	if (s && s->ops->observe && s->ops->observe(s, p, round_no, o) == 1)
		return 1;
	observation__free(o);
	return 0;
}

static int same(const struct lw_observation *a, const struct lw_observation *b)
{
	return a->fingerprint == b->fingerprint &&
	       (!a->still ||
		(a->has_sc == b->has_sc && (!a->has_sc || !memcmp(&a->sc, &b->sc, sizeof(a->sc)))));
}

/* What the source that knows each waiter in the program's terms shows of
 * where it is, for the report. */
static void describe(struct lw_finding *f)
{
	for (int i = 0; i < f->n; i++) {
		const struct lw_participant *p = f->waiters[i];
		struct lw_source *s = p->shown_by;

		if (!s || !s->ops->describe)
			continue;
		lw_frames_free(f->obs[i].frames, f->obs[i].nframes);
		free(f->obs[i].frames);
		f->obs[i].frames = NULL;
		f->obs[i].nframes = 0;
		s->ops->describe(s, p, round_no, &f->obs[i]);
	}
}

/* A hold a source saw taken, as it stands now. */
static int observe_hold(const struct lw_lock *l, const struct lw_participant *holder,
			const struct lw_hold_info *h, struct lw_observation *o)
{
	struct lw_source *s = h ? h->src : NULL;

	memset(o, 0, sizeof(*o));
	if (s && s->ops->observe_hold && s->ops->observe_hold(s, l, holder, h, round_no, o) == 1)
		return 1;
	observation__free(o);
	return 0;
}

/*
 * The holds a finding rests on that a source saw taken (not read from the
 * lock's memory by the waiter's source): the lock's for a long hold or an
 * orphan nobody waits for; in a cycle, each lock's hold by the next waiter,
 * where a source saw that (an rwlock's reader). One observation each, into
 * o[0..f->n] (o[f->n]: the lock's own); 1 when all stand.
 */
static int observe_holds(const struct lw_finding *f, struct lw_observation *o)
{
	int ok = 1;

	for (int i = 0; i <= f->n; i++)
		memset(&o[i], 0, sizeof(o[i]));
	if (f->kind == LW_FINDING_LONG_HOLD || f->kind == LW_FINDING_LOOP_STALL)
		return observe_hold(f->lock, f->lock->holder, &f->lock->hold, &o[f->n]);
	/* locks gone with their holder, nobody waiting: each still names it */
	for (int i = 0; i < f->nlocks && ok; i++) {
		struct lw_observation x;

		ok = observe_hold(f->locks[i], NULL, &f->locks[i]->hold, &x);
		observation__free(&x);
	}
	if (f->nlocks)
		return ok;
	for (int i = 0; f->kind == LW_FINDING_DEADLOCK && i < f->n && ok; i++) {
		const struct lw_lock *l = f->waiters[i]->wait.lock;
		const struct lw_participant *next = f->waiters[(i + 1) % f->n];
		const struct lw_hold_info *h = graph__hold_of(l, next);

		if (h && (l->holder != next || l->hold.src))
			ok = observe_hold(l, next, h, &o[i]);
	}
	return ok;
}

static void free_holds(struct lw_observation *o, int n)
{
	for (int i = 0; i <= n; i++)
		observation__free(&o[i]);
	free(o);
}

/* Orders are history, not a state to see twice: each still stands when its
 * locks are still the locks they were. */
static int orders_stand(const struct lw_finding *f)
{
	for (int i = 0; i < f->norders; i++) {
		struct lw_source *s = f->orders[i]->src;

		if (!s || !s->ops->order_stands || !s->ops->order_stands(s, f->orders[i]))
			return 0;
	}
	return 1;
}

/* A hang's waiters are still every thread of their process. */
static int all_threads(const struct lw_finding *f)
{
	struct lw_source *s = f->waiters[0]->wait.src;

	return s && s->ops->threads && s->ops->threads(s, f->waiters[0]->pid) == f->n;
}

int confirm__finding(struct lw_finding *f)
{
	struct lw_observation o, *h1 = NULL, *h2 = NULL;
	int ok = 0;

	if (f->kind == LW_FINDING_LOCK_ORDER)
		return orders_stand(f);
	h1 = calloc(f->n + 1, sizeof(*h1));
	h2 = calloc(f->n + 1, sizeof(*h2));
	if (!h1 || !h2)
		goto out;
	round_no++;
	for (int i = 0; i < f->n; i++)
		if (!observe(f->waiters[i], &f->obs[i]))
			goto out;
	if (!observe_holds(f, h1))
		goto out;
	lw_sleep_ms(LW_CONFIRM_GAP_MS);
	round_no++;
	for (int i = 0; i < f->n; i++) {
		if (!observe(f->waiters[i], &o))
			goto out;
		if (!same(&o, &f->obs[i])) {
			observation__free(&o);
			goto out;
		}
		/* the later look is the one reported */
		observation__free(&f->obs[i]);
		f->obs[i] = o;
	}
	if (!observe_holds(f, h2))
		goto out;
	for (int i = 0; i <= f->n; i++)
		if (!same(&h1[i], &h2[i]))
			goto out;
	if (f->kind == LW_FINDING_HANG && !all_threads(f))
		goto out;
	/* the lock's own hold goes with the finding: its holder's stack */
	observation__free(&f->hold);
	f->hold = h2[f->n];
	memset(&h2[f->n], 0, sizeof(h2[f->n]));
	describe(f);
	ok = 1;
out:
	if (h1)
		free_holds(h1, f->n);
	if (h2)
		free_holds(h2, f->n);
	return ok;
}
