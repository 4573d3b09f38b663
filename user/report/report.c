// SPDX-License-Identifier: GPL-2.0
/*
 * Fills a struct lw_alert from a confirmed cycle: thread and process names
 * from /proc, each blocked thread's stack (syms.c, from the sp/pc the
 * confirmation read), lock names from ELF symbols, and the one-line summary.
 */
#include <errno.h>
#include <sys/resource.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sys/log.h"
#include "sys/proc.h"
#include "report/report.h"

#define MAX_FRAMES 64

static void party(struct lw_party *p, const struct lw_gnode *n)
{
	p->type = n->type;
	p->pid = n->pid;
	p->tid = n->tid;
	lw_proc_comm(n->pid, n->tid, p->name, sizeof(p->name));
}

static int add_process(struct lw_alert *a, pid_t pid)
{
	for (int i = 0; i < a->nprocs; i++)
		if (a->procs[i].pid == pid)
			return i;
	a->procs[a->nprocs].pid = pid;
	lw_proc_comm(pid, 0, a->procs[a->nprocs].comm, sizeof(a->procs[0].comm));
	lw_proc_exe(pid, a->procs[a->nprocs].exe, sizeof(a->procs[0].exe));
	return a->nprocs++;
}

static int is_runtime(const char *module)
{
	const char *base;

	if (!module)
		return 1;
	base = strrchr(module, '/');
	base = base ? base + 1 : module;
	return !strncmp(base, "libc.so", 7) || !strncmp(base, "libc-", 5) ||
	       !strncmp(base, "libpthread", 10) || !strncmp(base, "ld-linux", 8);
}

/* The function that called into the lock: the first frame outside libc. */
static const char *caller_of(const struct lw_thread_report *t)
{
	for (int i = 0; i < t->nframes; i++)
		if (t->stack[i].function && !is_runtime(t->stack[i].module))
			return t->stack[i].function;
	return NULL;
}

static void stack_of(struct lw_thread_report *t, const struct lw_gnode *n,
		     const struct lw_syscall *sc, struct lw_syms_cache *cache)
{
	struct lw_syms *s = syms_cache__get(cache, n->pid);
	int k;

	if (!s) {
		t->stack_err = -errno;
		return;
	}
	t->stack = calloc(MAX_FRAMES, sizeof(*t->stack));
	if (!t->stack) {
		t->stack_err = -ENOMEM;
		return;
	}
	k = syms__unwind(s, n->tid, sc->sp, sc->pc, t->stack, MAX_FRAMES);
	if (k < 0)
		t->stack_err = k;
	else
		t->nframes = k;
}

static int add_lock(struct lw_alert *a, const struct lw_glock *g, const struct lw_party *holder,
		    const struct lw_thread_report *t, struct lw_syms_cache *cache)
{
	struct lw_lockref *l;
	struct lw_syms *s;
	const char *fn;

	for (int i = 0; i < a->nlocks; i++)
		if (!strcmp(a->locks[i].key, g->key))
			return i;
	l = &a->locks[a->nlocks];
	memset(l, 0, sizeof(*l));
	l->type = g->type;
	snprintf(l->key, sizeof(l->key), "%s", g->key);
	l->addr = g->addr;
	l->pid = g->pid;
	l->holder_pid = holder->pid;
	l->holder_tid = holder->tid;
	s = syms_cache__get(cache, g->pid);
	if (!strcmp(g->type, "thread_exit")) {
		/* what a join waits for is the thread: name it */
		snprintf(l->name, sizeof(l->name), "%s", holder->name);
	} else if (!s || syms__data_name(s, l->addr, l->name, sizeof(l->name))) {
		/* heap or stack: say where the waiter called into it */
		fn = caller_of(t);
		if (fn)
			snprintf(l->name, sizeof(l->name), "0x%llx in %s",
				 (unsigned long long)l->addr, fn);
	}
	return a->nlocks++;
}

static const char *plural(const char *type)
{
	if (!strcmp(type, "mutex"))
		return "mutexes";
	if (!strcmp(type, "pi_mutex"))
		return "PI mutexes";
	if (!strcmp(type, "rwlock"))
		return "rwlocks";
	if (!strcmp(type, "thread_exit"))
		return "joins";
	return "locks";
}

static void summarize(struct lw_alert *a)
{
	const struct lw_edge *e = &a->cycle[0];
	const struct lw_lockref *l = &a->locks[e->lock];
	const char *what;
	char pids[128] = "";
	size_t off = 0;

	if (a->ncycle == 1) {
		snprintf(a->summary, sizeof(a->summary),
			 "thread %d (%s) of pid %d (%s) waits for %s %s, which it holds itself",
			 e->waiter.tid, e->waiter.name, e->waiter.pid, a->procs[0].comm, l->type,
			 l->name[0] ? l->name : l->key);
		return;
	}
	what = plural(a->locks[0].type);
	for (int i = 0; i < a->nlocks; i++)
		if (strcmp(a->locks[i].type, a->locks[0].type))
			what = "locks";
	if (a->nprocs == 1) {
		snprintf(a->summary, sizeof(a->summary),
			 "%d threads of pid %d (%s) wait for each other on %d %s", a->ncycle,
			 a->procs[0].pid, a->procs[0].comm, a->nlocks, what);
		return;
	}
	for (int i = 0; i < a->nprocs && off < sizeof(pids); i++)
		off += snprintf(pids + off, sizeof(pids) - off, "%s%d (%s)", i ? ", " : "",
				a->procs[i].pid, a->procs[i].comm);
	snprintf(a->summary, sizeof(a->summary),
		 "%d threads of pids %s wait for each other on %d %s", a->ncycle, pids, a->nlocks,
		 what);
}

static void thread_report(struct lw_thread_report *t, const struct lw_gnode *n,
			  const struct lw_syscall *sc, struct lw_syms_cache *syms, uint64_t now_ns)
{
	party(&t->who, n);
	t->blocked_for_ms = now_ns > n->wait_start_ns ? (now_ns - n->wait_start_ns) / 1000000 : 0;
	t->blocked_at_least = !!(n->wait.flags & LW_WF_ATTACH);
	stack_of(t, n, sc, syms);
}

void report__deadlock(struct lw_alert *a, const struct lw_cycle *c, struct lw_syms_cache *syms,
		      uint64_t now_ns)
{
	memset(a, 0, sizeof(*a));
	a->kind = LW_ALERT_DEADLOCK;
	clock_gettime(CLOCK_REALTIME, &a->time);
	for (int i = 0; i < c->n && i < LW_MAX_CYCLE; i++) {
		const struct lw_cedge *e = &c->e[i];
		struct lw_thread_report *t = &a->threads[a->nthreads++];
		struct lw_edge *ae = &a->cycle[a->ncycle++];

		add_process(a, e->waiter->pid);
		thread_report(t, e->waiter, &e->sc, syms, now_ns);
		ae->waiter = t->who;
		party(&ae->held_by, e->holder);
		ae->lock = add_lock(a, e->lock, &ae->held_by, t, syms);
	}
	summarize(a);
}

/* Waiters of one lock, each an edge to its holder (or the owner gone). */
static void add_waits(struct lw_alert *a, struct lw_gnode *const *waiters,
		      const struct lw_syscall *sc, int n, const struct lw_glock *lock,
		      const struct lw_party *holder, struct lw_syms_cache *syms, uint64_t now_ns)
{
	for (int i = 0; i < n && i < LW_MAX_CYCLE; i++) {
		struct lw_thread_report *t = &a->threads[a->nthreads++];
		struct lw_edge *ae = &a->cycle[a->ncycle++];

		add_process(a, waiters[i]->pid);
		thread_report(t, waiters[i], &sc[i], syms, now_ns);
		ae->waiter = t->who;
		ae->held_by = *holder;
		ae->lock = add_lock(a, lock, holder, t, syms);
	}
}

void report__orphan(struct lw_alert *a, struct lw_gnode *const *waiters,
		    const struct lw_syscall *sc, int n, const struct lw_glock *lock,
		    const char *gone_name, struct lw_syms_cache *syms, uint64_t now_ns)
{
	struct lw_party gone = {
		.type = "thread", .pid = lock->pid, .tid = lock->gone_tid, .exited = 1
	};
	const struct lw_lockref *l;

	memset(a, 0, sizeof(*a));
	a->kind = LW_ALERT_ORPHANED_LOCK;
	clock_gettime(CLOCK_REALTIME, &a->time);
	snprintf(gone.name, sizeof(gone.name), "%s", gone_name);
	add_waits(a, waiters, sc, n, lock, &gone, syms, now_ns);
	l = &a->locks[0];
	snprintf(a->summary, sizeof(a->summary),
		 "%d thread%s of pid %d (%s) wait%s for %s %s, held by thread %d%s%s%s, which "
		 "exited without unlocking it",
		 a->ncycle, a->ncycle == 1 ? "" : "s", a->procs[0].pid, a->procs[0].comm,
		 a->ncycle == 1 ? "s" : "", l->type, l->name[0] ? l->name : l->key, gone.tid,
		 gone.name[0] ? " (" : "", gone.name, gone.name[0] ? ")" : "");
}

void report__long_wait(struct lw_alert *a, struct lw_gnode *const *waiters,
		       const struct lw_syscall *sc, int n, const struct lw_glock *lock,
		       struct lw_syms_cache *syms, uint64_t now_ns)
{
	struct lw_party holder = {};
	const struct lw_thread_report *t0;
	const struct lw_lockref *l;
	char by[LW_NAME_LEN + 32] = ", holder unknown";

	memset(a, 0, sizeof(*a));
	a->kind = LW_ALERT_LONG_WAIT;
	clock_gettime(CLOCK_REALTIME, &a->time);
	if (lock->holder)
		party(&holder, lock->holder);
	add_waits(a, waiters, sc, n, lock, &holder, syms, now_ns);
	l = &a->locks[0];
	t0 = &a->threads[0];
	if (holder.tid)
		snprintf(by, sizeof(by), ", held by thread %d (%s)", holder.tid, holder.name);
	snprintf(a->summary, sizeof(a->summary),
		 "%d thread%s of pid %d (%s) %s waited %s%" PRIu64 ".%03" PRIu64 " s for %s %s%s",
		 a->ncycle, a->ncycle == 1 ? "" : "s", a->procs[0].pid, a->procs[0].comm,
		 a->ncycle == 1 ? "has" : "have", t0->blocked_at_least ? "at least " : "",
		 t0->blocked_for_ms / 1000, t0->blocked_for_ms % 1000, l->type,
		 l->name[0] ? l->name : l->key, by);
}

/* The wait's kind from the libc function the thread sleeps in. */
static const char *type_from_stack(const struct lw_gnode *n, struct lw_syms_cache *cache)
{
	static const struct {
		const char *fn, *type;
	} kinds[] = {
		{ "sem_", "semaphore" },	{ "cond_", "condvar" },
		{ "barrier_wait", "barrier" },	{ "rwlock", "rwlock" },
		{ "join", "thread_exit" },	{ "mutex_lock", "mutex" },
		{ "mutex_timedlock", "mutex" },
	};
	struct lw_thread_report t = {};
	struct lw_syscall sc;
	const char *type = "futex";

	if (lw_proc_syscall(n->pid, n->tid, &sc))
		return type;
	stack_of(&t, n, &sc, cache);
	for (int i = 0; i < t.nframes && !strcmp(type, "futex"); i++)
		for (size_t k = 0; t.stack[i].function && k < sizeof(kinds) / sizeof(kinds[0]); k++)
			if (strstr(t.stack[i].function, kinds[k].fn)) {
				type = kinds[k].type;
				break;
			}
	lw_frames_free(t.stack, t.nframes);
	free(t.stack);
	return type;
}

struct blocked_scan {
	struct lw_blocked *out;
	int n, max;
	struct lw_syms_cache *syms;
};

static int blocked_one(struct lw_gnode *n, void *arg)
{
	struct blocked_scan *b = arg;
	struct lw_thread_report t = {};
	struct lw_blocked *g = NULL;
	struct lw_alert tmp;

	if (!n->waits_on)
		return 0;
	for (int i = 0; i < b->n; i++)
		if (!strcmp(b->out[i].lock.key, n->waits_on->key))
			g = &b->out[i];
	if (!g) {
		struct lw_glock l = *n->waits_on;

		if (b->n == b->max)
			return 0;
		g = &b->out[b->n++];
		memset(g, 0, sizeof(*g));
		if (!strcmp(l.type, "futex"))
			l.type = type_from_stack(n, b->syms);
		if (l.holder) {
			party(&g->holder, l.holder);
		} else if (l.gone_tid) {
			g->holder = (struct lw_party){
				.type = "thread", .pid = l.pid, .tid = l.gone_tid, .exited = 1
			};
		}
		tmp.nlocks = 0;
		party(&t.who, n);
		add_lock(&tmp, &l, &g->holder, &t, b->syms);
		g->lock = tmp.locks[0];
	}
	if (g->nwaiters < LW_BLOCKED_NAMED)
		party(&g->waiters[g->nwaiters], n);
	g->nwaiters++;
	return 0;
}

int report__blocked(struct lw_graph *g, struct lw_blocked *out, int max, struct lw_syms_cache *syms)
{
	struct blocked_scan b = { .out = out, .max = max, .syms = syms };

	graph__for_each_thread(g, blocked_one, &b);
	return b.n;
}

void report__self_usage(struct lw_summary *sum)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru))
		return;
	sum->cpu_ms = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
		      (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
	sum->max_rss_kb = ru.ru_maxrss;
}
