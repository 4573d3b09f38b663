// SPDX-License-Identifier: GPL-2.0
/*
 * The list of sinks that detect.c hands each alert to (sink.h), and the
 * release of an alert once every sink has rendered it (alert.h).
 */
#include <stdlib.h>
#include "sink/sink.h"

void sinks__alert(struct lw_sink *head, const struct lw_alert *a)
{
	struct lw_sink *s;

	for (s = head; s; s = s->next)
		if (s->ops->alert)
			s->ops->alert(s, a);
}

void sinks__graph(struct lw_sink *head, struct lw_graph *g, uint64_t now_ns)
{
	for (struct lw_sink *s = head; s; s = s->next)
		if (s->ops->graph)
			s->ops->graph(s, g, now_ns);
}

void sinks__summary(struct lw_sink *head, const struct lw_summary *sum)
{
	struct lw_sink *s;

	for (s = head; s; s = s->next)
		if (s->ops->summary)
			s->ops->summary(s, sum);
}

void sinks__destroy(struct lw_sink *head)
{
	struct lw_sink *s, *next;

	for (s = head; s; s = next) {
		/* destroy() frees s, next with it */
		next = s->next;
		s->ops->destroy(s);
	}
}

/*
 * Frees what the alert owns, not the alert: detect.c may keep one on its
 * stack. lw_frames_free() releases only the frames' strings, since
 * syms__unwind() fills an array its caller provides; a thread report's array
 * is the alert's, from malloc(), so it is freed here too. Safe to call twice.
 */
void lw_alert_free(struct lw_alert *a)
{
	int i;

	if (!a)
		return;
	for (i = 0; i < a->nthreads && i < LW_MAX_CYCLE; i++) {
		struct lw_thread_report *t = &a->threads[i];

		lw_frames_free(t->stack, t->nframes);
		free(t->stack);
		t->stack = NULL;
		t->nframes = 0;
	}
}
