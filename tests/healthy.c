// SPDX-License-Identifier: GPL-2.0
/*
 * healthy - busy programs that never deadlock: true negatives for lockwatch.
 *
 *   healthy MODE [SECONDS]   (default 5 seconds)
 *
 *   ordered     4 threads take 3 mutexes, always in the same order
 *   recursive   a PTHREAD_MUTEX_RECURSIVE mutex relocked by its owner,
 *               3 threads contending for it
 *   errorcheck  a PTHREAD_MUTEX_ERRORCHECK mutex relocked by its owner (which
 *               must get EDEADLK at once, never block), 3 threads contending
 *   condvar     a producer with idle gaps of 1.5 s, 2 consumers waiting on a
 *               condition variable
 *   trylock     2 threads taking 2 mutexes in opposite order; the second one
 *               takes its second lock with pthread_mutex_trylock and backs off
 *   stress      4 threads locking 4 mutexes in one order, no sleeps at all
 *   slowhold    thread "slow-0" holds slow_lock for 2.5 s once, while
 *               "slow-1" waits for it: a long wait, not a deadlock
 *   slowholds   the same, but "slow-0" holds it for 1.5 s every time: a
 *               long wait again and again
 *   selfwait    2 threads call futex(2) in a tight loop on a word laid out
 *               like a mutex they own themselves (__owner: their own TID),
 *               as a hand-rolled lock gone wrong would: "eagain-0" with the
 *               word 0, expecting 2 (EAGAIN at once), "timed-1" with the
 *               word 2, expecting 2, for a microsecond (ETIMEDOUT). Each
 *               call looks like the start of a self-deadlock, none is one.
 *
 * The modes with short critical sections now and then hold a lock across a
 * short sleep, so other threads really wait in the kernel (FUTEX_WAIT) and
 * lockwatch has futex waits to look at.  Each mode checks that every thread
 * made progress and that the shared counters add up, and exits 0; on failure
 * it says why on stderr and exits 1.  Nothing goes to stdout: lockwatch shares
 * it with the command it runs.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/futex.h>
#include <sys/syscall.h>

#define MAX_THREADS 8

pthread_mutex_t inventory = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t orders = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t billing = PTHREAD_MUTEX_INITIALIZER;

pthread_mutex_t tree_lock;
pthread_mutex_t state_lock;

pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_cond_t queue_cond = PTHREAD_COND_INITIALIZER;

pthread_mutex_t left = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t right = PTHREAD_MUTEX_INITIALIZER;

pthread_mutex_t pool[4] = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
			    PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER };

static struct timespec deadline;
static unsigned long progress[MAX_THREADS];
/* Counters protected by the mutexes above; checked against progress[]. */
static unsigned long guarded[4];
static volatile unsigned long sink;
static int failed;

static void fail(const char *fmt, const char *what, long val)
{
	fprintf(stderr, "healthy: ");
	fprintf(stderr, fmt, what, val);
	fputc('\n', stderr);
	__atomic_store_n(&failed, 1, __ATOMIC_SEQ_CST);
}

static void check(const char *what, int err, int want)
{
	if (err != want) {
		fprintf(stderr, "healthy: %s returned %s, expected %s\n", what, strerror(err),
			strerror(want));
		exit(1);
	}
}

static void lock(pthread_mutex_t *m)
{
	check("pthread_mutex_lock", pthread_mutex_lock(m), 0);
}

static void unlock(pthread_mutex_t *m)
{
	check("pthread_mutex_unlock", pthread_mutex_unlock(m), 0);
}

static int expired(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > deadline.tv_sec ||
	       (now.tv_sec == deadline.tv_sec && now.tv_nsec >= deadline.tv_nsec);
}

static void sleep_us(long us)
{
	struct timespec ts = { .tv_sec = us / 1000000, .tv_nsec = (us % 1000000) * 1000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static void spin(int n)
{
	for (int i = 0; i < n; i++)
		sink++;
}

static void name_self(const char *prefix, long id)
{
	char name[16];

	snprintf(name, sizeof(name), "%s-%ld", prefix, id);
	check("pthread_setname_np", pthread_setname_np(pthread_self(), name), 0);
}

/* --- ordered --- */

static void *ordered_worker(void *arg)
{
	long id = (long)arg;

	name_self("worker", id);
	for (unsigned long i = 0; !expired(); i++) {
		lock(&inventory);
		guarded[0]++;
		if ((i + id) % 2) {
			lock(&orders);
			guarded[1]++;
		}
		lock(&billing);
		spin(200);
		/* Hold it across a sleep now and then: the others must wait. */
		if (i % 128 == 0)
			sleep_us(300);
		unlock(&billing);
		if ((i + id) % 2)
			unlock(&orders);
		unlock(&inventory);
		progress[id]++;
	}
	return NULL;
}

/* --- recursive --- */

static void *recursive_walker(void *arg)
{
	long id = (long)arg;

	name_self("walker", id);
	for (unsigned long i = 0; !expired(); i++) {
		lock(&tree_lock);
		lock(&tree_lock);
		guarded[0]++;
		lock(&tree_lock);
		spin(100);
		if (i % 128 == 0)
			sleep_us(300);
		unlock(&tree_lock);
		unlock(&tree_lock);
		unlock(&tree_lock);
		progress[id]++;
	}
	return NULL;
}

/* --- errorcheck --- */

static void *errorcheck_checker(void *arg)
{
	long id = (long)arg;

	name_self("checker", id);
	for (unsigned long i = 0; !expired(); i++) {
		lock(&state_lock);
		/* The owner relocking must be told EDEADLK, not put to sleep. */
		check("pthread_mutex_lock (relock by owner)", pthread_mutex_lock(&state_lock),
		      EDEADLK);
		guarded[0]++;
		spin(100);
		if (i % 128 == 0)
			sleep_us(300);
		unlock(&state_lock);
		/* Unlocking a mutex one does not hold must fail, not corrupt it. */
		check("pthread_mutex_unlock (not owner)", pthread_mutex_unlock(&state_lock), EPERM);
		progress[id]++;
	}
	return NULL;
}

/* --- condvar --- */

#define GAP_US 1500000
#define BURST 200

static unsigned long queued, produced_total;
static int producer_done;

static void *condvar_producer(void *arg)
{
	long id = (long)arg;

	name_self("producer", id);
	while (!expired()) {
		for (int i = 0; i < BURST; i++) {
			lock(&queue_lock);
			queued++;
			produced_total++;
			pthread_cond_signal(&queue_cond);
			unlock(&queue_lock);
		}
		progress[id]++;
		/* Nothing to do for longer than a second: consumers sleep on the condvar. */
		sleep_us(GAP_US);
	}
	lock(&queue_lock);
	producer_done = 1;
	pthread_cond_broadcast(&queue_cond);
	unlock(&queue_lock);
	return NULL;
}

static void *condvar_consumer(void *arg)
{
	long id = (long)arg;

	name_self("consumer", id);
	for (;;) {
		lock(&queue_lock);
		while (!queued && !producer_done)
			check("pthread_cond_wait", pthread_cond_wait(&queue_cond, &queue_lock), 0);
		if (!queued && producer_done) {
			unlock(&queue_lock);
			break;
		}
		queued--;
		guarded[0]++;
		unlock(&queue_lock);
		spin(1000);
		progress[id]++;
	}
	return NULL;
}

/* --- trylock --- */

static unsigned long backoffs;

static void *trylock_forward(void *arg)
{
	long id = (long)arg;

	name_self("forward", id);
	for (unsigned long i = 0; !expired(); i++) {
		lock(&left);
		lock(&right);
		guarded[0]++;
		spin(200);
		if (i % 64 == 0)
			sleep_us(200);
		unlock(&right);
		unlock(&left);
		progress[id]++;
	}
	return NULL;
}

static void *trylock_backward(void *arg)
{
	long id = (long)arg;
	unsigned int seed = 1;

	name_self("backward", id);
	while (!expired()) {
		int err;

		lock(&right);
		err = pthread_mutex_trylock(&left);
		if (err == EBUSY) {
			/* The other order is in use: let go and retry later. */
			unlock(&right);
			backoffs++;
			sleep_us(rand_r(&seed) % 200);
			continue;
		}
		check("pthread_mutex_trylock", err, 0);
		guarded[0]++;
		spin(200);
		unlock(&left);
		unlock(&right);
		progress[id]++;
	}
	return NULL;
}

/* --- stress --- */

static unsigned long stress_counts[MAX_THREADS][4];

static void *stress_thread(void *arg)
{
	long id = (long)arg;

	name_self("stress", id);
	for (unsigned long i = 0; !expired(); i++) {
		/* A different subset each time, always taken in index order. */
		unsigned int set = ((i * 7 + id) % 15) + 1;

		for (int m = 0; m < 4; m++)
			if (set & (1u << m))
				lock(&pool[m]);
		for (int m = 0; m < 4; m++) {
			if (set & (1u << m)) {
				guarded[m]++;
				stress_counts[id][m]++;
			}
		}
		spin(20);
		for (int m = 3; m >= 0; m--)
			if (set & (1u << m))
				unlock(&pool[m]);
		progress[id]++;
	}
	return NULL;
}

/* --- slowhold --- */

pthread_mutex_t slow_lock = PTHREAD_MUTEX_INITIALIZER;

static void *slow_thread(void *arg)
{
	struct timespec hold = { .tv_sec = 2, .tv_nsec = 500000000L };
	struct timespec gap = { .tv_nsec = 1000000L }, first = { .tv_nsec = 20000000L };
	struct timespec again = { .tv_sec = 1, .tv_nsec = 500000000L };
	long id = (long)arg & 1;
	int every_time = (long)arg >> 1;

	name_self("slow", id);
	if (id) /* let the holder take it first */
		nanosleep(&first, NULL);
	for (unsigned long i = 0; !expired(); i++) {
		lock(&slow_lock);
		guarded[0]++;
		if (!id && (!i || every_time))
			nanosleep(every_time ? &again : &hold, NULL);
		unlock(&slow_lock);
		progress[id]++;
		nanosleep(&gap, NULL);
	}
	return NULL;
}

static void *slow_threads(void *arg)
{
	return slow_thread((void *)((long)arg | 2));
}

static void init_mutex(pthread_mutex_t *m, int kind)
{
	pthread_mutexattr_t attr;

	pthread_mutexattr_init(&attr);
	check("pthread_mutexattr_settype", pthread_mutexattr_settype(&attr, kind), 0);
	check("pthread_mutex_init", pthread_mutex_init(m, &attr), 0);
	pthread_mutexattr_destroy(&attr);
}

/* --- selfwait --- */

/* glibc's pthread_mutex_t: __lock, __count, __owner, __nusers, __kind */
static unsigned int fake_mutex[2][10];

static void *selfwait_thread(void *arg)
{
	long id = (long)arg;
	unsigned int *m = fake_mutex[id];
	struct timespec us = { .tv_nsec = 1000 };

	name_self(id ? "timed" : "eagain", id);
	m[0] = id ? 2 : 0;
	m[2] = syscall(SYS_gettid);
	while (!expired()) {
		long err = syscall(SYS_futex, m, FUTEX_WAIT_PRIVATE, 2, id ? &us : NULL, NULL, 0);

		if (!err || (errno != EAGAIN && errno != ETIMEDOUT && errno != EINTR))
			fail("%s: futex returned %ld", "selfwait", err ? errno : err);
		progress[id]++;
	}
	return NULL;
}

struct mode {
	const char *name;
	void *(*threads[MAX_THREADS])(void *);
};

static const struct mode modes[] = {
	{ "ordered", { ordered_worker, ordered_worker, ordered_worker, ordered_worker } },
	{ "recursive", { recursive_walker, recursive_walker, recursive_walker } },
	{ "errorcheck", { errorcheck_checker, errorcheck_checker, errorcheck_checker } },
	{ "condvar", { condvar_producer, condvar_consumer, condvar_consumer } },
	{ "trylock", { trylock_forward, trylock_backward } },
	{ "stress", { stress_thread, stress_thread, stress_thread, stress_thread } },
	{ "slowhold", { slow_thread, slow_thread } },
	{ "slowholds", { slow_threads, slow_threads } },
	{ "selfwait", { selfwait_thread, selfwait_thread } },
};

static unsigned long sum(int from, int nr)
{
	unsigned long total = 0;

	for (int i = from; i < nr; i++)
		total += progress[i];
	return total;
}

/*
 * Every thread made progress and the counters under the locks add up. A
 * condition variable promises no fairness: one consumer may take every item
 * (seen on a slow emulated CPU), so there the consumers count together.
 */
static void verify(const struct mode *mode, int nr)
{
	int condvar = !strcmp(mode->name, "condvar");

	for (int i = 0; i < (condvar ? 1 : nr); i++)
		if (!progress[i])
			fail("%s: thread %ld made no progress", mode->name, i);
	if (condvar && !sum(1, nr))
		fail("%s: no consumer made progress (%ld)", mode->name, 0);
	if (condvar) {
		if (guarded[0] != produced_total || sum(1, nr) != produced_total)
			fail("%s: consumed %ld items", mode->name, (long)guarded[0]);
		if (progress[0] < 2)
			fail("%s: only %ld idle gaps", mode->name, (long)progress[0]);
	} else if (!strcmp(mode->name, "stress")) {
		for (int m = 0; m < 4; m++) {
			unsigned long want = 0;

			for (int i = 0; i < nr; i++)
				want += stress_counts[i][m];
			if (guarded[m] != want)
				fail("%s: lost updates on pool[%ld]", mode->name, m);
		}
	} else if (!strcmp(mode->name, "selfwait")) {
		/* nothing shared: progress is all */
	} else if (guarded[0] != sum(0, nr)) {
		fail("%s: lost updates (%ld)", mode->name, (long)guarded[0]);
	}
}

static int usage(void)
{
	fprintf(stderr, "usage: healthy ordered|recursive|errorcheck|condvar|trylock|stress|"
			"slowhold|slowholds|selfwait [SECONDS]\n");
	return 2;
}

int main(int argc, char **argv)
{
	const struct mode *mode = NULL;
	pthread_t tids[MAX_THREADS];
	long seconds = 5;
	int nr = 0;

	if (argc < 2 || argc > 3)
		return usage();
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (!strcmp(argv[1], modes[i].name))
			mode = &modes[i];
	if (argc == 3) {
		char *end;

		seconds = strtol(argv[2], &end, 10);
		if (*end || seconds <= 0)
			return usage();
	}
	if (!mode)
		return usage();

	init_mutex(&tree_lock, PTHREAD_MUTEX_RECURSIVE);
	init_mutex(&state_lock, PTHREAD_MUTEX_ERRORCHECK);
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += seconds;

	while (nr < MAX_THREADS && mode->threads[nr])
		nr++;
	for (long i = 0; i < nr; i++)
		check("pthread_create", pthread_create(&tids[i], NULL, mode->threads[i], (void *)i),
		      0);
	for (int i = 0; i < nr; i++)
		check("pthread_join", pthread_join(tids[i], NULL), 0);

	verify(mode, nr);
	return failed;
}
