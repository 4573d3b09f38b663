// SPDX-License-Identifier: GPL-2.0
/*
 * futex - the futex classifier (lw_classify, bpf/lockwatch.h) and the
 * reading of waits and holders (attach.c, holder.c), on real glibc locks
 * that threads of this very process block on: a mutex, a PI mutex, an
 * rwlock held for writing, a join, a semaphore, a mutex whose owner exited,
 * a recursive mutex relocked (no wait at all); and words forged to look like
 * a mutex. The same code reads other processes as root; its own needs no
 * root.
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "lockwatch.h"
#include "source/futex/attach.h"
#include "source/futex/holder.h"
#include "sys/proc.h"
#include "tap.h"

static pthread_mutex_t plain = PTHREAD_MUTEX_INITIALIZER, pi, orphan = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static sem_t never;

static pid_t gettid_(void)
{
	return syscall(SYS_gettid);
}

/* A thread that takes what `take` says, says its TID, and then sleeps on a
 * semaphore forever (holding it). */
struct holder_arg {
	void (*take)(void);
	volatile pid_t tid;
};

static void *hold_forever(void *arg)
{
	struct holder_arg *h = arg;

	h->take();
	h->tid = gettid_();
	sem_wait(&never);
	return NULL;
}

static void take_plain(void)
{
	pthread_mutex_lock(&plain);
}

static void take_pi(void)
{
	pthread_mutex_lock(&pi);
}

static void take_rw(void)
{
	pthread_rwlock_wrlock(&rw);
}

static void take_nothing(void)
{
}

static void *lock_plain(void *arg)
{
	pthread_mutex_lock(&plain);
	return NULL;
}

static void *lock_pi(void *arg)
{
	pthread_mutex_lock(&pi);
	return NULL;
}

static void *lock_rw(void *arg)
{
	pthread_rwlock_wrlock(&rw);
	return NULL;
}

static void *wait_sem(void *arg)
{
	sem_wait(&never);
	return NULL;
}

static pthread_t joined;

static void *join_it(void *arg)
{
	pthread_join(joined, NULL);
	return NULL;
}

static void *leak_orphan(void *arg)
{
	pthread_mutex_lock(&orphan);
	*(volatile pid_t *)arg = gettid_();
	return NULL; /* exits holding it */
}

static void *lock_orphan(void *arg)
{
	pthread_mutex_lock(&orphan);
	return NULL;
}

struct blocked_arg {
	void *(*fn)(void *);
	void *arg;
	volatile pid_t tid;
};

static void *run_blocked(void *p)
{
	struct blocked_arg *b = p;

	b->tid = gettid_();
	return b->fn(b->arg);
}

/* Start a thread running fn and wait until it sleeps in futex(2): its TID. */
static pid_t blocked(void *(*fn)(void *), void *arg)
{
	struct blocked_arg *b = calloc(1, sizeof(*b));
	struct lw_syscall sc;
	pthread_t t;

	b->fn = fn;
	b->arg = arg;
	pthread_create(&t, NULL, run_blocked, b);
	while (!b->tid)
		usleep(1000);
	for (int i = 0; i < 5000; i++) {
		if (!lw_proc_syscall(getpid(), b->tid, &sc) && sc.nr == SYS_futex)
			return b->tid;
		usleep(1000);
	}
	return -1;
}

/* The wait attach__scan finds for tid, or NULL. */
static struct lw_futex_wait waits[256];

static const struct lw_futex_wait *scan_for(pid_t tid)
{
	int n = attach__scan(getpid(), waits, 256, 1);

	for (int i = 0; i < n; i++)
		if ((pid_t)waits[i].tid == tid)
			return &waits[i];
	return NULL;
}

static pid_t start_holder(void (*take)(void))
{
	static struct holder_arg args[8];
	static int n;
	struct holder_arg *h = &args[n++];
	pthread_t t;

	h->take = take;
	pthread_create(&t, NULL, hold_forever, h);
	while (!h->tid)
		usleep(1000);
	if (take == take_nothing)
		joined = t;
	return h->tid;
}

static void test_mutex(void)
{
	pid_t owner = start_holder(take_plain), waiter = blocked(lock_plain, NULL);
	const struct lw_futex_wait *w = scan_for(waiter);
	struct lw_held h;
	char key[64];

	ok(w && (w->flags & LW_WF_MUTEX) && w->owner == (uint32_t)owner,
	   "a mutex: classified a mutex, owner the holder's TID");
	snprintf(key, sizeof(key), "anon:%d:%p", getpid(), (void *)&plain);
	ok(w && !holder__resolve(w, &h) && h.kind == LW_LOCK_MUTEX && h.holder_tid == owner &&
		   h.holder_pid == getpid() && !strcmp(h.key, key) && !h.gone_tid,
	   "its holder resolved from memory: the holding thread, key %s", key);
}

static void test_pi(void)
{
	pthread_mutexattr_t a;
	pid_t owner, waiter;
	const struct lw_futex_wait *w;
	struct lw_held h;

	pthread_mutexattr_init(&a);
	pthread_mutexattr_setprotocol(&a, PTHREAD_PRIO_INHERIT);
	pthread_mutex_init(&pi, &a);
	owner = start_holder(take_pi);
	waiter = blocked(lock_pi, NULL);
	w = scan_for(waiter);
	ok(w && (w->flags & LW_WF_PI) && w->owner == (uint32_t)owner,
	   "a PI mutex: classified PI, owner from the futex word");
	ok(w && !holder__resolve(w, &h) && h.kind == LW_LOCK_PI_MUTEX && h.holder_tid == owner,
	   "its holder: the holding thread");
}

static void test_rwlock(void)
{
	pid_t owner = start_holder(take_rw), waiter = blocked(lock_rw, NULL);
	const struct lw_futex_wait *w = scan_for(waiter);
	struct lw_held h;

	ok(w && (w->flags & LW_WF_RWLOCK) && w->owner == (uint32_t)owner,
	   "an rwlock held for writing: classified, owner __cur_writer");
	ok(w && !holder__resolve(w, &h) && h.kind == LW_LOCK_RWLOCK && h.holder_tid == owner &&
		   h.addr == (uintptr_t)&rw,
	   "its holder the writer, the lock named by its base address");
}

static void test_join_and_sem(void)
{
	pid_t target = start_holder(take_nothing), joiner = blocked(join_it, NULL), sleeper;
	const struct lw_futex_wait *w = scan_for(joiner);
	struct lw_held h;

	ok(w && (w->flags & LW_WF_JOIN) && w->owner == (uint32_t)target,
	   "pthread_join: a wait on the joined thread's TID word");
	ok(w && !holder__resolve(w, &h) && h.kind == LW_LOCK_THREAD_EXIT && h.holder_tid == target,
	   "its holder: the joined thread");
	sleeper = blocked(wait_sem, NULL);
	w = scan_for(sleeper);
	ok(w && !(w->flags & (LW_WF_MUTEX | LW_WF_PI | LW_WF_RWLOCK | LW_WF_JOIN)) &&
		   !holder__resolve(w, &h) && h.kind == LW_LOCK_FUTEX && !h.holder_tid,
	   "a semaphore: a bare futex wait, no holder");
}

static void test_orphan(void)
{
	volatile pid_t leaker = 0;
	const struct lw_futex_wait *w;
	pthread_t t;
	struct lw_held h;
	pid_t waiter;

	pthread_create(&t, NULL, leak_orphan, (void *)&leaker);
	pthread_join(t, NULL);
	waiter = blocked(lock_orphan, NULL);
	w = scan_for(waiter);
	ok(w && !holder__resolve(w, &h) && h.kind == LW_LOCK_MUTEX && !h.holder_tid &&
		   h.gone_tid == leaker,
	   "a mutex whose owner exited holding it: no holder, the gone owner's TID %d", leaker);
}

static void test_forged(void)
{
	uint32_t words[LW_MUTEX_WORDS] = { 2, 0, 1234, 1, 0 }, owner, ow;

	ok(lw_classify(words, 2, 99, 0, &owner, &ow) == LW_WF_MUTEX && owner == 1234,
	   "words like a contended mutex: a mutex");
	words[LW_MUTEX_KIND] = 0x40000000;
	ok(lw_classify(words, 2, 99, 0, &owner, &ow) != LW_WF_MUTEX,
	   "a __kind no glibc mutex has: not a mutex");
	words[LW_MUTEX_KIND] = 0;
	ok(lw_classify(words, 1, 99, 0, &owner, &ow) != LW_WF_MUTEX,
	   "a wait expecting 1, not 2: not glibc's lock wait");
	words[LW_MUTEX_OWNER] = 0;
	ok(!(lw_classify(words, 2, 99, 0, &owner, &ow) & LW_WF_MUTEX),
	   "no __owner: not a mutex (a word that could be a TID is only a join's claim)");
	words[0] = 99;
	ok(!(lw_classify(words, 99, 99, 0, &owner, &ow) & LW_WF_JOIN),
	   "a word holding the waiter's own TID: no join");
}

static void test_recursive(void)
{
	pthread_mutexattr_t a;
	pthread_mutex_t m;
	int err;

	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&m, &a);
	pthread_mutex_lock(&m);
	err = pthread_mutex_lock(&m);
	ok(!err && !scan_for(gettid_()), "a recursive mutex relocked by its owner: no wait at all");
}

int main(void)
{
	tap_begin();
	sem_init(&never, 0, 0);
	test_forged();
	test_recursive();
	test_mutex();
	test_pi();
	test_rwlock();
	test_join_and_sem();
	test_orphan();
	return done();
}
