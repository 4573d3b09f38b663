/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The wait-for graph of one look at a Python process: one edge per task or
 * thread (what it waits for, and who holds that), the cycles the edges make,
 * and the asyncio locks no live task can release - the findings, which
 * pydetect.c confirms by a second look before they become alerts.
 */
#ifndef LW_PYGRAPH_H
#define LW_PYGRAPH_H

#include <stdint.h>
#include "report/alert.h"
#include "source/python/pymem.h"
#include "source/python/pystate.h"

/* What a participant waits for. */
enum lw_pylock {
	PL_ALOCK, /* asyncio.Lock */
	PL_TLOCK, /* threading.Lock */
	PL_RLOCK, /* threading.RLock */
	PL_TASK, /* another task: awaited until it finishes */
	PL_LOOP, /* the thread a task's event loop runs on */
	PL_JOIN, /* Thread.join(): the thread, until it exits */
	/* waits with no owner to name: listed by `check`, never in a cycle */
	PL_ASEM, /* asyncio.Semaphore */
	PL_ACOND, /* asyncio.Condition: notify() */
	PL_AEVENT, /* asyncio.Event: set() */
	PL_AQUEUE, /* asyncio.Queue: an item, or room for one */
};

struct lw_pyedge {
	const struct lw_pypart *waiter;
	enum lw_pylock kind;
	uint64_t lock; /* the lock object, the awaited task, the loop */
	const struct lw_pypart *holder; /* NULL: no live holder */
};

/* A participant, lock, futex word or task by address, sorted for bsearch. */
struct lw_pypair {
	uint64_t key; /* a lock, a futex word, a task */
	int idx; /* participant, or -1 when two hold it */
	uint64_t lock;
	enum lw_pylock kind;
};

/* A cycle (a task waiting for itself: one edge), or an orphaned lock. */
struct lw_pyfinding {
	int orphan;
	int n;
	struct lw_pyedge e[LW_MAX_CYCLE]; /* orphan: the lock's waiters */
	uint64_t sig; /* the same for the same finding in another look */
	char ended[256]; /* orphan: tasks that ended with an exception */
};

#define LW_PY_FINDINGS 16

struct lw_pygraph {
	struct lw_pymem *m;
	const struct lw_pysnap *s;
	struct lw_pyedge *edges; /* one per participant of s; lock 0: none */
	struct lw_pypair *tasks; /* the tasks of s by address */
	int ntasks;
	struct lw_pyfinding found[LW_PY_FINDINGS];
	int nfound;
};

/* Edges and findings of snapshot s (which must outlive g's use); 0 or
 * -ENOMEM. The memory of g is reused by the next build. */
int pygraph__build(struct lw_pygraph *g, struct lw_pymem *m, const struct lw_pysnap *s);
void pygraph__free(struct lw_pygraph *g);

#endif /* LW_PYGRAPH_H */
