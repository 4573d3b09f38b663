/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One look at a CPython process: its participants (pystate.h), what each
 * waits for in the graph's terms (an asyncio.Lock and the one task whose
 * frames hold it, a threading.Lock found by the futex word its semaphore
 * sleeps on, an awaited task, a joined thread, a loop's blocked thread, a
 * future and who can complete it...),
 * which asyncio locks no live task can release, and the names the code uses
 * for the locks waited for. The source (python.c) puts it into the graph.
 */
#ifndef LW_PYLOOK_H
#define LW_PYLOOK_H

#include <stdint.h>
#include "core/graph.h"
#include "source/python/pymem.h"
#include "source/python/pystate.h"

/* What one participant waits for, and who holds it. */
struct lw_pywait {
	const struct lw_pyparticipant *waiter;
	enum lw_lock_kind kind;
	uint64_t lock; /* the lock object, the awaited task, the loop; 0: no wait */
	const struct lw_pyparticipant *holder; /* NULL: no live holder known */
	int gone; /* an asyncio.Lock no live task can release: proven */
	const char *name; /* the lock as the code names it; "" unknown */
	uint64_t runs; /* a future: what it will run (a callable, a coroutine) */
};

struct lw_pypair;
struct lw_pyname;

struct lw_pylook {
	struct lw_pysnap snap;
	struct lw_pywait *waits; /* one per participant of snap, in its order */
	char ended[LW_NAME_LEN]; /* tasks that ended with an exception: "loader (RuntimeError)" */
	/* private */
	struct lw_pypair *tasks;
	int ntasks;
	struct lw_pyname *names;
	int nnames, capnames;
};

/*
 * Read the process into lk (emptied first): 0; -EAGAIN when it cannot be
 * read now (not initialized yet, or finalizing); -ENOMEM. A read torn by the
 * running process gives participants fewer facts, never invented ones, and
 * proves no lock orphaned (snap.complete is 0). With want, a partial read
 * (pystate__read()): the waits of the tasks asked for are resolved as a whole
 * read resolves them, as long as who they wait for is among those asked
 * for; no lock is proven orphaned.
 */
int pylook__read(struct lw_pylook *lk, struct lw_pymem *m, const uint64_t *want, int nwant);
void pylook__free(struct lw_pylook *lk);
/* The graph's kind of a lock a Python frame holds (asyncio.Lock and
 * Semaphore, threading.Lock and RLock), or -1. */
int pylook__lock_kind(struct lw_pymem *m, uint64_t obj);
/* The index in lk of the participant that is (task, addr), or -1. */
int pylook__find(const struct lw_pylook *lk, int task, uint64_t addr);
/* Everything that says where p is: equal in two looks means it stood still
 * (the same frames at the same instructions, the same waits and holds; a
 * thread in the same syscall, not having run). */
uint64_t pylook__fingerprint(const struct lw_pyparticipant *p);

#endif /* LW_PYLOOK_H */
