// SPDX-License-Identifier: GPL-2.0
/*
 * A lock_order alert (see report.h): the cycle of orders, each with the
 * thread that first took it and where it took both locks (the lock calls
 * and their callers, unwound once, when the order was new: locks/locks.c);
 * the locks, named by symbol or by the function that took them; and a
 * summary that reads as the cycle does.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/order.h"
#include "report/report.h"

static enum lw_lock_kind kind_of(const struct lw_order_lock *l)
{
	if (l->graph_kind)
		return l->graph_kind;
	if (l->kind & LW_HOLD_RWLOCK)
		return LW_LOCK_RWLOCK;
	if (l->kind & LW_HOLD_CUSTOM)
		return LW_LOCK_CUSTOM;
	return LW_LOCK_MUTEX;
}

static int add_lock(struct lw_syms_cache *syms, struct lw_alert *a, const struct lw_order_lock *ol,
		    const struct lw_frame *at, int nat)
{
	struct lw_stack st = { .frames = (struct lw_frame *)at, .n = nat };
	struct lw_lock l = { .kind = kind_of(ol), .pid = ol->pid, .addr = ol->addr };

	snprintf(l.key, sizeof(l.key), "anon:%d:0x%" PRIx64, ol->pid, ol->addr);
	if (ol->name)
		snprintf(l.name, sizeof(l.name), "%s", ol->name);
	for (int i = 0; i < a->nlocks; i++)
		if (!strcmp(a->locks[i].key, l.key))
			return i;
	report__lock(syms, &a->locks[a->nlocks], &l, NULL, &st);
	return a->nlocks++;
}

static const char *mode(const struct lw_order_lock *l, int read)
{
	if (!(l->kind & LW_HOLD_RWLOCK))
		return NULL;
	return read ? "read" : "write";
}

/* "A", "A (read)" */
static int lock_words(char *buf, size_t len, const struct lw_alert *a, int lock, const char *as)
{
	const struct lw_alert_lock *l = &a->locks[lock];

	return snprintf(buf, len, "%s%s%s%s", l->name[0] ? l->name : l->key, as ? " (" : "",
			as ? as : "", as ? ")" : "");
}

static void summarize(struct lw_alert *a)
{
	char ps[256];
	size_t off, len = sizeof(a->summary);
	char *s = a->summary;

	report__pids(ps, sizeof(ps), a);
	off = snprintf(s, len, "%d %s of %s are taken in a cycle of orders: ", a->nlocks,
		       a->nlocks == 1 ? "lock" : "locks", ps);
	for (int i = 0; i < a->norders && off < len; i++) {
		const struct lw_alert_order *o = &a->orders[i];

		if (i)
			off += snprintf(s + off, len - off, ", ");
		if (off < len)
			off += lock_words(s + off, len - off, a, o->held, o->held_as);
		if (off < len)
			off += snprintf(s + off, len - off, " then ");
		if (off < len)
			off += lock_words(s + off, len - off, a, o->taken, o->taken_as);
		if (off < len && !strcmp(o->thread.type, "task"))
			off += snprintf(s + off, len - off, " (task %s)", o->thread.name);
		else if (off < len)
			off += snprintf(s + off, len - off, " (thread %d (%s))", o->thread.tid,
					o->thread.name);
	}
	if (off < len)
		snprintf(s + off, len - off, ": %s that take them at once can deadlock",
			 a->norders && !strcmp(a->orders[0].thread.type, "task") ? "tasks" :
										   "threads");
}

/* Where an order's lock was taken: the source's own frames (a Python
 * lock's), or its pcs symbolized. */
static int frames_at(struct lw_syms_cache *syms, pid_t pid, const struct lw_order_stack *s,
		     struct lw_frame **out)
{
	if (!s->frames)
		return stack__pcs(syms, pid, s->pcs, s->n, s->from_call, out);
	*out = lw_frames_dup(s->frames, s->n);
	return *out ? s->n : 0;
}

void report__orders(struct lw_syms_cache *syms, struct lw_alert *a, const struct lw_finding *f)
{
	for (int i = 0; i < f->norders && a->norders < a->room; i++) {
		const struct lw_order_edge *e = f->orders[i];
		struct lw_alert_order *o = &a->orders[a->norders++];

		o->thread.type = e->task ? "task" : "thread";
		o->thread.pid = e->a->pid;
		o->thread.tid = e->tid;
		o->thread.addr = e->task;
		snprintf(o->thread.name, sizeof(o->thread.name), "%s", e->comm);
		if (e->taken_at)
			o->ntaken_at = frames_at(syms, e->a->pid, e->taken_at, &o->taken_at);
		if (e->held_at)
			o->nheld_at = frames_at(syms, e->a->pid, e->held_at, &o->held_at);
		o->held_as = mode(e->a, e->modes & LW_ORDER_A_READ);
		o->taken_as = mode(e->b, e->modes & LW_ORDER_B_READ);
		o->held = add_lock(syms, a, e->a, o->held_at, o->nheld_at);
		o->taken = add_lock(syms, a, e->b, o->taken_at, o->ntaken_at);
		report__process(a, e->a->pid);
	}
	summarize(a);
}
