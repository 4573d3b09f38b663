// SPDX-License-Identifier: GPL-2.0
/*
 * Fills a struct lw_alert from a confirmed cycle: thread and process names
 * from /proc, each blocked thread's stack (syms.c, from the sp/pc the
 * confirmation read), lock names from ELF symbols, and the one-line summary.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "log.h"
#include "proc.h"
#include "report.h"

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

static void stack_of(struct lw_thread_report *t, const struct lw_cedge *e,
		     struct lw_syms_cache *cache)
{
	struct lw_syms *s = syms_cache__get(cache, e->waiter->pid);
	int n;

	if (!s) {
		t->stack_err = -errno;
		return;
	}
	t->stack = calloc(MAX_FRAMES, sizeof(*t->stack));
	if (!t->stack) {
		t->stack_err = -ENOMEM;
		return;
	}
	n = syms__unwind(s, e->waiter->tid, e->sc.sp, e->sc.pc, t->stack, MAX_FRAMES);
	if (n < 0)
		t->stack_err = n;
	else
		t->nframes = n;
}

static int add_lock(struct lw_alert *a, const struct lw_cedge *e, const struct lw_thread_report *t,
		    struct lw_syms_cache *cache)
{
	struct lw_lockref *l;
	struct lw_syms *s;
	const char *fn;

	for (int i = 0; i < a->nlocks; i++)
		if (!strcmp(a->locks[i].key, e->lock->key))
			return i;
	l = &a->locks[a->nlocks];
	l->type = e->lock->type;
	snprintf(l->key, sizeof(l->key), "%s", e->lock->key);
	l->addr = e->lock->addr;
	l->pid = e->lock->pid;
	l->holder_pid = e->holder->pid;
	l->holder_tid = e->holder->tid;
	s = syms_cache__get(cache, e->lock->pid);
	if (!s || syms__data_name(s, l->addr, l->name, sizeof(l->name))) {
		/* heap or stack: say where the waiter called into it */
		fn = caller_of(t);
		if (fn)
			snprintf(l->name, sizeof(l->name), "0x%llx in %s",
				 (unsigned long long)l->addr, fn);
	}
	return a->nlocks++;
}

static void summarize(struct lw_alert *a)
{
	const struct lw_edge *e = &a->cycle[0];
	const struct lw_lockref *l = &a->locks[e->lock];
	const char *what = "mutexes";
	char pids[128] = "";
	size_t off = 0;

	if (a->ncycle == 1) {
		snprintf(a->summary, sizeof(a->summary),
			 "thread %d (%s) of pid %d (%s) waits for %s %s, which it holds itself",
			 e->waiter.tid, e->waiter.name, e->waiter.pid, a->procs[0].comm, l->type,
			 l->name[0] ? l->name : l->key);
		return;
	}
	for (int i = 0; i < a->nlocks; i++)
		if (strcmp(a->locks[i].type, a->locks[0].type))
			what = "locks";
	if (!strcmp(what, "mutexes") && !strcmp(a->locks[0].type, "pi_mutex"))
		what = "PI mutexes";
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
		party(&t->who, e->waiter);
		t->blocked_for_ms = now_ns > e->waiter->wait_start_ns ?
					    (now_ns - e->waiter->wait_start_ns) / 1000000 :
					    0;
		stack_of(t, e, syms);
		ae->waiter = t->who;
		party(&ae->held_by, e->holder);
		ae->lock = add_lock(a, e, t, syms);
	}
	summarize(a);
}
