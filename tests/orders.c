// SPDX-License-Identifier: GPL-2.0
/*
 * orders - programs that take locks in orders that can deadlock, but do not
 * this time, and programs whose orders only look as if they could: the tests
 * of lockwatch --lock-order. None of the inversions hangs: the threads take
 * turns (each one runs to the end before the next starts), so every run
 * completes - the bug is there, the timing is not.
 *
 *   orders MODE [ARG]
 *
 * Inversions (exit 0):
 *   abba [SEC]     thread "forward" takes the global mutexes accounts then
 *                  audit; SEC seconds later (default 0) thread "backward"
 *                  takes audit then accounts
 *   one-thread     thread "solo" takes accounts then audit, later audit then
 *                  accounts
 *   three          threads "stage-1..3": lock_a then lock_b, lock_b then
 *                  lock_c, lock_c then lock_a
 *   philosophers   threads "philosopher-0..4" each take fork[i] then
 *                  fork[(i+1) % 5], from the global array fork
 *   ring N         thread "ringer" takes ring[i] then ring[(i+1) % N] for
 *                  every i (N heap mutexes, default 30)
 *   rwlock         "left" read-locks index and write-locks table; "right"
 *                  read-locks table and write-locks index
 *   custom         "forward" and "backward" take the program's own spin locks
 *                  (spin_acquire/spin_release) first_spin, second_spin in
 *                  opposite orders
 *   custom-arg     the same through slot_acquire(slot, lock) and
 *                  slot_release(slot, lock): the lock is the second argument
 *
 * True negatives (exit 0; 1 when a check of their own fails):
 *   ordered [SEC]  4 "worker-N" threads take accounts, audit, journal in that
 *                  order, contended, for SEC seconds (default 2)
 *   trylock [SEC]  "forward" takes accounts then audit; "backoff" takes audit,
 *                  then only tries accounts and backs off when it is busy;
 *                  contended, for SEC seconds (default 2)
 *   recursive      "relocker" takes the recursive mutex registry, then audit,
 *                  then registry again (a relock), then each in turn again
 *   gate           "first" takes gate, accounts, audit; "second" takes gate,
 *                  audit, accounts
 *   reinit         "before" takes accounts then audit; both are destroyed and
 *                  initialised again at the same addresses; "after" takes
 *                  audit then accounts
 *   heap           "before" takes two heap mutexes in one order; both are
 *                  freed, and the memory is reused for two new mutexes
 *                  (pthread_mutex_init) that "after" takes in the opposite
 *                  order of their addresses
 *   chains [SEC]   100 "chain-N" threads, each with 10 heap mutexes of its own,
 *                  take them nested in one order, every 10 ms for SEC
 *                  seconds (default 2): 900 distinct orders, all at once
 *   held300        "hoarder" takes 300 heap mutexes, in one order, holds them
 *                  all at once, and releases them; three times
 *   read-read      "left" read-locks index then table; "right" read-locks
 *                  table then index
 *
 * Crowds:
 *   crowd [SEC]    70,000 threads (raw clone(2), no glibc thread state: many,
 *                  fast) each take a mutex of their own with
 *                  pthread_mutex_lock and sleep holding it, for SEC seconds
 *                  (default 10) after all have (LW_READY_FILE says when)
 *
 * Locks left held (they run until killed, or ARG seconds):
 *   exit-holding   thread "leaver" takes config_lock then journal_lock and
 *                  exits without unlocking them; nobody waits for them
 *   long-hold      thread "sitter" takes ledger and sleeps, holding it;
 *                  nobody waits for it
 *   readers-cycle  a deadlock through a read-held rwlock: "reader-1" and
 *                  "reader-2" read-lock catalog; "writer" locks the mutex
 *                  ledger and waits to write-lock catalog; "reader-1" waits
 *                  for ledger
 *
 * Environment: LW_READY_FILE=PATH - once the work has happened (the
 * inversions: both orders taken; the held locks: held, the cycle formed),
 * write "ready PID" to PATH (aside, then renamed). The negatives and the
 * inversions then wait for LW_ORDERS_LINGER seconds (default 0) before
 * exiting, so that a test can attach with -p before the interesting part
 * starts: with LW_ORDERS_START=PATH they wait for PATH to exist first.
 *
 * Nothing goes to stdout: lockwatch shares it with the command it runs.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define noinline __attribute__((noinline))

static pthread_mutex_t accounts = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t audit = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t journal = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t gate = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_c = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t config_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t journal_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t ledger = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t fork_[5] = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
			     PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
			     PTHREAD_MUTEX_INITIALIZER };
static pthread_mutex_t registry;
static pthread_rwlock_t index_ = PTHREAD_RWLOCK_INITIALIZER;
static pthread_rwlock_t table = PTHREAD_RWLOCK_INITIALIZER;
static pthread_rwlock_t catalog = PTHREAD_RWLOCK_INITIALIZER;

/* The program's own lock: a test-and-set spin lock. */
struct spin {
	int word;
	int slot; /* who holds it, for slot_acquire */
};
static struct spin first_spin, second_spin;

static int failed;
static long arg_sec;
static volatile unsigned long after_lock; /* keeps calls from being tail calls */

static void die(const char *what, int err)
{
	fprintf(stderr, "orders: %s: %s\n", what, strerror(err));
	exit(2);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static void set_name(const char *name)
{
	pthread_setname_np(pthread_self(), name);
}

static void lock(pthread_mutex_t *m)
{
	int err = pthread_mutex_lock(m);

	if (err)
		die("pthread_mutex_lock", err);
	after_lock++;
}

static void unlock(pthread_mutex_t *m)
{
	pthread_mutex_unlock(m);
	after_lock++;
}

struct named {
	const char *name;
	void *(*fn)(void *);
	void *arg;
};

static void *named(void *arg)
{
	struct named *t = arg;

	set_name(t->name);
	return t->fn(t->arg);
}

/* Runs fn(arg) in a thread named name, to its end. */
static void run(const char *name, void *(*fn)(void *), void *arg)
{
	struct named t = { name, fn, arg };
	pthread_t th;
	int err;

	err = pthread_create(&th, NULL, named, &t);
	if (err)
		die("pthread_create", err);
	pthread_join(th, NULL);
}

static void ready(void)
{
	const char *path = getenv("LW_READY_FILE");
	char tmp[4096];
	FILE *f;

	if (!path)
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		die("fopen", errno);
	fprintf(f, "ready %d\n", getpid());
	fclose(f);
	rename(tmp, path);
}

/* Before the work: wait for the test to say go (LW_ORDERS_START). */
static void start(void)
{
	const char *path = getenv("LW_ORDERS_START");

	while (path && access(path, F_OK))
		sleep_ms(10);
}

/* After the work: say so, and stay a while (LW_ORDERS_LINGER). */
static int finish(void)
{
	const char *linger = getenv("LW_ORDERS_LINGER");

	ready();
	if (linger)
		sleep_ms(atol(linger) * 1000);
	return failed;
}

/* --- inversions --- */

static noinline void take_two(pthread_mutex_t *first, pthread_mutex_t *second)
{
	lock(first);
	lock(second);
	unlock(second);
	unlock(first);
}

static noinline void *forward(void *arg)
{
	take_two(&accounts, &audit);
	return NULL;
}

static noinline void *backward(void *arg)
{
	take_two(&audit, &accounts);
	return NULL;
}

static int abba(void)
{
	run("forward", forward, NULL);
	sleep_ms(arg_sec * 1000);
	run("backward", backward, NULL);
	return finish();
}

static noinline void *solo(void *arg)
{
	forward(NULL);
	backward(NULL);
	return NULL;
}

static void *stage(void *arg)
{
	pthread_mutex_t *locks[] = { &lock_a, &lock_b, &lock_c };
	long i = (long)arg;

	take_two(locks[i], locks[(i + 1) % 3]);
	return NULL;
}

static int three(void)
{
	run("stage-1", stage, (void *)0);
	run("stage-2", stage, (void *)1);
	run("stage-3", stage, (void *)2);
	return finish();
}

static noinline void *philosopher(void *arg)
{
	long i = (long)arg;

	take_two(&fork_[i], &fork_[(i + 1) % 5]);
	return NULL;
}

static int philosophers(void)
{
	static const char *names[] = { "philosopher-0", "philosopher-1", "philosopher-2",
				       "philosopher-3", "philosopher-4" };

	for (long i = 0; i < 5; i++)
		run(names[i], philosopher, (void *)i);
	return finish();
}

static long ring_n;
static pthread_mutex_t *ring;

static noinline void *ringer(void *arg)
{
	for (long i = 0; i < ring_n; i++)
		take_two(&ring[i], &ring[(i + 1) % ring_n]);
	return NULL;
}

static int ring_mode(void)
{
	ring_n = arg_sec > 1 ? arg_sec : 30;
	ring = calloc(ring_n, sizeof(*ring));
	for (long i = 0; i < ring_n; i++)
		pthread_mutex_init(&ring[i], NULL);
	run("ringer", ringer, NULL);
	return finish();
}

static noinline void read_then_write(pthread_rwlock_t *r, pthread_rwlock_t *w)
{
	pthread_rwlock_rdlock(r);
	pthread_rwlock_wrlock(w);
	after_lock++;
	pthread_rwlock_unlock(w);
	pthread_rwlock_unlock(r);
}

static noinline void read_then_read(pthread_rwlock_t *r, pthread_rwlock_t *r2)
{
	pthread_rwlock_rdlock(r);
	pthread_rwlock_rdlock(r2);
	after_lock++;
	pthread_rwlock_unlock(r2);
	pthread_rwlock_unlock(r);
}

static void *left(void *arg)
{
	if (arg)
		read_then_read(&index_, &table);
	else
		read_then_write(&index_, &table);
	return NULL;
}

static void *right(void *arg)
{
	if (arg)
		read_then_read(&table, &index_);
	else
		read_then_write(&table, &index_);
	return NULL;
}

static int rwlock_mode(int read_only)
{
	run("left", left, (void *)(long)read_only);
	run("right", right, (void *)(long)read_only);
	return finish();
}

noinline void spin_acquire(struct spin *s)
{
	while (__atomic_exchange_n(&s->word, 1, __ATOMIC_ACQUIRE))
		sched_yield();
}

noinline void spin_release(struct spin *s)
{
	__atomic_store_n(&s->word, 0, __ATOMIC_RELEASE);
}

static noinline void spin_two(struct spin *first, struct spin *second)
{
	spin_acquire(first);
	spin_acquire(second);
	after_lock++;
	spin_release(second);
	spin_release(first);
}

static void *spin_forward(void *arg)
{
	spin_two(&first_spin, &second_spin);
	return NULL;
}

static void *spin_backward(void *arg)
{
	spin_two(&second_spin, &first_spin);
	return NULL;
}

static int custom(void)
{
	run("forward", spin_forward, NULL);
	run("backward", spin_backward, NULL);
	return finish();
}

/* A lock function whose lock is not its first argument. */
noinline void slot_acquire(int slot, struct spin *s)
{
	spin_acquire(s);
	__atomic_store_n(&s->slot, slot, __ATOMIC_RELAXED);
}

noinline void slot_release(int slot, struct spin *s)
{
	spin_release(s);
}

static noinline void slot_two(struct spin *first, struct spin *second)
{
	slot_acquire(1, first);
	slot_acquire(2, second);
	after_lock++;
	slot_release(2, second);
	slot_release(1, first);
}

static void *slot_forward(void *arg)
{
	slot_two(&first_spin, &second_spin);
	return NULL;
}

static void *slot_backward(void *arg)
{
	slot_two(&second_spin, &first_spin);
	return NULL;
}

static int custom_arg(void)
{
	run("forward", slot_forward, NULL);
	run("backward", slot_backward, NULL);
	return finish();
}

/* --- true negatives --- */

static struct timespec deadline;

static int expired(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > deadline.tv_sec ||
	       (now.tv_sec == deadline.tv_sec && now.tv_nsec >= deadline.tv_nsec);
}

static void *worker(void *arg)
{
	char name[16];

	snprintf(name, sizeof(name), "worker-%ld", (long)arg);
	set_name(name);
	while (!expired()) {
		lock(&accounts);
		lock(&audit);
		lock(&journal);
		unlock(&journal);
		unlock(&audit);
		unlock(&accounts);
	}
	return NULL;
}

static int ordered(void)
{
	pthread_t th[4];

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += arg_sec ? arg_sec : 2;
	for (long i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, worker, (void *)i);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	return finish();
}

static unsigned long backoffs;

static void *backoff(void *arg)
{
	set_name("backoff");
	while (!expired()) {
		lock(&audit);
		if (pthread_mutex_trylock(&accounts)) {
			unlock(&audit); /* busy: let go, and start again */
			backoffs++;
			sched_yield();
			continue;
		}
		unlock(&accounts);
		unlock(&audit);
	}
	return NULL;
}

static void *forward_loop(void *arg)
{
	set_name("forward");
	while (!expired())
		take_two(&accounts, &audit);
	return NULL;
}

static int trylock_mode(void)
{
	pthread_t a, b;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += arg_sec ? arg_sec : 2;
	pthread_create(&a, NULL, forward_loop, NULL);
	pthread_create(&b, NULL, backoff, NULL);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	fprintf(stderr, "orders: backed off %lu times\n", backoffs);
	return finish();
}

static void *relocker(void *arg)
{
	lock(&registry);
	lock(&audit);
	lock(&registry); /* a relock: registry is recursive */
	unlock(&registry);
	unlock(&audit);
	unlock(&registry);
	return NULL;
}

static int recursive(void)
{
	pthread_mutexattr_t a;

	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&registry, &a);
	run("relocker", relocker, NULL);
	return finish();
}

static void *gated(void *arg)
{
	lock(&gate);
	if (arg)
		take_two(&audit, &accounts);
	else
		take_two(&accounts, &audit);
	unlock(&gate);
	return NULL;
}

static int gate_mode(void)
{
	run("first", gated, NULL);
	run("second", gated, (void *)1);
	return finish();
}

static int reinit(void)
{
	run("before", forward, NULL);
	pthread_mutex_destroy(&accounts);
	pthread_mutex_destroy(&audit);
	pthread_mutex_init(&accounts, NULL);
	pthread_mutex_init(&audit, NULL);
	run("after", backward, NULL);
	return finish();
}

static pthread_mutex_t *heap_a, *heap_b;

static void *heap_pair(void *arg)
{
	take_two(heap_a, heap_b);
	return NULL;
}

static int heap(void)
{
	pthread_mutex_t *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
	uintptr_t first = (uintptr_t)a, second = (uintptr_t)b;

	pthread_mutex_init(a, NULL);
	pthread_mutex_init(b, NULL);
	heap_a = a;
	heap_b = b;
	run("before", heap_pair, NULL);
	pthread_mutex_destroy(a);
	pthread_mutex_destroy(b);
	free(b);
	free(a);
	/* the allocator hands the memory out again: the same two addresses,
	 * new locks, taken in the other order of addresses */
	b = malloc(sizeof(*b));
	a = malloc(sizeof(*a));
	if (!(((uintptr_t)a == first && (uintptr_t)b == second) ||
	      ((uintptr_t)a == second && (uintptr_t)b == first))) {
		/* say so: the test is only meaningful when memory is reused */
		fprintf(stderr, "orders: heap memory not reused (%p %p)\n", (void *)a, (void *)b);
		failed = 1;
	}
	pthread_mutex_init(a, NULL);
	pthread_mutex_init(b, NULL);
	/* the lock now at the address taken second before is taken first */
	heap_a = (uintptr_t)a == second ? a : b;
	heap_b = heap_a == a ? b : a;
	run("after", heap_pair, NULL);
	return finish();
}

#define HOARD 300

static void *hoarder(void *arg)
{
	pthread_mutex_t *m = arg;

	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < HOARD; i++)
			lock(&m[i]);
		for (int i = HOARD - 1; i >= 0; i--)
			unlock(&m[i]);
	}
	return NULL;
}

static int held300(void)
{
	pthread_mutex_t *m = calloc(HOARD, sizeof(*m));

	for (int i = 0; i < HOARD; i++)
		pthread_mutex_init(&m[i], NULL);
	run("hoarder", hoarder, m);
	return finish();
}

#define CHAINS 100
#define CHAIN_LEN 10

static pthread_barrier_t chains_start;
static pthread_mutex_t *chain_locks;

static void *chain(void *arg)
{
	pthread_mutex_t *m = arg;
	char name[16];

	snprintf(name, sizeof(name), "chain-%d", (int)((m - chain_locks) / CHAIN_LEN) % 100);
	set_name(name);
	pthread_barrier_wait(&chains_start);
	while (!expired()) {
		for (int i = 0; i < CHAIN_LEN; i++)
			lock(&m[i]);
		after_lock++;
		for (int i = CHAIN_LEN - 1; i >= 0; i--)
			unlock(&m[i]);
		sleep_ms(10); /* other work: lockwatch gets the CPU to read */
	}
	return NULL;
}

static int chains(void)
{
	pthread_mutex_t *m = calloc(CHAINS * CHAIN_LEN, sizeof(*m));
	pthread_t th[CHAINS];

	chain_locks = m;
	for (int i = 0; i < CHAINS * CHAIN_LEN; i++)
		pthread_mutex_init(&m[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += arg_sec ? arg_sec : 2;
	pthread_barrier_init(&chains_start, NULL, CHAINS);
	for (int i = 0; i < CHAINS; i++)
		pthread_create(&th[i], NULL, chain, &m[i * CHAIN_LEN]);
	for (int i = 0; i < CHAINS; i++)
		pthread_join(th[i], NULL);
	return finish();
}

/* --- locks left held --- */

static void *leaver(void *arg)
{
	lock(&config_lock);
	lock(&journal_lock);
	return NULL; /* an error path that forgot both */
}

static void linger_or_forever(void)
{
	for (long i = 0; !arg_sec || i < arg_sec * 10; i++)
		sleep_ms(100);
}

static int exit_holding(void)
{
	run("leaver", leaver, NULL);
	ready();
	linger_or_forever();
	return 0;
}

static noinline void hold_ledger(void)
{
	lock(&ledger);
	ready();
	linger_or_forever();
	unlock(&ledger);
}

static void *sitter(void *arg)
{
	hold_ledger();
	return NULL;
}

static int long_hold(void)
{
	run("sitter", sitter, NULL);
	return 0;
}

/* --- crowd --- */

#define CROWD 70000
#define CROWD_STACK 16384

static uint32_t crowd_gate; /* never changes: they sleep until the end */
static int crowd_locked;

static int crowd_thread(void *arg)
{
	pthread_mutex_lock(arg);
	__atomic_fetch_add(&crowd_locked, 1, __ATOMIC_SEQ_CST);
	for (;;)
		syscall(SYS_futex, &crowd_gate, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
	return 0;
}

static int crowd(void)
{
	const int flags =
		CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM;
	char *stacks = mmap(NULL, (size_t)CROWD * CROWD_STACK, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	pthread_mutex_t *locks = calloc(CROWD, sizeof(*locks)); /* zeroes: initialised */

	if (stacks == MAP_FAILED || !locks)
		die("mmap", errno);
	for (int i = 0; i < CROWD; i++)
		if (clone(crowd_thread, stacks + (size_t)(i + 1) * CROWD_STACK, flags, &locks[i]) <
		    0)
			die("clone (kernel.pid_max above 70,000?)", errno);
	while (__atomic_load_n(&crowd_locked, __ATOMIC_SEQ_CST) < CROWD)
		sleep_ms(10);
	ready();
	sleep_ms((arg_sec ? arg_sec : 10) * 1000);
	return failed;
}

static pthread_barrier_t met;

static noinline void *reader(void *arg)
{
	pthread_rwlock_rdlock(&catalog);
	pthread_barrier_wait(&met);
	if (arg) /* reader-1 */
		lock(&ledger);
	else
		for (;;)
			sleep_ms(1000);
	return NULL;
}

static noinline void *writer(void *arg)
{
	lock(&ledger);
	pthread_barrier_wait(&met);
	pthread_rwlock_wrlock(&catalog);
	after_lock++;
	return NULL;
}

static int readers_cycle(void)
{
	static struct named t[3] = { { "reader-1", reader, (void *)1 },
				     { "reader-2", reader, NULL },
				     { "writer", writer, NULL } };
	pthread_t th[3];

	pthread_barrier_init(&met, NULL, 3);
	for (int i = 0; i < 3; i++)
		pthread_create(&th[i], NULL, named, &t[i]);
	sleep_ms(300); /* both blocking waits have begun */
	ready();
	pthread_join(th[0], NULL);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(void);
	} modes[] = {
		{ "abba", abba },
		{ "three", three },
		{ "philosophers", philosophers },
		{ "ring", ring_mode },
		{ "custom", custom },
		{ "custom-arg", custom_arg },
		{ "ordered", ordered },
		{ "trylock", trylock_mode },
		{ "recursive", recursive },
		{ "gate", gate_mode },
		{ "reinit", reinit },
		{ "heap", heap },
		{ "held300", held300 },
		{ "chains", chains },
		{ "exit-holding", exit_holding },
		{ "long-hold", long_hold },
		{ "readers-cycle", readers_cycle },
		{ "crowd", crowd },
	};

	if (argc < 2) {
		fprintf(stderr, "usage: orders MODE [ARG]\n");
		return 2;
	}
	arg_sec = argc > 2 ? atol(argv[2]) : 0;
	start();
	if (!strcmp(argv[1], "one-thread")) {
		run("solo", solo, NULL);
		return finish();
	}
	if (!strcmp(argv[1], "rwlock") || !strcmp(argv[1], "read-read"))
		return rwlock_mode(!strcmp(argv[1], "read-read"));
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (!strcmp(argv[1], modes[i].name))
			return modes[i].fn();
	fprintf(stderr, "orders: unknown mode %s\n", argv[1]);
	return 2;
}
