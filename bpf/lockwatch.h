/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Records exchanged between the BPF programs (bpf/lockwatch.bpf.c) and the
 * daemon (user/): the per-thread wait state kept in the `waits` map, and the
 * ring-buffer events. Fixed-width fields only, explicit padding, no enums as
 * field types: both compilers must agree on every offset.
 */
#ifndef LOCKWATCH_H
#define LOCKWATCH_H

#ifndef __VMLINUX_H__ /* the BPF side gets the types from vmlinux.h */
#include <linux/types.h>
#endif

/* The futex ABI (linux/futex.h, x86_64 syscall numbers): vmlinux.h carries no
 * macros, and both sides must read ops alike. */
#define LW_FUTEX_WAIT 0
#define LW_FUTEX_LOCK_PI 6
#define LW_FUTEX_WAIT_BITSET 9
#define LW_FUTEX_WAIT_REQUEUE_PI 11
#define LW_FUTEX_LOCK_PI2 13
#define LW_FUTEX_PRIVATE_FLAG 128
#define LW_FUTEX_CLOCK_REALTIME 256
#define LW_FUTEX_CMD_MASK (~(LW_FUTEX_PRIVATE_FLAG | LW_FUTEX_CLOCK_REALTIME))
#define LW_FUTEX2_PRIVATE 128
#define LW_SYS_FUTEX 202
#define LW_SYS_FUTEX_WAITV 449
#define LW_SYS_FUTEX_WAIT 455 /* Linux 6.7+ */

#define LW_COMM_LEN 16
#define LW_MAX_CHAIN 16 /* hops the in-kernel chain walk follows */

/* Map sizes both sides rely on: the daemon sizes its copies by them. */
#define LW_TARGETS_MAX 4096 /* watched processes (`targets`) */
#define LW_WAITS_MAX 65536 /* threads with a wait slot (`waits`) */
#define LW_WAITS_PER_PROC 16384 /* of them (and of `holds`'), the most one process holds */
#define LW_RINGBUF_DEFAULT (256 * 1024) /* `events`, unless --ringbuf-size */
#define LW_RINGBUF_ORDERS (4 * 1024 * 1024) /* ... with --lock-order: orders carry stacks */

/* What a thread waits in; lw_futex_wait.how. */
#define LW_HOW_FUTEX 1 /* futex(2) with a waiting op */
#define LW_HOW_WAITV 2 /* futex_waitv(2): several words, uaddr is the first */
#define LW_HOW_FUTEX2 3 /* futex_wait(2), Linux 6.7+ */

/* lw_futex_wait.flags */
#define LW_WF_PI 0x1 /* FUTEX_LOCK_PI/LOCK_PI2/WAIT_REQUEUE_PI: owner in word */
#define LW_WF_MUTEX 0x2 /* the words around uaddr look like a pthread_mutex_t */
#define LW_WF_SHARED 0x4 /* not FUTEX_PRIVATE_FLAG: may span processes */
#define LW_WF_JOIN 0x8 /* the word holds a TID: pthread_join waits for it to exit */
#define LW_WF_ATTACH 0x10 /* found blocked at attach: start_ns is a lower bound */
#define LW_WF_TIMED 0x20 /* the wait has a timeout: it ends by itself */
#define LW_WF_PARKED 0x40 /* PI lock refused with EDEADLK; glibc parked the thread */
#define LW_WF_RWLOCK 0x80 /* a glibc rwlock held for writing; kind: owner word index */

#define LW_FUTEX_TID_MASK 0x3fffffff
#define LW_TID_MAX 4194304 /* PID_MAX_LIMIT */
/* glibc pthread_mutex_t (bits/struct_mutex.h): __lock, __count, __owner,
 * __nusers, __kind */
#define LW_MUTEX_WORDS 5
#define LW_MUTEX_OWNER 2
#define LW_MUTEX_KIND 4
/* Every bit a glibc mutex kind may carry: type 0..3, robust, PI, PP, pshared,
 * elision flags. */
#define LW_MUTEX_KIND_BITS (0x3 | 0x10 | 0x20 | 0x40 | 0x80 | 0x100 | 0x200)
#define LW_MUTEX_ROBUST 0x10 /* PTHREAD_MUTEX_ROBUST_NORMAL_NP */
#define LW_MUTEX_PI 0x20 /* PTHREAD_MUTEX_PRIO_INHERIT_NP */
#define LW_FUTEX_WAITERS 0x80000000

/*
 * What a futex wait is on, from the words at uaddr: the one rule both sides
 * use (the BPF side at sys_enter, the daemon for threads found blocked at
 * attach). Returns LW_WF_* and sets *owner to the TID the words name:
 *   PI lock: the owner TID is in the futex word itself;
 *   glibc mutex: glibc's lll_lock_wait sleeps with the word at 2, and
 *     __owner and __kind look like a mutex's; a robust one with the word at
 *     the owner's TID and FUTEX_WAITERS, __owner the same TID;
 *   glibc rwlock (bits/struct_rwlock.h: __readers, __writers, __wrphase_futex,
 *     __writers_futex, __pad3, __pad4, __cur_writer, __shared, ...): waits
 *     on __writers_futex or __wrphase_futex expect 1|FUTEX_USED; the
 *     writer's TID is in __cur_writer, 3 or 4 words on, with the zero pads
 *     between (*owner_word says which);
 *   join: the word is a TID (CLONE_CHILD_CLEARTID) and the wait expects it;
 *     the daemon still checks it names a live thread of the same process.
 * A TID read here is only a claim: the daemon believes it only when it
 * names a thread that could hold the lock.
 */
static __attribute__((always_inline)) inline __u32 lw_classify(const __u32 words[LW_MUTEX_WORDS],
							       __u32 val, __u32 tid, int pi,
							       __u32 *owner, __u32 *owner_word)
{
	*owner_word = LW_MUTEX_OWNER;
	if (pi) {
		*owner = words[0] & LW_FUTEX_TID_MASK;
		return LW_WF_PI;
	}
	if (val == 2 && words[LW_MUTEX_OWNER] && !(words[LW_MUTEX_KIND] & ~LW_MUTEX_KIND_BITS)) {
		*owner = words[LW_MUTEX_OWNER];
		return LW_WF_MUTEX;
	}
	/* a robust mutex (not PI): glibc sleeps on the word, which holds the
	 * owner's TID with FUTEX_WAITERS, and sets __owner to the same TID */
	if ((words[LW_MUTEX_KIND] & (LW_MUTEX_ROBUST | LW_MUTEX_PI)) == LW_MUTEX_ROBUST &&
	    !(words[LW_MUTEX_KIND] & ~LW_MUTEX_KIND_BITS) && (val & LW_FUTEX_WAITERS) &&
	    (val & LW_FUTEX_TID_MASK) && (val & LW_FUTEX_TID_MASK) == words[LW_MUTEX_OWNER]) {
		*owner = words[LW_MUTEX_OWNER];
		return LW_WF_MUTEX;
	}
	if (val == 3 && words[0] == 3) {
		/* __writers_futex: __pad3, __pad4, then __cur_writer */
		if (!words[1] && !words[2] && words[3] && words[4] <= 1)
			*owner_word = 3;
		/* __wrphase_futex: __writers_futex, __pad3, __pad4, __cur_writer */
		else if (words[1] <= 3 && !words[2] && !words[3] && words[4])
			*owner_word = 4;
		else
			*owner_word = 0;
		if (*owner_word) {
			*owner = words[*owner_word];
			return LW_WF_RWLOCK;
		}
	}
	/* __wrphase_futex in a read phase (PTHREAD_RWLOCK_FUTEX_USED): a writer
	 * waits for the readers to leave; no writer yet. (A join of TID 2
	 * has a robust list pointer where __pad3 and __pad4 are zero.) */
	if (val == 2 && words[0] == 2 && words[1] <= 3 && !words[2] && !words[3] && !words[4]) {
		*owner_word = 4;
		*owner = 0;
		return LW_WF_RWLOCK;
	}
	if (val == words[0] && val > 0 && val < LW_TID_MAX && val != tid) {
		*owner = val;
		return LW_WF_JOIN;
	}
	*owner = 0;
	return 0;
}

/*
 * One thread's current futex wait: the value of the `waits` map, keyed by TID, kept
 * for the thread's life and rewritten at each wait. how == 0: not waiting.
 * The map is the source of truth for who waits now; ring-buffer events are
 * only hints to look at it.
 */
struct lw_futex_wait {
	__u64 uaddr; /* futex word the thread sleeps on */
	__u64 start_ns; /* bpf_ktime_get_ns() at sys_enter (CLOCK_MONOTONIC) */
	__u32 tgid;
	__u32 tid;
	__u32 how; /* LW_HOW_*, 0: not waiting (written last, cleared at exit) */
	__u32 op; /* futex op as passed (flags included) */
	__u32 val; /* expected value (FUTEX_WAIT*) */
	__u32 word; /* *uaddr at sys_enter */
	__u32 owner; /* holder TID captured at sys_enter, 0 if unknown */
	__u32 kind; /* pthread_mutex_t.__kind (uaddr + 16); LW_WF_RWLOCK: owner word index */
	__u32 nr_futexes; /* futex_waitv only */
	__u32 flags; /* LW_WF_* */
};

/* Ring-buffer record types; every record starts with struct lw_event_hdr. */
#define LW_EV_CYCLE 1 /* the chain from a new wait came back: look now */
#define LW_EV_PI_EDEADLK 2 /* a PI lock op returned -EDEADLK: kernel proof */
#define LW_EV_THREAD_EXIT 3 /* a thread of a watched process exited */
#define LW_EV_FORK 4 /* a watched process forked a new process */
#define LW_EV_EXEC 5 /* a watched process called execve */
#define LW_EV_ORDER 6 /* lock sites: a new lock order, with where it was taken */
#define LW_EV_ORDER_GATES 7 /* lock sites: an order was taken without a lock it had guarding it */
#define LW_EV_HELD_EXIT 8 /* lock sites: a thread exited holding locks */

struct lw_event_hdr {
	__u32 type; /* LW_EV_* */
	__u32 size; /* sizeof the whole record */
	__u64 ts_ns; /* bpf_ktime_get_ns() */
	__u32 tgid;
	__u32 tid;
};

/* LW_EV_CYCLE: `wait` is the new wait whose chain came back to a thread. */
struct lw_ev_cycle {
	struct lw_event_hdr hdr;
	struct lw_futex_wait wait;
	__u32 hops; /* edges walked before the chain closed */
	__u32 __pad;
};

/* LW_EV_PI_EDEADLK: `wait` is the PI lock attempt the kernel refused. */
struct lw_ev_pi {
	struct lw_event_hdr hdr;
	struct lw_futex_wait wait;
};

/* LW_EV_THREAD_EXIT, LW_EV_EXEC */
struct lw_ev_task {
	struct lw_event_hdr hdr;
	char comm[LW_COMM_LEN];
	__u32 group_dead; /* THREAD_EXIT: the last thread of the process */
	__u32 child_pid; /* FORK: the new process */
};

/*
 * Uprobe lock sites (bpf/locks.bpf.c, --lock-order): the locks each thread of
 * a watched process holds now, in the `holds` map (TID -> struct lw_holds),
 * and every lock order seen - lock B taken by a call that can block while A
 * is held - once, in the `orders` map, sent to the daemon the first time.
 */
#define LW_HELD_MAX 32 /* locks one thread's set keeps; more are counted */
#define LW_GATES_MAX 4 /* other locks an order was taken under, kept */
#define LW_STACK_BYTES 4096 /* of the stack above a new order's lock call */
#define LW_LOCKGEN_MAX 1048576 /* locks re-initialised or destroyed, remembered */
#define LW_ORDERS_MAX 1048576 /* distinct lock orders, per host */

/* lw_hold.flags */
#define LW_HOLD_READ 0x1 /* an rwlock held for reading (else held exclusively) */
#define LW_HOLD_GEN 0x2 /* gen is known */
#define LW_HOLD_RWLOCK 0x4 /* a pthread_rwlock_t */
#define LW_HOLD_CUSTOM 0x8 /* a program's own lock (--lock-fn, USDT) */
#define LW_HOLD_KIND (LW_HOLD_READ | LW_HOLD_RWLOCK | LW_HOLD_CUSTOM)
#define LW_HOLD_TRY 0x10 /* taken by a call that could not block (a trylock) */
#define LW_HOLD_PROBE 0x20 /* site is a USDT probe's pc, not a return address */
#define LW_HOLD_COUNT_SHIFT 16 /* the high half: recursive relocks, read re-entries */

/* One lock one thread holds. */
struct lw_hold {
	__u64 lock; /* its address */
	__u64 site; /* the lock call's return address: where it was taken */
	__u64 sp; /* the stack pointer there (the caller's, past the call) */
	__u64 bp; /* rbp there: an unwinder may need it, with frame pointers */
	__u64 start_ns; /* bpf_ktime_get_ns() when taken */
	__u32 gen; /* the lock's generation (`lockgen`) once looked up */
	__u32 flags; /* LW_HOLD_* */
};

/* One thread's held locks, oldest first; the `holds` map value. */
struct lw_holds {
	__u32 tgid;
	__u32 n; /* entries of h in use */
	__u32 overflow; /* locks taken while n was LW_HELD_MAX: not kept */
	__u32 pending_flags; /* a try or timed lock call on its way: its LW_HOLD_KIND */
	__u64 pending_lock; /* ... and its lock (0: none) */
	__u64 pending_site;
	__u64 pending_sp, pending_bp;
	__u64 acquires; /* locks this thread took (LW_STAT_ACQUIRES at its exit) */
	struct lw_hold h[LW_HELD_MAX];
};

/* A lock's generation: bumped by init and destroy, so that a lock re-made at
 * the same address is a new lock, with none of the old one's orders. */
struct lw_lock_id {
	__u32 tgid;
	__u32 __pad;
	__u64 lock;
};

/* Modes of an order (lw_order_key.modes): A's hold flags (LW_HOLD_KIND) in
 * the low byte, B's in the next. */
#define LW_ORDER_A(flags) ((flags)&LW_HOLD_KIND)
#define LW_ORDER_B(flags) (((flags)&LW_HOLD_KIND) << 8)
#define LW_ORDER_A_READ LW_ORDER_A(LW_HOLD_READ)
#define LW_ORDER_B_READ LW_ORDER_B(LW_HOLD_READ)

/* A then B: B taken, by a call that can block, while A was held. */
struct lw_order_key {
	__u32 tgid;
	__u32 modes; /* LW_ORDER_* */
	__u32 gen_a, gen_b;
	__u64 a, b;
};

/* What is kept of an order: the other locks held every time it was taken
 * (its gates; an order taken only under the same gate cannot deadlock). */
struct lw_order_val {
	__u64 gates[LW_GATES_MAX];
	__u32 ngates;
	__u32 __pad;
};

/* lw_ev_order.flags */
#define LW_EV_ORDER_AT_CALL 0x1 /* site_b is a return address; sp, bp the caller's */

/* LW_EV_ORDER: a new order, with where B was taken: the registers a DWARF
 * unwinder starts from and, after the record, stack_len bytes of the stack
 * there (none when the ring buffer had no room for them: the order still
 * goes, with its call sites). */
struct lw_ev_order {
	struct lw_event_hdr hdr;
	struct lw_order_key key;
	__u64 site_a; /* where A was taken: a return address */
	__u64 sp_a; /* the stack pointer there, past the call (0: unknown) */
	__u64 bp_a; /* rbp there */
	__u64 site_b; /* where B is taken: a pc (see flags) */
	__u64 sp; /* the stack pointer at site_b */
	__u64 bp; /* rbp there */
	__u64 gates[LW_GATES_MAX];
	__u32 ngates;
	__u32 flags; /* LW_EV_ORDER_* */
	__u32 stack_len; /* bytes of stack from sp, following the record */
	__u32 flags_a; /* A's hold's LW_HOLD_* */
	char comm[LW_COMM_LEN];
	__u8 stack[]; /* at most LW_STACK_BYTES */
};

/* LW_EV_ORDER_GATES: an order's gates shrank to these. */
struct lw_ev_order_gates {
	struct lw_event_hdr hdr;
	struct lw_order_key key;
	__u64 gates[LW_GATES_MAX];
	__u32 ngates;
	__u32 __pad;
};

/* LW_EV_HELD_EXIT: a thread exited holding these. */
struct lw_ev_held_exit {
	struct lw_event_hdr hdr;
	char comm[LW_COMM_LEN];
	__u32 n;
	__u32 __pad;
	struct lw_hold h[LW_HELD_MAX];
};

/* Counters in the per-CPU `stats` array. */
#define LW_STAT_DROPS 0 /* ring buffer full: an event was lost */
#define LW_STAT_WAITS_FULL 1 /* `waits` map full: a wait was not tracked */
#define LW_STAT_WAITS 2 /* waits tracked */
#define LW_STAT_CYCLE_HINTS 3 /* LW_EV_CYCLE sent */
#define LW_STAT_ACQUIRES 4 /* lock sites: locks taken by threads that exited */
#define LW_STAT_ORDERS 5 /* lock sites: new orders */
#define LW_STAT_HELD_OVERFLOW 6 /* lock sites: holds not kept (LW_HELD_MAX) */
#define LW_STAT_HOLDS_FULL 7 /* lock sites: threads not tracked (`holds` full) */
#define LW_STAT_ORDERS_FULL 8 /* lock sites: orders not kept (`orders` full) */
#define LW_STAT_ORDERS_LATER \
	9 /* lock sites: orders put off, the ring full (sent when taken again) */
#define LW_STAT_WAITS_SHARE 10 /* a process held its share of `waits`: not tracked */
#define LW_STAT_HOLDS_SHARE \
	11 /* lock sites: a process held its share of `holds`: a thread not tracked */
#define LW_STAT_NR 12

#endif /* LOCKWATCH_H */
