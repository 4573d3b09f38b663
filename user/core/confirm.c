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
#include "sys/clock.h"

static unsigned int round_no;

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
	if (s && s->ops->observe && s->ops->observe(s, p, round_no, o) == 1)
		return 1;
	observation__free(o);
	return 0;
}

static int same(const struct lw_observation *a, const struct lw_observation *b)
{
	return a->fingerprint == b->fingerprint && a->has_sc == b->has_sc &&
	       (!a->has_sc || !memcmp(&a->sc, &b->sc, sizeof(a->sc)));
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

int confirm__finding(struct lw_finding *f)
{
	struct lw_observation o;

	round_no++;
	for (int i = 0; i < f->n; i++)
		if (!observe(f->waiters[i], &f->obs[i]))
			return 0;
	lw_sleep_ms(LW_CONFIRM_GAP_MS);
	round_no++;
	for (int i = 0; i < f->n; i++) {
		if (!observe(f->waiters[i], &o))
			return 0;
		if (!same(&o, &f->obs[i])) {
			observation__free(&o);
			return 0;
		}
		/* the later look is the one reported */
		observation__free(&f->obs[i]);
		f->obs[i] = o;
	}
	describe(f);
	return 1;
}
