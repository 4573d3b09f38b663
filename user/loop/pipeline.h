/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one path data takes, one way: sources -> graph -> detectors ->
 * reports -> sinks. A turn clears the graph, lets every source put into it
 * what it knows now, runs the detectors (which confirm what is new through
 * the sources), turns each new finding into an alert for the sinks, and
 * gives the sinks that show the graph its model. Both commands run turns:
 * `check` one, the watch loop one per sweep or hint.
 */
#ifndef LW_PIPELINE_H
#define LW_PIPELINE_H

#include <stdint.h>
#include <sys/types.h>
#include "core/detect.h"
#include "core/graph.h"
#include "lockwatch.h"
#include "core/source.h"
#include "report/report.h"
#include "sink/sink.h"

#define LW_SOURCES_MAX 4

struct lw_pipeline {
	struct lw_source *sources[LW_SOURCES_MAX];
	int nsources;
	struct lw_graph *graph;
	struct lw_detect *detect;
	struct lw_report *report;
	struct lw_sink *sinks; /* the caller's */
	uint64_t alerts; /* reported, all kinds */
	uint64_t deadlocks; /* deadlock-class alerts reported */
	/* exited since the last turn: their lock orders go after it, so that
	 * what a short-lived process did is still looked at */
	pid_t gone[LW_TARGETS_MAX];
	int ngone;
};

/* 0 or -ENOMEM. wait_threshold, hold_threshold, stall_threshold: seconds
 * before a long_wait, a long_hold, a loop_stall; 0: never. */
int pipeline__init(struct lw_pipeline *p, struct lw_sink *sinks, struct lw_syms_cache *syms,
		   double wait_threshold, double hold_threshold, double stall_threshold);
/* The pipeline owns s from now on; -ENOSPC when it has LW_SOURCES_MAX. */
int pipeline__add_source(struct lw_pipeline *p, struct lw_source *s);
/* Every source hears of a process to watch (or that called execve), and of
 * one that exited (whose lock orders stay for one more turn). */
void pipeline__watch(struct lw_pipeline *p, pid_t pid);
void pipeline__forget(struct lw_pipeline *p, pid_t pid);
/* One turn; 0 or -errno. */
int pipeline__turn(struct lw_pipeline *p, const struct lw_turn *t);
/* Milliseconds until some source (or a finding left unconfirmed for lack
 * of time) wants another turn; -1: no wish. */
int pipeline__next_turn_ms(struct lw_pipeline *p);
/* Whether a source saw something still in the making (source.h's
 * unsettled). */
int pipeline__unsettled(struct lw_pipeline *p);
/*
 * Where every participant of pid in the turn's graph is now, as the sources
 * show it (a thread's syscall, a Python participant's frames), read in a
 * round of its own (a dump's): into *out, one observation per participant
 * of the graph, in its order (others' empty); observation__free() each and
 * free(*out). 0 or -ENOMEM.
 */
int pipeline__observe_all(struct lw_pipeline *p, pid_t pid, struct lw_observation **out);
/* The counters of the run so far into sum: alerts, and each source's. */
void pipeline__stats(struct lw_pipeline *p, struct lw_summary *sum);
void pipeline__destroy(struct lw_pipeline *p);

#endif /* LW_PIPELINE_H */
