// SPDX-License-Identifier: GPL-2.0
/*
 * From candidate chains to confirmed deadlocks. Edges captured at wait time go
 * stale (glibc sets __owner after taking the lock word and clears it before
 * releasing; a woken waiter keeps its map entry until it runs), so a cycle is
 * reported only after every waiter is seen, twice and 10 ms apart, sitting in
 * the same futex call without having run in between, and every lock still
 * names the same holder. A PI EDEADLK is the kernel's own proof; there the
 * check is that glibc parked the refused thread for good.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include "detect.h"
#include "graph.h"
#include "log.h"
#include "proc.h"
#include "report.h"

#define FUTEX_WAIT 0
#define FUTEX_WAIT_BITSET 9
#define FUTEX_CMD_MASK (~(128 | 256))
#define FUTEX_TID_MASK 0x3fffffffu
#define SYS_FUTEX_WAITV 449
#define SYS_FUTEX_WAIT 455

#define SNAP_MAX 65536 /* = the `waits` map's size */
#define SWEEP_MIN_AGE_NS (50 * 1000000ull)
#define CONFIRM_GAP_MS 10
#define PI_PENDING_MAX 16
#define PI_PATIENCE_NS (1000 * 1000000ull)
#define SIG_MAX 256

struct pi_pending {
	struct lw_wait w;
	uint64_t deadline_ns;
};

struct lw_detect {
	struct lw_tracer *tracer;
	struct lw_sink *sinks;
	struct lw_syms_cache *syms;
	struct lw_graph *graph;
	struct lw_wait *snap;
	struct pi_pending pi[PI_PENDING_MAX];
	int npi;
	uint64_t reported[SIG_MAX]; /* signatures of cycles already alerted */
	int nreported;
	uint64_t alerts, deadlocks;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

struct lw_detect *detect__new(struct lw_tracer *t, struct lw_sink *sinks,
			      struct lw_syms_cache *syms)
{
	struct lw_detect *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->tracer = t;
	d->sinks = sinks;
	d->syms = syms;
	d->graph = graph__new();
	d->snap = calloc(SNAP_MAX, sizeof(*d->snap));
	if (!d->graph || !d->snap) {
		detect__free(d);
		return NULL;
	}
	return d;
}

void detect__free(struct lw_detect *d)
{
	if (!d)
		return;
	graph__free(d->graph);
	free(d->snap);
	free(d);
}

uint64_t detect__alerts(struct lw_detect *d)
{
	return d->alerts;
}

uint64_t detect__deadlocks(struct lw_detect *d)
{
	return d->deadlocks;
}

/*
 * The holder of the lock a wait is on, read from the waiter's memory now, or
 * 0. A TID read from memory is only believed when it names a live thread that
 * could hold the lock: one of the waiter's own process for a private lock.
 */
static pid_t holder_now(const struct lw_wait *w, pid_t *holder_pid)
{
	uint32_t words[5];
	pid_t tid, pid;

	if (!(w->flags & (LW_WF_PI | LW_WF_MUTEX)))
		return 0;
	if (lw_proc_read(w->tgid, w->uaddr, words, sizeof(words)))
		return 0;
	if (w->flags & LW_WF_PI)
		tid = words[0] & FUTEX_TID_MASK;
	else if (w->flags & LW_WF_MUTEX)
		tid = words[2];
	else
		return 0;
	if (tid <= 0)
		return 0;
	if (lw_proc_has_thread(w->tgid, tid)) {
		pid = w->tgid;
	} else {
		if (!(w->flags & LW_WF_SHARED))
			return 0;
		pid = lw_proc_tgid(tid);
		if (pid <= 0)
			return 0;
	}
	*holder_pid = pid;
	return tid;
}

static const char *lock_type(const struct lw_wait *w)
{
	if (w->flags & LW_WF_PI)
		return "pi_mutex";
	if (w->flags & LW_WF_MUTEX)
		return "mutex";
	return "futex";
}

/* Put one wait into the graph, with its holder as memory says now. */
static void add_wait(struct lw_detect *d, const struct lw_wait *w, int parked)
{
	struct lw_gnode *n, *h;
	struct lw_glock *l;
	char key[LW_KEY_LEN];
	pid_t hpid = 0, htid;

	n = graph__thread(d->graph, w->tgid, w->tid);
	if (!n)
		return;
	snprintf(key, sizeof(key), "anon:%u:0x%llx", w->tgid, (unsigned long long)w->uaddr);
	l = graph__lock(d->graph, key, lock_type(w), w->tgid, w->uaddr);
	if (!l)
		return;
	n->waits_on = l;
	n->wait_start_ns = w->start_ns;
	n->parked = parked;
	htid = holder_now(w, &hpid);
	if (htid && !l->holder) {
		h = graph__thread(d->graph, hpid, htid);
		l->holder = h;
	}
}

/* Copy the kernel's current waits; n or -errno. */
static int snapshot(struct lw_detect *d)
{
	int n = tracer__waits(d->tracer, d->snap, SNAP_MAX);

	if (n < 0)
		lw_debug("cannot read the waits map: %s", strerror(-n));
	return n;
}

/* Build the graph from the snapshot and the pending PI refusals. */
static void build(struct lw_detect *d, int n)
{
	graph__clear(d->graph);
	/* parked PI threads first: their refused lock, not the park word,
	 * is what they wait for */
	for (int i = 0; i < d->npi; i++)
		add_wait(d, &d->pi[i].w, 1);
	for (int i = 0; i < n; i++) {
		struct lw_gnode *p = graph__find_thread(d->graph, d->snap[i].tid);

		if (p && p->parked)
			continue;
		add_wait(d, &d->snap[i], 0);
	}
}

static int reported(struct lw_detect *d, uint64_t sig)
{
	for (int i = 0; i < d->nreported && i < SIG_MAX; i++)
		if (d->reported[i] == sig)
			return 1;
	return 0;
}

/* Where the waiter of an edge must be sitting for the edge to be real. */
static int edge_in_place(const struct lw_cedge *e, const struct lw_syscall *sc)
{
	if (e->waiter->parked)
		/* glibc's park after EDEADLK: futex wait for a 0 that stays 0 */
		return sc->nr == SYS_futex &&
		       ((sc->args[1] & FUTEX_CMD_MASK) == FUTEX_WAIT_BITSET ||
			(sc->args[1] & FUTEX_CMD_MASK) == FUTEX_WAIT) &&
		       sc->args[2] == 0;
	if (sc->nr == SYS_futex || sc->nr == SYS_FUTEX_WAIT)
		return sc->args[0] == e->lock->addr;
	return sc->nr == SYS_FUTEX_WAITV;
}

struct observation {
	struct lw_syscall sc;
	uint64_t ctxsw;
};

static int observe(const struct lw_cycle *c, struct observation *o)
{
	for (int i = 0; i < c->n; i++) {
		const struct lw_cedge *e = &c->e[i];
		struct lw_wait w = { .tgid = e->lock->pid, .uaddr = e->lock->addr };
		pid_t hpid = 0;

		if (lw_proc_syscall(e->waiter->pid, e->waiter->tid, &o[i].sc) ||
		    lw_proc_ctxsw(e->waiter->pid, e->waiter->tid, &o[i].ctxsw))
			return 0;
		if (!edge_in_place(e, &o[i].sc))
			return 0;
		w.flags = !strcmp(e->lock->type, "pi_mutex") ? LW_WF_PI : LW_WF_MUTEX;
		w.flags |= LW_WF_SHARED;
		if (holder_now(&w, &hpid) != e->holder->tid)
			return 0;
	}
	return 1;
}

static int confirm(struct lw_cycle *c)
{
	struct observation a[LW_MAX_CYCLE], b[LW_MAX_CYCLE];

	if (!observe(c, a))
		return 0;
	sleep_ms(CONFIRM_GAP_MS);
	if (!observe(c, b))
		return 0;
	for (int i = 0; i < c->n; i++) {
		if (a[i].ctxsw != b[i].ctxsw || memcmp(&a[i].sc, &b[i].sc, sizeof(a[i].sc)))
			return 0;
		c->e[i].sc = b[i].sc;
	}
	return 1;
}

static void alert_cycle(struct lw_detect *d, struct lw_cycle *c, uint64_t sig)
{
	struct lw_alert *a;

	d->reported[d->nreported++ % SIG_MAX] = sig;
	a = calloc(1, sizeof(*a));
	if (!a) {
		lw_err("out of memory building a report");
		return;
	}
	report__deadlock(a, c, d->syms, now_ns());
	sinks__alert(d->sinks, a);
	lw_alert_free(a);
	free(a);
	d->alerts++;
	d->deadlocks++;
}

/* Look for a cycle through (or reached from) thread tid; 1 if one is pending. */
static int check_from(struct lw_detect *d, pid_t tid)
{
	struct lw_gnode *start = graph__find_thread(d->graph, tid);
	struct lw_cycle c;
	uint64_t sig;

	if (!start || !graph__find_cycle(d->graph, start, &c))
		return 0;
	sig = graph__cycle_signature(&c);
	if (reported(d, sig))
		return 0;
	if (!confirm(&c)) {
		lw_debug("cycle of %d from tid %d not confirmed (stale edges)", c.n, tid);
		return 1;
	}
	alert_cycle(d, &c, sig);
	return 0;
}

void detect__on_cycle_hint(struct lw_detect *d, const struct lw_wait *w)
{
	int n = snapshot(d);

	if (n < 0)
		return;
	build(d, n);
	check_from(d, w->tid);
}

void detect__on_pi_edeadlk(struct lw_detect *d, const struct lw_wait *w)
{
	struct pi_pending *p;

	lw_debug("PI lock 0x%llx refused with EDEADLK for tid %u", (unsigned long long)w->uaddr,
		 w->tid);
	if (d->npi == PI_PENDING_MAX)
		memmove(&d->pi[0], &d->pi[1], --d->npi * sizeof(d->pi[0]));
	p = &d->pi[d->npi++];
	p->w = *w;
	p->deadline_ns = now_ns() + PI_PATIENCE_NS;
}

static int old_enough(const struct lw_wait *w, uint64_t now)
{
	return (w->flags & (LW_WF_MUTEX | LW_WF_PI)) && now > w->start_ns &&
	       now - w->start_ns >= SWEEP_MIN_AGE_NS;
}

int detect__sweep(struct lw_detect *d)
{
	uint64_t now = now_ns();
	int n, i, pending = 0;

	n = snapshot(d);
	if (n < 0)
		return 100;
	/* a busy healthy process has only short waits: nothing to build */
	for (i = 0; i < n && !old_enough(&d->snap[i], now); i++)
		;
	if (i == n && !d->npi)
		return 100;
	build(d, n);
	/* PI: the refused thread parks a moment after EDEADLK; keep looking
	 * until it has, or until an error-checking mutex let it go on */
	for (i = 0; i < d->npi; i++) {
		if (!check_from(d, d->pi[i].w.tid) || now > d->pi[i].deadline_ns) {
			memmove(&d->pi[i], &d->pi[i + 1], (d->npi - i - 1) * sizeof(d->pi[0]));
			d->npi--;
			i--;
			continue;
		}
		pending = 1;
	}
	for (i = 0; i < n; i++)
		if (old_enough(&d->snap[i], now))
			check_from(d, d->snap[i].tid);
	return pending ? 10 : 100;
}
