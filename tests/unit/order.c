// SPDX-License-Identifier: GPL-2.0
/*
 * order - the order graph (user/core/order.c): inversions of 2, 3 and 1,000
 * locks found, shortest first; none when one gate lock was held for every
 * order of the cycle, but one when an order was also taken without it; none
 * through readers of an rwlock, one when a writer is in the cycle; none
 * across generations of a lock (made again) or processes; orders forgotten
 * with their process; the changed list handed out once. Needs no root.
 */
#include <stdlib.h>
#include <string.h>
#include "core/order.h"
#include "tap.h"

#define RW LW_HOLD_RWLOCK
#define RD (LW_HOLD_RWLOCK | LW_HOLD_READ)

static struct lw_order *o;
static struct lw_order_edge *cycle[2048];

/* a then b in pid, a held as fa, b taken as fb, under gates. */
static struct lw_order_edge *add(pid_t pid, uint64_t a, uint32_t ga, unsigned int fa, uint64_t b,
				 uint32_t gb, unsigned int fb, const uint64_t *gates, int ngates)
{
	struct lw_order_edge info = { .modes = LW_ORDER_A(fa) | LW_ORDER_B(fb), .ngates = ngates };
	int added;

	if (ngates)
		memcpy(info.gates, gates, ngates * sizeof(*gates));
	return order__add(o, &info, NULL, NULL, pid, a, ga, b, gb, &added);
}

static int through(struct lw_order_edge *e)
{
	return order__cycle_through(o, e, cycle, 2048);
}

static void test_two_and_three(void)
{
	struct lw_order_edge *ab = add(1, 0xa, 0, 0, 0xb, 0, 0, NULL, 0), *ba, *bc, *ca;

	ok(through(ab) == 0, "A then B alone: no cycle");
	ba = add(1, 0xb, 0, 0, 0xa, 0, 0, NULL, 0);
	ok(through(ba) == 2 && cycle[0] == ba && cycle[1] == ab,
	   "B then A too: a cycle of 2, the new order first");
	bc = add(1, 0xb, 0, 0, 0xc, 0, 0, NULL, 0);
	ca = add(1, 0xc, 0, 0, 0xa, 0, 0, NULL, 0);
	ok(through(ca) == 2 || through(ca) == 3, "C then A: a cycle through it");
	ok(through(bc) == 3 && cycle[1] == ca && cycle[2] == ab,
	   "B, C, A: the cycle of 3, in order");
	ok(order__count(o) == 4, "4 orders kept");
	order__forget(o, 1);
	ok(order__count(o) == 0, "forgotten with the process");
}

static void test_gates(void)
{
	uint64_t g = 0x9;
	struct lw_order_edge *ab = add(2, 0xa, 0, 0, 0xb, 0, 0, &g, 1);
	struct lw_order_edge *ba = add(2, 0xb, 0, 0, 0xa, 0, 0, &g, 1);

	ok(through(ba) == 0 && through(ab) == 0, "both orders only under gate G: no inversion");
	order__narrow(o, 2, 0xb, 0, 0xa, 0, 0, NULL, 0);
	ok(through(ba) == 2, "B then A once taken without G: an inversion");
	order__forget(o, 2);
}

static void test_readers(void)
{
	struct lw_order_edge *ab = add(3, 0xa, 0, RD, 0xb, 0, RD, NULL, 0);
	struct lw_order_edge *ba = add(3, 0xb, 0, RD, 0xa, 0, RD, NULL, 0), *bw, *aw;

	ok(through(ba) == 0 && through(ab) == 0, "rwlocks read in both orders: no inversion");
	bw = add(3, 0xb, 0, RD, 0xa, 0, RW, NULL, 0);
	ok(through(bw) == 0, "B read then A written, A read then B read: none (B's readers share)");
	aw = add(3, 0xa, 0, RD, 0xb, 0, RW, NULL, 0);
	ok(through(aw) == 2 && cycle[1] == bw,
	   "A read then B written too: an inversion (each reader blocks the other's writer)");
	order__forget(o, 3);
}

static void test_generations_and_processes(void)
{
	struct lw_order_edge *ab = add(4, 0xa, 0, 0, 0xb, 0, 0, NULL, 0);
	struct lw_order_edge *ba = add(4, 0xb, 1, 0, 0xa, 1, 0, NULL, 0);
	struct lw_order_edge *other = add(5, 0xb, 0, 0, 0xa, 0, 0, NULL, 0);

	ok(through(ba) == 0 && through(ab) == 0,
	   "the other order between the locks made again: none");
	ok(through(other) == 0, "the other order in another process: none");
	order__forget(o, 4);
	order__forget(o, 5);
}

static void test_ring(void)
{
	struct lw_order_edge *last = NULL;
	int n = 1000, k;

	for (int i = 0; i < n; i++)
		last = add(6, 0x1000 + i, 0, 0, 0x1000 + (i + 1) % n, 0, 0, NULL, 0);
	k = through(last);
	ok(k == n, "a ring of 1,000 locks: one cycle of 1,000 orders (%d)", k);
	order__forget(o, 6);
}

static void test_changed(void)
{
	struct lw_order_edge **v;
	int n;

	order__changed(o, &v);
	add(7, 0xa, 0, 0, 0xb, 0, 0, NULL, 0);
	add(7, 0xa, 0, 0, 0xb, 0, 0, NULL, 0);
	add(7, 0xb, 0, 0, 0xc, 0, 0, NULL, 0);
	n = order__changed(o, &v);
	ok(n == 2, "2 new orders handed out once (%d)", n);
	ok(order__changed(o, &v) == 0, "then none");
	order__forget(o, 7);
}

/* Orders taken on one path share where; a different path is its own, and
 * what the caller passed is copied, only as far as its n. */
static void test_stacks(void)
{
	struct lw_order_stack here = { .pcs = { 0x401000, 0x401100 }, .n = 2, .from_call = 1 };
	struct lw_order_stack there = { .pcs = { 0x402000 }, .n = 1 };
	struct lw_order_edge info = { 0 };
	struct lw_order_edge *e1, *e2, *e3, *e4;
	int added;

	e1 = order__add(o, &info, &here, &there, 8, 0xa, 0, 0xb, 0, &added);
	here.pcs[5] = 0xdead; /* past n: not part of it */
	e2 = order__add(o, &info, &here, &here, 8, 0xb, 0, 0xc, 0, &added);
	e3 = order__add(o, &info, &there, &here, 9, 0xa, 0, 0xb, 0, &added);
	ok(e1 && e2 && e3 && e1->held_at == e2->held_at && e2->held_at == e2->taken_at &&
		   e1->held_at != e1->taken_at && e1->taken_at == e3->held_at,
	   "one stack shared by the orders taken on one path, across processes");
	ok(e1 && e1->held_at->n == 2 && e1->held_at->pcs[1] == 0x401100 &&
		   e1->held_at->from_call == 1 && e1->held_at->refs == 4,
	   "its pcs copied, counted once per use (%u)", e1 ? e1->held_at->refs : 0);
	order__forget(o, 8);
	e4 = order__add(o, &info, &there, &there, 9, 0xb, 0, 0xc, 0, &added);
	ok(e3->taken_at->refs == 1 && e4 && e4->held_at == e3->held_at && e3->held_at->refs == 3,
	   "a process's orders forgotten: their uses go, the others' stay");
	order__forget(o, 9);
}

int main(void)
{
	tap_begin();
	o = order__new();
	if (!ok(o != NULL, "an order graph"))
		return done();
	test_two_and_three();
	test_gates();
	test_readers();
	test_generations_and_processes();
	test_ring();
	test_changed();
	test_stacks();
	order__free(o);
	return done();
}
