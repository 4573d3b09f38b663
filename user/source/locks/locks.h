/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The lock-site source (--lock-order): what the uprobes on the lock and
 * unlock calls of the watched processes saw (loop/uprobes.h). Lock orders
 * go into the order graph beside the wait-for graph, each with the thread
 * that took it and where - the first lock's call site, and the second's
 * stack, unwound here from the copy the probe sent. What each thread holds
 * now goes into the wait-for graph as holds: since when and where, readers
 * of an rwlock as holders too. A thread that exited holding locks leaves
 * them gone, at once. It re-checks a hold by reading the thread's holds
 * again, and an order by the locks' generations (made again, destroyed).
 */
#ifndef LW_LOCKS_SOURCE_H
#define LW_LOCKS_SOURCE_H

#include <stddef.h>
#include "core/source.h"
#include "lockwatch.h"

struct lw_uprobes;
struct lw_syms_cache;
struct lw_locks_source;

struct lw_locks_source *locks_source__new(struct lw_uprobes *u, struct lw_syms_cache *syms);
struct lw_source *locks_source__source(struct lw_locks_source *ls);

/* Records from the ring buffer, as the loop hands them on. */
void locks_source__order(struct lw_locks_source *ls, const struct lw_ev_order *e, size_t size);
void locks_source__gates(struct lw_locks_source *ls, const struct lw_ev_order_gates *e);
void locks_source__held_exit(struct lw_locks_source *ls, const struct lw_ev_held_exit *e);

#endif /* LW_LOCKS_SOURCE_H */
