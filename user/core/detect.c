// SPDX-License-Identifier: GPL-2.0
/*
 * From candidate chains to confirmed alerts. Waits come from the kernel's
 * `waits` map while watching, or from /proc (attach.c) for `check`; holders
 * from memory (holder.c). Edges captured at wait time go stale (glibc sets
 * __owner after taking the lock word and clears it before releasing; a woken
 * waiter keeps its entry until it runs), so nothing is reported until every
 * waiter is seen, twice and 10 ms apart, sitting in the same futex call
 * without having run in between, and every lock still names the same holder.
 * A PI EDEADLK is the kernel's own proof; there the check is that glibc
 * parked the refused thread for good.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include "source/futex/attach.h"
#include "core/detect.h"
#include "core/graph.h"
#include "source/futex/holder.h"
#include "sys/log.h"
#include "sys/proc.h"
#include "source/python/pywatch.h"
#include "report/report.h"

#define SNAP_MAX 65536 /* = the `waits` map's size */
#define SWEEP_MIN_AGE_NS (50 * 1000000ull)
#define CONFIRM_GAP_MS 10
#define PI_PENDING_MAX 16
#define PI_PATIENCE_NS (1000 * 1000000ull)
#define SIG_MAX 256
#define CHECK_PIDS_MAX 16 /* processes `check` follows through shared locks */
#define EXITED_MAX 64

struct pi_pending {
	struct lw_wait w;
	uint64_t deadline_ns;
};

struct exited {
	pid_t pid, tid;
	char comm[LW_NAME_LEN];
};

struct lw_detect {
	struct lw_tracer *tracer; /* NULL: `check`, waits come from /proc */
	struct lw_sink *sinks;
	struct lw_syms_cache *syms;
	struct lw_graph *graph;
	struct lw_wait *snap;
	pid_t check_pids[CHECK_PIDS_MAX];
	int ncheck;
	struct pi_pending pi[PI_PENDING_MAX];
	int npi;
	uint64_t reported[SIG_MAX]; /* signatures of what was already alerted */
	int nreported;
	struct exited exited[EXITED_MAX]; /* names of threads gone, for orphans */
	int nexited;
	uint64_t wait_threshold_ns; /* 0: no long_wait alerts */
	struct lw_pywatch *py; /* the watched processes that are CPythons */
	void (*on_linked)(void *ctx, pid_t pid);
	void *linked_ctx;
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

static void py_emit(void *ctx, struct lw_alert *a);

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
	d->py = pywatch__new(py_emit, d);
	if (!d->graph || !d->snap || !d->py) {
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
	pywatch__free(d->py);
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

void detect__on_linked(struct lw_detect *d, void (*fn)(void *ctx, pid_t pid), void *ctx)
{
	d->on_linked = fn;
	d->linked_ctx = ctx;
}

void detect__set_wait_threshold(struct lw_detect *d, double seconds)
{
	d->wait_threshold_ns = seconds * 1e9;
}

/* One wait of one thread, whatever it becomes part of. */
static uint64_t wait_sig(const struct lw_gnode *n)
{
	return 0x6c6f6e67ull ^ ((uint64_t)n->tid << 40) ^ n->wait_start_ns;
}

void detect__thread_exited(struct lw_detect *d, pid_t pid, pid_t tid, const char *comm)
{
	struct exited *e = &d->exited[d->nexited++ % EXITED_MAX];

	e->pid = pid;
	e->tid = tid;
	snprintf(e->comm, sizeof(e->comm), "%s", comm);
}

static const char *exited_name(struct lw_detect *d, pid_t pid, pid_t tid)
{
	for (int i = 0; i < EXITED_MAX && i < d->nexited; i++)
		if (d->exited[i].pid == pid && d->exited[i].tid == tid)
			return d->exited[i].comm;
	return "";
}

/* Put one wait into the graph, with its holder as memory says now. */
static void add_wait(struct lw_detect *d, const struct lw_wait *w, int parked)
{
	struct lw_gnode *n;
	struct lw_glock *l;
	struct lw_held h;

	n = graph__thread(d->graph, w->tgid, w->tid);
	if (!n || holder__resolve(w, &h))
		return;
	l = graph__lock(d->graph, h.key, h.type, w->tgid, h.addr);
	if (!l)
		return;
	n->waits_on = l;
	n->wait_start_ns = w->start_ns;
	n->parked = parked;
	n->wait = *w;
	if (h.holder_tid && !l->holder)
		l->holder = graph__thread(d->graph, h.holder_pid, h.holder_tid);
	if (h.holder_tid && h.holder_pid != (pid_t)w->tgid && d->on_linked)
		d->on_linked(d->linked_ctx, h.holder_pid);
	if (h.gone_tid && !(w->flags & LW_WF_TIMED))
		l->gone_tid = h.gone_tid;
}

/* `check`: the waits of the checked processes, read from /proc. */
static int scan(struct lw_detect *d)
{
	uint64_t now = now_ns();
	int n = 0, k;

	for (int i = 0; i < d->ncheck; i++) {
		k = attach__scan(d->check_pids[i], d->snap + n, SNAP_MAX - n, now);
		if (k > 0)
			n += k;
	}
	return n;
}

/* The current waits; n or -errno. */
static int snapshot(struct lw_detect *d)
{
	int n;

	if (!d->tracer)
		return scan(d);
	n = tracer__waits(d->tracer, d->snap, SNAP_MAX);
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
		add_wait(d, &d->snap[i], !!(d->snap[i].flags & LW_WF_PARKED));
	}
}

static int reported(struct lw_detect *d, uint64_t sig)
{
	for (int i = 0; i < d->nreported && i < SIG_MAX; i++)
		if (d->reported[i] == sig)
			return 1;
	return 0;
}

static void remember(struct lw_detect *d, uint64_t sig)
{
	d->reported[d->nreported++ % SIG_MAX] = sig;
}

/* Where a waiter must be sitting for its wait to be real. */
static int in_place(const struct lw_gnode *n, const struct lw_syscall *sc)
{
	if (n->parked)
		/* glibc's park after EDEADLK: futex wait for a 0 that stays 0 */
		return sc->nr == SYS_futex &&
		       ((sc->args[1] & LW_FUTEX_CMD_MASK) == LW_FUTEX_WAIT_BITSET ||
			(sc->args[1] & LW_FUTEX_CMD_MASK) == LW_FUTEX_WAIT) &&
		       sc->args[2] == 0;
	if (sc->nr == SYS_futex || sc->nr == LW_SYS_FUTEX_WAIT)
		return sc->args[0] == n->wait.uaddr;
	return sc->nr == LW_SYS_FUTEX_WAITV;
}

struct observation {
	struct lw_syscall sc;
	uint64_t ctxsw;
};

/* Is waiter n still waiting in place, on a lock whose holder is still
 * holder_tid (or, for an orphan, still names gone_tid)? */
static int observe(const struct lw_gnode *n, pid_t holder_tid, pid_t gone_tid,
		   struct observation *o)
{
	struct lw_held h;

	if (lw_proc_syscall(n->pid, n->tid, &o->sc) || lw_proc_ctxsw(n->pid, n->tid, &o->ctxsw))
		return 0;
	if (!in_place(n, &o->sc) || holder__resolve(&n->wait, &h))
		return 0;
	return h.holder_tid == holder_tid && h.gone_tid == gone_tid;
}

/* Twice, CONFIRM_GAP_MS apart, with no context switch in between. */
static int confirm(struct lw_gnode *const *w, const pid_t *holder, const pid_t *gone, int n,
		   struct lw_syscall *sc)
{
	struct observation a[LW_MAX_CYCLE], b[LW_MAX_CYCLE];

	for (int i = 0; i < n; i++)
		if (!observe(w[i], holder[i], gone[i], &a[i]))
			return 0;
	sleep_ms(CONFIRM_GAP_MS);
	for (int i = 0; i < n; i++) {
		if (!observe(w[i], holder[i], gone[i], &b[i]) || a[i].ctxsw != b[i].ctxsw ||
		    memcmp(&a[i].sc, &b[i].sc, sizeof(a[i].sc)))
			return 0;
		sc[i] = b[i].sc;
	}
	return 1;
}

static void emit(struct lw_detect *d, struct lw_alert *a)
{
	/* deadlock and orphaned_lock are deadlock-class, long_wait is not */
	if (a->kind != LW_ALERT_LONG_WAIT)
		d->deadlocks++;
	d->alerts++;
	sinks__alert(d->sinks, a);
	lw_alert_free(a);
	free(a);
}

static int confirm_cycle(struct lw_cycle *c)
{
	struct lw_gnode *w[LW_MAX_CYCLE];
	pid_t holder[LW_MAX_CYCLE], gone[LW_MAX_CYCLE] = { 0 };
	struct lw_syscall sc[LW_MAX_CYCLE];

	for (int i = 0; i < c->n; i++) {
		w[i] = c->e[i].waiter;
		holder[i] = c->e[i].holder->tid;
	}
	if (!confirm(w, holder, gone, c->n, sc))
		return 0;
	for (int i = 0; i < c->n; i++)
		c->e[i].sc = sc[i];
	return 1;
}

/* Look for a cycle through (or reached from) thread tid; 1 if one is pending. */
static int check_from(struct lw_detect *d, pid_t tid)
{
	struct lw_gnode *start = graph__find_thread(d->graph, tid);
	struct lw_alert *a;
	struct lw_cycle c;
	uint64_t sig;

	if (!start || !graph__find_cycle(d->graph, start, &c))
		return 0;
	sig = graph__cycle_signature(&c);
	if (reported(d, sig))
		return 0;
	if (!confirm_cycle(&c)) {
		lw_debug("cycle of %d from tid %d not confirmed (stale edges)", c.n, tid);
		return 1;
	}
	remember(d, sig);
	for (int i = 0; i < c.n; i++)
		remember(d, wait_sig(c.e[i].waiter));
	a = calloc(1, sizeof(*a));
	if (!a)
		return 0;
	report__deadlock(a, &c, d->syms, now_ns());
	emit(d, a);
	return 0;
}

struct orphan_scan {
	struct lw_detect *d;
	struct lw_glock *lock;
	struct lw_gnode *waiters[LW_MAX_CYCLE];
	int n;
};

static int orphan_waiter(struct lw_gnode *n, void *arg)
{
	struct orphan_scan *o = arg;

	if (n->waits_on == o->lock && !(n->wait.flags & LW_WF_TIMED) && o->n < LW_MAX_CYCLE)
		o->waiters[o->n++] = n;
	return 0;
}

/* Waiters of a lock whose owner exited: report it once it is confirmed. */
static int check_orphan(struct lw_gnode *start, void *arg)
{
	struct orphan_scan o = { .d = arg, .lock = start->waits_on };
	pid_t holder[LW_MAX_CYCLE] = { 0 }, gone[LW_MAX_CYCLE];
	struct lw_syscall sc[LW_MAX_CYCLE];
	struct lw_alert *a;
	uint64_t sig;

	if (!o.lock || !o.lock->gone_tid || o.lock->holder)
		return 0;
	sig = 0x6f7270686e0000ull ^ ((uint64_t)o.lock->gone_tid << 32) ^ o.lock->addr;
	if (reported(o.d, sig))
		return 0;
	graph__for_each_thread(o.d->graph, orphan_waiter, &o);
	if (!o.n || o.waiters[0] != start)
		return 0; /* looked at from its first waiter only */
	for (int i = 0; i < o.n; i++)
		gone[i] = o.lock->gone_tid;
	if (!confirm(o.waiters, holder, gone, o.n, sc))
		return 0;
	remember(o.d, sig);
	for (int i = 0; i < o.n; i++)
		remember(o.d, wait_sig(o.waiters[i]));
	a = calloc(1, sizeof(*a));
	if (!a)
		return 0;
	report__orphan(a, o.waiters, sc, o.n, o.lock,
		       exited_name(o.d, o.lock->pid, o.lock->gone_tid), o.d->syms, now_ns());
	emit(o.d, a);
	return 0;
}

struct long_scan {
	struct lw_detect *d;
	uint64_t now;
	struct lw_glock *lock;
	struct lw_gnode *waiters[LW_MAX_CYCLE];
	int n;
};

static int long_enough(const struct lw_gnode *n, const struct long_scan *l)
{
	return n->waits_on && !(n->wait.flags & (LW_WF_TIMED | LW_WF_JOIN)) &&
	       (n->wait.flags & (LW_WF_MUTEX | LW_WF_PI | LW_WF_RWLOCK)) &&
	       l->now >= n->wait_start_ns && l->now - n->wait_start_ns >= l->d->wait_threshold_ns &&
	       !reported(l->d, wait_sig(n));
}

static int long_waiter(struct lw_gnode *n, void *arg)
{
	struct long_scan *l = arg;

	if (n->waits_on == l->lock && long_enough(n, l) && l->n < LW_MAX_CYCLE)
		l->waiters[l->n++] = n;
	return 0;
}

/* Waiters of one lock past the threshold: one alert for them, once each. */
static int check_long(struct lw_gnode *start, void *arg)
{
	struct long_scan l = *(struct long_scan *)arg;
	pid_t holder[LW_MAX_CYCLE], gone[LW_MAX_CYCLE] = { 0 };
	struct lw_syscall sc[LW_MAX_CYCLE];
	struct lw_gnode *h;
	struct lw_alert *a;

	if (!long_enough(start, &l))
		return 0;
	l.lock = start->waits_on;
	h = l.lock->holder;
	graph__for_each_thread(l.d->graph, long_waiter, &l);
	if (!l.n || l.waiters[0] != start)
		return 0; /* looked at from its first waiter only */
	for (int i = 0; i < l.n; i++)
		holder[i] = h ? h->tid : 0;
	if (!confirm(l.waiters, holder, gone, l.n, sc))
		return 0;
	for (int i = 0; i < l.n; i++)
		remember(l.d, wait_sig(l.waiters[i]));
	a = calloc(1, sizeof(*a));
	if (!a)
		return 0;
	report__long_wait(a, l.waiters, sc, l.n, l.lock, l.d->syms, l.now);
	emit(l.d, a);
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

static int old_enough(const struct lw_wait *w, uint64_t now, uint64_t min_age)
{
	return (w->flags & (LW_WF_MUTEX | LW_WF_PI | LW_WF_RWLOCK | LW_WF_JOIN)) &&
	       now >= w->start_ns && now - w->start_ns >= min_age;
}

/* Every check on the current waits at least min_age old. */
static int look(struct lw_detect *d, uint64_t min_age)
{
	int n, i, pending = 0;
	uint64_t now;

	n = snapshot(d);
	if (n < 0)
		return 100;
	now = now_ns(); /* after the snapshot: a wait read from /proc starts now */
	/* a busy healthy process has only short waits: nothing to build */
	for (i = 0; i < n && !old_enough(&d->snap[i], now, min_age); i++)
		;
	if (i == n && !d->npi) {
		graph__clear(d->graph);
		sinks__graph(d->sinks, d->graph, now);
		return 100;
	}
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
		if (old_enough(&d->snap[i], now, min_age))
			check_from(d, d->snap[i].tid);
	graph__for_each_thread(d->graph, check_orphan, d);
	if (d->wait_threshold_ns) {
		struct long_scan l = { .d = d, .now = now };

		graph__for_each_thread(d->graph, check_long, &l);
	}
	sinks__graph(d->sinks, d->graph, now);
	return pending ? 10 : 100;
}

static void py_emit(void *ctx, struct lw_alert *a)
{
	emit(ctx, a);
}

void detect__python(struct lw_detect *d, pid_t pid)
{
	pywatch__add(d->py, pid);
}

void detect__python_gone(struct lw_detect *d, pid_t pid)
{
	pywatch__gone(d->py, pid);
}

int detect__sweep(struct lw_detect *d)
{
	int timeout = look(d, SWEEP_MIN_AGE_NS);

	pywatch__sweep(d->py, now_ns());
	return timeout;
}

void detect__check_all(struct lw_detect *d)
{
	look(d, 0);
}

static int add_check_pid(struct lw_detect *d, pid_t pid)
{
	for (int i = 0; i < d->ncheck; i++)
		if (d->check_pids[i] == pid)
			return 0;
	if (d->ncheck == CHECK_PIDS_MAX)
		return 0;
	d->check_pids[d->ncheck++] = pid;
	return 1;
}

static int follow_holder(struct lw_gnode *n, void *arg)
{
	struct lw_detect *d = arg;

	return n->waits_on && n->waits_on->holder && add_check_pid(d, n->waits_on->holder->pid);
}

uint64_t detect__check(struct lw_detect *d, pid_t pid)
{
	int n;

	d->ncheck = 0;
	add_check_pid(d, pid);
	/* a shared lock held in another process: look at that one too */
	do {
		n = snapshot(d);
		build(d, n);
	} while (graph__for_each_thread(d->graph, follow_holder, d));
	look(d, 0);
	/* a Python process: its tasks and threads, from its memory */
	pywatch__check(d->py, pid);
	return d->deadlocks;
}

int detect__blocked(struct lw_detect *d, struct lw_blocked *out, int max)
{
	int n = report__blocked(d->graph, out, max, d->syms);

	return n + pywatch__blocked(d->py, out + n, max - n);
}
