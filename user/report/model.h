/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the sinks receive, finished: an alert (what it says, independent of
 * how it is printed), `check`'s list of what is blocked, the run's summary,
 * and the graph as the files show it. The report (report.h) fills them; a
 * sink only renders them. Strings are raw bytes from the watched processes
 * (thread names, symbols, paths): sinks escape them.
 */
#ifndef LW_MODEL_H
#define LW_MODEL_H

#include <stdint.h>
#include <time.h>
#include "core/graph.h"
#include "sys/syms.h"

enum lw_alert_kind {
	LW_ALERT_DEADLOCK, /* "deadlock": a confirmed cycle (self-deadlock: one wait) */
	LW_ALERT_ORPHANED_LOCK, /* "orphaned_lock": waiters of a lock whose holder is gone */
	LW_ALERT_LONG_WAIT, /* "long_wait": waiters of one lock past --wait-threshold */
	LW_ALERT_LONG_HOLD, /* "long_hold": a lock held past --hold-threshold */
	LW_ALERT_LOCK_ORDER, /* "lock_order": locks taken in a cycle of orders */
	LW_ALERT_HANG, /* "hang": every thread of a process waits, for good, with no cycle */
	LW_ALERT_LOOP_STALL, /* "loop_stall": an event loop running one callback too long */
	/* not an alert: `lockwatch dump PID`'s record of one process (every
	 * thread and task in threads, their waits, every hold seen) */
	LW_ALERT_DUMP, /* "dump" */
};

/* A thread or task, as an alert names it: who waits, who holds. */
struct lw_alert_participant {
	const char *type; /* "thread", "task" */
	const char *state; /* a dump's: "waiting", "sleeping", "running"... NULL: none said */
	int pid;
	int tid; /* a task: the thread its event loop runs on */
	char name[LW_NAME_LEN]; /* raw bytes, NUL-terminated */
	int exited; /* a holder that is gone */
	uint64_t addr; /* a task: its Task object */
};

/* Something waited for: a lock, a thread's exit, a task, ... */
struct lw_alert_lock {
	const char *type; /* lw_lock_kind_name(); in `check`'s list also "semaphore", ... */
	char key[LW_KEY_LEN]; /* "anon:PID:0xADDR" or "file:DEV:INODE:OFFSET" */
	uint64_t addr; /* in the waiter's process */
	int pid; /* process whose address space `addr` is in */
	char name[LW_NAME_LEN]; /* "ledger", "m+0x28", "Store._lock", or "0x... in fn" */
	int holder_pid, holder_tid; /* 0 when unknown */
};

/* One wait: waiter waits for locks[lock], which held_by holds. In a
 * deadlock, each held_by is the next wait's waiter. */
struct lw_alert_wait {
	struct lw_alert_participant waiter;
	int lock; /* index into lw_alert.locks */
	struct lw_alert_participant held_by;
};

/* A participant of the alert with where it is stuck. */
struct lw_alert_thread {
	struct lw_alert_participant who;
	uint64_t blocked_for_ms;
	int blocked_at_least; /* the wait began before lockwatch saw it: a lower bound */
	struct lw_frame *stack; /* owned by the alert */
	int nframes;
	int stack_err; /* 0, or the negative errno that stopped unwinding */
};

/* A lock held: by whom, for how long, taken where. A long hold's, a dead
 * thread's, or in a deadlock every holder of a lock held shared. */
struct lw_alert_hold {
	int lock; /* index into lw_alert.locks */
	struct lw_alert_participant holder;
	uint64_t held_for_ms; /* 0: unknown */
	int read; /* held shared: an rwlock's reader */
	struct lw_frame *taken_at; /* the lock call (owned) */
	int ntaken_at;
};

/* One order of an inversion: `held` was held when `taken` was taken, by
 * `thread` (the first to), at these places. */
struct lw_alert_order {
	int held, taken; /* indices into lw_alert.locks */
	const char *held_as, *taken_as; /* an rwlock's "read" or "write"; else NULL */
	struct lw_alert_participant thread;
	struct lw_frame *held_at; /* where `held` was taken: its lock call (owned) */
	int nheld_at;
	struct lw_frame *taken_at; /* where `taken` was: the call and its callers (owned) */
	int ntaken_at;
};

struct lw_alert_process {
	int pid;
	char comm[LW_NAME_LEN];
	char exe[512];
};

struct lw_alert {
	enum lw_alert_kind kind;
	struct timespec time; /* CLOCK_REALTIME when confirmed */
	char summary[1024];
	int nprocs, nwaits, nthreads, nlocks, nholds, norders; /* each at most `room` */
	int room;
	struct lw_alert_process *procs;
	struct lw_alert_wait *waits;
	struct lw_alert_thread *threads;
	struct lw_alert_lock *locks;
	struct lw_alert_hold *holds;
	struct lw_alert_order *orders;
	/* a hang: what could still wake the process from outside */
	uint64_t sigcgt; /* signals it has handlers for: bit N-1 for signal N */
	int ntimers; /* its POSIX timers */
};

/* An alert with room for n of each; NULL when out of memory. */
struct lw_alert *alert__new(enum lw_alert_kind kind, int n);
/* Frees the alert and everything it owns. */
void alert__free(struct lw_alert *a);

static inline const char *lw_alert_kind_name(enum lw_alert_kind k)
{
	switch (k) {
	case LW_ALERT_DEADLOCK:
		return "deadlock";
	case LW_ALERT_ORPHANED_LOCK:
		return "orphaned_lock";
	case LW_ALERT_LONG_WAIT:
		return "long_wait";
	case LW_ALERT_LONG_HOLD:
		return "long_hold";
	case LW_ALERT_LOCK_ORDER:
		return "lock_order";
	case LW_ALERT_HANG:
		return "hang";
	case LW_ALERT_LOOP_STALL:
		return "loop_stall";
	case LW_ALERT_DUMP:
		return "dump";
	}
	return "unknown";
}

/* What blocked participants wait for, grouped by lock: the graph as `check`
 * saw it, alerts or not. Semaphores, condition variables, events and queues
 * have no owner to name: they show here, never as deadlocks. */
#define LW_BLOCKED_NAMED 8
struct lw_blocked {
	struct lw_alert_lock lock; /* holder_tid 0: no holder known */
	struct lw_alert_participant holder;
	int nwaiters;
	struct lw_alert_participant waiters[LW_BLOCKED_NAMED]; /* the first ones */
};

/* The last record of every run. */
struct lw_summary {
	uint64_t duration_ms;
	uint64_t waits; /* waits the kernel side tracked */
	uint64_t events; /* ring-buffer records handled */
	uint64_t drops; /* ring-buffer records lost */
	uint64_t waits_full; /* waits not tracked: map full */
	uint64_t waits_over_share; /* waits not tracked: their process held its share */
	uint64_t alerts; /* alerts reported, all kinds */
	uint64_t deadlocks; /* deadlock-class alerts */
	uint64_t cpu_ms; /* lockwatch's own user+system CPU */
	uint64_t max_rss_kb; /* lockwatch's own peak RSS */
	uint64_t debuginfo_files, debuginfo_kb; /* debug files kept inflated (debugcache) */
	uint64_t watched; /* processes watched now (-p, a command, followed); 0: the host */
	uint64_t python_processes; /* CPython processes read */
	uint64_t python_looks; /* reads of them */
	uint64_t python_looks_cut; /* ... that ran out of reads: saw part of the process */
	/* reads to re-check a finding; of them, partial (only what it rests on) */
	uint64_t python_rereads, python_rereads_partial;
	uint64_t python_holds; /* locks their frames were seen holding (each time taken) */
	uint64_t python_loops; /* their asyncio event loops sampled for stalls */
	uint64_t loop_samples, loop_busy; /* samples; of them, a loop running a callback */
	uint64_t python_orders; /* distinct orders of their locks, one held inside another */
	uint64_t lock_acquires; /* --lock-order: locks the watched processes took */
	uint64_t lock_orders; /* ... distinct lock orders among them */
	uint64_t held_overflow; /* ... locks taken past a thread's LW_HELD_MAX: not kept */
	uint64_t orders_full; /* ... orders not kept: map full */
	uint64_t orders_later; /* ... orders put off, the ring full: sent when taken again */
	uint64_t holds_full; /* ... threads whose locks were not followed: `holds` full */
	uint64_t holds_over_share; /* ... or their process held its share of it */
	const struct lw_blocked *blocked; /* `check` only */
	int nblocked;
};

/* One wait of the graph as the files show it (kmod/FORMAT.md). */
struct lw_model_wait {
	struct lw_alert_participant waiter;
	struct lw_alert_participant holder; /* pid 0: none known */
	char comm[LW_NAME_LEN]; /* the waiting thread's (a task's: its loop thread's) */
	struct lw_alert_lock lock;
	uint64_t blocked_ms; /* 0 when unknown */
};

/* The graph now, its counts already computed. */
struct lw_graph_model {
	uint64_t sig; /* who waits for what, held by whom: equal means unchanged */
	unsigned int deadlocks; /* confirmed deadlock-class findings standing */
	unsigned int blocked; /* participants waiting */
	unsigned int locks; /* locks waited for */
	int nwaits;
	struct lw_model_wait *waits;
};

#endif /* LW_MODEL_H */
