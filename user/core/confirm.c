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

static int observe(const struct lw_participant *p, struct lw_observation *o)
{
	struct lw_source *s = p->wait.src;

	memset(o, 0, sizeof(*o));
	return s && s->ops->observe && s->ops->observe(s, p, round_no, o) == 1;
}

static int same(const struct lw_observation *a, const struct lw_observation *b)
{
	return a->fingerprint == b->fingerprint && a->has_sc == b->has_sc &&
	       (!a->has_sc || !memcmp(&a->sc, &b->sc, sizeof(a->sc)));
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
		if (!observe(f->waiters[i], &o) || !same(&o, &f->obs[i]))
			return 0;
		f->obs[i] = o;
	}
	return 1;
}
