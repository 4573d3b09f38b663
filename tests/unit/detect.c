// SPDX-License-Identifier: GPL-2.0
/*
 * detect - the detectors, the one dedup and the confirmation driver
 * (user/core/detect.c, seen.c, confirm.c) on graphs built by hand: a cycle
 * reported once while it stands, cycles of 33 and 1000, nothing reported
 * while a wait keeps moving, an orphaned lock with its untimed waiters, a
 * long wait (and none for a deadlock's members), the per-turn budget of
 * confirmations, fresh waits left for a later turn unless hinted, and the
 * dedup's bound. The waits come from a source defined here whose re-check
 * answers what the test says. Needs no root.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/detect.h"
#include "core/seen.h"
#include "tap.h"

#define NS 1000000000ull

/* A source whose waits stand still (the same fingerprint every time) or
 * move (a new one every time). */
struct test_source {
	struct lw_source base;
	int moving; /* every wait moves */
	pid_t moving_from; /* the waits of threads from this TID on move */
	uint64_t observed;
};

static int test_observe(struct lw_source *s, const struct lw_participant *p, unsigned int round,
			struct lw_observation *o)
{
	struct test_source *t = (struct test_source *)s;

	t->observed++;
	o->fingerprint = t->moving || (t->moving_from && p->tid >= t->moving_from) ?
				 t->observed :
				 (uint64_t)p->tid;
	return 1;
}

static int threads_now; /* what the source says the process has */

static int test_threads(struct lw_source *s, pid_t pid)
{
	return threads_now;
}

/* Holds a source saw taken stand still too. */
static int test_observe_hold(struct lw_source *s, const struct lw_lock *l,
			     const struct lw_participant *holder, const struct lw_hold_info *h,
			     unsigned int round, struct lw_observation *o)
{
	o->fingerprint = holder ? (uint64_t)holder->tid : 0;
	return 1;
}

static const struct lw_source_ops test_ops = { .name = "test",
					       .observe = test_observe,
					       .observe_hold = test_observe_hold,
					       .threads = test_threads };
static struct test_source src = { .base.ops = &test_ops };
static struct lw_graph *g;
static struct lw_detect *d;
static struct lw_turn turn = { .now_ns = 100 * NS, .min_age_ns = NS / 20 };

/* p waits (since `since` ns before now) for the lock keyed n, held by h. */
static struct lw_lock *wait_on(struct lw_participant *p, int n, struct lw_participant *h,
			       uint64_t since, unsigned int flags)
{
	struct lw_wait w = { .src = &src.base, .start_ns = turn.now_ns - since, .flags = flags };
	struct lw_lock *l;
	char key[LW_KEY_LEN];

	snprintf(key, sizeof(key), "anon:1:0x%x", n);
	l = graph__wait(g, p, LW_LOCK_MUTEX, key, 1, n, &w);
	if (l && h)
		graph__hold(l, h);
	return l;
}

static void ring(int n, int tid0, uint64_t since, unsigned int flags)
{
	struct lw_participant **t = malloc(n * sizeof(*t));

	for (int i = 0; i < n; i++)
		t[i] = graph__thread(g, 1, tid0 + i);
	for (int i = 0; i < n; i++)
		wait_on(t[i], tid0 + i, t[(i + 1) % n], since, flags);
	free(t);
}

static int run(struct lw_finding **f)
{
	return detect__run(d, g, &turn, f);
}

static void test_once(void)
{
	struct lw_finding *f;
	int n;

	graph__clear(g);
	ring(2, 10, NS, 0);
	n = run(&f);
	ok(n == 1 && f[0].kind == LW_FINDING_DEADLOCK && f[0].n == 2,
	   "a cycle of 2: one deadlock, confirmed");
	ok(n == 1 && f[0].obs[0].fingerprint == 10 && f[0].obs[1].fingerprint == 11,
	   "each waiter's observation is kept with the finding");
	ok(detect__standing(d) == 1, "standing: 1");
	graph__clear(g);
	ring(2, 10, NS, 0);
	ok(run(&f) == 0 && detect__standing(d) == 1,
	   "the same cycle in the next turn: not reported again, still standing");
	graph__clear(g);
	ok(run(&f) == 0 && detect__standing(d) == 0, "gone from the graph: standing 0");

	/* a report that could not be made (out of memory) is not taken for made */
	graph__clear(g);
	ring(2, 20, NS, 0);
	n = run(&f);
	ok(n == 1, "another cycle of 2: found");
	if (n == 1)
		detect__unreported(d, &f[0]);
	ok(detect__standing(d) == 0, "not reported: not standing");
	graph__clear(g);
	ring(2, 20, NS, 0);
	n = run(&f);
	ok(n == 1 && f[0].kind == LW_FINDING_DEADLOCK && detect__standing(d) == 1,
	   "the next turn finds it again, and this time it stands");
	graph__clear(g);
	run(&f);
}

static void test_long_cycles(void)
{
	static const int sizes[] = { 1, 33, 1000 };
	struct lw_finding *f;

	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		int n;

		graph__clear(g);
		ring(sizes[k], 1000 * (int)(k + 1), NS, 0);
		n = run(&f);
		ok(n == 1 && f[0].n == sizes[k], "a cycle of %d: reported, all %d waiters in it",
		   sizes[k], sizes[k]);
		ok(run(&f) == 0, "a cycle of %d: once", sizes[k]);
	}
}

static void test_moving(void)
{
	struct lw_finding *f;

	graph__clear(g);
	ring(2, 30, NS, 0);
	src.moving = 1;
	ok(run(&f) == 0 && detect__standing(d) == 0,
	   "a cycle whose waits move between re-checks: not reported");
	src.moving = 0;
	ok(run(&f) == 1, "once they stand still: reported");
}

static void test_orphan(void)
{
	struct lw_participant *a, *b, *c;
	struct lw_finding *f;
	struct lw_lock *l;
	int n;

	graph__clear(g);
	a = graph__thread(g, 1, 40);
	b = graph__thread(g, 1, 41);
	c = graph__thread(g, 1, 42);
	l = wait_on(a, 40, NULL, NS, 0);
	wait_on(b, 40, NULL, NS, 0);
	wait_on(c, 40, NULL, NS, LW_WAIT_TIMED);
	l->holder_gone = 1;
	l->gone_tid = 39;
	n = run(&f);
	ok(n == 1 && f[0].kind == LW_FINDING_ORPHANED_LOCK && f[0].n == 2 && f[0].lock == l,
	   "a lock whose holder is gone: an orphaned lock, its two untimed waiters in it");
	ok(run(&f) == 0 && detect__standing(d) == 1, "once, and standing while it stays");
}

static void test_long_wait(void)
{
	struct lw_detect *dl = detect__new(2 * NS, 0, 0);
	struct lw_participant *a, *b, *h;
	struct lw_finding *f;
	int n;

	graph__clear(g);
	h = graph__thread(g, 1, 50);
	a = graph__thread(g, 1, 51);
	b = graph__thread(g, 1, 52);
	wait_on(a, 50, h, 3 * NS, 0);
	wait_on(b, 50, h, 1 * NS, 0);
	n = detect__run(dl, g, &turn, &f);
	ok(n == 1 && f[0].kind == LW_FINDING_LONG_WAIT && f[0].n == 1 && f[0].waiters[0] == a,
	   "past the threshold: a long wait of the one waiter past it");
	ok(detect__run(dl, g, &turn, &f) == 0, "once per wait");
	graph__clear(g);
	ring(2, 60, 5 * NS, 0);
	n = detect__run(dl, g, &turn, &f);
	ok(n == 1 && f[0].kind == LW_FINDING_DEADLOCK,
	   "a deadlock's members past the threshold: the deadlock, no long wait");
	detect__free(dl);
}

/* The lost wakeup: one thread on a condition variable nobody will signal,
 * one joining it. */
static void test_hang(void)
{
	struct lw_participant *a, *b;
	struct lw_finding *f;
	int n;

	graph__clear(g);
	a = graph__thread(g, 1, 80);
	b = graph__thread(g, 1, 81);
	wait_on(a, 80, NULL, LW_HANG_NS + NS, 0);
	wait_on(b, 81, a, LW_HANG_NS + NS, 0);
	graph__set_threads(g, 1, 3);
	threads_now = 3;
	ok(run(&f) == 0, "2 of 3 threads waiting for good: no hang");
	graph__set_threads(g, 1, 2);
	threads_now = 2;
	n = run(&f);
	ok(n == 1 && f[0].kind == LW_FINDING_HANG && f[0].n == 2,
	   "both threads of the process waiting for good, no cycle: a hang of 2");
	ok(run(&f) == 0, "reported once");
	graph__clear(g);
	a = graph__thread(g, 1, 82);
	wait_on(a, 82, NULL, LW_HANG_NS + NS, LW_WAIT_TIMED);
	graph__set_threads(g, 1, 1);
	threads_now = 1;
	ok(run(&f) == 0, "a wait with a timeout: no hang");
	graph__clear(g);
	a = graph__thread(g, 1, 83);
	wait_on(a, 83, NULL, LW_HANG_NS - NS, 0);
	graph__set_threads(g, 1, 1);
	ok(run(&f) == 0, "a wait younger than LW_HANG_NS: not yet");
	graph__clear(g);
	a = graph__thread(g, 1, 84);
	wait_on(a, 84, NULL, LW_HANG_NS + NS, 0);
	graph__set_threads(g, 1, 1);
	threads_now = 2;
	ok(run(&f) == 0, "a thread started since: the re-check says no");
}

/* A writer waits for an rwlock two readers hold; one reader waits for the
 * writer's mutex: a cycle through the readers. */
static void test_readers(void)
{
	struct lw_hold_info hi = { .src = &src.base, .read = 1 };
	struct lw_participant *w, *r1, *r2;
	struct lw_wait ww = { .src = &src.base, .start_ns = turn.now_ns - NS };
	struct lw_lock *rw;
	struct lw_finding *f;
	int n;

	graph__clear(g);
	w = graph__thread(g, 1, 90);
	r1 = graph__thread(g, 1, 91);
	r2 = graph__thread(g, 1, 92);
	rw = graph__wait(g, w, LW_LOCK_RWLOCK, "anon:1:0x90", 1, 0x90, &ww);
	graph__held(g, rw, r2, &hi);
	graph__held(g, rw, r1, &hi);
	wait_on(r1, 91, w, NS, 0);
	n = run(&f);
	ok(n == 1 && f[0].kind == LW_FINDING_DEADLOCK && f[0].n == 2,
	   "a cycle through the second reader of a read-held rwlock: a deadlock of 2");
}

static void test_budget(void)
{
	struct lw_finding *f;
	int got[4] = {};

	graph__clear(g);
	for (int i = 0; i < 20; i++)
		ring(1, 2000 + i, NS, 0);
	for (int k = 0; k < 4; k++)
		got[k] = run(&f);
	ok(got[0] == LW_CONFIRMS_PER_TURN && got[1] == LW_CONFIRMS_PER_TURN &&
		   got[2] == 20 - 2 * LW_CONFIRMS_PER_TURN && got[3] == 0,
	   "20 new self-deadlocks: %d, %d, %d and %d confirmed in four turns", got[0], got[1],
	   got[2], got[3]);
	ok(detect__standing(d) == 20 && !detect__pending(d), "all 20 standing, none pending");
}

static void test_fresh(void)
{
	struct lw_finding *f;

	graph__clear(g);
	ring(2, 70, 0, 0);
	ok(run(&f) == 0, "a cycle of waits younger than the sweep's minimum age: not yet");
	graph__clear(g);
	ring(2, 70, 0, LW_WAIT_HINTED);
	ok(run(&f) == 1, "the same, hinted by a probe: now");
}

static void test_no_starving(void)
{
	struct lw_finding *f;
	int found = 0, turns;

	graph__clear(g);
	/* more candidates that never stand still than a turn may confirm */
	for (int i = 0; i < 3 * LW_CONFIRMS_PER_TURN; i++)
		ring(1, 5000 + i, NS, 0);
	ring(2, 4990, NS, 0); /* found first, and stands still */
	ring(1, 4000, NS, 0);
	src.moving_from = 5000;
	for (turns = 1; turns <= 8 && found < 2; turns++)
		found += run(&f);
	src.moving_from = 0;
	ok(found == 2, "among %d cycles that never confirm, the two that do are found (%d turns)",
	   3 * LW_CONFIRMS_PER_TURN, turns - 1);
}

/* Two tasks of pid 1 awaiting each other, their loop on thread loop_tid. */
static void tasks_awaiting(pid_t loop_tid)
{
	struct lw_participant *a, *b;
	struct lw_wait w = { .src = &src.base };
	struct lw_lock *l;

	graph__clear(g);
	a = graph__task(g, 1, 0xa000, loop_tid);
	b = graph__task(g, 1, 0xb000, loop_tid);
	l = graph__wait(g, a, LW_LOCK_TASK, "task:1:0xb000", 1, 0xb000, &w);
	graph__hold(l, b);
	l = graph__wait(g, b, LW_LOCK_TASK, "task:1:0xa000", 1, 0xa000, &w);
	graph__hold(l, a);
}

static void test_task_identity(void)
{
	struct lw_finding *f;

	tasks_awaiting(0);
	ok(run(&f) == 1, "two tasks awaiting each other, their loop's thread unknown: reported");
	tasks_awaiting(42);
	ok(run(&f) == 0 && detect__standing(d) == 1,
	   "the same tasks once their loop's thread is known: the same deadlock, not again");
}

static void test_seen(void)
{
	struct lw_seen *s = seen__new();
	int all_new = 1, old_gone = 1, twice = 1;

	for (uint64_t i = 1; i <= 3 * LW_SEEN_MAX; i++)
		seen__add(s, i * 0x9e3779b97f4a7c15ull);
	for (uint64_t i = 2 * LW_SEEN_MAX + 1; i <= 3 * LW_SEEN_MAX; i++)
		all_new &= seen__has(s, i * 0x9e3779b97f4a7c15ull);
	for (uint64_t i = 1; i <= 2 * LW_SEEN_MAX; i++)
		old_gone &= !seen__has(s, i * 0x9e3779b97f4a7c15ull);
	seen__add(s, 0);
	seen__add(s, 0);
	twice = seen__has(s, 0);
	ok(all_new && old_gone && twice,
	   "the dedup keeps the newest %d signatures, forgets the oldest first", LW_SEEN_MAX);
	seen__free(s);

	/* the oldest 100 still asked about (standing); 200 new ones come */
	s = seen__new();
	all_new = old_gone = 1;
	for (uint64_t i = 1; i <= LW_SEEN_MAX; i++)
		seen__add(s, i * 0x9e3779b97f4a7c15ull);
	for (uint64_t i = 1; i <= 100; i++)
		seen__has(s, i * 0x9e3779b97f4a7c15ull);
	for (uint64_t i = LW_SEEN_MAX + 1; i <= LW_SEEN_MAX + 200; i++)
		seen__add(s, i * 0x9e3779b97f4a7c15ull);
	for (uint64_t i = 1; i <= 100; i++)
		all_new &= seen__has(s, i * 0x9e3779b97f4a7c15ull);
	for (uint64_t i = 101; i <= 300; i++)
		old_gone &= !seen__has(s, i * 0x9e3779b97f4a7c15ull);
	ok(all_new && old_gone,
	   "full: what is still asked about stays, the oldest not asked about goes instead");
	seen__free(s);
}

int main(void)
{
	tap_begin();
	g = graph__new();
	d = detect__new(0, 0, 0);
	if (!ok(g && d, "a graph and the detectors"))
		return done();
	test_once();
	test_long_cycles();
	test_moving();
	test_orphan();
	test_long_wait();
	test_hang();
	test_readers();
	test_budget();
	test_fresh();
	test_no_starving();
	test_task_identity();
	test_seen();
	detect__free(d);
	graph__free(g);
	return done();
}
