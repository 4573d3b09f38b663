// SPDX-License-Identifier: GPL-2.0
/*
 * Uprobe lock sites (--lock-order): uprobes on a watched process's lock and
 * unlock functions keep the set of locks each of its threads holds (the
 * `holds` map), and turn every lock taken by a call that can block while
 * others are held into lock orders (held -> taken). An order goes to the
 * daemon once, the first time it is seen, with the stack above the lock
 * call, for the daemon to unwind; after that it only costs a map lookup.
 *
 * Hooks, attached per process by the daemon (loop/uprobes.c), so processes
 * that are not watched pay nothing:
 *   *_take          pthread_mutex_lock, pthread_rwlock_{wr,rd}lock, a
 *                   --lock-fn acquire (custom_*: the lock is the argument
 *                   the probe's cookie names): held from the call on (a failure of
 *                   these is a self-deadlock or a relock of an
 *                   error-checking mutex)
 *   *_timed         ..._timedlock, ..._clocklock: an order now, held if the
 *                   call returns 0 (pending_ret)
 *   *_try           ..._trylock, a --lock-fn try: no order (it cannot
 *                   block), held if the call returns 0
 *   release         pthread_mutex_unlock, pthread_rwlock_unlock, --lock-fn
 *   remade          ..._init, ..._destroy: the address is a new lock now
 *   usdt_*          a program's own probes, lockwatch:acquire(lock),
 *                   :acquire_read, :acquired (taken without blocking),
 *                   :release
 * and a thread's exit with locks held.
 *
 * This runs on every lock call of a watched process: the common case (no
 * other lock held) is one map lookup each for the take and the release.
 * Everything here must load on Linux 6.1.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>
#include "lockwatch.h"

#define MUTEX_KIND_OFF 16 /* pthread_mutex_t.__kind */
#define MUTEX_RECURSIVE 1 /* PTHREAD_MUTEX_RECURSIVE_NP, in __kind's low bits */

/* Shared with the futex object: the daemon reuses its maps' fds. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, LW_RINGBUF_DEFAULT);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, LW_STAT_NR);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LW_WAITS_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32); /* tid */
	__type(value, struct lw_holds);
} holds SEC(".maps");

/*
 * The `holds` entries each process has: no process takes more than
 * LW_WAITS_PER_PROC of them, so one with tens of thousands of threads that
 * take locks cannot leave the other watched processes' threads untracked.
 * Counted where an entry is made and deleted (a thread's first lock, its
 * exit), never per lock.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LW_WAITS_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32); /* tgid */
	__type(value, __u64); /* 64 bits: the atomics BPF has on every kernel */
} hold_counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, LW_LOCKGEN_MAX);
	__type(key, struct lw_lock_id);
	__type(value, __u32);
} lockgen SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LW_ORDERS_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lw_order_key);
	__type(value, struct lw_order_val);
} orders SEC(".maps");

/* lockwatch's own pid: its lock calls hit the anchors of the shared sites
 * (user/loop/sites.h), and are none of its business. */
const volatile __u32 lw_self = 0;

/* A new thread's set starts from these zeroes (too big for the stack). */
static const struct lw_holds empty_holds;

static __always_inline void stat_add(__u32 i, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &i);

	if (v)
		*v += n;
}

static __always_inline void stat_inc(__u32 i)
{
	stat_add(i, 1);
}

/* An entry of tgid's made. */
static __always_inline void hold_counted(__u32 tgid)
{
	__u64 *n = bpf_map_lookup_elem(&hold_counts, &tgid), one = 1;

	if (n)
		__sync_fetch_and_add(n, 1);
	else if (bpf_map_update_elem(&hold_counts, &tgid, &one, BPF_NOEXIST) &&
		 (n = bpf_map_lookup_elem(&hold_counts, &tgid)))
		__sync_fetch_and_add(n, 1); /* another thread of it made the count first */
}

/* An entry of tgid's deleted: never below zero; a count that changed
 * meanwhile stays (one too many). */
static __always_inline void hold_uncounted(__u32 tgid)
{
	__u64 *n = bpf_map_lookup_elem(&hold_counts, &tgid), old;

	if (!n)
		return;
	old = *n;
	if (old && __sync_val_compare_and_swap(n, old, old - 1) == old && old == 1)
		bpf_map_delete_elem(&hold_counts, &tgid);
}

static __always_inline struct lw_holds *holds_of(__u32 tid, __u32 tgid, int create)
{
	struct lw_holds *h;
	__u64 *n;

	if (!create)
		return bpf_map_lookup_elem(&holds, &tid);
	if (tgid == lw_self)
		return NULL;
	h = bpf_map_lookup_elem(&holds, &tid);
	if (h && h->tgid == tgid)
		return h;
	/* none, or one a thread of another process left (missed exit): anew */
	if (h) {
		stat_add(LW_STAT_ACQUIRES, h->acquires);
		hold_uncounted(h->tgid);
	}
	n = bpf_map_lookup_elem(&hold_counts, &tgid);
	if (n && *n >= LW_WAITS_PER_PROC) {
		stat_inc(LW_STAT_HOLDS_SHARE);
		if (h)
			bpf_map_delete_elem(&holds, &tid);
		return NULL;
	}
	if (bpf_map_update_elem(&holds, &tid, &empty_holds, h ? BPF_EXIST : BPF_NOEXIST)) {
		stat_inc(LW_STAT_HOLDS_FULL);
		return NULL;
	}
	hold_counted(tgid);
	h = bpf_map_lookup_elem(&holds, &tid);
	if (h)
		h->tgid = tgid;
	return h;
}

/* Index of lock in h, or -1. */
static __always_inline int find(const struct lw_holds *h, __u64 lock)
{
	for (int i = 0; i < LW_HELD_MAX; i++) {
		if (i >= h->n)
			break;
		if (h->h[i].lock == lock)
			return i;
	}
	return -1;
}

static __always_inline __u32 gen_of(__u32 tgid, __u64 lock)
{
	struct lw_lock_id id = { .tgid = tgid, .lock = lock };
	__u32 *g = bpf_map_lookup_elem(&lockgen, &id);

	return g ? *g : 0;
}

static __always_inline __u32 held_gen(struct lw_holds *h, int i)
{
	if (i < 0 || i >= LW_HELD_MAX)
		return 0;
	if (!(h->h[i].flags & LW_HOLD_GEN)) {
		h->h[i].gen = gen_of(h->tgid, h->h[i].lock);
		h->h[i].flags |= LW_HOLD_GEN;
	}
	return h->h[i].gen;
}

/* The stack pointer of the code that takes the lock: at a function's entry,
 * past the return address. */
static __always_inline __u64 sp_of(struct pt_regs *ctx, int at_call)
{
	return PT_REGS_SP(ctx) + (at_call ? 8 : 0);
}

/* A new order: into the map, and to the daemon with the stack above the
 * lock call (for it to unwind) and the other locks held (its gates). */
/* What a take tells every order it makes: the taking's registers and
 * place, the lock taken, and the key being built. */
struct order_ctx {
	struct lw_holds *h;
	__u64 sp, bp, site;
	__u32 kind, at_call;
	struct lw_order_key k;
};

static __always_inline void new_order(struct order_ctx *c, int ai)
{
	const struct lw_order_key *k = &c->k;
	struct lw_holds *h = c->h;
	struct lw_order_val v = {};
	struct lw_ev_order *e;
	int with_stack;

	/* gates are outer locks, the oldest held: the first few other
	 * than A (and B, when a read re-enters) are enough */
	for (int i = 0; i < LW_GATES_MAX + 2; i++) {
		if (i >= h->n || v.ngates >= LW_GATES_MAX)
			break;
		if (i != ai && h->h[i].lock != k->b)
			v.gates[v.ngates++ & (LW_GATES_MAX - 1)] = h->h[i].lock;
	}
	/* no room even for the record without its stack: put off at once,
	 * without an insert and a delete in the map */
	if (bpf_ringbuf_query(&events, BPF_RB_RING_SIZE) -
		    bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) <
	    sizeof(*e) + 64) {
		stat_inc(LW_STAT_ORDERS_LATER);
		return;
	}
	if (bpf_map_update_elem(&orders, k, &v, BPF_NOEXIST)) {
		stat_inc(LW_STAT_ORDERS_FULL);
		return;
	}
	e = bpf_ringbuf_reserve(&events, sizeof(*e) + LW_STACK_BYTES, 0);
	with_stack = !!e;
	if (!e) /* no room for the stack: the order, with its call sites */
		e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		/* not lost: forgotten, so that it is sent the next time it is
		 * taken */
		stat_inc(LW_STAT_ORDERS_LATER);
		bpf_map_delete_elem(&orders, k);
		return;
	}
	stat_inc(LW_STAT_ORDERS);
	e->hdr.type = LW_EV_ORDER;
	e->hdr.ts_ns = bpf_ktime_get_ns();
	e->hdr.tgid = k->tgid;
	e->hdr.tid = (__u32)bpf_get_current_pid_tgid();
	e->key = *k;
	e->site_a = ai >= 0 && ai < LW_HELD_MAX ? h->h[ai].site : 0;
	e->sp_a = ai >= 0 && ai < LW_HELD_MAX ? h->h[ai].sp : 0;
	e->bp_a = ai >= 0 && ai < LW_HELD_MAX ? h->h[ai].bp : 0;
	e->site_b = c->site;
	e->sp = c->sp;
	e->bp = c->bp;
	for (int i = 0; i < LW_GATES_MAX; i++)
		e->gates[i] = v.gates[i];
	e->ngates = v.ngates;
	e->flags = c->at_call ? LW_EV_ORDER_AT_CALL : 0;
	e->flags_a = ai >= 0 && ai < LW_HELD_MAX ? h->h[ai].flags : 0;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	e->stack_len = 0;
	e->hdr.size = sizeof(*e);
	if (with_stack) {
		/* a stack may end closer than LW_STACK_BYTES above sp */
		e->stack_len = LW_STACK_BYTES;
		if (bpf_probe_read_user(e->stack, LW_STACK_BYTES, (void *)c->sp)) {
			e->stack_len = LW_STACK_BYTES / 4;
			if (bpf_probe_read_user(e->stack, LW_STACK_BYTES / 4, (void *)c->sp))
				e->stack_len = 0;
		}
		e->hdr.size = sizeof(*e) + LW_STACK_BYTES;
	}
	bpf_ringbuf_submit(e, 0);
}

struct gates_ctx {
	struct lw_holds *h;
	const struct lw_order_val *v;
	__u32 held; /* bit g: gates[g] is held now */
};

/* Which gates held lock i is; bpf_loop()'s callback. */
static long gate_held(__u32 n, void *arg)
{
	struct gates_ctx *c = arg;
	__u32 i = n & (LW_HELD_MAX - 1);
	__u64 lock;

	if (i >= c->h->n)
		return 1;
	lock = c->h->h[i].lock;
	for (int g = 0; g < LW_GATES_MAX; g++)
		if (c->v->gates[g] == lock)
			c->held |= 1 << g;
	return 0;
}

/* The order's gates, less those not held now; the daemon hears of a change. */
static __always_inline void narrow_gates(struct lw_holds *h, const struct lw_order_key *k,
					 struct lw_order_val *v)
{
	struct gates_ctx c = { .h = h, .v = v };
	__u32 ng = v->ngates < LW_GATES_MAX ? v->ngates : LW_GATES_MAX;
	__u32 all = (1u << ng) - 1;
	struct lw_ev_order_gates *e;
	__u32 n = 0;

	bpf_loop(h->n < LW_HELD_MAX ? h->n : LW_HELD_MAX, gate_held, &c, 0);
	if ((c.held & all) == all)
		return;
	for (int g = 0; g < LW_GATES_MAX; g++)
		if (c.held & all & (1 << g))
			v->gates[n++ & (LW_GATES_MAX - 1)] = v->gates[g];
	for (int g = 0; g < LW_GATES_MAX; g++)
		if (g >= n)
			v->gates[g] = 0;
	v->ngates = n;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		stat_inc(LW_STAT_DROPS);
		return;
	}
	e->hdr.type = LW_EV_ORDER_GATES;
	e->hdr.size = sizeof(*e);
	e->hdr.ts_ns = bpf_ktime_get_ns();
	e->hdr.tgid = k->tgid;
	e->hdr.tid = (__u32)bpf_get_current_pid_tgid();
	e->key = *k;
	for (int g = 0; g < LW_GATES_MAX; g++)
		e->gates[g] = v->gates[g];
	e->ngates = n;
	e->__pad = 0;
	bpf_ringbuf_submit(e, 0);
}

/* The n-th lock held, newest first, then the lock taken: an order; and the
 * next older one too when this one was only tried (it made no order from
 * the locks before it). bpf_loop()'s callback, so that the verifier walks
 * it once. */
static long order_from(__u32 n, void *arg)
{
	struct order_ctx *c = arg;
	struct lw_holds *h = c->h;
	struct lw_order_val *v;
	__u32 i;

	if (n >= h->n)
		return 1;
	i = (h->n - 1 - n) & (LW_HELD_MAX - 1); /* bpf_loop() stops at LW_HELD_MAX */
	c->k.a = h->h[i].lock;
	c->k.gen_a = held_gen(h, i);
	c->k.modes = LW_ORDER_A(h->h[i].flags) | LW_ORDER_B(c->kind);
	v = bpf_map_lookup_elem(&orders, &c->k);
	if (!v)
		new_order(c, i);
	else if (v->ngates)
		narrow_gates(h, &c->k, v);
	return !(h->h[i].flags & LW_HOLD_TRY);
}

/*
 * The lock taken last, still held, then `lock`: an order (and, past locks
 * that were only tried, from the one before). Older locks held are tied to
 * `lock` through it - they made their own orders to it when it was taken -
 * so a cycle through them is found all the same, as lockdep finds it, for
 * one map lookup a lock instead of one per lock held.
 */
static __always_inline void orders_to(struct pt_regs *ctx, struct lw_holds *h, __u64 lock,
				      __u32 kind, __u64 site, int at_call)
{
	struct order_ctx c;

	if (!h->n) /* the common case: nothing held, no order */
		return;
	c = (struct order_ctx){
		.h = h,
		.sp = sp_of(ctx, at_call),
		.bp = PT_REGS_FP(ctx),
		.site = site,
		.kind = kind,
		.at_call = at_call,
		.k = { .tgid = h->tgid, .b = lock, .gen_b = gen_of(h->tgid, lock) },
	};
	bpf_loop(h->n < LW_HELD_MAX ? h->n : LW_HELD_MAX, order_from, &c, 0);
}

static __always_inline void hold(struct lw_holds *h, __u64 lock, __u32 kind, __u64 site, __u64 sp,
				 __u64 bp)
{
	struct lw_hold *e;
	__u32 n = h->n;

	h->acquires++;
	if (n >= LW_HELD_MAX) {
		h->overflow++;
		stat_inc(LW_STAT_HELD_OVERFLOW);
		return;
	}
	e = &h->h[n & (LW_HELD_MAX - 1)];
	e->lock = lock;
	e->site = site;
	e->sp = sp;
	e->bp = bp;
	e->start_ns = bpf_ktime_get_ns();
	e->gen = 0;
	e->flags = kind & (LW_HOLD_KIND | LW_HOLD_TRY | LW_HOLD_PROBE);
	h->n = n + 1;
}

/* A lock this thread holds, taken again: a read re-entered, a recursive
 * mutex relocked (one more release to come); anything else is an error
 * the call returns, or a self-deadlock the futex source reports. */
static __always_inline void again(struct lw_holds *h, int i, __u64 lock, __u32 kind)
{
	__u32 mkind = 0;

	if (i < 0 || i >= LW_HELD_MAX)
		return;
	if (!(kind & LW_HOLD_READ) || !(h->h[i].flags & LW_HOLD_READ)) {
		/* only a glibc mutex says it is recursive */
		if (kind & (LW_HOLD_READ | LW_HOLD_RWLOCK | LW_HOLD_CUSTOM) ||
		    bpf_probe_read_user(&mkind, sizeof(mkind), (void *)(lock + MUTEX_KIND_OFF)) ||
		    (mkind & 3) != MUTEX_RECURSIVE)
			return;
	}
	h->h[i].flags += 1 << LW_HOLD_COUNT_SHIFT;
}

/* Where a lock is taken: at a function's entry, its return address (the
 * lock call in the caller); at a USDT probe, the probe itself. */
static __always_inline __u64 site_of(struct pt_regs *ctx, int at_call)
{
	__u64 ra = 0;

	if (!at_call)
		return PT_REGS_IP(ctx);
	bpf_probe_read_user(&ra, sizeof(ra), (void *)PT_REGS_SP(ctx));
	return ra;
}

/* A blocking take: orders from every held lock, then held. */
static __always_inline int take(struct pt_regs *ctx, __u64 lock, __u32 kind, int at_call)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct lw_holds *h = holds_of((__u32)id, id >> 32, 1);
	__u64 site;
	int i;

	if (!h || !lock)
		return 0;
	i = find(h, lock);
	if (i >= 0) {
		again(h, i, lock, kind);
		return 0;
	}
	site = site_of(ctx, at_call);
	orders_to(ctx, h, lock, kind, site, at_call);
	hold(h, lock, kind | (at_call ? 0 : LW_HOLD_PROBE), site, sp_of(ctx, at_call),
	     PT_REGS_FP(ctx));
	return 0;
}

/* A try or timed take: the call's return says whether it is held. */
static __always_inline int pending(struct pt_regs *ctx, __u64 lock, __u32 kind, int blocks)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct lw_holds *h = holds_of((__u32)id, id >> 32, 1);

	if (!h || !lock)
		return 0;
	h->pending_lock = lock;
	h->pending_flags = kind | (blocks ? 0 : LW_HOLD_TRY);
	h->pending_site = site_of(ctx, 1);
	h->pending_sp = sp_of(ctx, 1);
	h->pending_bp = PT_REGS_FP(ctx);
	/* a timed lock can block for its timeout: an order like any other */
	if (blocks && find(h, lock) < 0)
		orders_to(ctx, h, lock, kind, h->pending_site, 1);
	return 0;
}

/* A lock taken without blocking (a try that succeeded, told by USDT). */
static __always_inline int taken(struct pt_regs *ctx, __u64 lock, __u32 kind)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct lw_holds *h = holds_of((__u32)id, id >> 32, 1);
	int i;

	if (!h || !lock)
		return 0;
	i = find(h, lock);
	if (i >= 0)
		again(h, i, lock, kind);
	else
		hold(h, lock, kind | LW_HOLD_TRY | LW_HOLD_PROBE, site_of(ctx, 0), sp_of(ctx, 0),
		     PT_REGS_FP(ctx));
	return 0;
}

#define TAKE_PROG(name, kind)                              \
	SEC("uprobe")                                      \
	int BPF_KPROBE(handle_##name##_take, void *lock)   \
	{                                                  \
		return take(ctx, (__u64)lock, kind, 1);    \
	}                                                  \
	SEC("uprobe")                                      \
	int BPF_KPROBE(handle_##name##_timed, void *lock)  \
	{                                                  \
		return pending(ctx, (__u64)lock, kind, 1); \
	}                                                  \
	SEC("uprobe")                                      \
	int BPF_KPROBE(handle_##name##_try, void *lock)    \
	{                                                  \
		return pending(ctx, (__u64)lock, kind, 0); \
	}

TAKE_PROG(mutex, 0)
TAKE_PROG(wrlock, LW_HOLD_RWLOCK)
TAKE_PROG(rdlock, LW_HOLD_RWLOCK | LW_HOLD_READ)

/* libbpf 1.1 names five argument registers; the sixth on x86-64 is r9. */
#ifndef PT_REGS_PARM6
#define PT_REGS_PARM6(x) (__PT_REGS_CAST(x)->r9)
#endif

/*
 * A --lock-fn function's lock: the argument its probe's cookie names (1-6).
 * All six are loaded first, behind a barrier: the verifier refuses a load
 * from ctx at an offset computed at run time, which a switch compiles to.
 */
static __always_inline __u64 custom_lock(struct pt_regs *ctx)
{
	__u64 arg[6] = { PT_REGS_PARM1(ctx), PT_REGS_PARM2(ctx), PT_REGS_PARM3(ctx),
			 PT_REGS_PARM4(ctx), PT_REGS_PARM5(ctx), PT_REGS_PARM6(ctx) };
	__u64 n = bpf_get_attach_cookie(ctx);

	asm volatile("" ::: "memory");
	return n >= 1 && n <= 6 ? arg[n - 1] : arg[0];
}

SEC("uprobe")
int BPF_KPROBE(handle_custom_take)
{
	return take(ctx, custom_lock(ctx), LW_HOLD_CUSTOM, 1);
}

SEC("uprobe")
int BPF_KPROBE(handle_custom_try)
{
	return pending(ctx, custom_lock(ctx), LW_HOLD_CUSTOM, 0);
}

SEC("usdt")
int BPF_USDT(handle_usdt_acquire, void *lock)
{
	return take(ctx, (__u64)lock, LW_HOLD_CUSTOM, 0);
}

SEC("usdt")
int BPF_USDT(handle_usdt_acquire_read, void *lock)
{
	return take(ctx, (__u64)lock, LW_HOLD_CUSTOM | LW_HOLD_READ, 0);
}

SEC("usdt")
int BPF_USDT(handle_usdt_acquired, void *lock)
{
	return taken(ctx, (__u64)lock, LW_HOLD_CUSTOM);
}

SEC("uretprobe")
int BPF_KRETPROBE(handle_pending_ret, int ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct lw_holds *h = holds_of(tid, 0, 0);
	__u64 lock;
	int i;

	if (!h || !(lock = h->pending_lock))
		return 0;
	h->pending_lock = 0;
	if (ret)
		return 0; /* EBUSY, ETIMEDOUT, ...: not taken */
	i = find(h, lock);
	if (i >= 0)
		again(h, i, lock, h->pending_flags);
	else
		hold(h, lock, h->pending_flags, h->pending_site, h->pending_sp, h->pending_bp);
	return 0;
}

static __always_inline int release(__u64 lock)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct lw_holds *h = holds_of(tid, 0, 0);
	__u32 n;
	int i;

	if (!h)
		return 0;
	i = find(h, lock);
	if (i < 0 || i >= LW_HELD_MAX)
		return 0; /* taken before we looked, or past LW_HELD_MAX */
	if (h->h[i].flags >> LW_HOLD_COUNT_SHIFT) {
		h->h[i].flags -= 1 << LW_HOLD_COUNT_SHIFT;
		return 0;
	}
	/* keep the rest oldest first: gates are the outer locks */
	n = h->n;
	for (int k = 0; k < LW_HELD_MAX - 1; k++) {
		if (k < i)
			continue;
		if (k + 1 >= n)
			break;
		h->h[k] = h->h[k + 1];
	}
	h->n = n - 1;
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(handle_release, void *lock)
{
	return release((__u64)lock);
}

SEC("uprobe")
int BPF_KPROBE(handle_custom_release)
{
	return release(custom_lock(ctx));
}

SEC("usdt")
int BPF_USDT(handle_usdt_release, void *lock)
{
	return release((__u64)lock);
}

SEC("uprobe")
int BPF_KPROBE(handle_remade, void *lock)
{
	struct lw_lock_id id = { .tgid = bpf_get_current_pid_tgid() >> 32, .lock = (__u64)lock };
	__u32 one = 1, *g;

	if (id.tgid == lw_self)
		return 0;
	g = bpf_map_lookup_elem(&lockgen, &id);
	if (g)
		*g += 1;
	else
		bpf_map_update_elem(&lockgen, &id, &one, BPF_ANY);
	return 0;
}

/* A thread's exit: what it still held goes to the daemon - nobody will
 * ever release it. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(handle_exit_holds, struct task_struct *p)
{
	__u32 tid = BPF_CORE_READ(p, pid), tgid = BPF_CORE_READ(p, tgid);
	struct lw_holds *h = bpf_map_lookup_elem(&holds, &tid);
	struct lw_ev_held_exit *e;

	if (BPF_CORE_READ(p, signal, live.counter) == 0)
		/* a count a lost race left over must not pass to a reused PID */
		bpf_map_delete_elem(&hold_counts, &tgid);
	if (!h)
		return 0;
	if (h->n) {
		e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
		if (e) {
			e->hdr.type = LW_EV_HELD_EXIT;
			e->hdr.size = sizeof(*e);
			e->hdr.ts_ns = bpf_ktime_get_ns();
			e->hdr.tgid = tgid;
			e->hdr.tid = tid;
			BPF_CORE_READ_STR_INTO(&e->comm, p, comm);
			e->n = h->n;
			e->__pad = 0;
			for (int i = 0; i < LW_HELD_MAX; i++)
				e->h[i] = h->h[i];
			bpf_ringbuf_submit(e, 0);
		} else {
			stat_inc(LW_STAT_DROPS);
		}
	}
	stat_add(LW_STAT_ACQUIRES, h->acquires);
	hold_uncounted(h->tgid);
	bpf_map_delete_elem(&holds, &tid);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

/* execve: the locks of the old program went with its memory. The thread
 * that calls it may not be the leader; it takes the leader's TID. */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(handle_exec_holds, struct task_struct *p, pid_t old_pid)
{
	__u32 tids[2] = { old_pid, BPF_CORE_READ(p, pid) };

	for (int i = 0; i < 2; i++) {
		struct lw_holds *h = bpf_map_lookup_elem(&holds, &tids[i]);

		if (!h)
			continue;
		stat_add(LW_STAT_ACQUIRES, h->acquires);
		hold_uncounted(h->tgid);
		bpf_map_delete_elem(&holds, &tids[i]);
	}
	return 0;
}
