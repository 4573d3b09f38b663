/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The report model: what an alert says, independent of how it is printed.
 * detect.c fills a struct lw_alert; each sink (sink.h) renders it. Strings
 * here are raw bytes from the target (thread names, symbols): sinks escape.
 */
#ifndef LW_ALERT_H
#define LW_ALERT_H

#include <stdint.h>
#include <time.h>
#include "sys/syms.h"

#define LW_MAX_CYCLE 32 /* edges in one reported cycle */
#define LW_NAME_LEN 128

enum lw_alert_kind {
	LW_ALERT_DEADLOCK, /* "deadlock": a confirmed cycle (self-deadlock: one edge) */
	LW_ALERT_ORPHANED_LOCK, /* "orphaned_lock": waiters of a lock whose holder exited */
	LW_ALERT_LONG_WAIT, /* "long_wait": waiters of one lock past --wait-threshold */
};

/* A thread or (later) a task: who waits, who holds. */
struct lw_party {
	const char *type; /* "thread", "task" */
	int pid;
	int tid;
	char name[LW_NAME_LEN]; /* comm, raw bytes, NUL-terminated */
	int exited; /* a holder that is gone */
	uint64_t addr; /* a task: its Task object (tid: the thread of its loop) */
};

/* Something waited for: a lock, a thread's exit, ... */
struct lw_lockref {
	const char *type; /* "mutex", "pi_mutex", "rwlock", "futex", ... */
	char key[96]; /* "anon:PID:0xADDR" or "file:DEV:INODE:OFFSET" */
	uint64_t addr; /* in the waiter's process */
	int pid; /* process whose address space `addr` is in */
	char name[LW_NAME_LEN]; /* symbol ("ledger", "m+0x28") or "0x... in fn" */
	int holder_pid, holder_tid; /* 0 when unknown */
};

/* One step of a cycle (or, outside a deadlock, one wait): waiter waits for
 * locks[lock], which held_by holds. */
struct lw_edge {
	struct lw_party waiter;
	int lock; /* index into lw_alert.locks */
	struct lw_party held_by;
};

struct lw_thread_report {
	struct lw_party who;
	uint64_t blocked_for_ms;
	int blocked_at_least; /* found blocked at attach: blocked_for_ms is a lower bound */
	struct lw_frame *stack; /* owned by the alert; lw_frames_free() */
	int nframes;
	int stack_err; /* 0, or the negative errno that stopped unwinding */
};

struct lw_process {
	int pid;
	char comm[LW_NAME_LEN];
	char exe[512];
};

struct lw_alert {
	enum lw_alert_kind kind;
	struct timespec time; /* CLOCK_REALTIME when confirmed */
	char summary[512];
	int nprocs, ncycle, nthreads, nlocks;
	struct lw_process procs[LW_MAX_CYCLE];
	struct lw_edge cycle[LW_MAX_CYCLE];
	struct lw_thread_report threads[LW_MAX_CYCLE];
	struct lw_lockref locks[LW_MAX_CYCLE];
};

/* What blocked threads wait for, grouped by lock: the graph as `check` saw
 * it, alerts or not. Semaphores, condition variables and barriers have no
 * owner to name: they show here, never as deadlocks. */
#define LW_BLOCKED_NAMED 8
struct lw_blocked {
	struct lw_lockref lock; /* holder_tid 0: no holder known */
	struct lw_party holder;
	int nwaiters;
	struct lw_party waiters[LW_BLOCKED_NAMED]; /* the first ones */
};

/* The last record of every run. */
struct lw_summary {
	uint64_t duration_ms;
	uint64_t waits; /* waits the kernel side tracked */
	uint64_t events; /* ring-buffer records handled */
	uint64_t drops; /* ring-buffer records lost */
	uint64_t waits_full; /* waits not tracked: map full */
	uint64_t alerts; /* alerts reported, all kinds */
	uint64_t deadlocks; /* deadlock-class alerts */
	uint64_t cpu_ms; /* lockwatch's own user+system CPU */
	uint64_t max_rss_kb; /* lockwatch's own peak RSS */
	const struct lw_blocked *blocked; /* `check` only */
	int nblocked;
};

static inline const char *lw_alert_kind_name(enum lw_alert_kind k)
{
	switch (k) {
	case LW_ALERT_DEADLOCK:
		return "deadlock";
	case LW_ALERT_ORPHANED_LOCK:
		return "orphaned_lock";
	case LW_ALERT_LONG_WAIT:
		return "long_wait";
	}
	return "unknown";
}

void lw_alert_free(struct lw_alert *a);

#endif /* LW_ALERT_H */
