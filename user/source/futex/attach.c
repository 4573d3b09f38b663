// SPDX-License-Identifier: GPL-2.0
/*
 * Reads the futex waits a process is already blocked in: for each thread,
 * /proc/PID/task/TID/syscall gives the syscall and its arguments without
 * stopping it, and process_vm_readv the words at the futex address, which
 * lw_classify() (bpf/lockwatch.h) reads exactly as the BPF side does.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "source/futex/attach.h"
#include "sys/proc.h"

struct futex_waitv_user {
	uint64_t val;
	uint64_t uaddr;
	uint32_t flags;
	uint32_t reserved;
};

/* Fill w from a thread's syscall: 0 when not a futex wait, 1, or 2 for a PI lock. */
static int from_syscall(pid_t pid, pid_t tid, const struct lw_syscall *sc, struct lw_futex_wait *w)
{
	struct futex_waitv_user first;
	int pi = 0, shared;
	uint32_t cmd;

	memset(w, 0, sizeof(*w));
	switch (sc->nr) {
	case LW_SYS_FUTEX:
		cmd = sc->args[1] & LW_FUTEX_CMD_MASK;
		if (cmd == LW_FUTEX_LOCK_PI || cmd == LW_FUTEX_LOCK_PI2)
			pi = 1;
		else if (cmd != LW_FUTEX_WAIT && cmd != LW_FUTEX_WAIT_BITSET &&
			 cmd != LW_FUTEX_WAIT_REQUEUE_PI)
			return 0;
		w->how = LW_HOW_FUTEX;
		w->uaddr = sc->args[0];
		w->op = sc->args[1];
		w->val = sc->args[2];
		if (sc->args[3]) /* utime: WAIT, WAIT_BITSET, LOCK_PI */
			w->flags |= LW_WF_TIMED;
		shared = !(sc->args[1] & LW_FUTEX_PRIVATE_FLAG);
		break;
	case LW_SYS_FUTEX_WAIT:
		w->how = LW_HOW_FUTEX2;
		w->uaddr = sc->args[0];
		w->val = sc->args[1];
		shared = !(sc->args[3] & LW_FUTEX2_PRIVATE);
		break;
	case LW_SYS_FUTEX_WAITV:
		if (lw_proc_read(pid, sc->args[0], &first, sizeof(first)))
			return 0;
		w->how = LW_HOW_WAITV;
		w->uaddr = first.uaddr;
		w->val = first.val;
		w->nr_futexes = sc->args[1];
		shared = !(first.flags & LW_FUTEX2_PRIVATE);
		break;
	default:
		return 0;
	}
	w->tgid = pid;
	w->tid = tid;
	if (shared)
		w->flags |= LW_WF_SHARED;
	return 1 + pi;
}

int attach__is_park(uint32_t op, uint32_t val, uint32_t word)
{
	uint32_t cmd = op & LW_FUTEX_CMD_MASK;

	return (cmd == LW_FUTEX_WAIT || cmd == LW_FUTEX_WAIT_BITSET) && !val && !word;
}

#define PARK_NEAR_SP 65536 /* the park word is a local of pthread_mutex_lock */
#define STACK_SCAN 4096 /* where its frames keep the mutex pointer */

/*
 * A PI deadlock that formed before we looked: the kernel refused the lock
 * that closed the cycle with EDEADLK and glibc parked the thread for good in
 * a wait on a zero word on its own stack. Which lock it was refused is still
 * in its frames: find a pointer to a PI mutex whose owner is another live
 * thread of the process, and turn the park into that wait.
 */
static int refused_pi_lock(pid_t pid, pid_t tid, const struct lw_syscall *sc,
			   struct lw_futex_wait *w)
{
	uint64_t stack[STACK_SCAN / 8];
	uint32_t words[LW_MUTEX_WORDS];
	pid_t owner;

	if (w->how != LW_HOW_FUTEX || !attach__is_park(w->op, w->val, w->word) ||
	    (w->flags & ~(LW_WF_SHARED | LW_WF_TIMED)) || w->uaddr < sc->sp ||
	    w->uaddr - sc->sp > PARK_NEAR_SP)
		return 0;
	if (lw_proc_read(pid, sc->sp, stack, sizeof(stack)))
		return 0;
	for (unsigned int i = 0; i < STACK_SCAN / 8; i++) {
		if (stack[i] < 4096 || stack[i] > 0x7fffffffffffull || (stack[i] & 3))
			continue;
		if (lw_proc_read(pid, stack[i], words, sizeof(words)) ||
		    (words[LW_MUTEX_KIND] & ~LW_MUTEX_KIND_BITS) ||
		    !(words[LW_MUTEX_KIND] & LW_MUTEX_PI))
			continue;
		owner = words[0] & LW_FUTEX_TID_MASK;
		if (owner <= 0 || owner == tid ||
		    !lw_proc_has_thread(pid, lw_proc_global_tid(pid, owner)))
			continue;
		w->uaddr = stack[i];
		w->word = words[0];
		w->owner = owner;
		w->kind = words[LW_MUTEX_KIND];
		w->flags = (w->flags & LW_WF_SHARED) | LW_WF_PI | LW_WF_PARKED;
		return 1;
	}
	return 0;
}

struct scan {
	pid_t pid;
	struct lw_futex_wait *out;
	int n, max;
	uint64_t now_ns;
};

/* one thread: a wait of its own if it is in one */
static int scan_thread(pid_t tid, void *arg)
{
	uint32_t words[LW_MUTEX_WORDS] = { 0 }, owner = 0, owner_word;
	struct scan *s = arg;
	struct lw_futex_wait *w = &s->out[s->n];
	struct lw_syscall sc;
	int kind;

	if (lw_proc_syscall(s->pid, tid, &sc) || sc.nr < 0)
		return 0;
	kind = from_syscall(s->pid, tid, &sc, w);
	if (!kind)
		return 0;
	lw_proc_read(s->pid, w->uaddr, words, sizeof(words));
	w->flags |= lw_classify(words, w->val, tid, kind == 2, &owner, &owner_word);
	w->word = words[0];
	w->owner = owner;
	w->kind = w->flags & LW_WF_RWLOCK ? owner_word : words[LW_MUTEX_KIND];
	refused_pi_lock(s->pid, tid, &sc, w);
	w->flags |= LW_WF_ATTACH;
	w->start_ns = s->now_ns;
	return ++s->n == s->max;
}

int attach__scan(pid_t pid, struct lw_futex_wait *out, int max, uint64_t now_ns)
{
	struct scan s = { .pid = pid, .out = out, .max = max, .now_ns = now_ns };
	int err = max > 0 ? lw_proc_each(pid, scan_thread, &s) : 0;

	return err < 0 ? err : s.n;
}
