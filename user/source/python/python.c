// SPDX-License-Identifier: GPL-2.0
/*
 * The CPython source (see python.h): which processes are Python, when each
 * is looked at, and what a look puts into the graph (pyrecheck.c re-checks
 * it). At most one process is looked at per turn (a look at 10,000 tasks
 * takes ~50 ms), so the loop stays responsive whatever number of Python
 * processes it watches.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/graph.h"
#include "report/model.h"
#include "source/python/pyfind.h"
#include "source/python/pyholds.h"
#include "source/python/pylook.h"
#include "source/python/pyname.h"
#include "source/python/pyorders.h"
#include "source/python/pysource.h"
#include "source/python/pystall.h"
#include "sys/clock.h"
#include "sys/escape.h"
#include "sys/log.h"
#include "sys/proc.h"

#define DUE_IDLE_NS (1000 * 1000000ull)
#define DUE_ANY_NS (10000 * 1000000ull)
#define EARLY_LOOKS 10 /* looked at every second while no event loop is known */
#define PY_ORDERS_MAX 65536 /* lock orders kept of one process */
/* a process with no Python runtime mapped yet (a command just started: its
 * libpython comes with the dynamic loader) is looked for again, this often */
#define OPEN_TRIES 10
#define OPEN_AGAIN_NS (200 * 1000000ull)

static const struct lw_source_ops python_ops;

struct lw_python_source *python_source__new(void)
{
	struct lw_python_source *ps = calloc(1, sizeof(*ps));

	if (ps)
		ps->base.ops = &python_ops;
	return ps;
}

struct lw_source *python_source__source(struct lw_python_source *ps)
{
	return &ps->base;
}

/* Back to "not looked at yet", everything freed. */
static void reset(struct pyproc *p)
{
	pid_t pid = p->pid;

	pylook__free(&p->look[0]);
	pylook__free(&p->look[1]);
	pyholds__free(&p->holds);
	pymem__free(p->m);
	memset(p, 0, sizeof(*p));
	p->pid = pid;
}

struct pyproc *pysource__find(struct lw_python_source *ps, pid_t pid)
{
	for (int i = 0; i < ps->n; i++)
		if (ps->py[i].pid == pid)
			return &ps->py[i];
	return NULL;
}

/* What p saw, into the totals, before p starts over (or goes). */
static void keep_counts(struct lw_python_source *ps, struct pyproc *p)
{
	ps->holds += p->holds.seen;
	ps->loops += p->stalls.loops;
	ps->loop_samples += p->stalls.samples;
	ps->loop_busy += p->stalls.busy;
	ps->orders_seen += p->orders;
}

static void python_watch(struct lw_source *s, pid_t pid)
{
	struct lw_python_source *ps = (struct lw_python_source *)s;
	struct pyproc *p = pysource__find(ps, pid);

	if (!p) {
		if (ps->n == PY_MAX)
			return;
		p = &ps->py[ps->n++];
		memset(p, 0, sizeof(*p));
		p->pid = pid;
	}
	/* new, or a new program (execve): look again */
	keep_counts(ps, p);
	reset(p);
	p->start = lw_proc_start(pid);
}

static void python_forget(struct lw_source *s, pid_t pid)
{
	struct lw_python_source *ps = (struct lw_python_source *)s;
	struct pyproc *p = pysource__find(ps, pid);

	if (!p)
		return;
	keep_counts(ps, p);
	reset(p);
	/* the last entry takes its place; the slot it leaves holds nothing */
	*p = ps->py[--ps->n];
	p->seen = NULL; /* pointed into the slot it came from */
	p->round = 0;
	memset(&ps->py[ps->n], 0, sizeof(ps->py[0]));
}

static void python_destroy(struct lw_source *s)
{
	struct lw_python_source *ps = (struct lw_python_source *)s;

	for (int i = 0; i < ps->n; i++)
		reset(&ps->py[i]);
	free(ps);
}

/* L as pid's interpreter f describes itself (3.13+), into out: 0, or -1
 * with why it cannot be read (f->freethreaded set for such a build). */
static int described(pid_t pid, struct lw_pyfound *f, const struct lw_pylayout *L,
		     struct lw_pylayout *out, char *why, size_t len)
{
	uint64_t words[256];
	int err;

	if (!L->debug) {
		*out = *L;
		return 0;
	}
	err = lw_proc_read(pid, f->runtime, words, L->debug->nwords * 8);
	if (err) {
		snprintf(why, len, "its _Py_DebugOffsets cannot be read: %s", strerror(-err));
		return -1;
	}
	err = pylayout__describe(L, words, L->debug->nwords, f->hexversion, out, why, len);
	f->freethreaded = err == LW_PYDEBUG_FREETHREADED;
	return err ? -1 : 0;
}

/* Is it a CPython we can read? Says once when it is one we cannot. */
static void open_py(struct pyproc *p, uint64_t now_ns)
{
	const struct lw_pylayout *L;
	struct lw_pylayout layout;
	struct lw_pyfound f;
	char version[32], why[160] = "", path[1024];
	int err = pyfind__runtime(p->pid, &f);

	p->state = PY_NO;
	if (err == -ENOENT && ++p->open_tries < OPEN_TRIES) {
		p->state = PY_UNKNOWN; /* not yet, maybe */
		p->open_again_ns = now_ns + OPEN_AGAIN_NS;
		return;
	}
	if (err) {
		if (err != -ENOENT)
			lw_debug("pid %d: cannot look for a Python runtime: %s", p->pid,
				 strerror(-err));
		return;
	}
	L = f.freethreaded ? NULL : pylayout__find(f.major << 8 | f.minor);
	if (L && described(p->pid, &f, L, &layout, why, sizeof(why)))
		L = NULL;
	/* the whole version where the binary says it (Py_Version, 3.11+) */
	if (f.hexversion)
		snprintf(version, sizeof(version), "%u.%u.%u", f.major, f.minor,
			 (f.hexversion >> 8) & 0xff);
	else
		snprintf(version, sizeof(version), "%u.%u", f.major, f.minor);
	if (!L) {
		if (f.freethreaded)
			lw_err("pid %d: unsupported free-threaded Python %st: its asyncio and "
			       "threading locks are not read (native locks still are)",
			       p->pid, version);
		else if (f.major)
			lw_err("pid %d: unsupported Python %s%s%s%s: its asyncio and threading "
			       "locks are not read (native locks still are)",
			       p->pid, version, why[0] ? " (" : "", why, why[0] ? ")" : "");
		else
			lw_err("pid %d: unsupported Python of unknown version (%s): its asyncio "
			       "and threading locks are not read (native locks still are)",
			       p->pid, lw_text_buf(path, sizeof(path), f.file));
		return;
	}
	p->m = pymem__new(p->pid, &layout, f.runtime, f.hexversion);
	if (!p->m)
		return;
	snprintf(p->file, sizeof(p->file), "%s", f.file);
	p->asyncio = 0;
	lw_debug("pid %d: Python %s (%s), _PyRuntime at 0x%" PRIx64 "%s", p->pid, version, f.file,
		 f.runtime, L->debug ? ", as its _Py_DebugOffsets describe it" : "");
	p->state = PY_YES;
}

/* 3.14+: the task lists as the _asyncio module describes them, once it is
 * loaded. Says once when they cannot be read. */
static void asyncio_lists(struct pyproc *p)
{
	uint64_t words[LW_PYASYNC_WORDS];
	char why[160];

	if (p->asyncio || !pymem__layout(p->m)->task_size ||
	    pyfind__asyncio(p->pid, p->file, words))
		return;
	p->asyncio = pymem__asyncio(p->m, words, why, sizeof(why)) ? -1 : 1;
	if (p->asyncio < 0)
		lw_err("pid %d: %s: its asyncio tasks are not read", p->pid, why);
}

int pysource__read(struct pyproc *p, struct lw_pylook *lk, const uint64_t *want, int nwant)
{
	int err = -EAGAIN;

	asyncio_lists(p);
	for (int i = 0; i < READ_TRIES && err == -EAGAIN; i++) {
		if (i)
			lw_sleep_ms(10);
		err = pylook__read(lk, p->m, want, nwant);
	}
	pymem__trim(p->m);
	return err;
}

static void look(struct lw_python_source *ps, struct pyproc *p, uint64_t now_ns)
{
	uint64_t start = lw_proc_start(p->pid);

	if (start && start != p->start) {
		/* another process has its PID now (its exit went unseen): the
		 * runtime, layout and looks were the old one's */
		keep_counts(ps, p);
		reset(p);
		p->start = start;
		return;
	}
	ps->looks++;
	p->looks++;
	p->cur ^= 1; /* the graph of this turn is built after: nothing points here */
	p->valid = !pysource__read(p, &p->look[p->cur], NULL, 0);
	if (pymem__cut(p->m) && !p->cut++)
		lw_err("pid %d: its Python state is more than one look may read; what was read is used, the rest is not seen, and it is looked at every %llu s at most",
		       p->pid, DUE_ANY_NS / 1000000000ull);
	ps->looks_cut += pymem__cut(p->m);
	if (p->valid) {
		pyholds__update(&p->holds, &p->look[p->cur].snap, now_ns);
		pystall__update(&p->stalls, p->m, &p->look[p->cur].snap);
		pymem__trim(p->m);
	}
	p->fresh = p->valid;
	p->withdrawn = 0;
	p->seen = NULL;
}

/* The CPU time the process has run, in ns: schedstat where there is one,
 * else clock ticks (10 ms each). */
static uint64_t cpu_ns(pid_t pid)
{
	struct lw_proc_stat st;
	uint64_t ns;

	if (!lw_proc_runtime_ns(pid, &ns))
		return ns;
	return lw_proc_stat(pid, 0, &st) ? 0 : (st.utime + st.stime) * 10000000ull;
}

static int due(struct pyproc *p, uint64_t now_ns)
{
	uint64_t cpu, since = now_ns - p->last_ns;
	int due;

	if (p->withdrawn)
		return 1;
	if (since < (p->cut ? DUE_ANY_NS : DUE_IDLE_NS))
		return 0;
	cpu = cpu_ns(p->pid);
	/* it ran no code since the last look: nothing new to see. Otherwise
	 * look after a second when it was mostly idle (a hung event loop
	 * sleeps), and every ten seconds anyway; every second while none of
	 * its event loops is known, for its first looks (a busy loop can
	 * stall: it is sampled every turn once known). */
	due = !p->last_ns ||
	      (cpu != p->last_cpu && (cpu - p->last_cpu < since / 2 || since >= DUE_ANY_NS ||
				      (!p->stalls.n && p->looks < EARLY_LOOKS)));
	if (due) {
		p->last_ns = now_ns;
		p->last_cpu = cpu;
	}
	return due;
}

static struct lw_participant *participant(struct lw_python_source *ps, struct lw_graph *g,
					  const struct pyproc *p, const struct lw_pyparticipant *pp)
{
	struct lw_participant *gp;

	if (pp->task)
		gp = graph__task(g, p->pid, pp->addr, pp->tid);
	else
		gp = pp->tid > 0 ? graph__thread(g, p->pid, pp->tid) : NULL;
	if (!gp)
		return NULL;
	if (!gp->shown_by) {
		gp->shown_by = &ps->base;
		gp->shown_rec = pp;
		snprintf(gp->name, sizeof(gp->name), "%s", pp->name);
	}
	return gp;
}

static void key_of(const struct lw_pywait *w, pid_t pid, char *key, size_t len)
{
	const char *kind = w->kind == LW_LOCK_TASK	  ? "task" :
			   w->kind == LW_LOCK_EVENT_LOOP  ? "loop" :
			   w->kind == LW_LOCK_THREAD_EXIT ? "thread" :
			   w->kind == LW_LOCK_FUTURE	  ? "future" :
							    "anon";

	snprintf(key, len, "%s:%d:0x%" PRIx64, kind, pid, w->lock);
}

/* The graph's kind of a lock a Python frame holds; -1: none it models. */
/* Every participant of p's latest look into the graph, waiting or not (a
 * dump's turn). */
static void put_all(struct lw_python_source *ps, struct lw_graph *g, struct pyproc *p)
{
	const struct lw_pylook *lk = &p->look[p->cur];

	for (int i = 0; i < lk->snap.n; i++)
		participant(ps, g, p, &lk->snap.p[i]);
}

/* Every lock the frames of p's latest look hold, held since first seen. */
static void put_holds(struct lw_python_source *ps, struct lw_graph *g, struct pyproc *p)
{
	const struct lw_pylook *lk = &p->look[p->cur];
	char key[LW_KEY_LEN];

	for (int i = 0; i < lk->snap.n; i++) {
		const struct lw_pyparticipant *pp = &lk->snap.p[i];
		struct lw_participant *gp = pp->nholds ? participant(ps, g, p, pp) : NULL;

		for (int j = 0; gp && j < pp->nholds; j++) {
			const struct lw_pyhold *h = pyholds__find(&p->holds, pp, j);
			int kind = pylook__lock_kind(p->m, pp->holds[j].lock);
			struct lw_lock *l;

			if (kind < 0 || !h)
				continue;
			snprintf(key, sizeof(key), "anon:%d:0x%" PRIx64, p->pid, pp->holds[j].lock);
			l = graph__lock(g, kind, key, p->pid, pp->holds[j].lock);
			if (!l)
				continue;
			if (!l->name[0])
				pyname__held(p->m, pp, j, l->name, sizeof(l->name));
			graph__held(g, l, gp,
				    &(struct lw_hold_info){ .src = &ps->base,
							    .rec = h,
							    .since_ns = h->since_ns,
							    .frame = pp->holds[j].frame + 1 });
		}
	}
}

/* Each event loop of p that runs one callback now: held by its thread
 * since it was first seen doing so (a stall, once long enough). */
static void put_stalls(struct lw_python_source *ps, struct lw_graph *g, struct pyproc *p)
{
	char key[LW_KEY_LEN];

	for (int i = 0; i < p->stalls.n; i++) {
		const struct lw_pystall *st = &p->stalls.v[i];
		const struct lw_pyparticipant *pp = pystate__thread(&p->look[p->cur].snap, st->tid);
		struct lw_participant *gp;
		struct lw_lock *l;

		if (!st->since_ns || !pp || !(gp = participant(ps, g, p, pp)))
			continue;
		/* a lock of its own: the loop tasks wait for (a deadlock's
		 * "loop:") is not the loop seen running one callback */
		snprintf(key, sizeof(key), "stall:%d:0x%" PRIx64, p->pid, st->loop);
		l = graph__lock(g, LW_LOCK_EVENT_LOOP, key, p->pid, st->loop);
		if (!l)
			continue;
		if (!l->name[0])
			snprintf(l->name, sizeof(l->name), "%s", pp->name);
		graph__held(g, l, gp,
			    &(struct lw_hold_info){
				    .src = &ps->base, .rec = st, .since_ns = st->since_ns });
	}
}

/* An order stands while both its locks are still locks of their kinds. */
static int python_order_stands(struct lw_source *s, const struct lw_order_edge *e)
{
	struct pyproc *p = pysource__find((struct lw_python_source *)s, e->a->pid);

	return p && p->state == PY_YES && pyorders__stand(p->m, e);
}

/* The waits of p's latest look into the graph. */
static void put(struct lw_python_source *ps, struct lw_graph *g, struct pyproc *p)
{
	const struct lw_pylook *lk = &p->look[p->cur];
	char key[LW_KEY_LEN];

	for (int i = 0; i < lk->snap.n; i++) {
		const struct lw_pywait *w = &lk->waits[i];
		struct lw_wait gw = { .src = &ps->base, .rec = w };
		struct lw_participant *waiter, *holder;
		struct lw_lock *l;

		if (!w->lock || !(waiter = participant(ps, g, p, w->waiter)))
			continue;
		key_of(w, p->pid, key, sizeof(key));
		l = graph__wait(g, waiter, w->kind, key, p->pid, w->lock, &gw);
		if (!l)
			continue;
		if (!l->name[0])
			snprintf(l->name, sizeof(l->name), "%s", w->name);
		if (w->holder && (holder = participant(ps, g, p, w->holder))) {
			graph__hold(l, holder);
		} else if (w->gone) {
			l->holder_gone = 1;
			snprintf(l->gone_name, sizeof(l->gone_name), "%s", lk->ended);
		}
	}
}

static int python_contribute(struct lw_source *s, struct lw_graph *g, const struct lw_turn *t)
{
	struct lw_python_source *ps = (struct lw_python_source *)s;
	int looked = 0;

	for (int i = 0; i < ps->n; i++) {
		struct pyproc *p = &ps->py[(ps->next + i) % ps->n];

		p->fresh = 0;
		if (p->state == PY_UNKNOWN && t->now_ns >= p->open_again_ns) {
			open_py(p, t->now_ns);
			ps->processes += p->state == PY_YES;
		}
		if (p->state != PY_YES || (looked && !t->look_now) || !due(p, t->now_ns))
			continue;
		pymem__deadline(p->m, t->stop_ns);
		look(ps, p, t->now_ns);
		if (p->valid)
			p->orders += pyorders__put(graph__order(g), s, p->m, &p->look[p->cur],
						   PY_ORDERS_MAX - (int)p->orders);
		if (!t->look_now) {
			looked = 1;
			ps->next = (ps->next + i + 1) % ps->n;
		}
	}
	for (int i = 0; i < ps->n; i++)
		if (ps->py[i].state == PY_YES && ps->py[i].stalls.n)
			pystall__sample(&ps->py[i].stalls, ps->py[i].m, t->now_ns);
	for (int i = 0; i < ps->n; i++)
		if (ps->py[i].valid && !ps->py[i].withdrawn) {
			put(ps, g, &ps->py[i]);
			put_holds(ps, g, &ps->py[i]);
			put_stalls(ps, g, &ps->py[i]);
			if (t->all)
				put_all(ps, g, &ps->py[i]);
		}
	return 0;
}

static void python_stats(struct lw_source *s, struct lw_summary *sum)
{
	struct lw_python_source *ps = (struct lw_python_source *)s;

	sum->python_processes += ps->processes;
	sum->python_looks += ps->looks;
	sum->python_looks_cut += ps->looks_cut;
	sum->python_rereads += ps->rereads;
	sum->python_rereads_partial += ps->rereads_partial;
	sum->python_holds += ps->holds;
	sum->python_loops += ps->loops;
	sum->loop_samples += ps->loop_samples;
	sum->loop_busy += ps->loop_busy;
	sum->python_orders += ps->orders_seen;
	for (int i = 0; i < ps->n; i++) {
		sum->python_orders += ps->py[i].orders;
		sum->python_holds += ps->py[i].holds.seen;
		sum->python_loops += ps->py[i].stalls.loops;
		sum->loop_samples += ps->py[i].stalls.samples;
		sum->loop_busy += ps->py[i].stalls.busy;
	}
}

/* While a loop may be stalling: `check` samples it until it goes on or the
 * stall threshold passes. */
static int python_unsettled(struct lw_source *s)
{
	struct lw_python_source *ps = (struct lw_python_source *)s;

	for (int i = 0; i < ps->n; i++)
		if (ps->py[i].state == PY_YES && pystall__suspect(&ps->py[i].stalls))
			return 1;
	return 0;
}

static const struct lw_source_ops python_ops = {
	.name = "python",
	.contribute = python_contribute,
	.observe = pyrecheck__observe,
	.observe_hold = pyrecheck__observe_hold,
	.order_stands = python_order_stands,
	.unsettled = python_unsettled,
	.describe = pyrecheck__describe,
	.watch = python_watch,
	.forget = python_forget,
	.stats = python_stats,
	.destroy = python_destroy,
};
