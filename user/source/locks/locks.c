// SPDX-License-Identifier: GPL-2.0
/*
 * The lock-site source (see locks.h). Orders arrive between turns, each
 * with a copy of the stack where its second lock was taken, which is
 * unwound at once (the copy goes with the record) to pcs, symbolized only
 * if the order is ever reported. The holds map is read once a second (the
 * long-hold rule needs no more), at once after attaching, and in any turn
 * where a waiter waits for an rwlock or a program's own lock nobody is
 * known to hold (its readers, or its holder, are only known from here).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/graph.h"
#include "core/order.h"
#include "loop/uprobes.h"
#include "source/locks/locks.h"
#include "sys/clock.h"
#include "sys/log.h"
#include "sys/proc.h"
#include "sys/syms.h"

#define EXITS_MAX 256 /* threads that exited holding locks, remembered */
#define HOLDS_EVERY_NS (1000 * 1000000ull)
#define MUTEX_OWNER_OFF 8 /* pthread_mutex_t.__owner */
#define MUTEX_KIND_OFF 16 /* pthread_mutex_t.__kind */
#define MUTEX_ROBUST 0x10
#define RWLOCK_WRITER_OFF 24 /* pthread_rwlock_t.__cur_writer */

struct pending_order {
	pid_t pid;
	uint64_t a, b;
	uint32_t gen_a, gen_b;
	struct lw_order_edge info;
	struct lw_order_stack held_at, taken_at;
};

struct pending_gates {
	pid_t pid;
	struct lw_order_key key;
	uint64_t gates[LW_GATES_MAX];
	int ngates;
};

struct exited {
	pid_t pid, tid;
	char comm[LW_COMM_LEN + 1];
	int n;
	struct lw_hold h[LW_HELD_MAX];
};

/* A thread's holds as last read. */
struct thread_holds {
	pid_t tid;
	struct lw_holds h;
};

struct lw_locks_source {
	struct lw_source base;
	struct lw_uprobes *u;
	struct lw_syms_cache *syms;
	struct pending_order *orders;
	int norders, caporders;
	struct pending_gates *gates;
	int ngates, capgates;
	struct exited exits[EXITS_MAX];
	unsigned int nexits;
	struct thread_holds *threads;
	int nthreads, capthreads;
	uint64_t holds_ns; /* when the holds were read last */
	/* the keys of the orders the BPF side sent, to drop from its map
	 * when their process exits: a process with its pid later is new */
	struct lw_order_key *sent;
	int nsent, capsent;
};

static const struct lw_source_ops locks_ops;

struct lw_locks_source *locks_source__new(struct lw_uprobes *u, struct lw_syms_cache *syms)
{
	struct lw_locks_source *ls = calloc(1, sizeof(*ls));

	if (!ls)
		return NULL;
	ls->base.ops = &locks_ops;
	ls->u = u;
	ls->syms = syms;
	return ls;
}

struct lw_source *locks_source__source(struct lw_locks_source *ls)
{
	return &ls->base;
}

static void locks_destroy(struct lw_source *s)
{
	struct lw_locks_source *ls = (struct lw_locks_source *)s;

	free(ls->orders);
	free(ls->gates);
	free(ls->threads);
	free(ls->sent);
	free(ls);
}

/* Grows *v (of *cap elements of size) to hold one more; 0 or -ENOMEM. */
static int room(void **v, int n, int *cap, size_t size)
{
	void *p;

	if (n < *cap)
		return 0;
	p = realloc(*v, (*cap ? *cap * 2 : 64) * size);
	if (!p)
		return -ENOMEM;
	*v = p;
	*cap = *cap ? *cap * 2 : 64;
	return 0;
}

/* Unwinds from st into pcs (at most LW_ORDER_FRAMES); how many, at least
 * the starting pc. */
static int unwind_pcs(struct lw_syms *s, pid_t tid, const struct lw_unwind_start *st, uint64_t *pcs)
{
	struct lw_frame frames[LW_ORDER_FRAMES];
	int n = s ? syms__unwind_from(s, tid, st, frames, LW_ORDER_FRAMES) : -1;

	if (n <= 0) { /* the call site alone, then */
		pcs[0] = st->pc;
		return st->pc ? 1 : 0;
	}
	for (int i = 0; i < n; i++)
		pcs[i] = frames[i].pc;
	return n;
}

/*
 * Where B was taken, from the copy of its stack; and where A was, from its
 * lock call's stack pointer on in the same copy: A's callers as the stack
 * stood when B was taken. (A caller that has returned since, and was
 * called again, shows the line of its later call.) pcs only, for now.
 */
static void unwind(struct lw_locks_source *ls, const struct lw_ev_order *e, size_t size,
		   struct lw_order_stack *held_at, struct lw_order_stack *taken_at)
{
	size_t len = e->stack_len < LW_STACK_BYTES ? e->stack_len : LW_STACK_BYTES;

	if (len > size - sizeof(*e)) /* the record is what the ring buffer holds */
		len = size - sizeof(*e);
	struct lw_unwind_start b = {
		.sp = e->sp,
		.pc = e->site_b,
		.bp = e->bp,
		.bp_known = 1,
		.pc_is_return = !!(e->flags & LW_EV_ORDER_AT_CALL),
		.stack = e->stack,
		.stack_len = len,
	};
	struct lw_unwind_start a = { .sp = e->sp_a,
				     .pc = e->site_a,
				     .bp = e->bp_a,
				     .bp_known = 1,
				     .pc_is_return = !(e->flags_a & LW_HOLD_PROBE) };
	struct lw_syms *s = syms_cache__get(ls->syms, e->hdr.tgid);

	taken_at->from_call = b.pc_is_return;
	held_at->from_call = a.pc_is_return;
	taken_at->n = unwind_pcs(s, e->hdr.tid, &b, taken_at->pcs);
	if (e->sp_a >= e->sp && e->sp_a - e->sp < len) {
		a.stack = e->stack + (e->sp_a - e->sp);
		a.stack_len = len - (e->sp_a - e->sp);
		held_at->n = unwind_pcs(s, e->hdr.tid, &a, held_at->pcs);
	} else {
		held_at->pcs[0] = e->site_a;
		held_at->n = e->site_a ? 1 : 0;
	}
}

void locks_source__order(struct lw_locks_source *ls, const struct lw_ev_order *e, size_t size)
{
	struct pending_order *p;

	if (!room((void **)&ls->sent, ls->nsent, &ls->capsent, sizeof(*ls->sent)))
		ls->sent[ls->nsent++] = e->key;
	if (room((void **)&ls->orders, ls->norders, &ls->caporders, sizeof(*ls->orders)))
		return;
	p = &ls->orders[ls->norders++];
	memset(p, 0, sizeof(*p));
	p->pid = e->key.tgid;
	p->a = e->key.a;
	p->b = e->key.b;
	p->gen_a = e->key.gen_a;
	p->gen_b = e->key.gen_b;
	p->info.modes = e->key.modes;
	p->info.ngates = e->ngates < LW_GATES_MAX ? e->ngates : LW_GATES_MAX;
	memcpy(p->info.gates, e->gates, sizeof(p->info.gates));
	p->info.src = &ls->base;
	p->info.tid = e->hdr.tid;
	memcpy(p->info.comm, e->comm, LW_COMM_LEN);
	p->info.comm[LW_COMM_LEN] = '\0';
	unwind(ls, e, size, &p->held_at, &p->taken_at);
}

void locks_source__gates(struct lw_locks_source *ls, const struct lw_ev_order_gates *e)
{
	struct pending_gates *p;

	if (room((void **)&ls->gates, ls->ngates, &ls->capgates, sizeof(*ls->gates)))
		return;
	p = &ls->gates[ls->ngates++];
	p->pid = e->key.tgid;
	p->key = e->key;
	p->ngates = e->ngates < LW_GATES_MAX ? e->ngates : LW_GATES_MAX;
	memcpy(p->gates, e->gates, sizeof(p->gates));
}

void locks_source__held_exit(struct lw_locks_source *ls, const struct lw_ev_held_exit *e)
{
	struct exited *x = &ls->exits[ls->nexits++ % EXITS_MAX];

	x->pid = e->hdr.tgid;
	x->tid = e->hdr.tid;
	memcpy(x->comm, e->comm, LW_COMM_LEN);
	x->comm[LW_COMM_LEN] = '\0';
	x->n = e->n < LW_HELD_MAX ? e->n : LW_HELD_MAX;
	memcpy(x->h, e->h, x->n * sizeof(x->h[0]));
	lw_debug("thread %d (%s) of pid %d exited holding %d lock%s", x->tid, x->comm, x->pid, x->n,
		 x->n == 1 ? "" : "s");
}

/* Its orders not yet in the order graph go there still (the pipeline drops
 * them after the next turn), and leave the BPF side's map; its exits
 * matter no more: nobody can wait. */
static void locks_forget(struct lw_source *s, pid_t pid)
{
	struct lw_locks_source *ls = (struct lw_locks_source *)s;

	for (int i = 0; i < ls->nsent; i++) {
		if (ls->sent[i].tgid != (uint32_t)pid)
			continue;
		uprobes__forget_order(ls->u, &ls->sent[i]);
		ls->sent[i--] = ls->sent[--ls->nsent];
	}
	for (int i = 0; i < EXITS_MAX; i++)
		if (ls->exits[i].pid == pid)
			ls->exits[i].n = 0;
}

static enum lw_lock_kind kind_of(uint32_t flags)
{
	return flags & LW_HOLD_CUSTOM ? LW_LOCK_CUSTOM :
	       flags & LW_HOLD_RWLOCK ? LW_LOCK_RWLOCK :
					LW_LOCK_MUTEX;
}

static struct lw_lock *lock_of(struct lw_graph *g, pid_t pid, const struct lw_hold *h)
{
	char key[LW_KEY_LEN];

	snprintf(key, sizeof(key), "anon:%d:0x%llx", pid, (unsigned long long)h->lock);
	return graph__lock(g, kind_of(h->flags), key, pid, h->lock);
}

static int read_one(void *ctx, pid_t tid, const struct lw_holds *h)
{
	struct lw_locks_source *ls = ctx;
	struct thread_holds *t;

	if (room((void **)&ls->threads, ls->nthreads, &ls->capthreads, sizeof(*ls->threads)))
		return -ENOMEM;
	t = &ls->threads[ls->nthreads++];
	t->tid = tid;
	t->h = *h;
	return 0;
}

/* A waiter of an rwlock or a program's own lock that no source said who
 * holds: the holds say (its readers). */
static int holders_wanted(struct lw_graph *g)
{
	for (int i = 0; i < graph__nparticipants(g); i++) {
		const struct lw_lock *l = graph__participant(g, i)->wait.lock;

		if (l && !l->holder && (l->kind == LW_LOCK_RWLOCK || l->kind == LW_LOCK_CUSTOM))
			return 1;
	}
	return 0;
}

static void put_holds(struct lw_locks_source *ls, struct lw_graph *g, const struct lw_turn *t)
{
	for (int i = 0; i < ls->nthreads; i++) {
		struct thread_holds *th = &ls->threads[i];
		struct lw_participant *p = NULL;

		for (uint32_t k = 0; k < th->h.n && k < LW_HELD_MAX; k++) {
			const struct lw_hold *h = &th->h.h[k];
			struct lw_hold_info hi = {
				.src = &ls->base,
				.rec = h,
				.since_ns = h->start_ns,
				.site = h->site,
				.site_is_pc = !!(h->flags & LW_HOLD_PROBE),
				.read = !!(h->flags & LW_HOLD_READ),
			};
			struct lw_lock *l;

			/* a hold only a moment old cannot be in anything stuck */
			if (!t->look_now &&
			    (h->start_ns > t->now_ns || t->now_ns - h->start_ns < t->min_age_ns))
				continue;
			if (!p && !(p = graph__thread(g, th->h.tgid, th->tid)))
				return;
			l = lock_of(g, th->h.tgid, h);
			/* a lock call that has not returned: held only once it does */
			if (l && p->wait.lock != l)
				graph__held(g, l, p, &hi);
		}
	}
}

/* Locks whose holder exited with them: gone, as soon as that is known. */
static void put_exits(struct lw_locks_source *ls, struct lw_graph *g)
{
	for (int i = 0; i < EXITS_MAX; i++) {
		struct exited *x = &ls->exits[i];

		for (int k = 0; k < x->n; k++) {
			struct lw_hold_info hi = {
				.src = &ls->base,
				.rec = x,
				.since_ns = x->h[k].start_ns,
				.site = x->h[k].site,
				.site_is_pc = !!(x->h[k].flags & LW_HOLD_PROBE),
				.read = !!(x->h[k].flags & LW_HOLD_READ),
			};
			struct lw_lock *l = lock_of(g, x->pid, &x->h[k]);

			if (!l || l->holder)
				continue; /* held again by someone: not gone */
			l->holder_gone = 1;
			l->gone_tid = x->tid;
			snprintf(l->gone_name, sizeof(l->gone_name), "%s", x->comm);
			if (!l->hold.src)
				l->hold = hi;
		}
	}
}

static int locks_contribute(struct lw_source *s, struct lw_graph *g, const struct lw_turn *t)
{
	struct lw_locks_source *ls = (struct lw_locks_source *)s;
	struct lw_order *o = graph__order(g);
	int added;

	for (int i = 0; i < ls->norders; i++) {
		struct pending_order *p = &ls->orders[i];

		order__add(o, &p->info, &p->held_at, &p->taken_at, p->pid, p->a, p->gen_a, p->b,
			   p->gen_b, &added);
	}
	ls->norders = 0;
	for (int i = 0; i < ls->ngates; i++) {
		struct pending_gates *p = &ls->gates[i];

		order__narrow(o, p->pid, p->key.a, p->key.gen_a, p->key.b, p->key.gen_b,
			      p->key.modes, p->gates, p->ngates);
	}
	ls->ngates = 0;
	if (t->look_now || t->now_ns - ls->holds_ns >= HOLDS_EVERY_NS || holders_wanted(g)) {
		ls->nthreads = 0;
		ls->holds_ns = t->now_ns;
		uprobes__for_each_holds(ls->u, read_one, ls);
	}
	put_holds(ls, g, t);
	put_exits(ls, g);
	return 0;
}

/* A hold still held, since the same time; a gone holder's lock still
 * naming it in its memory, where a mutex or a writer's rwlock does. */
static int locks_observe_hold(struct lw_source *s, const struct lw_lock *l,
			      const struct lw_participant *holder, const struct lw_hold_info *h,
			      unsigned int round, struct lw_observation *o)
{
	struct lw_locks_source *ls = (struct lw_locks_source *)s;
	struct lw_holds now;
	uint32_t owner;

	if (l->holder_gone && !holder) {
		uint32_t kind = 0;

		if (lw_proc_state(l->pid) != LW_PROC_OK)
			return 0;
		/* a robust mutex is recovered by its next locker: not orphaned */
		if (l->kind == LW_LOCK_MUTEX &&
		    (lw_proc_read(l->pid, l->addr + MUTEX_KIND_OFF, &kind, sizeof(kind)) ||
		     (kind & MUTEX_ROBUST)))
			return 0;
		if (l->kind == LW_LOCK_MUTEX || (l->kind == LW_LOCK_RWLOCK && !h->read)) {
			if (lw_proc_read(l->pid,
					 l->addr + (l->kind == LW_LOCK_MUTEX ? MUTEX_OWNER_OFF :
									       RWLOCK_WRITER_OFF),
					 &owner, sizeof(owner)) ||
			    lw_proc_global_tid(l->pid, owner) != l->gone_tid)
				return 0;
		}
		o->fingerprint = l->gone_tid;
		return 1;
	}
	if (!holder || uprobes__holds(ls->u, holder->tid, &now))
		return 0;
	for (uint32_t k = 0; k < now.n && k < LW_HELD_MAX; k++) {
		if (now.h[k].lock != l->addr || now.h[k].start_ns != h->since_ns)
			continue;
		o->fingerprint = h->since_ns;
		o->has_sc = !lw_proc_syscall(holder->pid, holder->tid, &o->sc) && o->sc.nr >= 0;
		return 1;
	}
	return 0;
}

/* Its locks are the locks they were: no init or destroy since. (Whether
 * the process still runs does not matter: it took them in that order.) */
static int locks_order_stands(struct lw_source *s, const struct lw_order_edge *e)
{
	struct lw_locks_source *ls = (struct lw_locks_source *)s;
	pid_t pid = e->a->pid;

	return uprobes__lockgen(ls->u, pid, e->a->addr) == e->a->gen &&
	       uprobes__lockgen(ls->u, pid, e->b->addr) == e->b->gen;
}

static const struct lw_source_ops locks_ops = {
	.name = "locks",
	.contribute = locks_contribute,
	.observe_hold = locks_observe_hold,
	.order_stands = locks_order_stands,
	.forget = locks_forget,
	.destroy = locks_destroy,
};
