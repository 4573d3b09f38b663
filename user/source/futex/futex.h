/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The futex source: every thread blocked in a futex wait, from the kernel's
 * `waits` map while watching (bpf/lockwatch.bpf.c) or from /proc for `check`
 * (attach.c), with what the lock's memory says about its holder (holder.c).
 * It re-checks a wait by reading the thread's syscall, context switches and
 * the lock's holder again. A PI lock the kernel refused with EDEADLK stands
 * for the wait glibc parks the refused thread in.
 */
#ifndef LW_FUTEX_SOURCE_H
#define LW_FUTEX_SOURCE_H

#include <sys/types.h>
#include "core/source.h"
#include "lockwatch.h"

struct lw_tracer;
struct lw_futex_source;

/* t: the BPF side while watching; NULL for `check`, which reads /proc for
 * the processes given with the source's watch() and those it shares a held
 * lock with. follow_linked: while watching, note processes that hold a lock
 * a watched thread waits for (futex_source__linked). */
struct lw_futex_source *futex_source__new(struct lw_tracer *t, int follow_linked);
struct lw_source *futex_source__source(struct lw_futex_source *fs);

/* LW_EV_CYCLE: a probe saw the wait of tid close a chain. */
void futex_source__hint(struct lw_futex_source *fs, pid_t tid);
/* LW_EV_PI_EDEADLK: the kernel refused this PI lock attempt. */
void futex_source__pi_refused(struct lw_futex_source *fs, const struct lw_futex_wait *w);
/* A thread of a watched process exited: its name, should it hold a lock. */
void futex_source__thread_exited(struct lw_futex_source *fs, pid_t pid, pid_t tid,
				 const char *comm);
/*
 * While watching: the waits pid's threads are already blocked in, which no
 * event will report, put into the kernel's map (the filter is on first, so
 * a wait that begins meanwhile is the kernel's; a second read retires what
 * ended in between). 1 when there were any.
 */
int futex_source__seed(struct lw_futex_source *fs, pid_t pid);
/* Processes found holding a lock a watched thread waits for since the last
 * call, into out (at most max): how many. */
int futex_source__linked(struct lw_futex_source *fs, pid_t *out, int max);

#endif /* LW_FUTEX_SOURCE_H */
