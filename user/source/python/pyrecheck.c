// SPDX-License-Identifier: GPL-2.0
/*
 * The CPython source's re-checks (see pysource.h): whether a wait, a hold or
 * a stall a look put into the graph stands, from a read of the process made
 * for the round of re-checks - partial where it can be (only the tasks the
 * finding rests on), whole where it must.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "source/python/pysource.h"
#include "sys/hash.h"

static int same_participant(const struct lw_pyparticipant *a, const struct lw_pyparticipant *b)
{
	return a == b || (a && b && a->task == b->task && a->addr == b->addr);
}

/* The tasks a re-check of gp rests on: gp, who holds what it waits for,
 * who holds what that one waits for, and so on (a cycle's every member),
 * at most max; how many. */
static int chain(const struct pyproc *p, const struct lw_participant *gp, uint64_t *want, int max)
{
	const struct lw_participant *q = gp;
	int n = 0;

	for (int k = 0; q && k < max; k++) {
		if (q->pid == p->pid && q->type == LW_PARTICIPANT_TASK)
			want[n++] = q->addr;
		q = q->wait.lock ? q->wait.lock->holder : NULL;
		if (q == gp)
			break;
	}
	return n;
}

/* A re-check's read of p into its other look: whole (want NULL) or
 * partial; what it saw, or NULL when it could not be read. */
static const struct lw_pylook *reread(struct lw_python_source *ps, struct pyproc *p,
				      const uint64_t *want, int nwant)
{
	struct lw_pylook *other = &p->look[p->cur ^ 1];

	ps->rereads++;
	ps->rereads_partial += !!want;
	p->seen_whole = !want;
	p->seen = pysource__read(p, other, want, nwant) ? NULL : other;
	return p->seen;
}

/*
 * What the re-checks of this round see, one read shared by every wait of
 * this process the round asks about: the turn's own look first; else the
 * tasks the first question rests on (the chain of waits from gp, or the
 * task `task`), as a partial read - at 100,000 tasks a whole second look
 * would double lockwatch's memory - or a whole read when whole is set. A
 * question the partial read cannot answer as asked is asked again of a
 * whole read (seen_again()), so that partial reads change no verdict.
 */
static const struct lw_pylook *seen_in(struct lw_python_source *ps, struct pyproc *p,
				       unsigned int round, const struct lw_participant *gp,
				       uint64_t task, int whole)
{
	uint64_t want[WANT_MAX];
	int n = 0;

	if (p->round == round)
		return p->seen;
	p->round = round;
	if (p->fresh) {
		p->fresh = 0;
		p->seen_whole = 1;
		p->seen = &p->look[p->cur];
		return p->seen;
	}
	if (whole)
		return reread(ps, p, NULL, 0);
	if (gp)
		n = chain(p, gp, want, WANT_MAX - 1);
	if (task)
		want[n++] = task;
	pymem__sort(want, n, sizeof(*want));
	return reread(ps, p, want, n);
}

/* This round's read again, whole, when the one it has is partial; else
 * NULL: what was seen stands as seen. */
static const struct lw_pylook *seen_again(struct lw_python_source *ps, struct pyproc *p)
{
	return p->seen_whole ? NULL : reread(ps, p, NULL, 0);
}

/* Where the participant is, in the program's terms, for the report: each
 * frame's function, file and line (and whether a C call entered there). */
static void frames_of(struct lw_pymem *m, const struct lw_pyparticipant *pp,
		      struct lw_observation *o)
{
	o->running = pp->task && pp->state == -1;
	o->frames = calloc(pp->nframes ? pp->nframes : 1, sizeof(*o->frames));
	if (!o->frames)
		return;
	for (int i = 0; i < pp->nframes; i++) {
		const struct lw_pycode *c = pymem__code(m, pp->frames[i].code);
		struct lw_frame *f = &o->frames[o->nframes];

		if (!c)
			continue;
		f->python = 1;
		f->entry = pp->frames[i].entry;
		f->function = strdup(c->qualname);
		f->file = strdup(c->filename);
		f->line = pycode__line(c, pp->frames[i].instr);
		o->nframes++;
	}
}

/*
 * The wait stands when the read of this round finds its participant waiting
 * for the same lock with the same holder (or the same proof that none is
 * alive), and it and its holder exactly where the graph's look had them.
 */
static int wait_stands(const struct lw_pylook *lk, const struct lw_pywait *was,
		       struct lw_observation *o)
{
	int i = lk ? pylook__find(lk, was->waiter->task, was->waiter->addr) : -1;
	const struct lw_pywait *now = i >= 0 ? &lk->waits[i] : NULL;
	uint64_t fp;

	if (!now || now->kind != was->kind || now->lock != was->lock || now->gone != was->gone ||
	    !same_participant(now->holder, was->holder))
		return 0;
	fp = pylook__fingerprint(now->waiter);
	if (fp != pylook__fingerprint(was->waiter))
		return 0;
	if (now->holder) {
		uint64_t h = pylook__fingerprint(now->holder);

		if (h != pylook__fingerprint(was->holder))
			return 0;
		fp = lw_hash_combine(fp, h);
	}
	o->fingerprint = fp;
	if (!now->waiter->task) {
		o->has_sc = 1;
		o->sc = now->waiter->th->sc;
	}
	return 1;
}

int pyrecheck__observe(struct lw_source *s, const struct lw_participant *gp, unsigned int round,
		       struct lw_observation *o)
{
	struct lw_python_source *ps = (struct lw_python_source *)s;
	struct pyproc *p = pysource__find(ps, gp->pid);
	const struct lw_pywait *was = gp->wait.rec;
	const struct lw_pylook *lk;

	if (!p || !p->valid || p->withdrawn)
		return 0;
	/* an orphan's proof takes every task */
	for (lk = seen_in(ps, p, round, gp, 0, was->gone); !wait_stands(lk, was, o);)
		if (!(lk = seen_again(ps, p))) {
			/* the graph's look is stale: out until a new one, due now */
			p->withdrawn = 1;
			return 0;
		}
	return 1;
}

/* A stall stands when its loop is still in the callback it was in, and
 * this round's read finds its thread inside a callback (Handle._run): the
 * thread's frames, and the task whose step runs. */
static int observe_stall(struct lw_python_source *ps, struct pyproc *p, const struct lw_pystall *st,
			 unsigned int round, struct lw_observation *o)
{
	const struct lw_pyparticipant *pp;
	const struct lw_pylook *lk;
	int in_callback = 0;

	int64_t ident;

	if (!pystall__stands(p->m, st) || !(lk = seen_in(ps, p, round, NULL, 0, 0)) ||
	    !(pp = pystate__thread(&lk->snap, st->tid)) || !pystall__stands(p->m, st))
		return 0;
	/* still that thread's loop (not one run before the one it runs now) */
	if (pymem__int(p->m, pymem__attr(p->m, st->loop, "_thread_id"), &ident) ||
	    (uint64_t)ident != pp->th->ident) {
		p->withdrawn = 1; /* a new look, and its loops, at once */
		return 0;
	}
	for (int i = 0; i < pp->nframes; i++) {
		const struct lw_pycode *c = pymem__code(p->m, pp->frames[i].code);

		in_callback |= c && !strcmp(c->qualname, "Handle._run");
	}
	if (!in_callback)
		return 0;
	for (int i = 0; i < lk->snap.n; i++)
		if (lk->snap.p[i].task && lk->snap.p[i].state == -1 &&
		    lk->snap.p[i].loop == st->loop) {
			snprintf(o->task, sizeof(o->task), "%s", lk->snap.p[i].name);
			o->task_addr = lk->snap.p[i].addr;
		}
	o->fingerprint = lw_hash_combine(lw_hash_combine(st->loop, st->count), st->since_ns);
	if (pp->th->sc.nr >= 0) {
		o->has_sc = 1;
		o->sc = pp->th->sc;
	}
	frames_of(p->m, pp, o);
	return 1;
}

/* A hold stands when this round's read finds its holder still holding the
 * lock, standing still as it stood. */
int pyrecheck__observe_hold(struct lw_source *s, const struct lw_lock *l,
			    const struct lw_participant *holder, const struct lw_hold_info *h,
			    unsigned int round, struct lw_observation *o)
{
	struct lw_python_source *ps = (struct lw_python_source *)s;
	struct pyproc *p = pysource__find(ps, l->pid);
	const struct lw_pyhold *was = h->rec;
	const struct lw_pyparticipant *pp = NULL;
	const struct lw_pylook *lk;

	(void)holder;
	if (p && p->valid && l->kind == LW_LOCK_EVENT_LOOP)
		return observe_stall(ps, p, h->rec, round, o);
	if (!p || !p->valid || !was)
		return 0;
	for (lk = seen_in(ps, p, round, NULL, was->task ? was->holder : 0, 0); !pp;) {
		int i = lk ? pylook__find(lk, was->task, was->holder) : -1;

		if (i >= 0 && pyholds__stands(was, &lk->snap.p[i]))
			pp = &lk->snap.p[i];
		else if (!(lk = seen_again(ps, p)))
			return 0;
	}
	o->fingerprint = lw_hash_combine(was->lock, was->still);
	if (!pp->task) {
		o->has_sc = 1;
		o->sc = pp->th->sc;
	}
	frames_of(p->m, pp, o);
	return 1;
}

/* The participant's frames as the last re-check's read saw them (a thread
 * whose wait the futex source saw gets a read of its own). */
void pyrecheck__describe(struct lw_source *s, const struct lw_participant *gp, unsigned int round,
			 struct lw_observation *o)
{
	struct lw_python_source *ps = (struct lw_python_source *)s;
	struct pyproc *p = pysource__find(ps, gp->pid);
	const struct lw_pyparticipant *was = gp->shown_rec;
	const struct lw_pylook *lk;
	int i;

	if (!p || !p->valid)
		return;
	/* a round of its own (`lockwatch dump`) asks about every participant */
	lk = seen_in(ps, p, round, gp, 0, p->round != round);
	i = lk ? pylook__find(lk, was->task, was->addr) : -1;
	if (i < 0 && (lk = seen_again(ps, p)))
		i = pylook__find(lk, was->task, was->addr);
	if (i >= 0)
		frames_of(p->m, &lk->snap.p[i], o);
}
