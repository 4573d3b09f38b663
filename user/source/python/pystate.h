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

struct lw_pyparticipant {
	int task; /* 1: an asyncio task; 0: a thread */
	uint64_t addr; /* the Task object, or the PyThreadState */
	pid_t tid; /* the thread; of a task, the thread its loop runs on (0: unknown) */
	uint64_t ident; /* a thread's threading.get_ident() */
	char name[64]; /* task name; Python thread name ("": none) */
	int state; /* task: 0 pending, 1 cancelled, 2 finished; -1 running now */
	uint64_t exception; /* a finished task's exception */
	uint64_t loop;
	int nframes;
	int truncated; /* deeper than LW_PY_FRAMES: the outermost are not kept */
	struct lw_pyframe *frames; /* innermost first: nframes of the snapshot's */
	int frame0; /* their index in the snapshot's frames */
	enum lw_pywait_kind wait;
	uint64_t wait_obj;
	int nholds;
	uint64_t holds[LW_PY_HOLDS]; /* locks held, innermost first */
	int hold_frame[LW_PY_HOLDS]; /* the frame (index) inside `with` */
	struct lw_syscall sc; /* thread: where it sits now */
	uint64_t ctxsw;
};

struct lw_pysnap {
	struct lw_pyparticipant *p;
	int n, cap;
	/* every participant's frames, one after another (a task has a few:
	 * 100,000 tasks do not take 32 each); the one being read is in scratch */
	struct lw_pyframe *frames;
	int nframes, capframes;
	struct lw_pyframe scratch[LW_PY_FRAMES];
	int ntasks, nthreads;
	int complete; /* every task and thread was read whole */
	uint64_t gil; /* the interpreter's GIL (0: unknown) */
	uint64_t gil_holder; /* the PyThreadState holding it now (0: none, unknown) */
};

/* Read the process now into s (emptied first); 0 or -errno. */
int pystate__read(struct lw_pymem *m, struct lw_pysnap *s);
void pystate__free(struct lw_pysnap *s);
/* The children of an asyncio gather (its _children list), up to max, into
 * items: how many, or -1. */
int pystate__gather_children(struct lw_pymem *m, uint64_t gather, uint64_t *items, int max);

#endif /* LW_PYSTATE_H */
