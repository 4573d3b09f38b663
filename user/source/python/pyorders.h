/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Python lock orders: an asyncio.Lock, threading.Lock or RLock that a look
 * finds a task or a thread holding inside another (taken after it: in an
 * inner frame, or higher on the same frame's stack) is an order, kept in
 * the order graph (core/order.h) beside the native ones, with who took it,
 * its frames, the other locks held since before both (gates), and the
 * locks' kinds and names. A lock is its address and its name (an address
 * reused by another lock is not the same lock). Only participants standing
 * still are read for orders (a running one may be read at two instants). A
 * cycle of orders is a lock_order.
 */
#ifndef LW_PYORDERS_H
#define LW_PYORDERS_H

#include "core/order.h"
#include "core/source.h"
#include "source/python/pylook.h"

/* The orders of look lk (of m's process), seen by src, into o, at most
 * room new ones (a process's orders are bounded): how many were new. */
int pyorders__put(struct lw_order *o, struct lw_source *src, struct lw_pymem *m,
		  const struct lw_pylook *lk, int room);
/* Whether e's locks are still locks of the kinds they were (read now). */
int pyorders__stand(struct lw_pymem *m, const struct lw_order_edge *e);

#endif /* LW_PYORDERS_H */
