/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Deadlock detection: turns hints from the kernel side (a chain closed, a PI
 * lock refused with EDEADLK) and periodic sweeps of the `waits` map into
 * confirmed cycles, and confirmed cycles into alerts for the sinks.
 */
#ifndef LW_DETECT_H
#define LW_DETECT_H

#include <stdint.h>
#include "lockwatch.h"
#include "sink/sink.h"
#include "sys/syms.h"
#include "loop/tracer.h"

struct lw_detect;

/* t: the kernel side while watching; NULL for `check` (waits from /proc). */
struct lw_detect *detect__new(struct lw_tracer *t, struct lw_sink *sinks,
			      struct lw_syms_cache *syms);
void detect__free(struct lw_detect *d);

/* LW_EV_CYCLE: the chain from this wait came back. */
void detect__on_cycle_hint(struct lw_detect *d, const struct lw_wait *w);
/* LW_EV_PI_EDEADLK: the kernel refused this PI lock attempt. */
void detect__on_pi_edeadlk(struct lw_detect *d, const struct lw_wait *w);
/*
 * Look at every wait older than a few tens of ms: catches a chain whose last
 * two waits raced on two CPUs (neither saw the other's map entry), and lets
 * pending PI checks finish. Returns the poll timeout (ms) the caller should
 * use next: shorter while a check is pending.
 */
int detect__sweep(struct lw_detect *d);
/* The same, for waits of any age: right after attaching. */
void detect__check_all(struct lw_detect *d);
/*
 * `check`: look once at pid and every process it shares a held lock with,
 * report what is confirmed; returns the deadlock-class alerts.
 */
uint64_t detect__check(struct lw_detect *d, pid_t pid);
/* After detect__check: what every blocked thread waits for, by lock. */
int detect__blocked(struct lw_detect *d, struct lw_blocked *out, int max);
/* Called with a process that holds a lock a watched thread waits for, so
 * the caller can watch it too: a cycle may run through it. */
void detect__on_linked(struct lw_detect *d, void (*fn)(void *ctx, pid_t pid), void *ctx);
/* Waits on a lock longer than this get a long_wait alert; 0: never. */
void detect__set_wait_threshold(struct lw_detect *d, double seconds);
/* A thread of a watched process exited: its name, for orphaned locks. */
void detect__thread_exited(struct lw_detect *d, pid_t pid, pid_t tid, const char *comm);

/* Watch pid's Python tasks and threads too, if it is (or, after execve,
 * becomes) a CPython; called again after execve. */
void detect__python(struct lw_detect *d, pid_t pid);
void detect__python_gone(struct lw_detect *d, pid_t pid);

/* alerts and deadlock-class alerts reported so far */
uint64_t detect__alerts(struct lw_detect *d);
uint64_t detect__deadlocks(struct lw_detect *d);

#endif /* LW_DETECT_H */
