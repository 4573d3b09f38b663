/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The wait-for graph: participants (threads; later asyncio tasks) wait for
 * locks; locks are held by participants. It is rebuilt from the kernel's
 * `waits` map (plus what /proc and memory say) whenever a chain may have
 * closed, so it never drifts from the source of truth. Locks are keyed by a
 * string naming their identity ("anon:PID:0xADDR", later the backing object
 * of a shared mapping), so the same lock seen from two processes is one node.
 */
#ifndef LW_GRAPH_H
#define LW_GRAPH_H

#include <stdint.h>
#include <sys/types.h>
#include "report/alert.h"
#include "lockwatch.h"
#include "sys/proc.h"

#define LW_KEY_LEN 96

struct lw_glock;

struct lw_gnode {
	const char *type; /* "thread" */
	pid_t pid, tid;
	struct lw_glock *waits_on; /* NULL: not waiting (or on nothing we model) */
	uint64_t wait_start_ns; /* CLOCK_MONOTONIC */
	int parked; /* PI: glibc parked it for good after the kernel's EDEADLK */
	struct lw_wait wait; /* what it waits in, as recorded */
	struct lw_gnode *hnext;
};

struct lw_glock {
	const char *type; /* "mutex", "pi_mutex", "thread_exit", "futex" */
	char key[LW_KEY_LEN];
	uint64_t addr; /* in `pid`'s address space */
	pid_t pid;
	struct lw_gnode *holder; /* NULL: unknown or free */
	pid_t gone_tid; /* the memory names an owner that no longer exists */
	struct lw_glock *hnext;
};

/* A cycle found in the graph, with what confirming it observed. */
struct lw_cedge {
	struct lw_gnode *waiter;
	struct lw_glock *lock;
	struct lw_gnode *holder; /* == the next edge's waiter */
	struct lw_syscall sc; /* the waiter's syscall, as confirmed */
};

struct lw_cycle {
	int n;
	struct lw_cedge e[LW_MAX_CYCLE];
};

struct lw_graph;

struct lw_graph *graph__new(void);
void graph__free(struct lw_graph *g);
/* Forget every node and lock (the memory is kept for the next build). */
void graph__clear(struct lw_graph *g);
/* Find or add; NULL only when out of memory. */
struct lw_gnode *graph__thread(struct lw_graph *g, pid_t pid, pid_t tid);
struct lw_glock *graph__lock(struct lw_graph *g, const char *key, const char *type, pid_t pid,
			     uint64_t addr);
struct lw_gnode *graph__find_thread(struct lw_graph *g, pid_t tid);
/* How many locks the graph holds. */
int graph__nlocks(struct lw_graph *g);
/* Call fn for every participant; stops early when fn returns non-zero. */
int graph__for_each_thread(struct lw_graph *g, int (*fn)(struct lw_gnode *n, void *arg), void *arg);
/*
 * Follow waits_on -> holder from start until a node repeats. Fills c with the
 * cycle (which may not pass through start) and returns its length, or 0.
 */
int graph__find_cycle(struct lw_graph *g, struct lw_gnode *start, struct lw_cycle *c);
/* A value that is the same for the same cycle, whatever node it starts at. */
uint64_t graph__cycle_signature(const struct lw_cycle *c);

#endif /* LW_GRAPH_H */
