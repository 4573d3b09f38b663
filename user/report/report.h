/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Reports: the only place that turns the graph and its findings into words
 * for people and programs. Names come from the sources where the program
 * itself names things (a Python task, `Store._lock`), else from /proc (a
 * thread's comm) and the ELF symbols (`ledger`); stacks are unwound from the
 * sp/pc each wait was confirmed at (libdw, no ptrace) and, for Python, read
 * from the frames - merged, for a Python thread in native code. What comes
 * out are the finished models of model.h, which sinks only render.
 */
#ifndef LW_REPORT_H
#define LW_REPORT_H

#include <stdint.h>
#include "core/detect.h"
#include "core/graph.h"
#include "report/model.h"
#include "sys/syms.h"

struct lw_report;

struct lw_report *report__new(struct lw_syms_cache *syms);
void report__free(struct lw_report *r);
/* The symbols the report names things with. */
struct lw_syms_cache *report__syms(const struct lw_report *r);

/* The alert for a confirmed finding (now_ns: CLOCK_MONOTONIC, to turn wait
 * starts into durations); NULL when out of memory. alert__free() it. */
struct lw_alert *report__alert(struct lw_report *r, const struct lw_finding *f, uint64_t now_ns);

/* What every waiter in g waits for, grouped by lock, into out (at most max
 * groups); a bare futex word gets its kind from where the waiter sleeps
 * (semaphore, condvar, barrier...). */
int report__blocked(struct lw_report *r, struct lw_graph *g, struct lw_blocked *out, int max);

/* The graph as the files show it, with `standing` deadlock-class findings:
 * rebuilt when who waits for what changed, else at most once a second
 * (for the blocked times). Owned by r. */
const struct lw_graph_model *report__graph(struct lw_report *r, struct lw_graph *g,
					   unsigned int standing, uint64_t now_ns);

/*
 * `lockwatch dump PID`'s record: every participant of pid in g (its threads
 * first, in TID order, then its tasks), each with its stack (from obs, by
 * its index in g: pipeline__observe_all()), what it waits for and who holds
 * that, and every hold of pid's the graph has. NULL when out of memory.
 */
struct lw_alert *report__dump(struct lw_report *r, struct lw_graph *g, pid_t pid,
			      const struct lw_observation *obs, uint64_t now_ns);

/* lockwatch's own CPU time and peak RSS, into the summary. */
void report__self_usage(struct lw_summary *sum);

/* report/stack.c: where a participant is stuck, and what that tells. */
struct lw_stack {
	struct lw_frame *frames;
	int n;
	int err; /* 0, or the negative errno that cut it short */
};

/* p's stack as observation o saw it: native frames unwound from its
 * syscall's sp/pc (a thread), merged with the frames its source gave (a
 * Python participant). stack__free() it. */
void stack__of(struct lw_syms_cache *syms, const struct lw_participant *p,
	       const struct lw_observation *o, struct lw_stack *st);
void stack__free(struct lw_stack *st);
/* Where a lock was taken, or the stack of a taking, from pcs a source kept:
 * pcs[0] a return address when from_call (a lock call's), else the pc of a
 * probe; symbolized into *out (owned; NULL when none). How many frames. */
int stack__pcs(struct lw_syms_cache *syms, pid_t pid, const uint64_t *pcs, int n, int from_call,
	       struct lw_frame **out);
/* The function that called into the lock: the first frame outside libc. */
const char *stack__caller(const struct lw_stack *st);
/* A bare futex wait's kind, from the libc function p sleeps in:
 * "semaphore", "condvar", "barrier", ...; "futex" when none says. */
const char *stack__futex_kind(struct lw_syms_cache *syms, const struct lw_participant *p);

/* The lock's name and the rest, for an alert: the code's name, a join's
 * thread, the ELF symbol covering it, or where st called into it (st may be
 * NULL). */
void report__lock(struct lw_syms_cache *syms, struct lw_alert_lock *al, const struct lw_lock *l,
		  const struct lw_alert_participant *holder, const struct lw_stack *st);
/* An alert's view of p: type, pid, tid, its name (the program's, else comm). */
void report__participant(struct lw_alert_participant *a, const struct lw_participant *p);
/* The holder an alert names for l: a live one, an exited thread, a gone task. */
void report__holder(struct lw_alert_participant *h, const struct lw_lock *l);
/* l's index in a->locks, added (named, st for where it was called) when new. */
int report__add_lock(struct lw_syms_cache *syms, struct lw_alert *a, const struct lw_lock *l,
		     const struct lw_alert_participant *holder, const struct lw_stack *st);
/* pid's entry in a->procs, added when new: its index. */
int report__process(struct lw_alert *a, pid_t pid);
/* "pid 4242 (bank)", or "pids 4242 (bank), 4250 (audit)" */
void report__pids(char *buf, size_t len, const struct lw_alert *a);

/* report/orders.c: a lock_order alert's orders, locks and summary. */
void report__orders(struct lw_syms_cache *syms, struct lw_alert *a, const struct lw_finding *f);

#endif /* LW_REPORT_H */
