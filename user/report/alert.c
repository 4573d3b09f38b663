// SPDX-License-Identifier: GPL-2.0
/* The memory of an alert (see model.h): one allocation per array, sized for
 * the finding, so a cycle of any length fits. */
#include <stdlib.h>
#include "report/model.h"

struct lw_alert *alert__new(enum lw_alert_kind kind, int n)
{
	struct lw_alert *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->kind = kind;
	a->room = n > 0 ? n : 1;
	a->procs = calloc(a->room, sizeof(*a->procs));
	a->waits = calloc(a->room, sizeof(*a->waits));
	a->threads = calloc(a->room, sizeof(*a->threads));
	a->locks = calloc(a->room, sizeof(*a->locks));
	a->holds = calloc(a->room, sizeof(*a->holds));
	a->orders = calloc(a->room, sizeof(*a->orders));
	if (!a->procs || !a->waits || !a->threads || !a->locks || !a->holds || !a->orders) {
		alert__free(a);
		return NULL;
	}
	return a;
}

void alert__free(struct lw_alert *a)
{
	if (!a)
		return;
	for (int i = 0; a->threads && i < a->nthreads; i++) {
		lw_frames_free(a->threads[i].stack, a->threads[i].nframes);
		free(a->threads[i].stack);
	}
	for (int i = 0; a->holds && i < a->nholds; i++) {
		lw_frames_free(a->holds[i].taken_at, a->holds[i].ntaken_at);
		free(a->holds[i].taken_at);
	}
	for (int i = 0; a->orders && i < a->norders; i++) {
		lw_frames_free(a->orders[i].held_at, a->orders[i].nheld_at);
		free(a->orders[i].held_at);
		lw_frames_free(a->orders[i].taken_at, a->orders[i].ntaken_at);
		free(a->orders[i].taken_at);
	}
	free(a->procs);
	free(a->waits);
	free(a->threads);
	free(a->locks);
	free(a->holds);
	free(a->orders);
	free(a);
}
