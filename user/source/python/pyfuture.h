/* SPDX-License-Identifier: GPL-2.0 */
/*
 * concurrent.futures in one look at a Python process: which future a
 * thread waits for in Future.result() or wait(), and who can complete it -
 * the ThreadPoolExecutor worker running it, the asyncio task it is chained
 * from (run_coroutine_threadsafe), the executor whose queue holds it, or the
 * event loop whose ready queue holds the callback that will start it. And
 * the asyncio futures chained to one (run_in_executor, wrap_future), which
 * tasks await. Read from the objects themselves: the workers' frames
 * (_worker, _WorkItem.run), each executor's SimpleQueue, futures' done
 * callbacks, loops' _ready deques; every list read is bounded.
 */
#ifndef LW_PYFUTURE_H
#define LW_PYFUTURE_H

#include <stdint.h>
#include "source/python/pymem.h"
#include "source/python/pystate.h"

/* Who can complete a future. */
struct lw_pyfuture {
	uint64_t fut; /* the concurrent.futures.Future */
	uint64_t runs; /* what it will run: a callable or a coroutine (0: unknown) */
	int worker; /* the participant (a thread) running it, or -1 */
	uint64_t task; /* the asyncio task it is chained from, or 0 */
	int pool; /* queued in this executor (an index among the look's), or -1 */
	uint64_t loop; /* the loop whose ready queue will start it, or 0 */
};

struct lw_pyfutures;
struct lw_pywait;

/* The futures of snapshot s (read now, from its threads' frames and its
 * tasks' loops): 0, or -ENOMEM. */
int pyfut__read(struct lw_pymem *m, const struct lw_pysnap *s, struct lw_pyfutures **out);
void pyfut__free(struct lw_pyfutures *f);

/* The future thread p is asleep for in Future.result() or wait() (of
 * wait(), one that is not done, when it waits for all); 0: none. */
uint64_t pyfut__waited(struct lw_pymem *m, const struct lw_pyparticipant *p);
/*
 * Who can complete `fut`: a concurrent future, or (asyncio set) an asyncio
 * future chained to one of the look's. 0 into *out (no one in it, for a
 * concurrent future the look found nothing of); -1 when it is done, or an
 * asyncio future chained to none the look knows.
 */
int pyfut__find(struct lw_pymem *m, struct lw_pyfutures *f, uint64_t fut, int asyncio,
		struct lw_pyfuture *out);
/* The waiters w of s (one per participant) whose future is queued in an
 * executor (queued[i]: 1 + the executor, from pyfut__find()'s pool) get a
 * holder where the executor's workers are all stuck (pylook.h's waits). */
void pyfut__stuck(const struct lw_pyfutures *f, const struct lw_pysnap *s, struct lw_pywait *w,
		  const int *queued);

#endif /* LW_PYFUTURE_H */
