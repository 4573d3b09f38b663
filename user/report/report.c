// SPDX-License-Identifier: GPL-2.0
/*
 * Alerts from confirmed findings (see report.h): who waits and who holds,
 * by the program's own names where a source gave them and by comm
 * otherwise; each lock by its name in the code, its ELF symbol, or the
 * function that called into it; each waiter's stack; the processes; and a
 * one-line summary in the terms of what is stuck.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include "report/report.h"
#include "sys/debugcache.h"
#include "sys/hash.h"
#include "sys/proc.h"

struct lw_report {
	struct lw_syms_cache *syms;
	struct lw_graph_model model; /* report/files.c */
	int model_cap;
	uint64_t model_ns;
	int *model_first; /* by lock idx: the first of its waits in the model */
	int model_first_cap;
};

struct lw_report *report__new(struct lw_syms_cache *syms)
{
	struct lw_report *r = calloc(1, sizeof(*r));

	if (r)
		r->syms = syms;
	return r;
}

struct lw_syms_cache *report__syms(const struct lw_report *r)
{
	return r->syms;
}

void report__free(struct lw_report *r)
{
	if (!r)
		return;
	free(r->model.waits);
	free(r->model_first);
	free(r);
}

void report__participant(struct lw_alert_participant *a, const struct lw_participant *p)
{
	memset(a, 0, sizeof(*a));
	a->type = p->type == LW_PARTICIPANT_TASK ? "task" : "thread";
	a->pid = p->pid;
	a->tid = p->tid;
	a->addr = p->type == LW_PARTICIPANT_TASK ? p->addr : 0;
	if (p->name[0])
		snprintf(a->name, sizeof(a->name), "%s", p->name);
	else if (p->tid)
		lw_proc_comm(p->pid, p->tid, a->name, sizeof(a->name));
}

int report__process(struct lw_alert *a, pid_t pid)
{
	struct lw_alert_process *p;

	for (int i = 0; i < a->nprocs; i++)
		if (a->procs[i].pid == pid)
			return i;
	p = &a->procs[a->nprocs];
	p->pid = pid;
	lw_proc_comm(pid, 0, p->comm, sizeof(p->comm));
	lw_proc_exe(pid, p->exe, sizeof(p->exe));
	return a->nprocs++;
}

void report__lock(struct lw_syms_cache *syms, struct lw_alert_lock *al, const struct lw_lock *l,
		  const struct lw_alert_participant *holder, const struct lw_stack *st)
{
	struct lw_syms *s;
	const char *fn;

	memset(al, 0, sizeof(*al));
	al->type = lw_lock_kind_name(l->kind);
	snprintf(al->key, sizeof(al->key), "%s", l->key);
	al->addr = l->addr;
	al->pid = l->pid;
	if (holder) {
		al->holder_pid = holder->pid;
		al->holder_tid = holder->tid;
	}
	if (l->name[0]) {
		snprintf(al->name, sizeof(al->name), "%s", l->name);
	} else if (l->kind == LW_LOCK_THREAD_EXIT) {
		if (holder) /* what a join waits for is the thread: name it */
			snprintf(al->name, sizeof(al->name), "%s", holder->name);
	} else if (!(s = syms_cache__get(syms, l->pid)) ||
		   syms__data_name(s, l->addr, al->name, sizeof(al->name))) {
		/* heap or stack: say where the waiter called into it */
		al->name[0] = '\0';
		fn = st ? stack__caller(st) : NULL;
		if (fn)
			snprintf(al->name, sizeof(al->name), "0x%" PRIx64 " in %s", l->addr, fn);
	}
}

int report__add_lock(struct lw_syms_cache *syms, struct lw_alert *a, const struct lw_lock *l,
		     const struct lw_alert_participant *holder, const struct lw_stack *st)
{
	for (int i = 0; i < a->nlocks; i++)
		if (!strcmp(a->locks[i].key, l->key))
			return i;
	report__lock(syms, &a->locks[a->nlocks], l, holder->tid || holder->exited ? holder : NULL,
		     st);
	return a->nlocks++;
}

static int add_lock(struct lw_report *r, struct lw_alert *a, const struct lw_lock *l,
		    const struct lw_alert_participant *holder, const struct lw_stack *st)
{
	return report__add_lock(r->syms, a, l, holder, st);
}

void report__holder(struct lw_alert_participant *h, const struct lw_lock *l)
{
	memset(h, 0, sizeof(*h));
	if (l->holder) {
		report__participant(h, l->holder);
	} else if (l->holder_gone) {
		h->type = l->gone_tid ? "thread" : "task";
		h->pid = l->pid;
		h->tid = l->gone_tid;
		h->exited = 1;
		if (l->gone_tid)
			snprintf(h->name, sizeof(h->name), "%s", l->gone_name);
	} else {
		h->type = "thread";
	}
}

/* Each waiter of f: its wait, where it is stuck, its process. */
static void add_waits(struct lw_report *r, struct lw_alert *a, const struct lw_finding *f,
		      uint64_t now_ns)
{
	for (int i = 0; i < f->n; i++) {
		const struct lw_participant *p = f->waiters[i];
		const struct lw_observation *o = &f->obs[i];
		struct lw_alert_thread *t = &a->threads[a->nthreads++];
		struct lw_alert_wait *w = &a->waits[a->nwaits++];
		struct lw_stack st;

		report__participant(&t->who, p);
		t->blocked_for_ms = p->wait.start_ns && now_ns > p->wait.start_ns ?
					    (now_ns - p->wait.start_ns) / 1000000 :
					    0;
		t->blocked_at_least = !p->wait.start_ns || (p->wait.flags & LW_WAIT_SINCE_ATTACH);
		stack__of(r->syms, p, o, &st);
		t->stack = st.frames;
		t->nframes = st.n;
		t->stack_err = st.err;
		report__process(a, p->pid);
		w->waiter = t->who;
		/* in a cycle, the next waiter: one of the lock's holders */
		if (f->kind == LW_FINDING_DEADLOCK)
			report__participant(&w->held_by, f->waiters[(i + 1) % f->n]);
		else
			report__holder(&w->held_by, p->wait.lock);
		w->lock = add_lock(r, a, p->wait.lock, &w->held_by, &st);
	}
}

/* "thread 4243 (poster)", "task rebuilder" */
static void who(char *buf, size_t len, const struct lw_alert_participant *p)
{
	if (!strcmp(p->type, "task"))
		snprintf(buf, len, "task %s", p->name);
	else
		snprintf(buf, len, "thread %d (%s)", p->tid, p->name);
}

static const char *plural(const char *type)
{
	static const struct {
		const char *one, *many;
	} words[] = {
		{ "mutex", "mutexes" },
		{ "pi_mutex", "PI mutexes" },
		{ "rwlock", "rwlocks" },
		{ "thread_exit", "joins" },
		{ "asyncio.Lock", "asyncio locks" },
		{ "threading.Lock", "threading locks" },
	};

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (!strcmp(type, words[i].one))
			return words[i].many;
	return "locks";
}

void report__pids(char *buf, size_t len, const struct lw_alert *a)
{
	size_t off = snprintf(buf, len, "pid%s ", a->nprocs > 1 ? "s" : "");

	for (int i = 0; i < a->nprocs && off < len; i++)
		off += snprintf(buf + off, len - off, "%s%d%s%s%s", i ? ", " : "", a->procs[i].pid,
				a->procs[i].comm[0] ? " (" : "", a->procs[i].comm,
				a->procs[i].comm[0] ? ")" : "");
}

static void summarize_deadlock(struct lw_alert *a)
{
	const struct lw_alert_lock *l = &a->locks[a->waits[0].lock];
	int ntasks = 0, nthreads = 0, nawaits = 0, nfutures = 0, loop = 0;
	const char *what = plural(a->locks[0].type);
	char w[LW_NAME_LEN + 32], ps[256];

	report__pids(ps, sizeof(ps), a);
	if (a->nwaits == 1) {
		who(w, sizeof(w), &a->waits[0].waiter);
		snprintf(a->summary, sizeof(a->summary), "%s of %s waits for %s %s, which %s", w,
			 ps, l->type, l->name[0] ? l->name : l->key,
			 /* its own pool's, or its own loop's */
			 !strcmp(l->type, "future") ? "only it can complete" : "it holds itself");
		return;
	}
	for (int i = 0; i < a->nwaits; i++) {
		const char *type = a->locks[a->waits[i].lock].type;

		if (!strcmp(a->waits[i].waiter.type, "task"))
			ntasks++;
		else
			nthreads++;
		nawaits += !strcmp(type, "task");
		nfutures += !strcmp(type, "future");
		loop |= !strcmp(type, "event_loop");
	}
	for (int i = 0; i < a->nlocks; i++)
		if (strcmp(a->locks[i].type, a->locks[0].type))
			what = "locks";
	if (nawaits == a->nwaits)
		snprintf(a->summary, sizeof(a->summary), "%d tasks of %s await each other",
			 a->nwaits, ps);
	else if (nfutures == a->nwaits && !ntasks)
		snprintf(a->summary, sizeof(a->summary),
			 "%d threads of %s wait for each other's futures", a->nwaits, ps);
	else if (ntasks && nthreads && loop)
		snprintf(a->summary, sizeof(a->summary),
			 "%d task%s and %d thread%s of %s wait for each other: a task holds a lock "
			 "its event loop's thread waits for",
			 ntasks, ntasks == 1 ? "" : "s", nthreads, nthreads == 1 ? "" : "s", ps);
	else
		snprintf(a->summary, sizeof(a->summary), "%d %s of %s wait for each other on %d %s",
			 a->nwaits,
			 !ntasks   ? "threads" :
			 !nthreads ? "tasks" :
				     "tasks and threads",
			 ps, a->nlocks, a->nlocks == 1 ? l->type : what);
}

static void summarize_orphan(struct lw_alert *a, const struct lw_lock *gl)
{
	const struct lw_alert_lock *l = &a->locks[0];
	const struct lw_alert_participant *h = &a->waits[0].held_by;
	const char *lname = l->name[0] ? l->name : l->key;
	int n = a->nwaits;
	char ps[256];

	report__pids(ps, sizeof(ps), a);
	if (!strcmp(h->type, "task")) {
		snprintf(a->summary, sizeof(a->summary),
			 "%d task%s of %s wait%s for %s %s, which no live task holds: it was "
			 "taken and never released%s%s",
			 n, n == 1 ? "" : "s", ps, n == 1 ? "s" : "", l->type, lname,
			 gl->gone_name[0] ? "; tasks that ended with an exception: " : "",
			 gl->gone_name);
		return;
	}
	snprintf(a->summary, sizeof(a->summary),
		 "%d thread%s of %s wait%s for %s %s, held by thread %d%s%s%s, which exited "
		 "without unlocking it",
		 n, n == 1 ? "" : "s", ps, n == 1 ? "s" : "", l->type, lname, h->tid,
		 h->name[0] ? " (" : "", h->name, h->name[0] ? ")" : "");
}

static void summarize_long_wait(struct lw_alert *a)
{
	const struct lw_alert_lock *l = &a->locks[0];
	const struct lw_alert_participant *h = &a->waits[0].held_by;
	const struct lw_alert_thread *t0 = &a->threads[0];
	char by[LW_NAME_LEN + 32] = ", holder unknown", ps[256];
	int n = a->nwaits;

	report__pids(ps, sizeof(ps), a);
	if (h->tid)
		snprintf(by, sizeof(by), ", held by thread %d (%s)", h->tid, h->name);
	snprintf(a->summary, sizeof(a->summary),
		 "%d thread%s of %s %s waited %s%" PRIu64 ".%03" PRIu64 " s for %s %s%s", n,
		 n == 1 ? "" : "s", ps, n == 1 ? "has" : "have",
		 t0->blocked_at_least ? "at least " : "", t0->blocked_for_ms / 1000,
		 t0->blocked_for_ms % 1000, l->type, l->name[0] ? l->name : l->key, by);
}

/* Every thread waits for good: say so, and what could still wake them. */
static void summarize_hang(struct lw_alert *a)
{
	char ps[256], wake[160] = "";
	size_t off = 0;
	int n = a->nwaits;

	report__pids(ps, sizeof(ps), a);
	lw_proc_wakers(a->procs[0].pid, &a->sigcgt, &a->ntimers);
	/* glibc's own handlers (thread cancellation, setxid) wake nothing */
	for (int sig = 32; sig < SIGRTMIN; sig++)
		a->sigcgt &= ~(1ull << (sig - 1));
	for (int sig = 1; sig <= 64 && off < sizeof(wake); sig++) {
		const char *name = sig < SIGRTMIN ? sigabbrev_np(sig) : NULL;

		if (!(a->sigcgt & (1ull << (sig - 1))))
			continue;
		off += name ? snprintf(wake + off, sizeof(wake) - off, "%sSIG%s", off ? ", " : "",
				       name) :
			      snprintf(wake + off, sizeof(wake) - off, "%ssignal %d",
				       off ? ", " : "", sig);
	}
	snprintf(a->summary, sizeof(a->summary),
		 "%s %d thread%s of %s wait%s, with no timeout, for what only the process "
		 "itself could end: nothing inside it can wake %s; %s%s%s%s%s",
		 n == 1 ? "the" : "all", n, n == 1 ? "" : "s", ps, n == 1 ? "s" : "",
		 n == 1 ? "it" : "them",
		 wake[0] || a->ntimers ? "only " : "no signal handler or timer",
		 wake[0] ? "a signal it handles (" : "", wake, wake[0] ? ")" : "",
		 a->ntimers ?
			 (wake[0] ? " or one of its timers could" : "one of its timers could") :
		 wake[0] ? " could" :
			   " could either");
}

/* A hold of l by holder (NULL: the holder gone) into the alert: the lock,
 * who, for how long, and where it was taken. */
static void add_hold(struct lw_report *r, struct lw_alert *a, const struct lw_lock *l,
		     const struct lw_participant *holder, const struct lw_hold_info *hi,
		     uint64_t now_ns)
{
	struct lw_alert_hold *h = &a->holds[a->nholds++];

	if (holder)
		report__participant(&h->holder, holder);
	else
		report__holder(&h->holder, l);
	h->held_for_ms =
		hi->since_ns && now_ns > hi->since_ns ? (now_ns - hi->since_ns) / 1000000 : 0;
	h->read = hi->read;
	h->ntaken_at = stack__pcs(r->syms, l->pid, &hi->site, hi->site ? 1 : 0, !hi->site_is_pc,
				  &h->taken_at);
	h->lock = add_lock(r, a, l, &h->holder, NULL);
	report__process(a, l->pid);
}

/* A Python hold, taken where the holder's frame inside `with` stands (as
 * the re-check saw it): that frame is where it was taken. */
static void taken_in_frame(struct lw_alert_hold *h, const struct lw_hold_info *hi,
			   const struct lw_observation *o)
{
	const struct lw_frame *fr;

	if (h->ntaken_at || hi->frame <= 0 || hi->frame > o->nframes ||
	    !(h->taken_at = calloc(1, sizeof(*h->taken_at))))
		return;
	fr = &o->frames[hi->frame - 1];
	*h->taken_at = *fr;
	h->taken_at->function = fr->function ? strdup(fr->function) : NULL;
	h->taken_at->file = fr->file ? strdup(fr->file) : NULL;
	h->taken_at->module = fr->module ? strdup(fr->module) : NULL;
	h->ntaken_at = 1;
}

/* A lock held too long: the hold, and the holder's stack now. */
static void long_hold(struct lw_report *r, struct lw_alert *a, const struct lw_finding *f,
		      uint64_t now_ns)
{
	const struct lw_lock *l = f->lock;
	struct lw_alert_thread *t = &a->threads[a->nthreads++];
	const struct lw_alert_hold *h;
	struct lw_stack st;
	char who[LW_NAME_LEN + 32], ps[256], by[64] = "";

	add_hold(r, a, l, l->holder, &l->hold, now_ns);
	h = &a->holds[0];
	taken_in_frame(&a->holds[0], &l->hold, &f->hold);
	report__participant(&t->who, l->holder);
	t->blocked_for_ms = h->held_for_ms;
	stack__of(r->syms, l->holder, &f->hold, &st);
	t->stack = st.frames;
	t->nframes = st.n;
	t->stack_err = st.err ? st.err : (!f->hold.has_sc && !st.n ? -EBUSY : 0);
	report__pids(ps, sizeof(ps), a);
	if (!strcmp(h->holder.type, "task"))
		snprintf(who, sizeof(who), "task %s", h->holder.name);
	else
		snprintf(who, sizeof(who), "thread %d (%s)", h->holder.tid, h->holder.name);
	if (l->nwaiters)
		snprintf(by, sizeof(by), "; %d waiting for it", l->nwaiters);
	snprintf(a->summary, sizeof(a->summary),
		 "%s of %s has held %s %s for %" PRIu64 ".%03" PRIu64 " s%s", who, ps,
		 a->locks[h->lock].type,
		 a->locks[h->lock].name[0] ? a->locks[h->lock].name : a->locks[h->lock].key,
		 h->held_for_ms / 1000, h->held_for_ms % 1000, by);
}

/* An event loop that ran one callback too long: the loop held by the task
 * whose step runs (or by its thread, for a plain callback), and the
 * thread's stack now. */
static void loop_stall(struct lw_report *r, struct lw_alert *a, const struct lw_finding *f,
		       uint64_t now_ns)
{
	const struct lw_lock *l = f->lock;
	struct lw_alert_thread *t = &a->threads[a->nthreads++];
	struct lw_alert_hold *h;
	struct lw_stack st;
	char ps[256], task[96] = "";

	add_hold(r, a, l, l->holder, &l->hold, now_ns);
	h = &a->holds[0];
	if (f->hold.task_addr) {
		h->holder.type = "task";
		h->holder.addr = f->hold.task_addr;
		snprintf(h->holder.name, sizeof(h->holder.name), "%s", f->hold.task);
		snprintf(task, sizeof(task), ", in a step of task %s", f->hold.task);
	}
	report__participant(&t->who, l->holder);
	t->blocked_for_ms = h->held_for_ms;
	t->blocked_at_least = 1; /* it was running before it was sampled */
	stack__of(r->syms, l->holder, &f->hold, &st);
	t->stack = st.frames;
	t->nframes = st.n;
	t->stack_err = st.err ? st.err : (!f->hold.has_sc && !st.n ? -EBUSY : 0);
	report__pids(ps, sizeof(ps), a);
	snprintf(
		a->summary, sizeof(a->summary),
		"the event loop of thread %d (%s) of %s has not returned to its selector for %" PRIu64
		".%03" PRIu64 " s%s",
		t->who.tid, t->who.name, ps, h->held_for_ms / 1000, h->held_for_ms % 1000, task);
}

/* Locks a thread exited with, nobody waiting yet. */
static void gone_with(struct lw_report *r, struct lw_alert *a, const struct lw_finding *f,
		      uint64_t now_ns)
{
	const struct lw_alert_hold *h;
	const struct lw_alert_lock *l;
	char ps[256], more[64] = "";

	for (int i = 0; i < f->nlocks; i++)
		add_hold(r, a, f->locks[i], NULL, &f->locks[i]->hold, now_ns);
	h = &a->holds[0];
	l = &a->locks[h->lock];
	report__pids(ps, sizeof(ps), a);
	if (f->nlocks > 1)
		snprintf(more, sizeof(more), " and %d more lock%s", f->nlocks - 1,
			 f->nlocks == 2 ? "" : "s");
	snprintf(a->summary, sizeof(a->summary),
		 "thread %d%s%s%s of %s exited holding %s %s%s: nothing will ever release %s",
		 h->holder.tid, h->holder.name[0] ? " (" : "", h->holder.name,
		 h->holder.name[0] ? ")" : "", ps, l->type, l->name[0] ? l->name : l->key, more,
		 f->nlocks > 1 ? "them" : "it");
}

/* In a cycle, a lock held shared: every holder (an rwlock's readers), each
 * with where it took it. */
static void readers(struct lw_report *r, struct lw_alert *a, const struct lw_finding *f,
		    uint64_t now_ns)
{
	for (int i = 0; i < f->n; i++) {
		const struct lw_lock *l = f->waiters[i]->wait.lock;
		int dup = 0;

		for (int k = 0; k < i; k++)
			dup |= f->waiters[k]->wait.lock == l;
		if (!l->more || dup)
			continue;
		add_hold(r, a, l, l->holder, &l->hold, now_ns);
		for (const struct lw_holder *h = l->more; h && a->nholds < a->room; h = h->next)
			add_hold(r, a, l, h->p, &h->hold, now_ns);
	}
}

struct lw_alert *report__alert(struct lw_report *r, const struct lw_finding *f, uint64_t now_ns)
{
	static const enum lw_alert_kind kinds[] = {
		[LW_FINDING_DEADLOCK] = LW_ALERT_DEADLOCK,
		[LW_FINDING_ORPHANED_LOCK] = LW_ALERT_ORPHANED_LOCK,
		[LW_FINDING_LONG_WAIT] = LW_ALERT_LONG_WAIT,
		[LW_FINDING_LONG_HOLD] = LW_ALERT_LONG_HOLD,
		[LW_FINDING_LOCK_ORDER] = LW_ALERT_LOCK_ORDER,
		[LW_FINDING_HANG] = LW_ALERT_HANG,
		[LW_FINDING_LOOP_STALL] = LW_ALERT_LOOP_STALL,
	};
	struct lw_alert *a = alert__new(kinds[f->kind], f->n + f->nlocks + f->norders + 2);

	if (!a)
		return NULL;
	clock_gettime(CLOCK_REALTIME, &a->time);
	add_waits(r, a, f, now_ns);
	switch (f->kind) {
	case LW_FINDING_DEADLOCK:
		summarize_deadlock(a);
		readers(r, a, f, now_ns);
		break;
	case LW_FINDING_ORPHANED_LOCK:
		if (f->nlocks)
			gone_with(r, a, f, now_ns);
		else
			summarize_orphan(a, f->lock);
		break;
	case LW_FINDING_LONG_WAIT:
		summarize_long_wait(a);
		break;
	case LW_FINDING_LONG_HOLD:
		long_hold(r, a, f, now_ns);
		break;
	case LW_FINDING_LOCK_ORDER:
		report__orders(r->syms, a, f);
		break;
	case LW_FINDING_HANG:
		summarize_hang(a);
		break;
	case LW_FINDING_LOOP_STALL:
		loop_stall(r, a, f, now_ns);
		break;
	}
	return a;
}

static int blocked_one(struct lw_report *r, const struct lw_participant *p, struct lw_blocked *out,
		       int n, int max)
{
	const struct lw_lock *l = p->wait.lock;
	struct lw_blocked *b = NULL;

	for (int i = 0; i < n && !b; i++)
		if (!strcmp(out[i].lock.key, l->key))
			b = &out[i];
	if (!b) {
		if (n == max)
			return n;
		b = &out[n++];
		memset(b, 0, sizeof(*b));
		report__holder(&b->holder, l);
		/* by its symbol, not where it was called from: no unwinding for
		 * a list of what every thread waits for */
		report__lock(r->syms, &b->lock, l,
			     b->holder.tid || b->holder.exited ? &b->holder : NULL, NULL);
		if (l->kind == LW_LOCK_FUTEX)
			b->lock.type = stack__futex_kind(r->syms, p);
	}
	if (b->nwaiters < LW_BLOCKED_NAMED)
		report__participant(&b->waiters[b->nwaiters], p);
	b->nwaiters++;
	return n;
}

int report__blocked(struct lw_report *r, struct lw_graph *g, struct lw_blocked *out, int max)
{
	int n = 0;

	for (int i = 0; i < graph__nparticipants(g); i++) {
		const struct lw_participant *p = graph__participant(g, i);

		if (p->wait.lock)
			n = blocked_one(r, p, out, n, max);
	}
	return n;
}

void report__self_usage(struct lw_summary *sum)
{
	struct rusage ru;
	unsigned int files;
	size_t bytes;

	if (getrusage(RUSAGE_SELF, &ru))
		return;
	sum->cpu_ms = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
		      (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
	sum->max_rss_kb = ru.ru_maxrss;
	debugcache__usage(&files, &bytes);
	sum->debuginfo_files = files;
	sum->debuginfo_kb = bytes >> 10;
}

/* --- the graph as the files show it --- */

/* Who waits for what, held by whom: not the times, which change each look. */
static uint64_t identity(struct lw_graph *g, unsigned int standing)
{
	uint64_t h = lw_hash_bytes(LW_HASH_INIT, &standing, sizeof(standing));

	for (int i = 0; i < graph__nparticipants(g); i++) {
		const struct lw_participant *p = graph__participant(g, i);
		const struct lw_lock *l = p->wait.lock;
		pid_t holder = l && l->holder ? l->holder->tid : 0;

		if (!l)
			continue;
		h = lw_hash_bytes(h, &p->tid, sizeof(p->tid));
		h = lw_hash_bytes(h, &p->addr, sizeof(p->addr));
		h = lw_hash_bytes(h, l->key, strlen(l->key));
		h = lw_hash_bytes(h, &holder, sizeof(holder));
	}
	return h;
}

/* The model is built anew at most this often, or when the count of
 * standing deadlocks changes: a host full of short waits changes the graph
 * every turn, and a build reads every waiter's name. */
#define MODEL_REFRESH_NS 1000000000ull

/* lock's fields (and its holder's) once per build: l->idx's first wait */
static void model_lock(struct lw_report *r, struct lw_model_wait *w, const struct lw_lock *l, int i)
{
	int *first = &r->model_first[l->idx];
	struct lw_alert_participant h;

	if (*first >= 0) {
		w->lock = r->model.waits[*first].lock;
		w->holder = r->model.waits[*first].holder;
		return;
	}
	report__holder(&h, l);
	report__lock(r->syms, &w->lock, l, h.tid || h.exited ? &h : NULL, NULL);
	w->holder = h;
	if (!h.tid || h.exited)
		w->holder.pid = 0;
	*first = i;
}

static int model_room(struct lw_report *r, int n, int nlocks)
{
	if (n > r->model_cap) {
		struct lw_model_wait *v = realloc(r->model.waits, n * sizeof(*v));

		if (!v)
			return 0;
		r->model.waits = v;
		r->model_cap = n;
	}
	if (nlocks > r->model_first_cap) {
		int *v = realloc(r->model_first, nlocks * sizeof(*v));

		if (!v)
			return 0;
		r->model_first = v;
		r->model_first_cap = nlocks;
	}
	for (int i = 0; i < nlocks; i++)
		r->model_first[i] = -1;
	return 1;
}

const struct lw_graph_model *report__graph(struct lw_report *r, struct lw_graph *g,
					   unsigned int standing, uint64_t now_ns)
{
	struct lw_graph_model *m = &r->model;
	int n = graph__nparticipants(g);
	uint64_t sig;

	if (r->model_ns && now_ns - r->model_ns < MODEL_REFRESH_NS && standing == m->deadlocks)
		return m;
	sig = identity(g, standing);
	if (!model_room(r, n, graph__nall_locks(g)))
		return m; /* the last one, rather than none */
	m->sig = sig;
	m->deadlocks = standing;
	m->blocked = 0;
	m->locks = graph__nlocks(g);
	m->nwaits = 0;
	r->model_ns = now_ns;
	for (int i = 0; i < n; i++) {
		const struct lw_participant *p = graph__participant(g, i);
		struct lw_model_wait *w = &m->waits[m->nwaits];

		if (!p->wait.lock)
			continue;
		m->blocked++;
		report__participant(&w->waiter, p);
		w->comm[0] = '\0';
		/* a thread's comm was read just now, for its name */
		if (p->tid && p->type == LW_PARTICIPANT_THREAD && !p->name[0])
			snprintf(w->comm, sizeof(w->comm), "%s", w->waiter.name);
		else if (p->tid)
			lw_proc_comm(p->pid, p->tid, w->comm, sizeof(w->comm));
		model_lock(r, w, p->wait.lock, m->nwaits);
		w->blocked_ms = p->wait.start_ns && now_ns > p->wait.start_ns ?
					(now_ns - p->wait.start_ns) / 1000000 :
					0;
		m->nwaits++;
	}
	return m;
}
