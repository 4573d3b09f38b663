/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What a wait is on and who holds it, read from memory now: the lock's type
 * and identity key, and its holder — believed only when the TID the memory
 * names is a thread that could hold that lock (a private lock: a thread of the
 * same process; a shared one: a thread of a process that maps the same
 * object). A process can write anything into its locks.
 */
#ifndef LW_HOLDER_H
#define LW_HOLDER_H

#include <stdint.h>
#include <sys/types.h>
#include "core/graph.h"
#include "lockwatch.h"

struct lw_held {
	enum lw_lock_kind kind; /* mutex, pi_mutex, rwlock, thread_exit, futex */
	char key[LW_KEY_LEN];
	uint64_t addr; /* the lock itself: an rwlock starts before its futex word */
	pid_t holder_pid, holder_tid; /* 0: free, unknown or not believed */
	pid_t gone_tid; /* the memory names a TID no thread has: an exited owner */
};

/* 0, or -errno when the waiter's memory cannot be read. */
int holder__resolve(const struct lw_futex_wait *w, struct lw_held *h);

#endif /* LW_HOLDER_H */
