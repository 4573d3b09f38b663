/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A source turns what it observes into participants and waits in the one
 * graph, and re-checks its own waits when asked. The futex tracer and the
 * state at attach (source/futex), the CPython reader (source/python), and
 * later uprobe lock sites, are sources. The watch loop owns them and tells
 * them which processes are watched; the confirmation driver (core/detect.c)
 * asks them, through observe(), whether a wait still stands. Nothing else
 * reaches into a source.
 */
#ifndef LW_SOURCE_H
#define LW_SOURCE_H

#include <stdint.h>
#include <sys/types.h>
#include "sys/proc.h"
#include "sys/syms.h"

struct lw_graph;
struct lw_participant;
struct lw_lock;
struct lw_hold_info;
struct lw_order_edge;
struct lw_summary;

/* A process whose every thread has waited this long, with no timeout, for
 * something only the process itself could end, is hung (core/detect.c); a
 * source that sees such waits says how many threads the process has
 * (graph__set_threads()). */
#define LW_HANG_NS (5 * 1000000000ull)

/* One turn of the pipeline, as the loop runs it. */
struct lw_turn {
	uint64_t now_ns; /* CLOCK_MONOTONIC */
	uint64_t min_age_ns; /* a search starts only from waits at least this old */
	int look_now; /* read everything now (check, right after attaching) */
	int all; /* dump: every participant and hold a source knows, waiting or not */
	uint64_t stop_ns; /* when the run ends (--duration): reading stops there; 0: never */
};

/* What re-checking a wait saw. Two observations a few ms apart with the
 * same fingerprint mean nothing moved in between. What it saw travels on
 * with the finding, for the report: where the participant is stuck. */
struct lw_observation {
	uint64_t fingerprint;
	int has_sc;
	struct lw_syscall sc; /* a thread's syscall: where its native stack is */
	int still; /* a wait's: the syscall must not change between looks */
	/* what only the source can show: a Python participant's frames,
	 * innermost first (owned; observation__free()) */
	struct lw_frame *frames;
	int nframes;
	/* a task's: its coroutine was running when read, so its frames were
	 * its thread's, not its own */
	int running;
	/* a stalled event loop's: the task whose step runs (addr 0: none, a
	 * plain callback) */
	char task[64];
	uint64_t task_addr;
};

/* Frees what an observation owns (core/confirm.c). */
void observation__free(struct lw_observation *o);

struct lw_source;

struct lw_source_ops {
	const char *name;
	/* Put what the source knows now into g, reading more first where it
	 * is due; 0 or -errno. */
	int (*contribute)(struct lw_source *s, struct lw_graph *g, const struct lw_turn *t);
	/*
	 * Re-check p's wait, which this source put into the graph this turn:
	 * 1 and *o when it stands as the graph says (the same lock, held by
	 * the same holder, or still by no one alive), else 0. Calls with the
	 * same round may share one read of a process.
	 */
	int (*observe)(struct lw_source *s, const struct lw_participant *p, unsigned int round,
		       struct lw_observation *o);
	/*
	 * Re-check a hold this source put into the graph (lw_lock.hold): 1 and
	 * *o (the holder's syscall, for its stack) when the same holder still
	 * holds it since the same time - or, for a holder gone, the lock's
	 * memory still names it; else 0 (optional).
	 */
	int (*observe_hold)(struct lw_source *s, const struct lw_lock *l,
			    const struct lw_participant *holder, const struct lw_hold_info *h,
			    unsigned int round, struct lw_observation *o);
	/* Whether an order this source saw still stands: its locks are the
	 * locks they were (not destroyed or made again since) (optional). */
	int (*order_stands)(struct lw_source *s, const struct lw_order_edge *e);
	/* How many threads pid has now, for re-checking a hang of waits this
	 * source saw; -errno (optional). */
	int (*threads)(struct lw_source *s, pid_t pid);
	/*
	 * Where p, which this source put into the graph as its shown_by, is in
	 * the program's own terms - its frames - into o->frames (optional).
	 * Asked once a finding is confirmed, with the round of the last
	 * re-check, whichever source saw p's wait.
	 */
	void (*describe)(struct lw_source *s, const struct lw_participant *p, unsigned int round,
			 struct lw_observation *o);
	/* A process to watch, or one that called execve (optional). */
	void (*watch)(struct lw_source *s, pid_t pid);
	/* A watched process exited (optional). */
	void (*forget)(struct lw_source *s, pid_t pid);
	/* Milliseconds until the source wants its next turn, or -1 (optional). */
	int (*next_turn_ms)(struct lw_source *s);
	/* Whether something the source saw is still in the making and more
	 * turns will tell (an event loop that may be stalling), for `check`,
	 * which otherwise takes one turn (optional). */
	int (*unsettled)(struct lw_source *s);
	/* Its counters into the run's summary (optional). */
	void (*stats)(struct lw_source *s, struct lw_summary *sum);
	void (*destroy)(struct lw_source *s);
};

struct lw_source {
	const struct lw_source_ops *ops;
};

#endif /* LW_SOURCE_H */
