/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The detectors, on the one graph: a cycle of waits is a deadlock (a
 * participant waiting for a lock it holds itself, a cycle of one); the
 * waiters of a lock whose holder is provably gone are an orphaned lock; the
 * waiters of a native lock past --wait-threshold are a long wait; a lock
 * held past --hold-threshold a long hold, an event loop held by one
 * callback past --stall-threshold a stalled loop. Each
 * finding is reported once (one dedup), and only once the confirmation
 * driver has seen every wait in it stand still, as the graph says, twice
 * and a few ms apart: each wait is re-checked by the source that saw it.
 */
#ifndef LW_DETECT_H
#define LW_DETECT_H

#include <stdint.h>
#include "core/graph.h"
#include "core/source.h"

enum lw_finding_kind {
	LW_FINDING_DEADLOCK,
	LW_FINDING_ORPHANED_LOCK,
	LW_FINDING_LONG_WAIT,
	LW_FINDING_LONG_HOLD, /* a lock held past --hold-threshold, waiters or not */
	LW_FINDING_LOOP_STALL, /* an event loop held by one callback past --stall-threshold */
	LW_FINDING_LOCK_ORDER, /* a cycle of lock orders: an inversion */
	LW_FINDING_HANG, /* every thread of a process waits, for good, with no cycle */
};

/* A confirmed finding; valid until the next detect__run() (and this turn's
 * graph). */
struct lw_finding {
	enum lw_finding_kind kind;
	int n;
	/* a deadlock: the cycle, each waiting for a lock the next one holds;
	 * a hang: every thread of the process */
	struct lw_participant **waiters;
	struct lw_observation *obs; /* each waiter as confirmed */
	struct lw_lock *lock; /* orphaned lock, long wait, long hold, stall: the lock */
	struct lw_observation hold; /* the lock's hold as confirmed (hold.src's) */
	/* an orphan nobody waits for yet: every lock one thread exited with */
	int nlocks;
	struct lw_lock **locks;
	int norders;
	struct lw_order_edge **orders; /* a lock order: the cycle, each then the next */
	uint64_t sig;
};

/* Confirmations one turn may run (each sleeps CONFIRM_GAP_MS, and may read a
 * large Python process twice), and the time they may take together: the
 * rest wait for the next turn, so the loop's timers and signals are served. */
#define LW_CONFIRMS_PER_TURN 8
#define LW_CONFIRM_TURN_NS (200 * 1000000ull)
#define LW_CONFIRM_GAP_MS 10

struct lw_detect;

/* long_wait, long_hold and loop_stall past these; 0: never. */
struct lw_detect *detect__new(uint64_t wait_threshold_ns, uint64_t hold_threshold_ns,
			      uint64_t stall_threshold_ns);
void detect__free(struct lw_detect *d);

/*
 * Find what g shows, confirm what is new (within the turn's budget), and
 * return the newly confirmed findings in *out (owned by d): their number,
 * or -errno.
 */
int detect__run(struct lw_detect *d, struct lw_graph *g, const struct lw_turn *t,
		struct lw_finding **out);
/* f, one of the last run's, could not be reported (out of memory): it is
 * found, confirmed and returned again by a later run, not taken for said. */
void detect__unreported(struct lw_detect *d, const struct lw_finding *f);
/* After a run: deadlock-class findings in the graph that were confirmed
 * (now or before), and whether candidates were left for the next turn. */
unsigned int detect__standing(const struct lw_detect *d);
int detect__pending(const struct lw_detect *d);

/* A round of re-checks of its own (sources read anew in it), for what is
 * observed outside a confirmation: a dump's participants. (core/confirm.c) */
unsigned int confirm__round(void);

/* Every wait of f seen twice, LW_CONFIRM_GAP_MS apart, standing still as
 * the graph says: 1, with f->obs filled; else 0. (core/confirm.c) */
int confirm__finding(struct lw_finding *f);

#endif /* LW_DETECT_H */
