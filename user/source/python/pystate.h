/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One look at a CPython process: its threads (with their Python stacks and
 * the syscall each sits in) and its asyncio tasks (name, coroutine stack,
 * what each awaits), and for each what it waits for and which locks its
 * frames hold: a frame inside `with lock:` or `async with lock:` keeps the
 * bound `__exit__`/`__aexit__` of the lock on its value stack, below the
 * depth that the exception-table entry covering its current instruction
 * records. Nothing is written and nothing stopped; a torn read gives a
 * participant fewer facts, never invented ones.
 */
#ifndef LW_PYSTATE_H
#define LW_PYSTATE_H

#include <stdint.h>
#include <sys/types.h>
#include "sys/proc.h"
#include "source/python/pymem.h"

#define LW_PY_FRAMES 32
#define LW_PY_HOLDS 8
#define LW_PY_MAX_TASKS 262144
#define LW_PY_MAX_THREADS 1024
#define LW_PY_PARTIAL_LOOPS 64 /* event loops a partial read keeps a task of */

enum lw_pywait_kind {
	PW_NONE,
	PW_ALOCK, /* asyncio.Lock.acquire; wait_obj: the lock */
	PW_ASEM, /* asyncio.Semaphore.acquire */
	PW_ACOND, /* asyncio.Condition.wait */
	PW_AEVENT, /* asyncio.Event.wait */
	PW_AQUEUE, /* asyncio.Queue.get/put */
	PW_TASK, /* awaits another task; wait_obj: that task */
	PW_GATHER, /* awaits asyncio.gather(); wait_obj: the gathering future */
	PW_FUTURE, /* awaits some other future */
	PW_FUTEX, /* thread in futex(2); wait_obj: the futex word */
	PW_GIL, /* thread waiting for the GIL; wait_obj: the GIL */
};

struct lw_pyframe {
	uint64_t addr; /* the _PyInterpreterFrame */
	uint64_t code;
	int instr; /* index of the last instruction run, in code units */
	int entry; /* a thread's: the first frame a C call into the interpreter ran */
};

/* A lock a participant's frames hold */
struct lw_pyheld {
	uint64_t lock;
	int frame; /* the frame (index) inside `with` */
};

/* What only a thread has */
struct lw_pythread {
	uint64_t ident; /* threading.get_ident() */
	char name[64]; /* its Python name ("": none) */
	struct lw_syscall sc; /* where it sits now */
	uint64_t ctxsw;
};

/* A thread or a task. 100,000 tasks are read twice for a re-check: what is
 * not fixed in size (name, frames, holds) is kept in the snapshot's arrays,
 * what only threads have in lw_pythread. */
struct lw_pyparticipant {
	uint64_t addr; /* the Task object, or the PyThreadState */
	uint64_t loop;
	uint64_t exception; /* a finished task's exception */
	uint64_t wait_obj;
	const char *name; /* task name; a thread's Python name ("": none) */
	struct lw_pyframe *frames; /* innermost first */
	struct lw_pyheld *holds; /* locks held, innermost first */
	struct lw_pythread *th; /* a thread's own; NULL: a task */
	pid_t tid; /* the thread; of a task, the thread its loop runs on (0: unknown) */
	int task; /* 1: an asyncio task; 0: a thread */
	int state; /* task: 0 pending, 1 cancelled, 2 finished; -1 running now */
	int nframes;
	int truncated; /* deeper than LW_PY_FRAMES: the outermost are not kept */
	int nholds;
	enum lw_pywait_kind wait;
	/* while it is read: its frames, holds and name in the snapshot's */
	int frame0, held0, name0;
};

struct lw_pysnap {
	struct lw_pyparticipant *p;
	int n, cap;
	/* every participant's frames, holds and (a task's) name, one after
	 * another (a task has a few frames: 100,000 tasks do not take 32
	 * each); the participant being read has its own in the scratch ones */
	struct lw_pyframe *frames;
	int nframes, capframes;
	struct lw_pyheld *holds;
	int nholds, capholds;
	char *names;
	int nnames, capnames;
	struct lw_pyframe scratch[LW_PY_FRAMES];
	struct lw_pyheld scratch_holds[LW_PY_HOLDS];
	char scratch_name[64];
	struct lw_pythread *threads; /* LW_PY_MAX_THREADS of them */
	/* a partial read: the tasks asked for (sorted), the loops of those kept */
	const uint64_t *want;
	int nwant;
	uint64_t loops[LW_PY_PARTIAL_LOOPS];
	int nloops;
	int ntasks, nthreads;
	int complete; /* every task and thread was read whole */
	uint64_t gil; /* the interpreter's GIL (0: unknown) */
	uint64_t gil_holder; /* the PyThreadState holding it now (0: none, unknown) */
};

/*
 * Read the process now into s (emptied first); 0 or -errno. With want (nwant
 * task addresses, sorted), a partial read: every thread, but of the tasks
 * only those asked for and those through which a wait may be resolved (one
 * that holds a lock, one running now, the first of each event loop); it is
 * never complete.
 */
int pystate__read(struct lw_pymem *m, struct lw_pysnap *s, const uint64_t *want, int nwant);
void pystate__free(struct lw_pysnap *s);
/* The thread tid of s (0: none), or NULL. */
const struct lw_pyparticipant *pystate__thread(const struct lw_pysnap *s, pid_t tid);
/* The children of an asyncio gather (its _children list), up to max, into
 * items: how many, or -1. */
int pystate__gather_children(struct lw_pymem *m, uint64_t gather, uint64_t *items, int max);

#endif /* LW_PYSTATE_H */
