// SPDX-License-Identifier: GPL-2.0
/*
 * Resolves the holder of what a futex wait is on from the waiter's memory
 * (process_vm_readv), with the layouts of lw_classify(): the PI word's owner,
 * a glibc mutex's __owner, a joined thread's TID word. TIDs in memory are
 * local to the process's PID namespace and are mapped to the kernel's.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "source/futex/holder.h"
#include "source/futex/memkey.h"
#include "sys/proc.h"

static enum lw_lock_kind kind_of(uint32_t flags)
{
	if (flags & LW_WF_PI)
		return LW_LOCK_PI_MUTEX;
	if (flags & LW_WF_MUTEX)
		return LW_LOCK_MUTEX;
	if (flags & LW_WF_RWLOCK)
		return LW_LOCK_RWLOCK;
	if (flags & LW_WF_JOIN)
		return LW_LOCK_THREAD_EXIT;
	return LW_LOCK_FUTEX;
}

static void key_of(const struct lw_futex_wait *w, struct lw_held *h)
{
	/* __writers_futex is 12 bytes in, __wrphase_futex 8 (owner word 3 or 4) */
	h->addr = w->uaddr;
	if (w->flags & LW_WF_RWLOCK)
		h->addr -= w->kind == 3 ? 12 : 8;
	/* a shared lock is the same lock in every process that maps it */
	if ((w->flags & LW_WF_SHARED) && (w->flags & (LW_WF_MUTEX | LW_WF_PI | LW_WF_RWLOCK)) &&
	    !lw_mem_key(w->tgid, h->addr, h->key, sizeof(h->key)))
		return;
	snprintf(h->key, sizeof(h->key), "anon:%u:0x%llx", w->tgid, (unsigned long long)h->addr);
}

/* The TID the words name now, or 0 (free, or no longer looking like it). */
static pid_t claimed(const struct lw_futex_wait *w, const uint32_t words[LW_MUTEX_WORDS])
{
	if (w->flags & (LW_WF_PI | LW_WF_JOIN))
		return words[0] & LW_FUTEX_TID_MASK;
	if (w->flags & LW_WF_RWLOCK) /* __cur_writer; 0 once it unlocked */
		return w->kind < LW_MUTEX_WORDS ? words[w->kind] : 0;
	if (!(w->flags & LW_WF_MUTEX) || !words[0] || (words[LW_MUTEX_KIND] & ~LW_MUTEX_KIND_BITS))
		return 0;
	return words[LW_MUTEX_OWNER];
}

int holder__resolve(const struct lw_futex_wait *w, struct lw_held *h)
{
	uint32_t words[LW_MUTEX_WORDS];
	pid_t tid, gtid, pid;

	memset(h, 0, sizeof(*h));
	h->kind = kind_of(w->flags);
	key_of(w, h);
	if (!(w->flags & (LW_WF_PI | LW_WF_MUTEX | LW_WF_RWLOCK | LW_WF_JOIN)))
		return 0;
	if (lw_proc_read(w->tgid, w->uaddr, words, sizeof(words)))
		return -EFAULT;
	tid = claimed(w, words);
	if (tid <= 0 || tid >= LW_TID_MAX)
		return 0;
	gtid = lw_proc_global_tid(w->tgid, tid);
	if ((w->flags & LW_WF_JOIN) && gtid == (pid_t)w->tid) {
		h->kind = LW_LOCK_FUTEX; /* a thread cannot join itself: not a join */
		return 0;
	}
	if (gtid > 0 && lw_proc_has_thread(w->tgid, gtid)) {
		h->holder_pid = w->tgid;
		h->holder_tid = gtid;
		return 0;
	}
	if (w->flags & LW_WF_JOIN) {
		/* a word that names no thread of the process is no join (a
		 * condition variable's sequence number, say): the kernel clears
		 * a joined thread's TID word as it exits */
		h->kind = LW_LOCK_FUTEX;
		return 0;
	}
	if ((w->flags & LW_WF_SHARED) && strncmp(h->key, "anon:", 5) != 0) {
		/* a shared lock held in another process that maps it too: the
		 * TID is one of the waiter's namespace (a container's) */
		gtid = lw_proc_ns_tid(w->tgid, tid);
		pid = gtid > 0 ? lw_proc_tgid(gtid) : -ESRCH;
		if (pid > 0 && lw_mem_maps_object(pid, h->key)) {
			h->holder_pid = pid;
			h->holder_tid = gtid;
			return 0;
		}
		if (pid > 0)
			return 0; /* a live thread that cannot hold it: forged */
	}
	/* no thread has that TID: the owner exited holding it. A robust
	 * mutex whose owner died is recovered by the next locker instead. */
	if ((w->flags & LW_WF_MUTEX) && !(words[LW_MUTEX_KIND] & LW_MUTEX_ROBUST) &&
	    (gtid <= 0 || lw_proc_tgid(gtid) < 0))
		h->gone_tid = tid;
	return 0;
}
