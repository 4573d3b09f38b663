/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one wait-for graph. Participants (threads, asyncio tasks) wait for
 * locks; a lock is held by a participant. Every source (core/source.h) puts
 * what it sees into it each turn, so a cycle may mix kinds: a Python thread
 * holding a threading.Lock while it waits for a C library's pthread mutex
 * whose holder waits for that threading.Lock. The graph is cleared and
 * rebuilt every turn, so it never drifts from what the sources know now.
 *
 * A participant waits for one thing at most. When two sources say different
 * things about it, the more specific one wins: a threading.Lock (the Python
 * reader's word) over the bare futex word its semaphore sleeps on (the futex
 * tracer's); otherwise the first one said. Whether the bare word's wait has
 * a timeout, and whether a probe hinted at it, stays with the wait that
 * wins.
 *
 * Locks are keyed by a string naming their identity ("anon:PID:0xADDR", or
 * the backing object of shared memory, "shmem:MAJ:MIN:INODE:OFFSET"), so the
 * same lock seen from two processes is one node. Sizes are bounded:
 * LW_GRAPH_MAX nodes; past it, additions fail and are counted.
 */
#ifndef LW_GRAPH_H
#define LW_GRAPH_H

#include <stdint.h>
#include <sys/types.h>

#define LW_KEY_LEN 96
#define LW_NAME_LEN 128
#define LW_GRAPH_MAX (1 << 20) /* participants and locks, together */

enum lw_participant_type {
	LW_PARTICIPANT_THREAD,
	LW_PARTICIPANT_TASK, /* an asyncio task */
};

enum lw_lock_kind {
	LW_LOCK_FUTEX, /* a futex word, nothing more known: no holder */
	LW_LOCK_MUTEX, /* pthread_mutex_t */
	LW_LOCK_PI_MUTEX, /* a priority-inheritance mutex */
	LW_LOCK_RWLOCK, /* pthread_rwlock_t */
	LW_LOCK_CUSTOM, /* a program's own lock (--lock-fn, USDT) */
	LW_LOCK_THREAD_EXIT, /* a join: the thread, until it exits */
	LW_LOCK_ASYNCIO_LOCK,
	LW_LOCK_THREADING_LOCK,
	LW_LOCK_THREADING_RLOCK,
	LW_LOCK_TASK, /* an awaited task, until it finishes */
	LW_LOCK_EVENT_LOOP, /* the thread a task's event loop runs on */
	LW_LOCK_GIL, /* a CPython interpreter's global lock */
	LW_LOCK_FUTURE, /* a future, until who runs it completes it */
	/* no holder to name: waits, never in a cycle */
	LW_LOCK_ASYNCIO_SEMAPHORE,
	LW_LOCK_ASYNCIO_CONDITION,
	LW_LOCK_ASYNCIO_EVENT,
	LW_LOCK_ASYNCIO_QUEUE,
	LW_LOCK_NKINDS,
};

/* "mutex", "asyncio.Lock", ...: the names of schema 1's waits_for.type */
const char *lw_lock_kind_name(enum lw_lock_kind k);
/* A lock a thread takes and releases (mutex, PI mutex, rwlock), whose wait
 * start the kernel stamps: what long_wait watches. */
int lw_lock_kind_is_native_lock(enum lw_lock_kind k);

struct lw_participant;

/* What a source that saw a lock taken knows of the hold (uprobe lock
 * sites): since when, where, and that its holder went away with it. */
struct lw_hold_info {
	struct lw_source *src; /* who saw it, and who re-checks it */
	const void *rec; /* the source's record of it; valid this turn */
	uint64_t since_ns; /* CLOCK_MONOTONIC; 0: unknown */
	uint64_t site; /* where it was taken: a return address (0: unknown) */
	int site_is_pc; /* ... or the pc of a probe in the lock function (USDT) */
	int read; /* held shared (an rwlock's reader) */
	int frame; /* a Python hold: 1 + the index, among the holder's frames its
		    * source describes, of the one inside `with` (0: none) */
};

/* One more holder of a lock held shared (an rwlock's readers). */
struct lw_holder {
	struct lw_participant *p;
	struct lw_hold_info hold;
	struct lw_holder *next;
};

struct lw_lock;
struct lw_source;
struct lw_order;

/* Set by the source of a wait (lw_wait.flags). */
#define LW_WAIT_TIMED 0x1 /* it has a timeout: it ends by itself */
#define LW_WAIT_SINCE_ATTACH 0x2 /* found blocked: start_ns is a lower bound */
#define LW_WAIT_HINTED 0x4 /* a probe saw it close a chain: look now */

/* A participant waits for a lock (held by lock->holder, when known). */
struct lw_wait {
	struct lw_lock *lock; /* NULL: not waiting, or on nothing modelled */
	struct lw_source *src; /* who saw it, and who re-checks it */
	const void *rec; /* the source's own record of it; valid this turn */
	uint64_t start_ns; /* CLOCK_MONOTONIC; 0: unknown */
	unsigned int flags; /* LW_WAIT_* */
};

struct lw_participant {
	enum lw_participant_type type;
	pid_t pid;
	pid_t tid; /* a task: the thread its event loop runs on (0: unknown) */
	uint64_t addr; /* a task: its Task object */
	char name[64]; /* as the program names it (a Python thread or task); "": unknown */
	struct lw_wait wait;
	/* the source that can say where it is in the program's own terms (a
	 * Python participant's frames: source.h's describe), and its record */
	struct lw_source *shown_by;
	const void *shown_rec;
	/* the graph's */
	uint32_t idx;
	uint32_t mark;
	struct lw_participant *hnext;
};

struct lw_lock {
	enum lw_lock_kind kind;
	char key[LW_KEY_LEN];
	pid_t pid; /* the process whose address space `addr` is in */
	uint64_t addr;
	char name[LW_NAME_LEN]; /* as the program's code names it; "": unknown */
	struct lw_participant *holder; /* NULL: free, or unknown */
	struct lw_holder *more; /* more holders of a lock held shared */
	struct lw_hold_info hold; /* holder's hold, when a source saw it taken */
	/* provably held by no one alive: taken and never released */
	int holder_gone;
	pid_t gone_tid; /* a thread that exited holding it (0: not a thread) */
	char gone_name
		[LW_NAME_LEN]; /* what is known of the gone ("reader", "loader (RuntimeError)") */
	int nwaiters;
	uint32_t idx;
	struct lw_lock *hnext;
};

struct lw_graph;

struct lw_graph *graph__new(void);
void graph__free(struct lw_graph *g);
/* Forget every node (the memory is kept for the next build). */
void graph__clear(struct lw_graph *g);

/* Find or add; NULL when the graph is full or out of memory. */
struct lw_participant *graph__thread(struct lw_graph *g, pid_t pid, pid_t tid);
struct lw_participant *graph__task(struct lw_graph *g, pid_t pid, uint64_t addr, pid_t loop_tid);
struct lw_participant *graph__find_thread(struct lw_graph *g, pid_t tid);

/*
 * p waits for the lock (kind, key), as *w says (w->lock is ignored): the
 * lock, found or added; NULL when p already waits for something at least as
 * specific (then nothing changes), or the graph is full.
 */
struct lw_lock *graph__wait(struct lw_graph *g, struct lw_participant *p, enum lw_lock_kind kind,
			    const char *key, pid_t pid, uint64_t addr, const struct lw_wait *w);
/* The lock (kind, key), found or added (one nobody waits for yet: a lock
 * seen held); NULL when the graph is full. */
struct lw_lock *graph__lock(struct lw_graph *g, enum lw_lock_kind kind, const char *key, pid_t pid,
			    uint64_t addr);
/* holder holds l; the first holder said stays. */
void graph__hold(struct lw_lock *l, struct lw_participant *holder);
/* holder holds l, as a source saw it take it: a reader of a lock held
 * shared is one more holder; the first hold said of a holder stays. */
void graph__held(struct lw_graph *g, struct lw_lock *l, struct lw_participant *holder,
		 const struct lw_hold_info *h);
/* What a source saw of holder's hold of l (NULL: none saw it taken). */
const struct lw_hold_info *graph__hold_of(const struct lw_lock *l,
					  const struct lw_participant *holder);

/* Participants in the order they were added; 0 <= i < graph__nparticipants. */
int graph__nparticipants(const struct lw_graph *g);
struct lw_participant *graph__participant(const struct lw_graph *g, int i);
/* Locks somebody waits for. */
int graph__nlocks(const struct lw_graph *g);
/* Every lock, waited for or only held, in the order added. */
int graph__nall_locks(const struct lw_graph *g);
struct lw_lock *graph__lock_at(const struct lw_graph *g, int i);
/* How many threads a process has, as a source read it: for the rule that
 * a process whose every thread waits is hung. 0: unknown. */
void graph__set_threads(struct lw_graph *g, pid_t pid, int n);
int graph__threads(const struct lw_graph *g, pid_t pid);
/* The order graph beside this one (core/order.h): kept across clears. */
struct lw_order *graph__order(struct lw_graph *g);
/* Entries compared while finding participants and locks: the work its
 * hash tables took, which keys a process chose must not make quadratic. */
uint64_t graph__probes(const struct lw_graph *g);
/* Additions refused since the last clear (graph full, out of memory). */
uint64_t graph__refused(const struct lw_graph *g);

/*
 * Cycles of the graph: fn gets each one's participants in order (each
 * waits for a lock the next one holds; the last, one the first holds) and
 * their number, and may stop the search by returning non-zero, which is
 * returned. A wait is an edge to each holder of its lock (a writer waits
 * for every reader). Depth first, each wait followed once: every cycle of
 * a graph where each lock has one holder, and at least one through every
 * lock held shared that is on a cycle; linear in the graph's size, any
 * length - a cycle is bounded only by LW_GRAPH_MAX.
 */
typedef int (*lw_cycle_fn)(struct lw_participant **cycle, int n, void *arg);
int graph__cycles(struct lw_graph *g, lw_cycle_fn fn, void *arg);

#endif /* LW_GRAPH_H */
