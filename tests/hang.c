// SPDX-License-Identifier: GPL-2.0
/*
 * hang - programs that are already hung when lockwatch arrives, in every way
 * issue 3 names, and programs that only look as if they might be: the tests
 * of state at attach ("lockwatch check PID", "lockwatch -p PID"), of every
 * kind of wait, and of locks shared between processes.
 *
 *   hang MODE [SECONDS | PATH]
 *
 * Deadlocks (they hang until killed):
 *   rwlock-abba       threads "north" and "south" write-lock the global rwlocks
 *                     catalog and inventory in opposite order
 *   join-each-other   threads "left" and "right" pthread_join each other
 *   join-holding      thread "owner" holds the mutex registry while it joins
 *                     thread "worker", which waits for registry
 *   orphan            thread "leaker" takes config_lock and returns on an error
 *                     path without unlocking it; thread "reader" then waits for
 *                     it forever (a default mutex: nobody notices the death)
 *   shared-anon       process "diner-a" and its child "diner-b" take the
 *                     process-shared mutexes left_fork and right_fork of a
 *                     MAP_SHARED|MAP_ANONYMOUS table in opposite order
 *   shared-file PATH  the same through the file PATH ("file-a", "file-b"); the
 *                     parent creates it and maps both pages, the child maps only
 *                     the second page, which holds the table: the locks sit at
 *                     other addresses and another mapping offset there
 *   three-proc        processes "ring-a", "ring-b", "ring-c" in a cycle over
 *                     the shared mutexes gate_a, gate_b and gate_c
 *   many              1000 threads: "holder" holds big_lock and sleeps, 500
 *                     "blocked" threads wait for it, 499 "napper"s sleep; not
 *                     a deadlock, it lasts until killed (timing of "check")
 *   crowd             70,000 threads asleep on one futex word (more than
 *                     lockwatch has wait slots), until killed; not a deadlock.
 *                     Raw clone()s on small stacks in one mapping: pthreads'
 *                     would take 140,000 mappings (vm.max_map_count is 65,530)
 *                     and gigabytes. Needs kernel.pid_max above 70,000.
 *   lost-wakeup       a hang with no cycle: thread "producer" signals the
 *                     condition variable order_ready and exits before thread
 *                     "consumer" waits on it (without a predicate); the main
 *                     thread joins the consumer: every thread waits for good
 *   lost-wakeup-sem   the same, but the main thread waits on the semaphore
 *                     order_done, which the consumer would post: no thread
 *                     waits on a lock or a join, only on a condition variable
 *                     and a semaphore
 *
 * True negatives (they run SECONDS, default 5, and exit 0; 1 when a check of
 * their own fails):
 *   shared-ordered    "ordered-a" and its child "ordered-b" take the shared
 *                     mutexes left_fork then right_fork, under contention
 *   barrier-sem       4 "worker-N" threads parked for 1.2 s at a time on the
 *                     semaphore tickets, then as long on the barrier muster
 *   robust            rounds of: "crasher" exits holding the robust mutex
 *                     session_lock while "heir" waits for it; the heir gets
 *                     EOWNERDEAD and makes it consistent; then 3 "user-N"
 *                     threads contend for it
 *   forged            "forger-N" threads wait (200 ms timeouts, in a loop) on
 *                     private words dressed up as pthread_mutex_t whose __owner
 *                     is pid 1, the parent, an unused number, the threads of a
 *                     child process "decoy" (whose thread forges one back:
 *                     a fake cycle across processes), or garbage
 *   busy              4 "busy-N" threads take 3 mutexes, always in one order
 *   late-signal       thread "consumer" waits on order_ready; "signaller"
 *                     sleeps SECONDS, then signals it; main joins both
 *   idle-pool         3 "idler-N" threads wait, with no timeout, on the
 *                     semaphore work_queued, never posted; main waits on it
 *                     too, 500 ms at a time, for SECONDS: not every thread
 *                     waits for good
 *
 * Every deadlock forms the same way on every run: the threads take their first
 * lock and meet at a barrier, and the thread that closes the cycle waits until
 * the others sleep in futex(2) (read from /proc/PID/task/TID/{stat,syscall}).
 *
 * Environment:
 *   LW_READY_FILE=PATH  once the hang has formed (for the negatives: once all
 *                       their processes run), write "ready" and the PIDs of
 *                       the processes, parent first, on one line to PATH
 *                       (atomically: written aside, then renamed); orphan adds
 *                       the TID of the leaker after its PID
 *
 * Nothing goes to stdout: lockwatch shares it with the command it runs.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define noinline __attribute__((noinline))

/* One thread that must be asleep in the kernel before the hang counts as formed. */
struct slot {
	pid_t pid;
	pid_t tid;
	int armed;
};

static struct slot *slots;
static pthread_barrier_t met;
static struct timespec deadline;
static int failed;
/* Written after each lock call: no tail call may drop a frame a test looks for. */
static volatile unsigned long after_lock;

/* --- helpers --- */

static void die(const char *what, int err)
{
	fprintf(stderr, "hang: %s: %s\n", what, strerror(err));
	exit(2);
}

static void fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "hang: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	__atomic_store_n(&failed, 1, __ATOMIC_SEQ_CST);
}

static pid_t gettid_(void)
{
	return (pid_t)syscall(SYS_gettid);
}

static void sleep_us(long us)
{
	struct timespec ts = { .tv_sec = us / 1000000, .tv_nsec = (us % 1000000) * 1000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static void sleep_ms(long ms)
{
	sleep_us(ms * 1000);
}

static void spin(int n)
{
	for (int i = 0; i < n; i++)
		after_lock++;
}

static void set_deadline(long seconds)
{
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += seconds;
}

static int expired(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > deadline.tv_sec ||
	       (now.tv_sec == deadline.tv_sec && now.tv_nsec >= deadline.tv_nsec);
}

/* A thread's name, which is also the process's when the thread is its main one. */
static void set_name(const char *name)
{
	int err = pthread_setname_np(pthread_self(), name);

	if (err)
		die("pthread_setname_np", err);
}

static void set_name_nr(const char *prefix, long nr)
{
	char name[16];

	snprintf(name, sizeof(name), "%s-%ld", prefix, nr);
	set_name(name);
}

static void set_proc_name(const char *name)
{
	if (prctl(PR_SET_NAME, name, 0, 0, 0))
		die("prctl(PR_SET_NAME)", errno);
}

/* A forked child dies with its parent, so killing the parent ends the mode. */
static void child_setup(pid_t parent, const char *name)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0))
		die("prctl(PR_SET_PDEATHSIG)", errno);
	if (getppid() != parent)
		_exit(1);
	set_proc_name(name);
}

static pid_t fork_child(void)
{
	pid_t pid;

	fflush(stderr);
	pid = fork();
	if (pid < 0)
		die("fork", errno);
	return pid;
}

static void *map_shared(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		die("mmap(MAP_SHARED|MAP_ANONYMOUS)", errno);
	return p;
}

static void meet(pthread_barrier_t *barrier)
{
	int err = pthread_barrier_wait(barrier);

	if (err && err != PTHREAD_BARRIER_SERIAL_THREAD)
		die("pthread_barrier_wait", err);
}

static void init_barrier(pthread_barrier_t *barrier, unsigned int count, int pshared)
{
	pthread_barrierattr_t attr;
	int err;

	pthread_barrierattr_init(&attr);
	if (pshared)
		pthread_barrierattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
	err = pthread_barrier_init(barrier, &attr, count);
	if (err)
		die("pthread_barrier_init", err);
	pthread_barrierattr_destroy(&attr);
}

static void init_mutex(pthread_mutex_t *m, int pshared, int robust)
{
	pthread_mutexattr_t attr;
	int err;

	pthread_mutexattr_init(&attr);
	if (pshared)
		pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
	if (robust)
		pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
	err = pthread_mutex_init(m, &attr);
	if (err)
		die("pthread_mutex_init", err);
	pthread_mutexattr_destroy(&attr);
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
	int err = pthread_mutex_unlock(m);

	if (err)
		die("pthread_mutex_unlock", err);
}

static pthread_t start(void *(*fn)(void *), void *arg)
{
	pthread_t t;
	int err = pthread_create(&t, NULL, fn, arg);

	if (err)
		die("pthread_create", err);
	return t;
}

static void join(pthread_t t)
{
	int err = pthread_join(t, NULL);

	if (err)
		die("pthread_join", err);
}

__attribute__((noreturn)) static void hang_forever(void)
{
	for (;;)
		pause();
}

/* --- "the hang has formed": threads asleep in futex(2) --- */

static int read_task_file(pid_t pid, pid_t tid, const char *file, char *buf, size_t size)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/%s", pid, tid, file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

/* Asleep in futex(2): state S and syscall number 202 (x86_64 futex). */
static int asleep_in_futex(pid_t pid, pid_t tid)
{
	char buf[512];
	char *p;

	if (read_task_file(pid, tid, "stat", buf, sizeof(buf)))
		return 0;
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ' || p[2] != 'S')
		return 0;
	if (read_task_file(pid, tid, "syscall", buf, sizeof(buf)))
		return 0;
	return strncmp(buf, "202 ", 4) == 0;
}

/* Called right before the call that blocks for good. */
static void arm(struct slot *s)
{
	s->pid = getpid();
	s->tid = gettid_();
	__atomic_store_n(&s->armed, 1, __ATOMIC_SEQ_CST);
}

static void wait_asleep(struct slot *s)
{
	while (!__atomic_load_n(&s->armed, __ATOMIC_SEQ_CST))
		sleep_ms(1);
	while (!asleep_in_futex(s->pid, s->tid))
		sleep_ms(1);
}

/* All of slots[0..nr) asleep, on two looks 20 ms apart. */
static void settle(struct slot *s, int nr)
{
	int ok;

	do {
		for (int i = 0; i < nr; i++)
			wait_asleep(&s[i]);
		sleep_ms(20);
		ok = 1;
		for (int i = 0; i < nr && ok; i++)
			ok = asleep_in_futex(s[i].pid, s[i].tid);
	} while (!ok);
}

/* Writes "ready ARGS\n" to $LW_READY_FILE, aside and then renamed into place. */
static void ready(const char *fmt, ...)
{
	const char *path = getenv("LW_READY_FILE");
	char tmp[PATH_MAX], buf[256];
	va_list ap;
	int len, fd;

	if (!path || !*path)
		return;
	len = snprintf(buf, sizeof(buf), "ready ");
	va_start(ap, fmt);
	len += vsnprintf(buf + len, sizeof(buf) - len - 1, fmt, ap);
	va_end(ap);
	buf[len++] = '\n';
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		die(tmp, errno);
	if (write(fd, buf, len) != len)
		die(tmp, errno);
	close(fd);
	if (rename(tmp, path))
		die(path, errno);
}

/* Single-process deadlocks: main meets the threads, waits for the hang, says so. */
__attribute__((noreturn)) static void announce_when_hung(int nr)
{
	meet(&met);
	settle(slots, nr);
	ready("%d", getpid());
	hang_forever();
}

static struct slot *local_slots(int nr)
{
	struct slot *s = calloc(nr, sizeof(*s));

	if (!s)
		die("calloc", ENOMEM);
	return s;
}

/* --- rwlock-abba --- */

pthread_rwlock_t catalog = PTHREAD_RWLOCK_INITIALIZER;
pthread_rwlock_t inventory = PTHREAD_RWLOCK_INITIALIZER;

static void wrlock(pthread_rwlock_t *rw)
{
	int err = pthread_rwlock_wrlock(rw);

	if (err)
		die("pthread_rwlock_wrlock", err);
	after_lock++;
}

noinline static void restock_inventory(void)
{
	wrlock(&inventory);
	pthread_rwlock_unlock(&inventory);
}

noinline static void update_catalog(void)
{
	wrlock(&catalog);
	pthread_rwlock_unlock(&catalog);
}

static void *north(void *arg)
{
	set_name("north");
	wrlock(&catalog);
	meet(&met);
	arm(&slots[0]);
	restock_inventory();
	pthread_rwlock_unlock(&catalog);
	return NULL;
}

static void *south(void *arg)
{
	set_name("south");
	wrlock(&inventory);
	meet(&met);
	wait_asleep(&slots[0]);
	arm(&slots[1]);
	update_catalog();
	pthread_rwlock_unlock(&inventory);
	return NULL;
}

static int run_rwlock_abba(const char *arg)
{
	slots = local_slots(2);
	init_barrier(&met, 3, 0);
	start(north, NULL);
	start(south, NULL);
	announce_when_hung(2);
}

/* --- join-each-other --- */

static pthread_t left_thread, right_thread;

/* pthread_join returns only if glibc saw the cycle: then this mode failed. */
static void join_for_good(pthread_t t, const char *whom)
{
	int err = pthread_join(t, NULL);

	fprintf(stderr, "hang: pthread_join(%s) returned: %s; no deadlock\n", whom,
		err ? strerror(err) : "the thread exited");
	exit(2);
}

noinline static void wait_for_right(void)
{
	join_for_good(right_thread, "right");
	after_lock++;
}

noinline static void wait_for_left(void)
{
	join_for_good(left_thread, "left");
	after_lock++;
}

static void *left(void *arg)
{
	set_name("left");
	meet(&met);
	arm(&slots[0]);
	wait_for_right();
	return NULL;
}

static void *right(void *arg)
{
	set_name("right");
	meet(&met);
	wait_asleep(&slots[0]);
	arm(&slots[1]);
	wait_for_left();
	return NULL;
}

static int run_join_each_other(const char *arg)
{
	slots = local_slots(2);
	init_barrier(&met, 3, 0);
	/* Both handles are stored before main reaches the barrier, so before use. */
	left_thread = start(left, NULL);
	right_thread = start(right, NULL);
	announce_when_hung(2);
}

/* --- join-holding --- */

pthread_mutex_t registry = PTHREAD_MUTEX_INITIALIZER;
static pthread_t worker_thread;

noinline static void wait_for_worker(void)
{
	join_for_good(worker_thread, "worker");
	after_lock++;
}

noinline static void register_entry(void)
{
	lock(&registry);
	unlock(&registry);
}

static void *owner(void *arg)
{
	set_name("owner");
	lock(&registry);
	meet(&met);
	wait_asleep(&slots[1]);
	arm(&slots[0]);
	wait_for_worker();
	unlock(&registry);
	return NULL;
}

static void *worker(void *arg)
{
	set_name("worker");
	meet(&met);
	arm(&slots[1]);
	register_entry();
	return NULL;
}

static int run_join_holding(const char *arg)
{
	slots = local_slots(2);
	init_barrier(&met, 3, 0);
	start(owner, NULL);
	worker_thread = start(worker, NULL);
	announce_when_hung(2);
}

/* --- orphan --- */

pthread_mutex_t config_lock = PTHREAD_MUTEX_INITIALIZER;
static pid_t leaker_tid;
static volatile int config_broken = 1;

/* The bug: an error path returns with config_lock still held. */
noinline static int load_config(void)
{
	lock(&config_lock);
	if (config_broken)
		return -1;
	unlock(&config_lock);
	return 0;
}

noinline static void read_config(void)
{
	lock(&config_lock);
	unlock(&config_lock);
}

static void *leaker(void *arg)
{
	set_name("leaker");
	leaker_tid = gettid_();
	if (load_config())
		fprintf(stderr, "hang: orphan: leaker %d returns holding config_lock\n",
			leaker_tid);
	return NULL;
}

static void *reader(void *arg)
{
	set_name("reader");
	arm(&slots[0]);
	read_config();
	return NULL;
}

static int run_orphan(const char *arg)
{
	char path[64];

	slots = local_slots(1);
	join(start(leaker, NULL));
	/* Gone from /proc too, not only past the CLONE_CHILD_CLEARTID wake-up. */
	snprintf(path, sizeof(path), "/proc/self/task/%d", leaker_tid);
	while (!access(path, F_OK))
		sleep_ms(1);
	start(reader, NULL);
	settle(slots, 1);
	ready("%d %d", getpid(), leaker_tid);
	hang_forever();
}

/* --- shared-anon, shared-file, shared-ordered: a table for two processes --- */

struct table {
	pthread_mutex_t left_fork;
	pthread_mutex_t right_fork;
	pthread_barrier_t seated;
	struct slot slots[2];
	unsigned long meals;
	unsigned long served[2];
};

struct table *table;

static void init_table(struct table *t)
{
	memset(t, 0, sizeof(*t));
	init_mutex(&t->left_fork, 1, 0);
	init_mutex(&t->right_fork, 1, 0);
	init_barrier(&t->seated, 2, 1);
}

noinline static void pick_up(pthread_mutex_t *fork)
{
	lock(fork);
	after_lock++;
}

/* Takes FIRST, meets the other diner, then takes SECOND, which it holds. */
__attribute__((noreturn)) static void dine(struct slot *mine, struct slot *wait_for,
					   pthread_mutex_t *first, pthread_mutex_t *second)
{
	pick_up(first);
	meet(&table->seated);
	if (wait_for)
		wait_asleep(wait_for);
	arm(mine);
	pick_up(second);
	fprintf(stderr, "hang: took both forks; no deadlock\n");
	exit(2);
}

static pid_t pids[3];
static int nr_pids;

/* The parent's helper thread: waits for the hang, says so, and leaves. */
static void *lookout(void *arg)
{
	struct slot *s = arg;

	set_name("lookout");
	settle(s, nr_pids);
	if (nr_pids == 2)
		ready("%d %d", pids[0], pids[1]);
	else
		ready("%d %d %d", pids[0], pids[1], pids[2]);
	return NULL;
}

static void start_lookout(struct slot *s)
{
	pthread_t t = start(lookout, s);

	pthread_detach(t);
}

static int run_shared_anon(const char *arg)
{
	pid_t parent = getpid();

	table = map_shared(sizeof(*table));
	init_table(table);
	pids[nr_pids++] = parent;
	pids[nr_pids++] = fork_child();
	if (!pids[1]) {
		child_setup(parent, "diner-b");
		dine(&table->slots[1], NULL, &table->right_fork, &table->left_fork);
	}
	set_proc_name("diner-a");
	start_lookout(table->slots);
	dine(&table->slots[0], &table->slots[1], &table->left_fork, &table->right_fork);
}

#define FILE_PAGES 2
/* Where the table sits in the file: in its second page, not at its start. */
#define TABLE_OFFSET 256

static int run_shared_file(const char *path)
{
	long page = sysconf(_SC_PAGESIZE);
	pid_t parent = getpid();
	struct table *parent_table;
	char *whole, *second;
	int fd;

	if (!path)
		die("shared-file needs a PATH", EINVAL);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		die(path, errno);
	if (ftruncate(fd, FILE_PAGES * page))
		die("ftruncate", errno);
	whole = mmap(NULL, FILE_PAGES * page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (whole == MAP_FAILED)
		die("mmap", errno);
	table = parent_table = (struct table *)(whole + page + TABLE_OFFSET);
	init_table(table);
	pids[nr_pids++] = parent;
	pids[nr_pids++] = fork_child();
	if (!pids[1]) {
		child_setup(parent, "file-b");
		/* Mapped while the inherited mapping still exists: another address. */
		second = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, page);
		if (second == MAP_FAILED)
			die("mmap", errno);
		if (munmap(whole, FILE_PAGES * page))
			die("munmap", errno);
		table = (struct table *)(second + TABLE_OFFSET);
		if ((void *)table == (void *)parent_table) {
			fprintf(stderr, "hang: shared-file: the table has the same address\n");
			exit(2);
		}
		fprintf(stderr,
			"hang: shared-file: %s: left_fork at file offset %ld, right_fork at %ld; "
			"pid %d (file-a) maps them at %p and %p, pid %d (file-b) at %p and %p\n",
			path, (long)(page + TABLE_OFFSET + offsetof(struct table, left_fork)),
			(long)(page + TABLE_OFFSET + offsetof(struct table, right_fork)), parent,
			(void *)&parent_table->left_fork, (void *)&parent_table->right_fork,
			getpid(), (void *)&table->left_fork, (void *)&table->right_fork);
		dine(&table->slots[1], NULL, &table->right_fork, &table->left_fork);
	}
	set_proc_name("file-a");
	start_lookout(table->slots);
	dine(&table->slots[0], &table->slots[1], &table->left_fork, &table->right_fork);
}

/* --- three-proc --- */

struct ring {
	pthread_mutex_t gate_a;
	pthread_mutex_t gate_b;
	pthread_mutex_t gate_c;
	pthread_barrier_t formed;
	struct slot slots[3];
};

struct ring *ring;

noinline static void pass_gate(pthread_mutex_t *gate)
{
	lock(gate);
	after_lock++;
}

__attribute__((noreturn)) static void hold_and_pass(int me, pthread_mutex_t *held,
						    pthread_mutex_t *next)
{
	pass_gate(held);
	meet(&ring->formed);
	/* ring-c closes the cycle, once ring-a and ring-b wait. */
	if (me == 2) {
		wait_asleep(&ring->slots[0]);
		wait_asleep(&ring->slots[1]);
	}
	if (me == 0)
		start_lookout(ring->slots);
	arm(&ring->slots[me]);
	pass_gate(next);
	fprintf(stderr, "hang: passed both gates; no deadlock\n");
	exit(2);
}

static int run_three_proc(const char *arg)
{
	pid_t parent = getpid();

	ring = map_shared(sizeof(*ring));
	init_mutex(&ring->gate_a, 1, 0);
	init_mutex(&ring->gate_b, 1, 0);
	init_mutex(&ring->gate_c, 1, 0);
	init_barrier(&ring->formed, 3, 1);
	pids[nr_pids++] = parent;
	pids[nr_pids++] = fork_child();
	if (!pids[1]) {
		child_setup(parent, "ring-b");
		hold_and_pass(1, &ring->gate_b, &ring->gate_c);
	}
	pids[nr_pids++] = fork_child();
	if (!pids[2]) {
		child_setup(parent, "ring-c");
		hold_and_pass(2, &ring->gate_c, &ring->gate_a);
	}
	set_proc_name("ring-a");
	hold_and_pass(0, &ring->gate_a, &ring->gate_b);
}

/* --- many --- */

#define MANY_BLOCKED 500
#define MANY_NAPPERS 499

pthread_mutex_t big_lock = PTHREAD_MUTEX_INITIALIZER;
static int big_lock_held;

static void *holder(void *arg)
{
	set_name("holder");
	lock(&big_lock);
	__atomic_store_n(&big_lock_held, 1, __ATOMIC_SEQ_CST);
	for (;;)
		sleep_ms(3600 * 1000);
	return NULL;
}

noinline static void take_big_lock(void)
{
	lock(&big_lock);
	unlock(&big_lock);
}

static void *blocked(void *arg)
{
	set_name("blocked");
	arm(arg);
	take_big_lock();
	return NULL;
}

static void *napper(void *arg)
{
	set_name("napper");
	for (;;)
		sleep_ms(3600 * 1000);
	return NULL;
}

static int run_many(const char *arg)
{
	pthread_attr_t attr;
	pthread_t t;
	int err;

	slots = local_slots(MANY_BLOCKED);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	start(holder, NULL);
	while (!__atomic_load_n(&big_lock_held, __ATOMIC_SEQ_CST))
		sleep_ms(1);
	for (int i = 0; i < MANY_BLOCKED + MANY_NAPPERS; i++) {
		if (i < MANY_BLOCKED)
			err = pthread_create(&t, &attr, blocked, &slots[i]);
		else
			err = pthread_create(&t, &attr, napper, NULL);
		if (err)
			die("pthread_create", err);
	}
	settle(slots, MANY_BLOCKED);
	ready("%d", getpid());
	hang_forever();
}

/* --- crowd --- */

#define CROWD 70000
#define CROWD_STACK 16384

static uint32_t crowd_gate; /* never changes: they sleep until killed */
static int crowd_started;

/* A thread without glibc's thread state: counts itself and sleeps. */
static int crowd_thread(void *arg)
{
	__atomic_fetch_add(&crowd_started, 1, __ATOMIC_SEQ_CST);
	for (;;)
		syscall(SYS_futex, &crowd_gate, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
	return 0;
}

static int run_crowd(const char *arg)
{
	const int flags =
		CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM;
	char *stacks = mmap(NULL, (size_t)CROWD * CROWD_STACK, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (stacks == MAP_FAILED)
		die("mmap", errno);
	for (int i = 0; i < CROWD; i++)
		if (clone(crowd_thread, stacks + (size_t)(i + 1) * CROWD_STACK, flags, NULL) < 0)
			die("clone (kernel.pid_max above 70,000?)", errno);
	while (__atomic_load_n(&crowd_started, __ATOMIC_SEQ_CST) < CROWD)
		sleep_ms(10);
	sleep_ms(500); /* the last ones from counting to their futex call */
	ready("%d", getpid());
	hang_forever();
}

/* --- shared-ordered --- */

/* Both forks in one order; now and then held across a sleep so the other waits. */
static void eat_in_order(int me)
{
	for (unsigned long i = 0; !expired(); i++) {
		pick_up(&table->left_fork);
		pick_up(&table->right_fork);
		table->meals++;
		table->served[me]++;
		spin(100);
		if (i % 32 == 0)
			sleep_us(300);
		unlock(&table->right_fork);
		unlock(&table->left_fork);
		if (i % 8 == 0)
			sleep_us(50);
	}
}

static int run_shared_ordered(const char *arg)
{
	pid_t parent = getpid(), child;
	int status;

	table = map_shared(sizeof(*table));
	init_table(table);
	child = fork_child();
	if (!child) {
		child_setup(parent, "ordered-b");
		meet(&table->seated);
		eat_in_order(1);
		_exit(0);
	}
	set_proc_name("ordered-a");
	meet(&table->seated);
	ready("%d %d", parent, child);
	eat_in_order(0);
	if (waitpid(child, &status, 0) < 0)
		die("waitpid", errno);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fail("shared-ordered: the child ended with status %#x", status);
	if (!table->served[0] || !table->served[1])
		fail("shared-ordered: a process never ate (%lu, %lu)", table->served[0],
		     table->served[1]);
	if (table->meals != table->served[0] + table->served[1])
		fail("shared-ordered: lost updates under the shared mutexes");
	return failed;
}

/* --- barrier-sem --- */

#define WORKERS 4
#define PARK_MS 1200

sem_t tickets;
pthread_barrier_t muster;
static int stopping;
static unsigned long shifts[WORKERS];

noinline static int wait_ticket(void)
{
	while (sem_wait(&tickets))
		if (errno != EINTR)
			die("sem_wait", errno);
	return !__atomic_load_n(&stopping, __ATOMIC_SEQ_CST);
}

static void *barrier_worker(void *arg)
{
	long id = (long)arg;

	set_name_nr("worker", id);
	while (wait_ticket()) {
		meet(&muster);
		shifts[id]++;
	}
	return NULL;
}

static int run_barrier_sem(const char *arg)
{
	pthread_t t[WORKERS];
	int rounds = 0;

	set_name("conductor");
	if (sem_init(&tickets, 0, 0))
		die("sem_init", errno);
	init_barrier(&muster, WORKERS + 1, 0);
	for (long i = 0; i < WORKERS; i++)
		t[i] = start(barrier_worker, (void *)i);
	ready("%d", getpid());
	while (!expired()) {
		/* The workers sit in sem_wait, then in the barrier, 1.2 s each. */
		sleep_ms(PARK_MS);
		for (int i = 0; i < WORKERS; i++)
			sem_post(&tickets);
		sleep_ms(PARK_MS);
		meet(&muster);
		rounds++;
	}
	__atomic_store_n(&stopping, 1, __ATOMIC_SEQ_CST);
	for (int i = 0; i < WORKERS; i++)
		sem_post(&tickets);
	for (int i = 0; i < WORKERS; i++)
		join(t[i]);
	for (int i = 0; i < WORKERS; i++)
		if (shifts[i] != (unsigned long)rounds)
			fail("barrier-sem: worker-%d did %lu of %d shifts", i, shifts[i], rounds);
	return failed;
}

/* --- robust --- */

#define USERS 3

pthread_mutex_t session_lock;
static int crasher_holds;
static int heir_result = -1;
static unsigned long uses[USERS], session_uses;

static void *crasher(void *arg)
{
	set_name("crasher");
	lock(&session_lock);
	__atomic_store_n(&crasher_holds, 1, __ATOMIC_SEQ_CST);
	/* The heir waits meanwhile; then the owner dies, holding the lock. */
	sleep_ms(300);
	return NULL;
}

noinline static int take_session(void)
{
	int err = pthread_mutex_lock(&session_lock);

	after_lock++;
	return err;
}

static void *heir(void *arg)
{
	int err;

	set_name("heir");
	while (!__atomic_load_n(&crasher_holds, __ATOMIC_SEQ_CST))
		sleep_ms(1);
	err = take_session();
	if (err == EOWNERDEAD) {
		err = pthread_mutex_consistent(&session_lock);
		if (err)
			die("pthread_mutex_consistent", err);
		session_uses++;
		unlock(&session_lock);
		heir_result = EOWNERDEAD;
	} else {
		heir_result = err;
		if (!err)
			unlock(&session_lock);
	}
	return NULL;
}

static void *session_user(void *arg)
{
	long id = (long)arg;
	struct timespec until;

	set_name_nr("user", id);
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_nsec += 700 * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	for (unsigned long i = 0;; i++) {
		struct timespec now;

		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > until.tv_sec ||
		    (now.tv_sec == until.tv_sec && now.tv_nsec >= until.tv_nsec))
			break;
		if (take_session())
			die("pthread_mutex_lock(session_lock)", EINVAL);
		session_uses++;
		uses[id]++;
		spin(100);
		if (i % 16 == 0)
			sleep_us(1000);
		unlock(&session_lock);
	}
	return NULL;
}

static int run_robust(const char *arg)
{
	unsigned long total_uses = 0, recoveries = 0;
	pthread_t c, h, u[USERS];
	int rounds = 0;

	init_mutex(&session_lock, 0, 1);
	ready("%d", getpid());
	while (!expired()) {
		crasher_holds = 0;
		heir_result = -1;
		c = start(crasher, NULL);
		h = start(heir, NULL);
		join(c);
		join(h);
		if (heir_result == EOWNERDEAD)
			recoveries++;
		else
			fail("robust: the heir got %s, not EOWNERDEAD",
			     heir_result < 0 ? "nothing" : strerror(heir_result));
		for (long i = 0; i < USERS; i++)
			u[i] = start(session_user, (void *)i);
		for (int i = 0; i < USERS; i++)
			join(u[i]);
		rounds++;
	}
	for (int i = 0; i < USERS; i++) {
		if (!uses[i])
			fail("robust: user-%d never got session_lock", i);
		total_uses += uses[i];
	}
	if (session_uses != total_uses + recoveries)
		fail("robust: lost updates under session_lock");
	fprintf(stderr, "hang: robust: %d rounds, %lu recoveries\n", rounds, recoveries);
	return failed;
}

/* --- forged --- */

/* The first 20 bytes of a pthread_mutex_t (bits/struct_mutex.h), forged. */
struct fake_mutex {
	uint32_t lock;
	uint32_t count;
	uint32_t owner;
	uint32_t nusers;
	uint32_t kind;
};

/* Filled by the two processes of the forged mode. */
struct decoy_link {
	pid_t decoy_tid;
	pid_t forger_tid;
};

#define FORGERIES 8

struct fake_mutex forgeries[FORGERIES];
struct fake_mutex decoy_forgery;
struct decoy_link *decoy_link;

static long futex(uint32_t *uaddr, int op, uint32_t val, const struct timespec *ts, uint32_t val3)
{
	return syscall(SYS_futex, uaddr, op, val, ts, NULL, val3);
}

/* Sleeps in the kernel on a forged word, 200 ms at a time, until the deadline. */
noinline static void wait_on_forgery(struct fake_mutex *f, int absolute)
{
	while (!expired()) {
		struct timespec ts = { .tv_nsec = 200 * 1000000L };
		uint32_t val = __atomic_load_n(&f->lock, __ATOMIC_SEQ_CST);
		long err;

		if (absolute) {
			clock_gettime(CLOCK_MONOTONIC, &ts);
			ts.tv_nsec += 200 * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			err = futex(&f->lock, FUTEX_WAIT_BITSET_PRIVATE, val, &ts,
				    FUTEX_BITSET_MATCH_ANY);
		} else {
			err = futex(&f->lock, FUTEX_WAIT_PRIVATE, val, &ts, 0);
		}
		if (err && errno != ETIMEDOUT && errno != EINTR && errno != EAGAIN)
			die("futex(FUTEX_WAIT)", errno);
	}
}

static void *decoy_waiter(void *arg)
{
	set_name("decoy-waiter");
	__atomic_store_n(&decoy_link->decoy_tid, gettid_(), __ATOMIC_SEQ_CST);
	while (!__atomic_load_n(&decoy_link->forger_tid, __ATOMIC_SEQ_CST))
		sleep_ms(1);
	/* Forges one back: a "cycle" with forger-3 across the two processes. */
	decoy_forgery =
		(struct fake_mutex){ .lock = 2, .owner = decoy_link->forger_tid, .nusers = 1 };
	wait_on_forgery(&decoy_forgery, 0);
	return NULL;
}

static void *forger(void *arg)
{
	long id = (long)arg;

	set_name_nr("forger", id);
	if (id == 3)
		__atomic_store_n(&decoy_link->forger_tid, gettid_(), __ATOMIC_SEQ_CST);
	wait_on_forgery(&forgeries[id], id % 2);
	return NULL;
}

/* A number no thread uses now: an owner that can be read as "exited". */
static pid_t unused_tid(void)
{
	char path[64];
	pid_t tid;

	srandom(getpid());
	do {
		tid = 100000 + random() % 3000000;
		snprintf(path, sizeof(path), "/proc/%d", tid);
	} while (!access(path, F_OK));
	return tid;
}

static int run_forged(const char *arg)
{
	pid_t parent = getpid(), decoy, decoy_tid;
	pthread_t t[FORGERIES];
	int status;

	decoy_link = map_shared(sizeof(*decoy_link));
	decoy = fork_child();
	if (!decoy) {
		child_setup(parent, "decoy");
		join(start(decoy_waiter, NULL));
		_exit(0);
	}
	while (!(decoy_tid = __atomic_load_n(&decoy_link->decoy_tid, __ATOMIC_SEQ_CST)))
		sleep_ms(1);

	/* __lock 2 ("locked, with waiters"), __kind 0 unless said otherwise. */
	forgeries[0] = (struct fake_mutex){ .lock = 2, .owner = 1, .nusers = 1 };
	forgeries[1] = (struct fake_mutex){ .lock = 2, .owner = getppid(), .nusers = 1 };
	forgeries[2] = (struct fake_mutex){ .lock = 2, .owner = unused_tid(), .nusers = 1 };
	forgeries[3] = (struct fake_mutex){ .lock = 2, .owner = decoy_tid, .nusers = 1 };
	/* PTHREAD_MUTEX_RECURSIVE_NP, "owned" by the decoy's main thread. */
	forgeries[4] = (struct fake_mutex){ .lock = 2, .count = 1, .owner = decoy, .kind = 1 };
	/* Robust (PTHREAD_MUTEX_ROBUST_NORMAL_NP) and PI words: the TID in the word. */
	forgeries[5] = (struct fake_mutex){ .lock = FUTEX_WAITERS | decoy_tid,
					    .owner = decoy_tid,
					    .kind = 16 };
	forgeries[6] =
		(struct fake_mutex){ .lock = FUTEX_WAITERS | decoy, .owner = decoy, .kind = 32 };
	forgeries[7] = (struct fake_mutex){ .lock = 2,
					    .count = 0xffffffff,
					    .owner = 0xdeadbeef,
					    .nusers = 0x7fffffff,
					    .kind = 0x12345678 };
	ready("%d %d", parent, decoy);
	for (long i = 0; i < FORGERIES; i++)
		t[i] = start(forger, (void *)i);
	for (int i = 0; i < FORGERIES; i++)
		join(t[i]);
	if (waitpid(decoy, &status, 0) < 0)
		die("waitpid", errno);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fail("forged: the decoy ended with status %#x", status);
	return failed;
}

/* --- busy --- */

#define BUSY_THREADS 4

pthread_mutex_t accounts = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t audit_log = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t stats = PTHREAD_MUTEX_INITIALIZER;
static unsigned long transfers, busy_progress[BUSY_THREADS];

static void *busy_thread(void *arg)
{
	long id = (long)arg;

	set_name_nr("busy", id);
	for (unsigned long i = 0; !expired(); i++) {
		lock(&accounts);
		if ((i + id) % 2)
			lock(&audit_log);
		lock(&stats);
		transfers++;
		spin(200);
		if (i % 64 == 0)
			sleep_us(500);
		unlock(&stats);
		if ((i + id) % 2)
			unlock(&audit_log);
		unlock(&accounts);
		busy_progress[id]++;
		if (i % 16 == 0)
			sleep_us(100);
	}
	return NULL;
}

static int run_busy(const char *arg)
{
	pthread_t t[BUSY_THREADS];
	unsigned long total = 0;

	for (long i = 0; i < BUSY_THREADS; i++)
		t[i] = start(busy_thread, (void *)i);
	ready("%d", getpid());
	for (int i = 0; i < BUSY_THREADS; i++)
		join(t[i]);
	for (int i = 0; i < BUSY_THREADS; i++) {
		if (!busy_progress[i])
			fail("busy: busy-%d made no progress", i);
		total += busy_progress[i];
	}
	if (total != transfers)
		fail("busy: lost updates");
	return failed;
}

/* --- lost-wakeup, late-signal --- */

static pthread_mutex_t order_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t order_ready = PTHREAD_COND_INITIALIZER;
static int order_placed;

/* Signals before anybody waits, and leaves: the wakeup is lost. */
static void *producer(void *arg)
{
	set_name("producer");
	pthread_mutex_lock(&order_lock);
	pthread_cond_signal(&order_ready);
	pthread_mutex_unlock(&order_lock);
	return NULL;
}

/* Waits without looking at the predicate first: the lost-wakeup bug. */
noinline static void await_order(void)
{
	pthread_mutex_lock(&order_lock);
	pthread_cond_wait(&order_ready, &order_lock);
	pthread_mutex_unlock(&order_lock);
}

static void *consumer(void *arg)
{
	set_name("consumer");
	join((pthread_t)arg); /* the producer has come and gone */
	arm(&slots[0]);
	await_order();
	return NULL;
}

static int run_lost_wakeup(const char *arg)
{
	pthread_t p = start(producer, NULL), c;

	slots = local_slots(1);
	c = start(consumer, (void *)p);
	settle(slots, 1);
	ready("%d", getpid());
	join_for_good(c, "consumer");
	return 1;
}

static sem_t order_done;

static void *posting_consumer(void *arg)
{
	consumer(arg);
	sem_post(&order_done);
	return NULL;
}

static int run_lost_wakeup_sem(const char *arg)
{
	pthread_t p = start(producer, NULL);

	sem_init(&order_done, 0, 0);
	slots = local_slots(1);
	start(posting_consumer, (void *)p);
	settle(slots, 1);
	ready("%d", getpid());
	sem_wait(&order_done);
	fprintf(stderr, "hang: order_done was posted; no hang\n");
	return 1;
}

/* The signal comes, late: it sleeps SECONDS first (not in a futex). */
static long late_seconds;

static void *late_signaller(void *arg)
{
	set_name("signaller");
	sleep_ms(late_seconds * 1000);
	pthread_mutex_lock(&order_lock);
	order_placed = 1;
	pthread_cond_signal(&order_ready);
	pthread_mutex_unlock(&order_lock);
	return NULL;
}

static void *patient_consumer(void *arg)
{
	set_name("consumer");
	pthread_mutex_lock(&order_lock);
	while (!order_placed)
		pthread_cond_wait(&order_ready, &order_lock);
	pthread_mutex_unlock(&order_lock);
	return NULL;
}

static int run_late_signal(const char *arg)
{
	pthread_t c = start(patient_consumer, NULL), p;

	late_seconds = strtol(arg, NULL, 10);
	p = start(late_signaller, NULL);
	ready("%d", getpid());
	join(p);
	join(c);
	return failed;
}

static sem_t work_queued;

static void *idler(void *arg)
{
	char name[16];

	snprintf(name, sizeof(name), "idler-%ld", (long)arg);
	set_name(name);
	sem_wait(&work_queued);
	return NULL;
}

static int run_idle_pool(const char *arg)
{
	struct timespec t;

	sem_init(&work_queued, 0, 0);
	for (long i = 0; i < 3; i++)
		start(idler, (void *)i);
	ready("%d", getpid());
	while (!expired()) {
		clock_gettime(CLOCK_REALTIME, &t);
		t.tv_nsec += 500 * 1000000L;
		if (t.tv_nsec >= 1000000000L) {
			t.tv_sec++;
			t.tv_nsec -= 1000000000L;
		}
		sem_timedwait(&work_queued, &t);
	}
	return failed;
}

/* --- main --- */

struct mode {
	const char *name;
	int (*run)(const char *arg);
	int timed;
};

static const struct mode modes[] = {
	{ "rwlock-abba", run_rwlock_abba },
	{ "join-each-other", run_join_each_other },
	{ "join-holding", run_join_holding },
	{ "orphan", run_orphan },
	{ "shared-anon", run_shared_anon },
	{ "shared-file", run_shared_file },
	{ "three-proc", run_three_proc },
	{ "many", run_many },
	{ "crowd", run_crowd },
	{ "shared-ordered", run_shared_ordered, 1 },
	{ "barrier-sem", run_barrier_sem, 1 },
	{ "robust", run_robust, 1 },
	{ "forged", run_forged, 1 },
	{ "busy", run_busy, 1 },
	{ "lost-wakeup", run_lost_wakeup },
	{ "lost-wakeup-sem", run_lost_wakeup_sem },
	{ "late-signal", run_late_signal, 1 },
	{ "idle-pool", run_idle_pool, 1 },
};

static int usage(void)
{
	fprintf(stderr, "usage: hang MODE [SECONDS | PATH]\n  modes:");
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		fprintf(stderr, " %s", modes[i].name);
	fprintf(stderr, "\n");
	return 2;
}

int main(int argc, char **argv)
{
	const struct mode *mode = NULL;
	long seconds = 5;
	char *end;

	if (argc < 2 || argc > 3)
		return usage();
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (!strcmp(argv[1], modes[i].name))
			mode = &modes[i];
	if (!mode)
		return usage();
	if (mode->timed && argc == 3) {
		errno = 0;
		seconds = strtol(argv[2], &end, 10);
		if (errno || *end || end == argv[2] || seconds < 1 || seconds > 3600)
			return usage();
	}
	set_deadline(seconds);
	return mode->run(argc == 3 ? argv[2] : NULL);
}
