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
/* The function that called into the lock: the first frame outside libc. */
const char *stack__caller(const struct lw_stack *st);
/* A bare futex wait's kind, from the libc function p sleeps in:
 * "semaphore", "condvar", "barrier", ...; "futex" when none says. */
const char *stack__futex_kind(struct lw_syms_cache *syms, const struct lw_participant *p);

#endif /* LW_REPORT_H */
