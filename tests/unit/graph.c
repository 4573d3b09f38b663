// SPDX-License-Identifier: GPL-2.0
/*
 * graph - the one wait-for graph (user/core/graph.c): cycles of 1 (a
 * self-wait), 2, 33, 1000 and 100,000 participants found once each and in
 * order; chains, a tail into a cycle, two cycles, waits without a holder;
 * tasks and threads in one cycle; which of two sources' waits for one
 * participant stands; the graph emptied and rebuilt; lock keys a process
 * chose to collide in the hash stay cheap once seeded. Needs no root.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/graph.h"
#include "sys/hash.h"
#include "tap.h"

static struct lw_graph *g;

/* p waits for a mutex keyed by n, held by holder (NULL: none known). */
static struct lw_lock *wait_on(struct lw_participant *p, int n, struct lw_participant *holder)
{
	struct lw_wait w = { .start_ns = 1 };
	struct lw_lock *l;
	char key[LW_KEY_LEN];

	snprintf(key, sizeof(key), "anon:1:0x%x", n);
	l = graph__wait(g, p, LW_LOCK_MUTEX, key, 1, n, &w);
	if (l && holder)
		graph__hold(l, holder);
	return l;
}

struct found {
	int ncycles;
	int len[16];
	int closed; /* every cycle: each waits for a lock the next holds */
	struct lw_participant *first[16];
};

static int on_cycle(struct lw_participant **c, int n, void *arg)
{
	struct found *f = arg;

	for (int i = 0; i < n; i++)
		if (c[i]->wait.lock->holder != c[(i + 1) % n])
			f->closed = 0;
	if (f->ncycles < 16) {
		f->len[f->ncycles] = n;
		f->first[f->ncycles] = c[0];
	}
	f->ncycles++;
	return 0;
}

static struct found search(void)
{
	struct found f = { .closed = 1 };

	graph__cycles(g, on_cycle, &f);
	return f;
}

/* A ring of n threads: thread i waits for lock i, held by thread i + 1. */
static void ring(int n, int tid0)
{
	struct lw_participant **t = malloc(n * sizeof(*t));

	for (int i = 0; i < n; i++)
		t[i] = graph__thread(g, 1, tid0 + i);
	for (int i = 0; i < n; i++)
		wait_on(t[i], tid0 + i, t[(i + 1) % n]);
	free(t);
}

static void test_rings(void)
{
	static const int sizes[] = { 1, 2, 33, 1000, 100000 };

	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		struct found f;

		graph__clear(g);
		ring(sizes[k], 100);
		f = search();
		ok(f.ncycles == 1 && f.len[0] == sizes[k] && f.closed,
		   "a ring of %d: one cycle of %d, closed (found %d, the first of %d)", sizes[k],
		   sizes[k], f.ncycles, f.ncycles ? f.len[0] : 0);
	}
	graph__clear(g);
	ring(1, 7);
	ok(graph__find_thread(g, 7)->wait.lock->holder == graph__find_thread(g, 7),
	   "a self-wait: the lock's holder is its waiter");
}

static void test_no_cycle(void)
{
	struct lw_participant *prev = NULL, *p;
	struct found f;

	graph__clear(g);
	/* a chain of 1000: each waits for the lock the one before holds */
	for (int i = 0; i < 1000; i++) {
		p = graph__thread(g, 1, 10 + i);
		if (prev)
			wait_on(p, i, prev);
		prev = p;
	}
	f = search();
	ok(f.ncycles == 0, "a chain of 1000 ending in a thread that waits for nothing: no cycle");

	graph__clear(g);
	for (int i = 0; i < 50; i++)
		wait_on(graph__thread(g, 1, 10 + i), 5, NULL);
	f = search();
	ok(f.ncycles == 0 && graph__nlocks(g) == 1,
	   "50 waiters of a lock with no holder known: no cycle, one lock");
}

static void test_tail_and_two(void)
{
	struct lw_participant *c[3], *t[10];
	struct found f;

	graph__clear(g);
	for (int i = 0; i < 3; i++)
		c[i] = graph__thread(g, 1, 100 + i);
	for (int i = 0; i < 3; i++)
		wait_on(c[i], i, c[(i + 1) % 3]);
	/* ten more, each waiting for the next, the last for a lock of the cycle */
	for (int i = 0; i < 10; i++)
		t[i] = graph__thread(g, 1, 200 + i);
	for (int i = 0; i < 10; i++)
		wait_on(t[i], 50 + i, i < 9 ? t[i + 1] : c[1]);
	f = search();
	ok(f.ncycles == 1 && f.len[0] == 3 && f.closed,
	   "a tail of 10 leading into a cycle of 3: the cycle once, without the tail");

	ring(4, 1000);
	f = search();
	ok(f.ncycles == 2 && f.len[0] + f.len[1] == 7, "and a second ring of 4 beside it: both");
}

static void test_tasks_and_threads(void)
{
	struct lw_participant *task, *thread;
	struct lw_wait w = {};
	struct found f;
	struct lw_lock *l;

	graph__clear(g);
	task = graph__task(g, 1, 0x7f0000001000, 42);
	thread = graph__thread(g, 1, 42);
	ok(task != thread && task->tid == 42 && graph__find_thread(g, 42) == thread,
	   "a task on thread 42 and thread 42 are two participants");
	l = graph__wait(g, thread, LW_LOCK_THREADING_LOCK, "anon:1:0x1", 1, 1, &w);
	graph__hold(l, task);
	l = graph__wait(g, task, LW_LOCK_EVENT_LOOP, "loop:1:0x2", 1, 2, &w);
	graph__hold(l, thread);
	f = search();
	ok(f.ncycles == 1 && f.len[0] == 2 && f.closed,
	   "a thread waiting for a task's threading.Lock, the task for its loop's thread: a cycle");
	ok(graph__task(g, 1, 0x7f0000001000, 0) == task && graph__nparticipants(g) == 2,
	   "a task is found again by its address");
}

static void test_which_wait_stands(void)
{
	struct lw_wait futex = { .start_ns = 1 }, py = { .start_ns = 2 };
	struct lw_participant *p;
	struct lw_lock *l;

	graph__clear(g);
	p = graph__thread(g, 1, 9);
	/* the futex tracer sees a bare futex word: the semaphore of a lock */
	l = graph__wait(g, p, LW_LOCK_FUTEX, "anon:1:0x10", 1, 0x10, &futex);
	ok(l && graph__nlocks(g) == 1, "a bare futex wait goes in");
	/* the Python reader knows it is a threading.Lock */
	l = graph__wait(g, p, LW_LOCK_THREADING_LOCK, "anon:1:0x20", 1, 0x20, &py);
	ok(l && p->wait.lock == l && p->wait.start_ns == 2 && graph__nlocks(g) == 1,
	   "a threading.Lock wait replaces it; the futex word has no waiter left");
	ok(!graph__wait(g, p, LW_LOCK_FUTEX, "anon:1:0x10", 1, 0x10, &futex) &&
		   p->wait.lock->kind == LW_LOCK_THREADING_LOCK,
	   "a bare futex wait does not replace it");
	ok(!graph__wait(g, p, LW_LOCK_MUTEX, "anon:1:0x30", 1, 0x30, &futex) &&
		   p->wait.lock->kind == LW_LOCK_THREADING_LOCK,
	   "nor does another specific one: the first said stands");
	graph__clear(g);
	p = graph__thread(g, 1, 9);
	futex.flags = LW_WAIT_TIMED | LW_WAIT_HINTED;
	futex.start_ns = 77;
	py.start_ns = 0;
	graph__wait(g, p, LW_LOCK_FUTEX, "anon:1:0x10", 1, 0x10, &futex);
	graph__wait(g, p, LW_LOCK_THREADING_LOCK, "anon:1:0x20", 1, 0x20, &py);
	ok(p->wait.start_ns == 0 && (p->wait.flags & LW_WAIT_TIMED) &&
		   (p->wait.flags & LW_WAIT_HINTED),
	   "the bare wait's timeout and hint stay with the threading.Lock wait, its start not");
	graph__clear(g);
	p = graph__thread(g, 1, 9);
	graph__wait(g, p, LW_LOCK_THREADING_LOCK, "anon:1:0x20", 1, 0x20, &py);
	graph__wait(g, p, LW_LOCK_FUTEX, "anon:1:0x10", 1, 0x10, &futex);
	ok(p->wait.lock->kind == LW_LOCK_THREADING_LOCK && p->wait.start_ns == 0 &&
		   (p->wait.flags & LW_WAIT_TIMED),
	   "the same when the bare wait comes second");
	ok(!strcmp(lw_lock_kind_name(p->wait.lock->kind), "threading.Lock") &&
		   !strcmp(lw_lock_kind_name(LW_LOCK_PI_MUTEX), "pi_mutex") &&
		   !strcmp(lw_lock_kind_name(LW_LOCK_THREAD_EXIT), "thread_exit"),
	   "kinds are named as schema 1 names them");
}

static void test_rebuild(void)
{
	graph__clear(g);
	ring(5000, 1);
	graph__clear(g);
	ok(graph__nparticipants(g) == 0 && graph__nlocks(g) == 0 && !graph__find_thread(g, 1),
	   "cleared: nothing left");
	ring(3, 1);
	ok(search().ncycles == 1 && graph__nparticipants(g) == 3, "rebuilt from kept memory");
}

/* n lock keys of pid 1 whose hashes, unseeded, share their low 12 bits:
 * what a process that knows the hash could choose its lock addresses to be
 * (a new graph's tables stay under 4,096 entries with 2,000 of them). */
static int colliding(int *addr, int n)
{
	uint64_t seed = lw_hash_seed, want = 0;
	char key[LW_KEY_LEN];
	int k = 0;

	lw_hash_seed = 0;
	for (int a = 0x1000; k < n && a < 0x7fffffff; a += 8) {
		uint64_t h;

		snprintf(key, sizeof(key), "anon:1:0x%x", a);
		h = lw_hash_str(key) & 0xfff;
		if (!k)
			want = h;
		if (h == want)
			addr[k++] = a;
	}
	lw_hash_seed = seed;
	return k;
}

/* n threads, each waiting on its own lock at addr[i], in a new graph (its
 * tables the smallest): the table work. */
static uint64_t probes_for(const int *addr, int n)
{
	uint64_t probes;

	graph__free(g);
	g = graph__new();
	if (!g)
		return UINT64_MAX;
	for (int i = 0; i < n; i++)
		wait_on(graph__thread(g, 1, 100 + i), addr[i], NULL);
	probes = graph__probes(g);
	return probes;
}

static void test_chosen_keys(void)
{
	enum { N = 2000 };
	static int addr[N];
	uint64_t plain, seeded;

	if (!ok(colliding(addr, N) == N, "%d lock addresses whose keys collide unseeded", N))
		return;
	lw_hash_seed = 0;
	plain = probes_for(addr, N);
	lw_hash_seed_init();
	seeded = probes_for(addr, N);
	diag("entries compared: %llu unseeded, %llu seeded (seed %#llx)", (unsigned long long)plain,
	     (unsigned long long)seeded, (unsigned long long)lw_hash_seed);
	ok(plain > (uint64_t)N * N / 4, "unseeded, they make one chain (the attack is real)");
	ok(lw_hash_seed && seeded < 8 * N, "seeded, %d waits cost < %d compares", N, 8 * N);
	ok(g && search().ncycles == 0 && graph__nlocks(g) == N, "every lock is there");
}

int main(void)
{
	tap_begin();
	g = graph__new();
	if (!ok(g != NULL, "a graph"))
		return done();
	test_rings();
	test_no_cycle();
	test_tail_and_two();
	test_tasks_and_threads();
	test_which_wait_stands();
	test_rebuild();
	test_chosen_keys();
	if (g)
		graph__free(g);
	return done();
}
