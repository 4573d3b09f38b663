// SPDX-License-Identifier: GPL-2.0
/* One turn of sources -> graph -> detectors -> reports -> sinks (pipeline.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "core/order.h"
#include "loop/pipeline.h"
#include "sys/log.h"
#include "sys/proc.h"

int pipeline__init(struct lw_pipeline *p, struct lw_sink *sinks, struct lw_syms_cache *syms,
		   double wait_threshold, double hold_threshold, double stall_threshold)
{
	memset(p, 0, sizeof(*p));
	p->sinks = sinks;
	p->graph = graph__new();
	p->detect = detect__new((uint64_t)(wait_threshold * 1e9), (uint64_t)(hold_threshold * 1e9),
				(uint64_t)(stall_threshold * 1e9));
	p->report = report__new(syms);
	if (!p->graph || !p->detect || !p->report) {
		pipeline__destroy(p);
		return -ENOMEM;
	}
	return 0;
}

int pipeline__add_source(struct lw_pipeline *p, struct lw_source *s)
{
	if (p->nsources == LW_SOURCES_MAX) {
		s->ops->destroy(s);
		return -ENOSPC;
	}
	p->sources[p->nsources++] = s;
	return 0;
}

void pipeline__watch(struct lw_pipeline *p, pid_t pid)
{
	/* a new program (execve): the old one's lock orders are gone with it */
	order__forget(graph__order(p->graph), pid);
	for (int i = 0; i < p->nsources; i++)
		if (p->sources[i]->ops->watch)
			p->sources[i]->ops->watch(p->sources[i], pid);
}

void pipeline__forget(struct lw_pipeline *p, pid_t pid)
{
	if (p->ngone < LW_TARGETS_MAX)
		p->gone[p->ngone++] = pid;
	else
		order__forget(graph__order(p->graph), pid);
	for (int i = 0; i < p->nsources; i++)
		if (p->sources[i]->ops->forget)
			p->sources[i]->ops->forget(p->sources[i], pid);
}

int pipeline__turn(struct lw_pipeline *p, const struct lw_turn *t)
{
	struct lw_finding *found;
	int n, err;

	graph__clear(p->graph);
	for (int i = 0; i < p->nsources; i++) {
		err = p->sources[i]->ops->contribute(p->sources[i], p->graph, t);
		if (err)
			lw_debug("source %s: %s", p->sources[i]->ops->name, strerror(-err));
	}
	if (graph__refused(p->graph))
		lw_debug("graph full: %llu participants or locks left out",
			 (unsigned long long)graph__refused(p->graph));
	n = detect__run(p->detect, p->graph, t, &found);
	if (n < 0)
		return n;
	for (int i = 0; i < n; i++) {
		struct lw_alert *a = report__alert(p->report, &found[i], t->now_ns);

		if (!a) {
			/* not said, so not taken for said: a later turn tries again */
			lw_err("out of memory: an alert is put off to a later turn");
			detect__unreported(p->detect, &found[i]);
			continue;
		}
		/* deadlock, orphaned_lock and lock_order (an inversion, with
		 * --lock-order) are deadlock-class; long_wait, long_hold and
		 * hang (which a signal may yet end) are not */
		if (found[i].kind == LW_FINDING_DEADLOCK ||
		    found[i].kind == LW_FINDING_ORPHANED_LOCK ||
		    found[i].kind == LW_FINDING_LOCK_ORDER)
			p->deadlocks++;
		p->alerts++;
		sinks__alert(p->sinks, a);
		alert__free(a);
	}
	for (int i = 0; i < p->ngone; i++)
		order__forget(graph__order(p->graph), p->gone[i]);
	p->ngone = 0;
	if (sinks__want_graph(p->sinks))
		sinks__graph(
			p->sinks,
			report__graph(p->report, p->graph, detect__standing(p->detect), t->now_ns),
			t->now_ns);
	return 0;
}

int pipeline__observe_all(struct lw_pipeline *p, pid_t pid, struct lw_observation **out)
{
	int n = graph__nparticipants(p->graph);
	unsigned int round = confirm__round();
	struct lw_observation *o = calloc(n + 1, sizeof(*o));

	*out = o;
	if (!o)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		const struct lw_participant *q = graph__participant(p->graph, i);

		if (q->pid != pid)
			continue;
		if (q->type == LW_PARTICIPANT_THREAD && !lw_proc_syscall(pid, q->tid, &o[i].sc))
			o[i].has_sc = 1;
		if (q->shown_by && q->shown_by->ops->describe)
			q->shown_by->ops->describe(q->shown_by, q, round, &o[i]);
	}
	return 0;
}

int pipeline__unsettled(struct lw_pipeline *p)
{
	for (int i = 0; i < p->nsources; i++)
		if (p->sources[i]->ops->unsettled && p->sources[i]->ops->unsettled(p->sources[i]))
			return 1;
	return 0;
}

int pipeline__next_turn_ms(struct lw_pipeline *p)
{
	int ms = detect__pending(p->detect) ? 0 : -1;

	for (int i = 0; i < p->nsources; i++) {
		int s = p->sources[i]->ops->next_turn_ms ?
				p->sources[i]->ops->next_turn_ms(p->sources[i]) :
				-1;

		if (s >= 0 && (ms < 0 || s < ms))
			ms = s;
	}
	return ms;
}

void pipeline__stats(struct lw_pipeline *p, struct lw_summary *sum)
{
	sum->alerts = p->alerts;
	sum->deadlocks = p->deadlocks;
	for (int i = 0; i < p->nsources; i++)
		if (p->sources[i]->ops->stats)
			p->sources[i]->ops->stats(p->sources[i], sum);
}

void pipeline__destroy(struct lw_pipeline *p)
{
	for (int i = 0; i < p->nsources; i++)
		p->sources[i]->ops->destroy(p->sources[i]);
	p->nsources = 0;
	report__free(p->report);
	detect__free(p->detect);
	graph__free(p->graph);
	p->report = NULL;
	p->detect = NULL;
	p->graph = NULL;
}
