/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Stalled asyncio event loops. A loop runs one callback (a task's step) at a
 * time, popped off its _ready deque, between waits in its selector. The
 * deque counts every move of its ends, so while the loop's thread is seen
 * out of its selector and the count stands, one callback has been running
 * all along: a CPU-bound coroutine, or a blocking call inside one. Sampled
 * every turn, cheaply (the thread's syscall, one word of the deque); the
 * loops themselves come from the looks (the loops of the tasks).
 */
#ifndef LW_PYSTALL_H
#define LW_PYSTALL_H

#include <stdint.h>
#include <sys/types.h>
#include "source/python/pymem.h"
#include "source/python/pystate.h"

#define LW_PY_LOOPS 16 /* loops sampled per process */

struct lw_pystall {
	uint64_t loop, ready; /* the loop, its _ready deque */
	pid_t tid; /* the thread it runs on */
	int epfd; /* its selector's epoll fd; -1: another selector */
	uint64_t count; /* the deque's count of moves when last sampled */
	uint64_t since_ns; /* one callback running since (lower bound); 0: none */
	int run; /* samples that found that callback running */
	uint64_t samples; /* samples of this loop */
	int deque; /* its _ready is a deque (asyncio's own loop) */
	int kept; /* still one of the last look's loops */
	int seen; /* checked in this look already */
};

struct lw_pystalls {
	struct lw_pystall v[LW_PY_LOOPS];
	int n;
	uint64_t loops; /* loops ever sampled */
	uint64_t samples, busy; /* samples taken; of them, out of the selector */
};

/* The running loops of snapshot s; a loop sampled before keeps its record. */
void pystall__update(struct lw_pystalls *st, struct lw_pymem *m, const struct lw_pysnap *s);
/* Sample every loop now. */
void pystall__sample(struct lw_pystalls *st, struct lw_pymem *m, uint64_t now_ns);
/* Whether a loop may be stalling: seen in the same callback on its last
 * samples, or sampled once, in a callback (one more sample will tell). */
int pystall__suspect(const struct lw_pystalls *st);
/* Whether loop l is still in the callback it was in when sampled last. */
int pystall__stands(struct lw_pymem *m, const struct lw_pystall *l);

#endif /* LW_PYSTALL_H */
