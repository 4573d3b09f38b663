// SPDX-License-Identifier: GPL-2.0
/*
 * Fills alerts for Python deadlocks (see pyreport.h). A lock is named from
 * the frame that waits for it or holds it: a local that is the lock, an
 * attribute of a local (`Store._lock` when the local is self), or a global
 * of the frame's module; failing those, its address.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "sys/proc.h"
#include "report/pyreport.h"

#define MAX_LOCALS 64

const char *pyreport__type(enum lw_pylock k)
{
	switch (k) {
	case PL_ALOCK:
		return "asyncio.Lock";
	case PL_TLOCK:
		return "threading.Lock";
	case PL_RLOCK:
		return "threading.RLock";
	case PL_TASK:
		return "task";
	case PL_LOOP:
		return "event_loop";
	case PL_JOIN:
		return "thread_exit";
	case PL_ASEM:
		return "asyncio.Semaphore";
	case PL_ACOND:
		return "asyncio.Condition";
	case PL_AEVENT:
		return "asyncio.Event";
	case PL_AQUEUE:
		return "asyncio.Queue";
	}
	return "lock";
}

void pyreport__party(struct lw_party *p, struct lw_pymem *m, const struct lw_pypart *w)
{
	memset(p, 0, sizeof(*p));
	p->type = w->task ? "task" : "thread";
	p->pid = pymem__pid(m);
	p->tid = w->tid;
	p->addr = w->task ? w->addr : 0;
	if (w->name[0])
		snprintf(p->name, sizeof(p->name), "%s", w->name);
	else
		lw_proc_comm(p->pid, w->tid, p->name, sizeof(p->name));
}

/* asyncio's and threading's own code: their locals name no user's lock */
static int internal_file(const char *f)
{
	size_t n = strlen(f);

	return strstr(f, "/asyncio/") || (n >= 13 && !strcmp(f + n - 13, "/threading.py"));
}

struct find {
	uint64_t lock;
	char *buf;
	size_t len;
	const char *prefix;
};

static int is_lock(struct lw_pymem *m, const char *key, uint64_t value, void *arg)
{
	struct find *f = arg;

	if (value != f->lock)
		return 0;
	snprintf(f->buf, f->len, "%s%s", f->prefix, key);
	return 1;
}

/* Name `lock` as frame fr of w sees it; 0, or -1. */
static int name_in_frame(struct lw_pymem *m, const struct lw_pyframe *fr, uint64_t lock, char *buf,
			 size_t len)
{
	const struct lw_pylayout *L = pymem__layout(m);
	const struct lw_pycode *c = py_code(m, fr->code);
	uint64_t names, vals[MAX_LOCALS], globals;
	struct find f = { lock, buf, len, "" };
	char local[64], type[64], prefix[160];
	int n;

	if (!c)
		return -1;
	n = c->nlocalsplus < MAX_LOCALS ? c->nlocalsplus : MAX_LOCALS;
	names = py_ptr(m, fr->code + L->co_localsplusnames);
	if (n && !py_read(m, fr->addr + L->fr_localsplus, vals, n * 8)) {
		for (int i = 0; i < n; i++)
			if (vals[i] == lock &&
			    !py_str(m, py_ptr(m, names + L->tuple_item + i * 8), buf, len))
				return 0;
		for (int i = 0; i < n; i++) {
			if (!vals[i] || py_kind(m, vals[i]) != PK_OTHER ||
			    py_str(m, py_ptr(m, names + L->tuple_item + i * 8), local,
				   sizeof(local)))
				continue;
			py_type_name(m, vals[i], type, sizeof(type));
			snprintf(prefix, sizeof(prefix), "%s.",
				 strcmp(local, "self") ? local : type);
			f.prefix = prefix;
			if (py_attr_items(m, vals[i], is_lock, &f) == 1)
				return 0;
		}
	}
	f.prefix = "";
	globals = py_ptr(m, fr->addr + L->fr_globals);
	return py_dict_items(m, globals, is_lock, &f) == 1 ? 0 : -1;
}

/* The name of lock from w's frames: frame `at` first, then the others
 * outside asyncio's and threading's own code. */
static void lock_name(struct lw_pymem *m, const struct lw_pypart *w, int at, uint64_t lock,
		      char *buf, size_t len)
{
	buf[0] = '\0';
	if (at >= 0 && at < w->nframes && !name_in_frame(m, &w->frames[at], lock, buf, len))
		return;
	for (int i = 0; i < w->nframes; i++) {
		const struct lw_pycode *c = py_code(m, w->frames[i].code);

		if (i != at && c && !internal_file(c->filename) &&
		    !name_in_frame(m, &w->frames[i], lock, buf, len))
			return;
	}
	buf[0] = '\0';
}

static int hold_frame(const struct lw_pypart *h, uint64_t lock)
{
	for (int i = 0; h && i < h->nholds; i++)
		if (h->holds[i] == lock)
			return h->hold_frame[i];
	return -1;
}

void pyreport__lock(struct lw_lockref *l, struct lw_pymem *m, const struct lw_pyedge *e)
{
	memset(l, 0, sizeof(*l));
	l->type = pyreport__type(e->kind);
	l->pid = pymem__pid(m);
	l->addr = e->lock;
	snprintf(l->key, sizeof(l->key), "%s:%d:0x%" PRIx64,
		 e->kind == PL_TASK ? "task" :
		 e->kind == PL_LOOP ? "loop" :
		 e->kind == PL_JOIN ? "thread" :
				      "anon",
		 l->pid, e->lock);
	if (e->holder) {
		l->holder_pid = l->pid;
		l->holder_tid = e->holder->tid;
	}
	if (e->kind == PL_TASK || e->kind == PL_LOOP || e->kind == PL_JOIN) {
		/* what is awaited is a task or a thread: name it */
		if (e->holder)
			snprintf(l->name, sizeof(l->name), "%s", e->holder->name);
		return;
	}
	lock_name(m, e->waiter, -1, e->lock, l->name, sizeof(l->name));
	if (!l->name[0] && e->holder)
		lock_name(m, e->holder, hold_frame(e->holder, e->lock), e->lock, l->name,
			  sizeof(l->name));
}

static void stack(struct lw_thread_report *t, struct lw_pymem *m, const struct lw_pypart *w)
{
	t->stack = calloc(w->nframes ? w->nframes : 1, sizeof(*t->stack));
	if (!t->stack)
		return;
	for (int i = 0; i < w->nframes; i++) {
		const struct lw_pycode *c = py_code(m, w->frames[i].code);
		struct lw_frame *f = &t->stack[t->nframes];

		if (!c)
			continue;
		f->python = 1;
		f->function = strdup(c->qualname);
		f->file = strdup(c->filename);
		f->line = py_code_line(c, w->frames[i].instr);
		t->nframes++;
	}
}

static void add_participant(struct lw_alert *a, struct lw_pymem *m, const struct lw_pypart *w)
{
	struct lw_thread_report *t;

	for (int i = 0; i < a->nthreads; i++)
		if (a->threads[i].who.addr == (w->task ? w->addr : 0) &&
		    a->threads[i].who.tid == w->tid &&
		    !strcmp(a->threads[i].who.type, w->task ? "task" : "thread"))
			return;
	if (a->nthreads == LW_MAX_CYCLE)
		return;
	t = &a->threads[a->nthreads++];
	pyreport__party(&t->who, m, w);
	t->blocked_at_least = 1; /* seen blocked now; since when, memory does not say */
	stack(t, m, w);
}

static void header(struct lw_alert *a, struct lw_pymem *m, enum lw_alert_kind kind)
{
	struct lw_process *p = &a->procs[0];

	memset(a, 0, sizeof(*a));
	a->kind = kind;
	clock_gettime(CLOCK_REALTIME, &a->time);
	a->nprocs = 1;
	p->pid = pymem__pid(m);
	lw_proc_comm(p->pid, 0, p->comm, sizeof(p->comm));
	lw_proc_exe(p->pid, p->exe, sizeof(p->exe));
}

static int add_lock(struct lw_alert *a, struct lw_pymem *m, const struct lw_pyedge *e)
{
	for (int i = 0; i < a->nlocks; i++)
		if (a->locks[i].addr == e->lock)
			return i;
	pyreport__lock(&a->locks[a->nlocks], m, e);
	return a->nlocks++;
}

static void edge(struct lw_alert *a, struct lw_pymem *m, const struct lw_pyedge *e)
{
	struct lw_edge *x = &a->cycle[a->ncycle++];

	pyreport__party(&x->waiter, m, e->waiter);
	x->lock = add_lock(a, m, e);
	if (e->holder)
		pyreport__party(&x->held_by, m, e->holder);
	add_participant(a, m, e->waiter);
}

/* "task rebuilder", "thread mover-ab" */
static int who(char *buf, size_t len, const struct lw_party *p)
{
	return snprintf(buf, len, "%s %s", p->type, p->name);
}

void pyreport__cycle(struct lw_alert *a, struct lw_pymem *m, const struct lw_pyedge *e, int n)
{
	int ntasks = 0, nthreads = 0, nawaits = 0;
	char w[LW_NAME_LEN + 8];
	const struct lw_lockref *l;

	header(a, m, LW_ALERT_DEADLOCK);
	for (int i = 0; i < n && i < LW_MAX_CYCLE; i++) {
		edge(a, m, &e[i]);
		if (e[i].waiter->task)
			ntasks++;
		else
			nthreads++;
		nawaits += e[i].kind == PL_TASK;
	}
	l = &a->locks[0];
	who(w, sizeof(w), &a->cycle[0].waiter);
	if (n == 1)
		snprintf(a->summary, sizeof(a->summary),
			 "%s of pid %d (%s) waits for %s %s, which it holds itself", w,
			 a->procs[0].pid, a->procs[0].comm, l->type, l->name[0] ? l->name : l->key);
	else if (nawaits == n)
		snprintf(a->summary, sizeof(a->summary), "%d tasks of pid %d (%s) await each other",
			 n, a->procs[0].pid, a->procs[0].comm);
	else if (!nthreads || !ntasks)
		snprintf(a->summary, sizeof(a->summary),
			 "%d %s of pid %d (%s) wait for each other on %d lock%s", n,
			 ntasks ? "tasks" : "threads", a->procs[0].pid, a->procs[0].comm, a->nlocks,
			 a->nlocks == 1 ? "" : "s");
	else
		snprintf(a->summary, sizeof(a->summary),
			 "%d task%s and %d thread%s of pid %d (%s) wait for each other: a task "
			 "holds a lock its event loop's thread waits for",
			 ntasks, ntasks == 1 ? "" : "s", nthreads, nthreads == 1 ? "" : "s",
			 a->procs[0].pid, a->procs[0].comm);
}

void pyreport__orphan(struct lw_alert *a, struct lw_pymem *m, const struct lw_pyedge *e, int n,
		      const char *ended)
{
	const struct lw_lockref *l;

	header(a, m, LW_ALERT_ORPHANED_LOCK);
	for (int i = 0; i < n && i < LW_MAX_CYCLE; i++) {
		edge(a, m, &e[i]);
		a->cycle[a->ncycle - 1].held_by =
			(struct lw_party){ .type = "task", .pid = a->procs[0].pid, .exited = 1 };
	}
	l = &a->locks[0];
	snprintf(a->summary, sizeof(a->summary),
		 "%d task%s of pid %d (%s) wait%s for %s %s, which no live task holds: it was "
		 "taken and never released%s%s",
		 n, n == 1 ? "" : "s", a->procs[0].pid, a->procs[0].comm, n == 1 ? "s" : "",
		 l->type, l->name[0] ? l->name : l->key,
		 ended[0] ? "; tasks that ended with an exception: " : "", ended);
}
