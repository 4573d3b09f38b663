// SPDX-License-Identifier: GPL-2.0
/*
 * usdtlock - a program with a lock of its own, annotated for lockwatch with
 * USDT probes (<sys/sdt.h>, Debian's systemtap-sdt-dev), and the example of
 * the convention (README.md, "Your own locks"): provider "lockwatch", the
 * lock's address as the first argument.
 *
 *   lockwatch:acquire(lock)       before a call that may block to take lock
 *   lockwatch:acquire_read(lock)  the same, to take it shared
 *   lockwatch:acquired(lock)      after lock was taken without blocking (a
 *                                 try that succeeded)
 *   lockwatch:release(lock)       when lock is released
 *
 * A probe is a single nop until a tracer attaches: the annotations cost
 * nothing when lockwatch is not looking.
 *
 *   usdtlock MODE
 *     abba     thread "forward" takes the ticket locks inbox then outbox;
 *              then thread "backward" takes outbox then inbox (each pass
 *              completes: the inversion is there, the timing is not)
 *     ordered  4 "worker-N" threads take inbox then outbox, contended, for
 *              2 s; try_lock(outbox) back-offs in between
 *
 * Environment: LW_ORDERS_LINGER=SECONDS, stay that long after the work.
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sdt.h>
#include <time.h>
#include <unistd.h>

/* A ticket lock: fair, spinning, and unknown to any pthread probe. */
struct ticket_lock {
	unsigned int next, serving;
};

static struct ticket_lock inbox, outbox;

static void ticket_lock(struct ticket_lock *l)
{
	unsigned int me;

	DTRACE_PROBE1(lockwatch, acquire, l);
	me = __atomic_fetch_add(&l->next, 1, __ATOMIC_RELAXED);
	while (__atomic_load_n(&l->serving, __ATOMIC_ACQUIRE) != me)
		sched_yield();
}

static int ticket_trylock(struct ticket_lock *l)
{
	unsigned int me = __atomic_load_n(&l->serving, __ATOMIC_RELAXED);

	if (!__atomic_compare_exchange_n(&l->next, &me, me + 1, 0, __ATOMIC_ACQUIRE,
					 __ATOMIC_RELAXED))
		return 0;
	DTRACE_PROBE1(lockwatch, acquired, l);
	return 1;
}

static void ticket_unlock(struct ticket_lock *l)
{
	DTRACE_PROBE1(lockwatch, release, l);
	__atomic_fetch_add(&l->serving, 1, __ATOMIC_RELEASE);
}

static volatile unsigned long moved;

__attribute__((noinline)) static void move_mail(struct ticket_lock *from, struct ticket_lock *to)
{
	ticket_lock(from);
	ticket_lock(to);
	moved++;
	ticket_unlock(to);
	ticket_unlock(from);
}

static void *forward(void *arg)
{
	pthread_setname_np(pthread_self(), "forward");
	move_mail(&inbox, &outbox);
	return NULL;
}

static void *backward(void *arg)
{
	pthread_setname_np(pthread_self(), "backward");
	move_mail(&outbox, &inbox);
	return NULL;
}

static time_t until;

static void *worker(void *arg)
{
	char name[16];

	snprintf(name, sizeof(name), "worker-%ld", (long)arg);
	pthread_setname_np(pthread_self(), name);
	while (time(NULL) < until) {
		move_mail(&inbox, &outbox);
		ticket_lock(&inbox);
		if (ticket_trylock(&outbox))
			ticket_unlock(&outbox);
		ticket_unlock(&inbox);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	const char *linger = getenv("LW_ORDERS_LINGER");
	pthread_t t[4];

	if (argc == 2 && !strcmp(argv[1], "abba")) {
		pthread_create(&t[0], NULL, forward, NULL);
		pthread_join(t[0], NULL);
		pthread_create(&t[1], NULL, backward, NULL);
		pthread_join(t[1], NULL);
	} else if (argc == 2 && !strcmp(argv[1], "ordered")) {
		until = time(NULL) + 2;
		for (long i = 0; i < 4; i++)
			pthread_create(&t[i], NULL, worker, (void *)i);
		for (int i = 0; i < 4; i++)
			pthread_join(t[i], NULL);
	} else {
		fprintf(stderr, "usage: usdtlock abba|ordered\n");
		return 2;
	}
	if (linger)
		sleep(atoi(linger));
	return 0;
}
