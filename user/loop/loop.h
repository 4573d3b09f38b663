/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The watch loop: the set of watched processes (followed through forks,
 * execve and exits), the ring buffer's records handed to whom they concern,
 * and the turns of the pipeline - on a 100 ms sweep, sooner after a hint -
 * until a stop condition (DESIGN.md, "Interfaces": SIGINT/SIGTERM,
 * --duration, --exit-on-deadlock, every watched process gone). One round of
 * the loop does bounded work: at most LW_EVENTS_PER_ROUND records, one
 * turn, whose confirmations and Python looks are bounded too, so timers and
 * signals are always served.
 */
#ifndef LW_LOOP_H
#define LW_LOOP_H

#include <signal.h>
#include <stdint.h>
#include <sys/types.h>
#include "loop/child.h"
#include "cmd/env.h"
#include "loop/pipeline.h"
#include "loop/tracer.h"
#include "report/model.h"
#include "loop/uprobes.h"
#include "source/futex/futex.h"
#include "source/locks/locks.h"

#define LW_EVENTS_PER_ROUND 4096
#define LW_SWEEP_MS 100 /* a turn at least this often */
#define LW_SWEEP_MIN_AGE_NS (50 * 1000000ull) /* sweeps start from waits this old */
#define LW_HINT_TURN_MS 10 /* hints start a turn at most this often */
/* and no turn starts sooner than this many times the CPU time the last one
 * used after the last one started: turns take at most a quarter of a CPU,
 * however many waits a host has or a process makes hints of. CPU time, not
 * time: on a host whose CPUs real-time threads take, a turn of 2 ms of work
 * can take seconds to be run, and must not put off the next one for longer */
#define LW_TURN_PACE 4
#define LW_STATS_MS 1000 /* the counters to the sinks that want them, this often */

struct lw_loop {
	const struct env *env;
	struct lw_tracer *tracer;
	struct lw_pipeline *pipe;
	struct lw_futex_source *futex;
	struct lw_uprobes *uprobes; /* --lock-order; NULL without */
	struct lw_locks_source *locks;
	struct lw_syms_cache *syms;
	struct lw_child *child; /* NULL with -p */
	pid_t pids[LW_TARGETS_MAX];
	uint8_t named[LW_TARGETS_MAX]; /* given with -p: say when it exits */
	int npids;
	pid_t dying[LW_TARGETS_MAX]; /* exited since the last turn */
	int ndying;
	uint64_t events;
	uint64_t start_ns;
	int look_now; /* waits were seeded: look at every one at once */
	unsigned int budget; /* records this round may still take */
	uint64_t turn_start, turn_ns; /* when the last turn started, its CPU time */
	uint64_t stop_ns; /* --duration's end; 0: none */
};

extern volatile sig_atomic_t lw_exiting;
/* SIGHUP: the sinks' files are opened again */
extern volatile sig_atomic_t lw_reopen;

/* Add a process to the watched set and the kernel's filter; 0 or -errno.
 * named: given by the user (its waits are seeded, its exit said). */
int loop__add(struct lw_loop *l, pid_t pid, int named);
/* Ring-buffer callback (lw_event_fn). */
int loop__on_event(void *ctx, const void *data, size_t size);
/* Whole host: seed what every process is already blocked in. */
void loop__seed_host(struct lw_loop *l);
/* Read ahead what reports will need (once, before the loop runs). */
void loop__prepare(struct lw_loop *l);
/* Run until a stop condition. */
void loop__run(struct lw_loop *l);
void loop__summary(struct lw_loop *l, struct lw_summary *s);

#endif /* LW_LOOP_H */
