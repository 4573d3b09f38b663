/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The order graph, beside the wait-for graph: every lock order a source saw
 * in a process (lock B taken, by a call that can block, while A was held),
 * kept for as long as the process lives and the locks are the same locks.
 * A cycle of orders is an inversion: the deadlock that only happens when
 * the timing lines up. Unlike the wait-for graph it is not rebuilt each
 * turn: orders are history.
 *
 * A cycle counts only when it can deadlock: at each lock of it, the thread
 * that holds it and the one that wants it must not both be readers of an
 * rwlock; and not every order of it may have been taken only under the same
 * other lock (a gate lock serializes them).
 */
#ifndef LW_ORDER_H
#define LW_ORDER_H

#include <stdint.h>
#include <sys/types.h>
#include "lockwatch.h"
#include "sys/syms.h"

#define LW_ORDER_FRAMES 16 /* where a lock was taken: pcs kept */

struct lw_source;

/* Where a lock was taken: its lock call and the callers. The orders taken on
 * one path share one (the graph keeps each distinct stack once). A source
 * that resolves its own frames (the CPython reader's) gives them too, and a
 * hash of each as its pc. */
struct lw_order_stack {
	uint64_t pcs[LW_ORDER_FRAMES];
	int n;
	int from_call; /* pcs[0] is a return address (else a probe's pc) */
	struct lw_frame *frames; /* NULL, or n resolved frames (the graph's copy owns them) */
	uint32_t refs; /* the graph's */
	struct lw_order_stack *hnext;
};

/* One lock of the order graph: an address in a process, in one generation. */
struct lw_order_lock {
	pid_t pid;
	uint64_t addr;
	uint32_t gen;
	unsigned int kind; /* LW_HOLD_RWLOCK, LW_HOLD_CUSTOM, or 0: a mutex */
	/* a lock of a source that knows it better (a Python lock): its kind in
	 * the wait-for graph's terms (enum lw_lock_kind), and its name as the
	 * code spells it (owned); 0 and NULL otherwise */
	int graph_kind;
	char *name;
	struct lw_order_edge *out; /* orders from it */
	struct lw_order_lock *hnext;
	uint32_t mark; /* the search's */
};

struct lw_order_edge {
	struct lw_order_lock *a, *b; /* a held, then b taken */
	unsigned int modes; /* LW_ORDER_A_READ, LW_ORDER_B_READ, kinds */
	uint64_t gates[LW_GATES_MAX]; /* other locks held every time it was taken */
	int ngates;
	struct lw_source *src; /* who saw it, and who re-checks it */
	/* who took it first, and where */
	pid_t tid;
	char comm[LW_COMM_LEN + 1];
	uint64_t task; /* a Python task took it: its Task object (comm: its name) */
	/* where a was taken (the callers as the stack stood when b was
	 * taken), and where b was */
	const struct lw_order_stack *held_at, *taken_at;
	int changed; /* in the list order__changed() hands out next */
	struct lw_order_edge *next_out; /* a->out list */
	struct lw_order_edge *hnext;
};

struct lw_order;

struct lw_order *order__new(void);
void order__free(struct lw_order *o);

/* An order seen, with what the source knows of it (e; where each lock was
 * taken, copied): the new edge, the one already there (NULL *added), or
 * NULL when out of memory. */
struct lw_order_edge *order__add(struct lw_order *o, const struct lw_order_edge *e,
				 const struct lw_order_stack *held_at,
				 const struct lw_order_stack *taken_at, pid_t pid, uint64_t a,
				 uint32_t gen_a, uint64_t b, uint32_t gen_b, int *added);
/* The order (a, b, modes) now has these gates (a subset): it counts as new
 * again, for the inversion rule. */
void order__narrow(struct lw_order *o, pid_t pid, uint64_t a, uint32_t gen_a, uint64_t b,
		   uint32_t gen_b, unsigned int modes, const uint64_t *gates, int ngates);
/* A process exited or called execve: its orders go. */
void order__forget(struct lw_order *o, pid_t pid);

/* Orders added or changed since the last call, into *out (owned by o, valid
 * until the next call or order__forget()); how many. */
int order__changed(struct lw_order *o, struct lw_order_edge ***out);
/* e in the next order__changed() list again: its search was put off. */
void order__again(struct lw_order *o, struct lw_order_edge *e);
/*
 * A shortest cycle through e that can deadlock: into out (e first, then the
 * orders that lead from e->b back to e->a), at most max; its length, or 0.
 * The search gives up past LW_ORDER_SEARCH_MAX states (0).
 */
#define LW_ORDER_SEARCH_MAX (1 << 20)
int order__cycle_through(struct lw_order *o, struct lw_order_edge *e, struct lw_order_edge **out,
			 int max);
/* Orders kept, in all. */
uint64_t order__count(const struct lw_order *o);

#endif /* LW_ORDER_H */
