// SPDX-License-Identifier: GPL-2.0
/*
 * contend: a lock workload for lockwatch's overhead benchmark.
 *
 *   contend [-v] MODE SECONDS THREADS
 *
 * MODE "contended": THREADS threads share THREADS / 2 pthread mutexes (2 at
 * least: 4 threads on 2, 8 on 4) with
 * short critical sections, so the futex slow path (FUTEX_WAIT / FUTEX_WAKE) is
 * taken hundreds of thousands of times a second when the threads get both CPUs
 * of a 2-CPU machine (perf, 4 threads: 500-650k FUTEX_WAIT/s, nearly all of
 * them returning EAGAIN at once, a few hundred to a few thousand sleeping; far
 * fewer when another process keeps one CPU busy) - the path lockwatch's
 * tracepoints sit on. MODE "uncontended": each thread locks and unlocks its own mutex, so
 * no thread ever enters the kernel for a lock. MODE "futex": each thread calls
 * futex(FUTEX_WAIT_PRIVATE) on a word that never holds the expected value, so
 * the call returns EAGAIN at once: the bare cost of entering a futex wait, to
 * which lockwatch's tracepoints add their own. MODE "nested": like
 * uncontended, but each thread holds a second mutex of its own all along, so
 * every lock call is taken while another is held (with --lock-order: a lock
 * order looked up each time). MODE "chains": each thread has CHAIN_LOCKS
 * mutexes of its own and takes them in pairs, i then i + 1, round after
 * round: CHAIN_LOCKS distinct locks and CHAIN_LOCKS - 1 distinct orders a
 * thread, each taken over and over (lockwatch --lock-order's memory and
 * ring-buffer traffic against distinct orders); an operation is one pair.
 * MODE "chains-paced": the same, with a pause of CHAIN_PACE_MS after each
 * round, as a program that does other work between its locks (with 1,000
 * threads, "chains" keeps both CPUs busy, and a watcher gets ~1/1000 of them).
 *
 * Throughput is measured over the program's own window: the threads run for
 * WARMUP_MS first (thread start-up, and whatever a watcher does when it sees
 * new threads, stay out of it), then the per-thread counters are sampled, the
 * main thread sleeps SECONDS, and they are sampled again. The result is one
 * line on stdout, the total operations per second. With -v, stderr also gets
 * the operations per CPU-second, the CPUs used and the voluntary context
 * switches per second in the window (every futex wait that really sleeps is
 * one, so they show how contended the run was).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/futex.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define WARMUP_MS 500
#define MAX_HOT_LOCKS (MAX_THREADS / 2)
#define MAX_THREADS 1024
#define CHAIN_LOCKS 100
#define CHAIN_PACE_MS 1000 /* chains-paced: the pause after a round */
#define CACHELINE 64
/* Busy-work iterations inside and outside the critical section (~tens of ns) */
#define CS_SPINS 20
#define OUTSIDE_SPINS 40

struct padded_lock {
	pthread_mutex_t m;
	unsigned long shared; /* what the critical section protects */
} __attribute__((aligned(CACHELINE)));

struct worker {
	pthread_t thread;
	unsigned int idx;
	pthread_mutex_t *own; /* uncontended mode */
	unsigned long ops; /* read by main with relaxed atomics */
} __attribute__((aligned(CACHELINE)));

static struct padded_lock hot[MAX_HOT_LOCKS];
static unsigned int nr_hot = 2; /* THREADS / 2, 2 at least */
static struct worker *workers;
static struct padded_lock *own_locks;
static int stop;

static void spin(unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		__asm__ __volatile__("" ::: "memory");
}

static void *run_contended(void *arg)
{
	struct worker *w = arg;
	unsigned long ops = 0;
	unsigned int seed = w->idx * 2654435761u + 1;

	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		struct padded_lock *l;

		/* xorshift: a random lock each time, so every thread meets every other */
		seed ^= seed << 13;
		seed ^= seed >> 17;
		seed ^= seed << 5;
		l = &hot[seed % nr_hot];

		pthread_mutex_lock(&l->m);
		l->shared++;
		spin(CS_SPINS);
		pthread_mutex_unlock(&l->m);
		spin(OUTSIDE_SPINS);
		__atomic_store_n(&w->ops, ++ops, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void *run_uncontended(void *arg)
{
	struct worker *w = arg;
	unsigned long ops = 0;

	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		pthread_mutex_lock(w->own);
		pthread_mutex_unlock(w->own);
		__atomic_store_n(&w->ops, ++ops, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void *run_nested(void *arg)
{
	struct worker *w = arg;
	pthread_mutex_t outer = PTHREAD_MUTEX_INITIALIZER;
	unsigned long ops = 0;

	pthread_mutex_lock(&outer);
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		pthread_mutex_lock(w->own);
		pthread_mutex_unlock(w->own);
		__atomic_store_n(&w->ops, ++ops, __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&outer);
	return NULL;
}

static void *chains(void *arg, unsigned int pace_ms)
{
	struct worker *w = arg;
	pthread_mutex_t *m = calloc(CHAIN_LOCKS, sizeof(*m));
	unsigned long ops = 0;

	if (!m)
		return NULL;
	for (int i = 0; i < CHAIN_LOCKS; i++)
		pthread_mutex_init(&m[i], NULL);
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		for (int i = 0; i + 1 < CHAIN_LOCKS; i++) {
			pthread_mutex_lock(&m[i]);
			pthread_mutex_lock(&m[i + 1]);
			pthread_mutex_unlock(&m[i + 1]);
			pthread_mutex_unlock(&m[i]);
			__atomic_store_n(&w->ops, ++ops, __ATOMIC_RELAXED);
		}
		if (pace_ms)
			usleep(pace_ms * 1000);
	}
	return NULL;
}

static void *run_chains(void *arg)
{
	return chains(arg, 0);
}

static void *run_chains_paced(void *arg)
{
	return chains(arg, CHAIN_PACE_MS);
}

static void *run_futex(void *arg)
{
	struct worker *w = arg;
	unsigned int word = 0;
	unsigned long ops = 0;

	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 1, NULL, NULL, 0);
		__atomic_store_n(&w->ops, ++ops, __ATOMIC_RELAXED);
	}
	return NULL;
}

static double clock_sec(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static unsigned long total_ops(unsigned int nr)
{
	unsigned long sum = 0;

	for (unsigned int i = 0; i < nr; i++)
		sum += __atomic_load_n(&workers[i].ops, __ATOMIC_RELAXED);
	return sum;
}

static long vcsw(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_nvcsw;
}

static void sleep_sec(double sec)
{
	struct timespec ts = { .tv_sec = (time_t)sec };

	ts.tv_nsec = (long)((sec - ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: contend [-v] contended|uncontended|futex|nested|chains SECONDS THREADS\n"
		"Prints the operations (lock/unlock pairs, or futex calls) per second\n"
		"over a SECONDS window that starts %d ms after the threads.\n",
		WARMUP_MS);
	exit(2);
}

static const struct {
	const char *name;
	void *(*fn)(void *);
} modes[] = {
	{ "contended", run_contended }, { "uncontended", run_uncontended },
	{ "futex", run_futex },		{ "nested", run_nested },
	{ "chains", run_chains },	{ "chains-paced", run_chains_paced },
};

static int parse_args(int argc, char **argv, int *mode, double *secs, unsigned int *nr,
		      int *verbose)
{
	char *end;
	long n;

	*verbose = argc > 1 && !strcmp(argv[1], "-v");
	argc -= *verbose;
	argv += *verbose;
	if (argc != 4)
		return -EINVAL;
	for (*mode = 0; strcmp(argv[1], modes[*mode].name); ++*mode)
		if (*mode + 1 == sizeof(modes) / sizeof(modes[0]))
			return -EINVAL;
	errno = 0;
	*secs = strtod(argv[2], &end);
	if (errno || *end || end == argv[2] || !(*secs > 0 && *secs <= 86400))
		return -EINVAL;
	errno = 0;
	n = strtol(argv[3], &end, 10);
	if (errno || *end || end == argv[3] || n < 1 || n > MAX_THREADS)
		return -EINVAL;
	*nr = n;
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long ops0, ops1;
	double secs, t0, t1, cpu0, cpu1;
	unsigned int nr, i;
	int mode, verbose, err;
	long cs0, cs1;

	if (parse_args(argc, argv, &mode, &secs, &nr, &verbose))
		usage();

	workers = aligned_alloc(CACHELINE, sizeof(*workers) * nr);
	own_locks = aligned_alloc(CACHELINE, sizeof(*own_locks) * nr);
	if (!workers || !own_locks) {
		fprintf(stderr, "contend: out of memory for %u threads\n", nr);
		return 1;
	}
	memset(workers, 0, sizeof(*workers) * nr);
	nr_hot = nr / 2 > 2 ? nr / 2 : 2;
	for (i = 0; i < nr_hot; i++)
		pthread_mutex_init(&hot[i].m, NULL);

	for (i = 0; i < nr; i++) {
		pthread_mutex_init(&own_locks[i].m, NULL);
		workers[i].idx = i;
		workers[i].own = &own_locks[i].m;
		err = pthread_create(&workers[i].thread, NULL, modes[mode].fn, &workers[i]);
		if (err) {
			fprintf(stderr, "contend: pthread_create: %s\n", strerror(err));
			return 1;
		}
	}

	sleep_sec(WARMUP_MS / 1000.0);
	cs0 = vcsw();
	cpu0 = clock_sec(CLOCK_PROCESS_CPUTIME_ID);
	t0 = clock_sec(CLOCK_MONOTONIC);
	ops0 = total_ops(nr);
	sleep_sec(secs);
	ops1 = total_ops(nr);
	t1 = clock_sec(CLOCK_MONOTONIC);
	cpu1 = clock_sec(CLOCK_PROCESS_CPUTIME_ID);
	cs1 = vcsw();

	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < nr; i++)
		pthread_join(workers[i].thread, NULL);

	printf("%.0f\n", (ops1 - ops0) / (t1 - t0));
	if (verbose)
		fprintf(stderr,
			"contend: %s %u threads %.3f s: %.0f ops/s, %.0f ops/cpu-s, %.2f cpus, %.0f vcsw/s\n",
			modes[mode].name, nr, t1 - t0, (ops1 - ops0) / (t1 - t0),
			(ops1 - ops0) / (cpu1 - cpu0), (cpu1 - cpu0) / (t1 - t0),
			(cs1 - cs0) / (t1 - t0));
	return 0;
}
