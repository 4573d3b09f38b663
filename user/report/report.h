/* SPDX-License-Identifier: GPL-2.0 */
/* Turns a confirmed cycle into an alert: names, lock symbols, stacks. */
#ifndef LW_REPORT_H
#define LW_REPORT_H

#include <stdint.h>
#include "report/alert.h"
#include "core/graph.h"
#include "sys/syms.h"

/* now_ns: CLOCK_MONOTONIC, to turn wait start times into durations */
void report__deadlock(struct lw_alert *a, const struct lw_cycle *c, struct lw_syms_cache *syms,
		      uint64_t now_ns);
/* Waiters of a lock whose owner (lock->gone_tid, named gone_name) exited;
 * sc: each waiter's syscall as confirmed. */
void report__orphan(struct lw_alert *a, struct lw_gnode *const *waiters,
		    const struct lw_syscall *sc, int n, const struct lw_glock *lock,
		    const char *gone_name, struct lw_syms_cache *syms, uint64_t now_ns);

/* Waiters of one lock past --wait-threshold; sc as confirmed. */
void report__long_wait(struct lw_alert *a, struct lw_gnode *const *waiters,
		       const struct lw_syscall *sc, int n, const struct lw_glock *lock,
		       struct lw_syms_cache *syms, uint64_t now_ns);

/*
 * What every waiter in the graph waits for, grouped by lock, into out (at
 * most max groups); waits whose memory names no owner (semaphores, condition
 * variables, barriers) get their type from where the waiter sleeps.
 */
int report__blocked(struct lw_graph *g, struct lw_blocked *out, int max,
		    struct lw_syms_cache *syms);

/* lockwatch's own CPU time and peak RSS, into the summary. */
void report__self_usage(struct lw_summary *sum);

#endif /* LW_REPORT_H */
