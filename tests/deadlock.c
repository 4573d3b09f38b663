// SPDX-License-Identifier: GPL-2.0
/*
 * deadlock - programs that really deadlock on pthread mutexes, for the
 * lockwatch tests and the detection-latency benchmark.
 *
 *   deadlock abba      threads "poster" and "auditor" take the global mutexes
 *                      ledger and journal in opposite order
 *   deadlock abba-pi   the same on PTHREAD_PRIO_INHERIT mutexes: the kernel
 *                      answers the FUTEX_LOCK_PI that closes the cycle with
 *                      EDEADLK and glibc parks the thread for good
 *   deadlock three     threads "alpha", "beta", "gamma" in a cycle over the
 *                      mutexes first, second and third
 *   deadlock self      thread "rebuilder": store_rebuild() holds store_lock and
 *                      calls store_set_hash(), which takes it again
 *   deadlock self-inlined  the same, thread "refresher": cache_refresh() calls
 *                      cache_set_hash(), which calls cache_store(), which
 *                      takes it again: both always inlined
 *   deadlock abba-recursive, abba-adaptive, abba-errorcheck, abba-robust
 *                      abba on mutexes of that type (each blocks on a lock
 *                      another thread holds)
 *   deadlock abba-heap abba on two mutexes malloc()ed: no symbol names them
 *   deadlock abba-array  abba on accounts[1] and accounts[2] of a global
 *                      array of mutexes ("accounts+0x28", "accounts+0x50")
 *   deadlock abba-futex2, abba-waitv  abba where the threads take ledger and
 *                      journal by hand, as glibc would (lock word, __owner),
 *                      but wait with futex_wait(2) (Linux 6.7+) or
 *                      futex_waitv(2) instead of futex(2)
 *
 * Every thread takes its first lock, then all meet at a barrier.  The thread
 * that closes the cycle waits until the others are asleep in the kernel (read
 * from /proc/self/task/TID/{stat,syscall}), so the same thread always closes
 * it and the deadlock forms on every run.  The deadlocked threads then hang
 * forever and main() joins them.  Nothing is printed on stdout: lockwatch
 * shares it with the command it runs.
 *
 * Environment:
 *   LW_DELAY_MS=N      sleep N ms before starting the threads (lets
 *                      "lockwatch -p PID" attach before the deadlock forms)
 *   LW_GO_FILE=PATH    before starting the threads, wait until PATH exists
 *   LW_STAMP_FILE=PATH write CLOCK_REALTIME in ns (decimal) to PATH right
 *                      before the lock call that closes the cycle
 *   LW_HOSTILE_NAMES=1 name the threads with newlines, quotes, a terminal
 *                      escape and invalid UTF-8 (see hostile_name());
 *                      =forge: a newline and "PRIORITY=0", a journal field
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

pthread_mutex_t ledger = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t journal = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t accounts[4];
/* what abba's threads take: ledger and journal but in abba-heap, abba-array */
static pthread_mutex_t *ledger_p = &ledger, *journal_p = &journal;

pthread_mutex_t first = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t second = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t third = PTHREAD_MUTEX_INITIALIZER;

pthread_mutex_t store_lock = PTHREAD_MUTEX_INITIALIZER;

static pthread_barrier_t ready;
/* TIDs of the threads that must be asleep before the cycle is closed. */
static pid_t sleepers[2];
static int nr_sleepers;
/* Written after each lock call: no tail call may drop a frame the tests look for. */
static volatile unsigned long after_lock;

static void die(const char *what, int err)
{
	fprintf(stderr, "deadlock: %s: %s\n", what, strerror(err));
	exit(2);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/*
 * What a hostile or careless process may call its threads (15 bytes at most):
 * the first two letters of the real name, then a newline, a quote, a
 * terminal escape, an invalid UTF-8 byte and a DEL.
 */
static const char *hostile_name(const char *name)
{
	static __thread char buf[16];

	if (!strcmp(getenv("LW_HOSTILE_NAMES"), "forge"))
		snprintf(buf, sizeof(buf), "%.2s\nPRIORITY=0", name);
	else
		snprintf(buf, sizeof(buf), "%.2s\n\"\x1b[1m\xff\x7f", name);
	return buf;
}

static void set_name(const char *name)
{
	int err;

	if (getenv("LW_HOSTILE_NAMES"))
		name = hostile_name(name);
	err = pthread_setname_np(pthread_self(), name);

	if (err)
		die("pthread_setname_np", err);
}

static void register_sleeper(void)
{
	__atomic_store_n(&sleepers[__atomic_fetch_add(&nr_sleepers, 1, __ATOMIC_SEQ_CST)],
			 (pid_t)syscall(SYS_gettid), __ATOMIC_SEQ_CST);
}

static void meet(void)
{
	int err = pthread_barrier_wait(&ready);

	if (err && err != PTHREAD_BARRIER_SERIAL_THREAD)
		die("pthread_barrier_wait", err);
}

static int read_task_file(pid_t tid, const char *file, char *buf, size_t size)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/%s", tid, file);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

/* Asleep in futex(2), futex_waitv(2) or futex_wait(2): state S and syscall
 * number 202, 449 or 455 (x86_64). */
static int asleep_in_futex(pid_t tid)
{
	char buf[512];
	char *p;

	if (read_task_file(tid, "stat", buf, sizeof(buf)))
		return 0;
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ' || p[2] != 'S')
		return 0;
	if (read_task_file(tid, "syscall", buf, sizeof(buf)))
		return 0;
	return !strncmp(buf, "202 ", 4) || !strncmp(buf, "449 ", 4) || !strncmp(buf, "455 ", 4);
}

/* Called by the thread that closes the cycle, right before it does. */
static void wait_for_sleepers(int expected)
{
	for (int i = 0; i < expected; i++) {
		pid_t tid;

		while (!(tid = __atomic_load_n(&sleepers[i], __ATOMIC_SEQ_CST)))
			sleep_ms(1);
		while (!asleep_in_futex(tid))
			sleep_ms(1);
	}
}

static void stamp(void)
{
	const char *path = getenv("LW_STAMP_FILE");
	struct timespec ts;
	char buf[32];
	int fd, len;

	if (!path || !*path)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	len = snprintf(buf, sizeof(buf), "%lld\n",
		       (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		die(path, errno);
	if (write(fd, buf, len) != len)
		die(path, errno);
	close(fd);
}

static void lock(pthread_mutex_t *m)
{
	int err = pthread_mutex_lock(m);

	/* A default or PI mutex never fails here: glibc parks on EDEADLK. */
	if (err)
		die("pthread_mutex_lock", err);
	after_lock++;
}

/* --- abba-futex2, abba-waitv --- */

#define SYS_FUTEX_WAITV 449
#define SYS_FUTEX_WAIT2 455 /* futex_wait(2) */
#define FUTEX2_SIZE_U32 0x02
#define FUTEX2_PRIVATE 128

struct futex_waitv_arg {
	uint64_t val;
	uint64_t uaddr;
	uint32_t flags;
	uint32_t reserved;
};

static int use_waitv;

/* glibc's lock word protocol (0 free, 1 taken, 2 taken with waiters) and its
 * __owner, waiting with the futex2 calls */
static void lock_futex2(pthread_mutex_t *m)
{
	int *word = &m->__data.__lock;

	while (__atomic_exchange_n(word, 2, __ATOMIC_SEQ_CST) != 0) {
		struct futex_waitv_arg w = { .val = 2,
					     .uaddr = (uintptr_t)word,
					     .flags = FUTEX2_SIZE_U32 | FUTEX2_PRIVATE };
		long r = use_waitv ? syscall(SYS_FUTEX_WAITV, &w, 1, 0, NULL, 0) :
				     syscall(SYS_FUTEX_WAIT2, word, 2, 0xffffffffUL,
					     FUTEX2_SIZE_U32 | FUTEX2_PRIVATE, NULL, 0);

		if (r && errno != EAGAIN && errno != EINTR)
			die(use_waitv ? "futex_waitv" : "futex_wait", errno);
	}
	m->__data.__owner = (int)syscall(SYS_gettid);
	after_lock++;
}

/* --- abba, abba-pi --- */

/* How abba's threads take a lock: lock(), or what the mode says. */
static void (*take)(pthread_mutex_t *) = lock;

/*
 * The mutex is kept across the call, as code that unlocks what it locked
 * keeps it: in a register the lock function saves in its frame, where
 * lockwatch check finds the lock a parked PI thread was refused.
 */
__attribute__((noinline)) static void take_journal(void)
{
	pthread_mutex_t *m = journal_p;

	take(m);
	pthread_mutex_unlock(m);
}

__attribute__((noinline)) static void take_ledger(void)
{
	pthread_mutex_t *m = ledger_p;

	take(m);
	pthread_mutex_unlock(m);
}

static void *poster(void *arg)
{
	set_name("poster");
	take(ledger_p);
	meet();
	register_sleeper();
	take_journal();
	pthread_mutex_unlock(ledger_p);
	return NULL;
}

static void *auditor(void *arg)
{
	set_name("auditor");
	take(journal_p);
	meet();
	wait_for_sleepers(1);
	stamp();
	take_ledger();
	pthread_mutex_unlock(journal_p);
	return NULL;
}

enum attr { PLAIN, PI, RECURSIVE, ADAPTIVE, ERRORCHECK, ROBUST };

static void make(pthread_mutex_t *m, enum attr a)
{
	pthread_mutexattr_t attr;
	int err = 0;

	pthread_mutexattr_init(&attr);
	if (a == PI)
		err = pthread_mutexattr_setprotocol(&attr, PTHREAD_PRIO_INHERIT);
	else if (a == RECURSIVE)
		err = pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	else if (a == ADAPTIVE)
		err = pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
	else if (a == ERRORCHECK)
		err = pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
	else if (a == ROBUST)
		err = pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
	if (err)
		die("pthread_mutexattr_set*", err);
	err = pthread_mutex_init(m, &attr);
	if (err)
		die("pthread_mutex_init", err);
	pthread_mutexattr_destroy(&attr);
}

/* --- three --- */

__attribute__((noinline)) static void take_second(void)
{
	lock(&second);
	pthread_mutex_unlock(&second);
}

__attribute__((noinline)) static void take_third(void)
{
	lock(&third);
	pthread_mutex_unlock(&third);
}

__attribute__((noinline)) static void take_first(void)
{
	lock(&first);
	pthread_mutex_unlock(&first);
}

static void *alpha(void *arg)
{
	set_name("alpha");
	lock(&first);
	meet();
	register_sleeper();
	take_second();
	pthread_mutex_unlock(&first);
	return NULL;
}

static void *beta(void *arg)
{
	set_name("beta");
	lock(&second);
	meet();
	register_sleeper();
	take_third();
	pthread_mutex_unlock(&second);
	return NULL;
}

/* Not gamma(): libm has one. */
static void *gamma_thread(void *arg)
{
	set_name("gamma");
	lock(&third);
	meet();
	wait_for_sleepers(2);
	stamp();
	take_first();
	pthread_mutex_unlock(&third);
	return NULL;
}

/* --- self --- */

__attribute__((noinline)) static void store_set_hash(void)
{
	stamp();
	lock(&store_lock);
	pthread_mutex_unlock(&store_lock);
}

__attribute__((noinline)) static void store_rebuild(void)
{
	lock(&store_lock);
	store_set_hash();
	pthread_mutex_unlock(&store_lock);
}

static void *rebuilder(void *arg)
{
	set_name("rebuilder");
	meet();
	store_rebuild();
	return NULL;
}

/* --- self-inlined --- */

__attribute__((always_inline)) static inline void cache_store(void)
{
	lock(&store_lock);
	pthread_mutex_unlock(&store_lock);
}

__attribute__((always_inline)) static inline void cache_set_hash(void)
{
	stamp();
	cache_store();
}

__attribute__((noinline)) static void cache_refresh(void)
{
	lock(&store_lock);
	cache_set_hash();
	pthread_mutex_unlock(&store_lock);
}

static void *refresher(void *arg)
{
	set_name("refresher");
	meet();
	cache_refresh();
	return NULL;
}

enum where { GLOBALS, HEAP, ARRAY };

struct mode {
	const char *name;
	void *(*threads[3])(void *);
	enum attr attr; /* of abba's two mutexes */
	enum where where;
	int futex2; /* 1: futex_wait(2), 2: futex_waitv(2) */
};

static const struct mode modes[] = {
	{ .name = "abba", .threads = { poster, auditor } },
	{ .name = "abba-pi", .threads = { poster, auditor }, .attr = PI },
	{ .name = "abba-recursive", .threads = { poster, auditor }, .attr = RECURSIVE },
	{ .name = "abba-adaptive", .threads = { poster, auditor }, .attr = ADAPTIVE },
	{ .name = "abba-errorcheck", .threads = { poster, auditor }, .attr = ERRORCHECK },
	{ .name = "abba-robust", .threads = { poster, auditor }, .attr = ROBUST },
	{ .name = "abba-heap", .threads = { poster, auditor }, .where = HEAP },
	{ .name = "abba-array", .threads = { poster, auditor }, .where = ARRAY },
	{ .name = "abba-futex2", .threads = { poster, auditor }, .futex2 = 1 },
	{ .name = "abba-waitv", .threads = { poster, auditor }, .futex2 = 2 },
	{ .name = "three", .threads = { alpha, beta, gamma_thread } },
	{ .name = "self", .threads = { rebuilder } },
	{ .name = "self-inlined", .threads = { refresher } },
};

static void wait_before_start(void)
{
	const char *delay = getenv("LW_DELAY_MS");
	const char *go = getenv("LW_GO_FILE");

	if (delay && *delay)
		sleep_ms(strtol(delay, NULL, 10));
	if (go && *go)
		while (access(go, F_OK))
			sleep_ms(10);
}

static int usage(void)
{
	fprintf(stderr, "usage: deadlock MODE\n  modes:");
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		fprintf(stderr, " %s", modes[i].name);
	fprintf(stderr, "\n");
	return 2;
}

int main(int argc, char **argv)
{
	const struct mode *mode = NULL;
	pthread_t tids[3];
	int nr = 0, err;

	if (argc != 2)
		return usage();
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (!strcmp(argv[1], modes[i].name))
			mode = &modes[i];
	if (!mode)
		return usage();

	if (mode->futex2) {
		take = lock_futex2;
		use_waitv = mode->futex2 == 2;
	}
	if (mode->where == HEAP) {
		ledger_p = malloc(sizeof(*ledger_p));
		journal_p = malloc(sizeof(*journal_p));
		if (!ledger_p || !journal_p)
			die("malloc", ENOMEM);
	} else if (mode->where == ARRAY) {
		ledger_p = &accounts[1];
		journal_p = &accounts[2];
	}
	if (mode->attr || mode->where) {
		make(ledger_p, mode->attr);
		make(journal_p, mode->attr);
	}
	while (nr < 3 && mode->threads[nr])
		nr++;
	/* The self mode meets main at the barrier, so it has one thread more. */
	err = pthread_barrier_init(&ready, NULL, nr == 1 ? 2 : nr);
	if (err)
		die("pthread_barrier_init", err);

	wait_before_start();
	for (int i = 0; i < nr; i++) {
		err = pthread_create(&tids[i], NULL, mode->threads[i], NULL);
		if (err)
			die("pthread_create", err);
	}
	if (nr == 1)
		meet();
	for (int i = 0; i < nr; i++)
		pthread_join(tids[i], NULL);
	return 0;
}
