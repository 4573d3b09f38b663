// SPDX-License-Identifier: GPL-2.0
/*
 * The CPython source (see python.h). Each Python process has two looks: the
 * one in the graph, and the one a re-check reads. A re-check that finds a
 * wait moved withdraws the process's waits from the graph until its next
 * look, which is then due at once. At most one process is looked at per
 * turn (a look at 10,000 tasks takes ~50 ms), so the loop stays responsive
 * whatever number of Python processes it watches.
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
#include "source/python/pystall.h"
#include "source/python/python.h"
#include "sys/clock.h"
#include "sys/hash.h"
#include "sys/log.h"
#include "sys/proc.h"

#define PY_MAX 64 /* Python processes read while watching */
#define DUE_IDLE_NS (1000 * 1000000ull)
#define DUE_ANY_NS (10000 * 1000000ull)
#define EARLY_LOOKS 10 /* looked at every second while no event loop is known */
#define PY_ORDERS_MAX 65536 /* lock orders kept of one process */
#define READ_TRIES 3 /* a process not readable now is tried again, 10 ms apart */
/* a process with no Python runtime mapped yet (a command just started: its
 * libpython comes with the dynamic loader) is looked for again, this often */
#define OPEN_TRIES 10
#define OPEN_AGAIN_NS (200 * 1000000ull)

struct pyproc {
	pid_t pid;
	enum { PY_UNKNOWN, PY_YES, PY_NO } state;
	int open_tries; /* looked for its runtime this many times */
	uint64_t open_again_ns; /* not before this */
	struct lw_pymem *m;
	char file[256]; /* the ELF that defines _PyRuntime */
	int asyncio; /* 3.14+ task lists: 0 not described yet, 1 read, -1 refused */
	struct lw_pylook look[2]; /* look[cur] is in the graph */
	struct lw_pyholds holds; /* look[cur]'s holds, since first seen */
	struct lw_pystalls stalls; /* its event loops, sampled every turn */
	int cur;
	int valid; /* look[cur] holds a read */
	int fresh; /* look[cur] is this turn's, unused by a re-check */
	int withdrawn; /* a re-check found it moved: out until the next look */
	unsigned int round; /* the re-check round of `seen` */
	const struct lw_pylook *seen; /* what that round saw; NULL: unreadable */
	uint64_t last_ns, last_cpu;
	int looks; /* taken so far */
	uint64_t orders; /* lock orders seen (distinct, while it lived) */
};

struct lw_python_source {
	struct lw_source base;
	struct pyproc py[PY_MAX];
	int n;
	int next; /* where the next turn starts looking for a due process */
	uint64_t processes, looks;
	uint64_t holds; /* of processes forgotten since: their holds seen */
	uint64_t loops, loop_samples, loop_busy; /* ... their loops, sampled */
	uint64_t orders_seen; /* ... their lock orders */
};

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

static struct pyproc *find(struct lw_python_source *ps, pid_t pid)
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
	struct pyproc *p = find(ps, pid);

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
}

static void python_forget(struct lw_source *s, pid_t pid)
{
	struct lw_python_source *ps = (struct lw_python_source *)s;
	struct pyproc *p = find(ps, pid);

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
	char version[32], why[160] = "";
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
			       p->pid, f.file);
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

/* Reads the process into lk, trying again a few times while it cannot be
 * read whole now; 0 or -errno. The page cache goes after each read. */
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

static int read_look(struct pyproc *p, struct lw_pylook *lk)
{
	int err = -EAGAIN;

	asyncio_lists(p);
	for (int i = 0; i < READ_TRIES && err == -EAGAIN; i++) {
		if (i)
			lw_sleep_ms(10);
		err = pylook__read(lk, p->m);
	}
	pymem__trim(p->m);
	return err;
}

static void look(struct lw_python_source *ps, struct pyproc *p, uint64_t now_ns)
{
	ps->looks++;
	p->looks++;
	p->cur ^= 1; /* the graph of this turn is built after: nothing points here */
	p->valid = !read_look(p, &p->look[p->cur]);
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
	if (since < DUE_IDLE_NS)
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
static int held_kind(struct lw_pymem *m, uint64_t lock)
{
	switch (pymem__kind(m, lock)) {
	case PK_ALOCK:
		return LW_LOCK_ASYNCIO_LOCK;
	case PK_ASEM:
		return LW_LOCK_ASYNCIO_SEMAPHORE;
	case PK_TLOCK:
		return LW_LOCK_THREADING_LOCK;
	case PK_RLOCK:
		return LW_LOCK_THREADING_RLOCK;
	default:
		return -1;
	}
}

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
			int kind = held_kind(p->m, pp->holds[j]);
			struct lw_lock *l;

			if (kind < 0 || !h)
				continue;
			snprintf(key, sizeof(key), "anon:%d:0x%" PRIx64, p->pid, pp->holds[j]);
			l = graph__lock(g, kind, key, p->pid, pp->holds[j]);
			if (!l)
				continue;
			if (!l->name[0])
				pyname__held(p->m, pp, j, l->name, sizeof(l->name));
			graph__held(g, l, gp,
				    &(struct lw_hold_info){ .src = &ps->base,
							    .rec = h,
							    .since_ns = h->since_ns,
							    .frame = pp->hold_frame[j] + 1 });
		}
	}
}

/* The thread tid of look lk, or NULL. */
static const struct lw_pyparticipant *look_thread(const struct lw_pylook *lk, pid_t tid)
{
	for (int i = 0; i < lk->snap.n && !lk->snap.p[i].task; i++)
		if (lk->snap.p[i].tid == tid)
			return &lk->snap.p[i];
	return NULL;
}

/* Each event loop of p that runs one callback now: held by its thread
 * since it was first seen doing so (a stall, once long enough). */
static void put_stalls(struct lw_python_source *ps, struct lw_graph *g, struct pyproc *p)
{
	char key[LW_KEY_LEN];

	for (int i = 0; i < p->stalls.n; i++) {
		const struct lw_pystall *st = &p->stalls.v[i];
		const struct lw_pyparticipant *pp = look_thread(&p->look[p->cur], st->tid);
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
	struct pyproc *p = find((struct lw_python_source *)s, e->a->pid);

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

static int same_participant(const struct lw_pyparticipant *a, const struct lw_pyparticipant *b)
{
	return a == b || (a && b && a->task == b->task && a->addr == b->addr);
}

/* What the re-checks of this round see: the turn's own look first, else a
 * new read, shared by every wait of this process the round asks about. */
static const struct lw_pylook *seen_in(struct pyproc *p, unsigned int round)
{
	struct lw_pylook *other = &p->look[p->cur ^ 1];

	if (p->round == round)
		return p->seen;
	p->round = round;
	if (p->fresh) {
		p->fresh = 0;
		p->seen = &p->look[p->cur];
	} else {
		p->seen = read_look(p, other) ? NULL : other;
	}
	return p->seen;
}

/* Where the participant is, in the program's terms, for the report: each
 * frame's function, file and line (and whether a C call entered there). */
static void frames_of(struct lw_pymem *m, const struct lw_pyparticipant *pp,
		      struct lw_observation *o)
{
	o->frames = calloc(pp->nframes ? pp->nframes : 1, sizeof(*o->frames));
	if (!o->frames)
		return;
	for (int i = 0; i < pp->nframes; i++) {
		const struct lw_pycode *c = pymem__code(m, pp->frames[i].code);
		struct lw_frame *f = &o->frames[o->nframes];

		if (!c)
			continue;
		f->python = 1;
		f->entry = pp->frames[i].entry;
		f->function = strdup(c->qualname);
		f->file = strdup(c->filename);
		f->line = pycode__line(c, pp->frames[i].instr);
		o->nframes++;
	}
}

/*
 * The wait stands when the read of this round finds its participant waiting
 * for the same lock with the same holder (or the same proof that none is
 * alive), and it and its holder exactly where the graph's look had them.
 */
static int python_observe(struct lw_source *s, const struct lw_participant *gp, unsigned int round,
			  struct lw_observation *o)
{
	struct pyproc *p = find((struct lw_python_source *)s, gp->pid);
	const struct lw_pywait *was = gp->wait.rec, *now;
	const struct lw_pylook *lk;
	uint64_t fp;
	int i;

	if (!p || !p->valid || p->withdrawn)
		return 0;
	lk = seen_in(p, round);
	i = lk ? pylook__find(lk, was->waiter->task, was->waiter->addr) : -1;
	if (i < 0)
		goto moved;
	now = &lk->waits[i];
	if (now->kind != was->kind || now->lock != was->lock || now->gone != was->gone ||
	    !same_participant(now->holder, was->holder))
		goto moved;
	fp = pylook__fingerprint(now->waiter);
	if (fp != pylook__fingerprint(was->waiter))
		goto moved;
	if (now->holder) {
		uint64_t h = pylook__fingerprint(now->holder);

		if (h != pylook__fingerprint(was->holder))
			goto moved;
		fp = lw_hash_combine(fp, h);
	}
	o->fingerprint = fp;
	if (!now->waiter->task) {
		o->has_sc = 1;
		o->sc = now->waiter->sc;
	}
	return 1;
moved:
	/* the graph's look is stale: out until a new one, due now */
	p->withdrawn = 1;
	return 0;
}

/* A stall stands when its loop is still in the callback it was in, and
 * this round's read finds its thread inside a callback (Handle._run): the
 * thread's frames, and the task whose step runs. */
static int observe_stall(struct pyproc *p, const struct lw_pystall *st, unsigned int round,
			 struct lw_observation *o)
{
	const struct lw_pyparticipant *pp;
	const struct lw_pylook *lk;
	int in_callback = 0;

	int64_t ident;

	if (!pystall__stands(p->m, st) || !(lk = seen_in(p, round)) ||
	    !(pp = look_thread(lk, st->tid)) || !pystall__stands(p->m, st))
		return 0;
	/* still that thread's loop (not one run before the one it runs now) */
	if (pymem__int(p->m, pymem__attr(p->m, st->loop, "_thread_id"), &ident) ||
	    (uint64_t)ident != pp->ident) {
		p->withdrawn = 1; /* a new look, and its loops, at once */
		return 0;
	}
	for (int i = 0; i < pp->nframes; i++) {
		const struct lw_pycode *c = pymem__code(p->m, pp->frames[i].code);

		in_callback |= c && !strcmp(c->qualname, "Handle._run");
	}
	if (!in_callback)
		return 0;
	for (int i = 0; i < lk->snap.n; i++)
		if (lk->snap.p[i].task && lk->snap.p[i].state == -1 &&
		    lk->snap.p[i].loop == st->loop) {
			snprintf(o->task, sizeof(o->task), "%s", lk->snap.p[i].name);
			o->task_addr = lk->snap.p[i].addr;
		}
	o->fingerprint = lw_hash_combine(lw_hash_combine(st->loop, st->count), st->since_ns);
	if (pp->sc.nr >= 0) {
		o->has_sc = 1;
		o->sc = pp->sc;
	}
	frames_of(p->m, pp, o);
	return 1;
}

/* A hold stands when this round's read finds its holder still holding the
 * lock, standing still as it stood. */
static int python_observe_hold(struct lw_source *s, const struct lw_lock *l,
			       const struct lw_participant *holder, const struct lw_hold_info *h,
			       unsigned int round, struct lw_observation *o)
{
	struct pyproc *p = find((struct lw_python_source *)s, l->pid);
	const struct lw_pyhold *was = h->rec;
	const struct lw_pyparticipant *pp;
	const struct lw_pylook *lk;
	int i;

	(void)holder;
	if (p && p->valid && l->kind == LW_LOCK_EVENT_LOOP)
		return observe_stall(p, h->rec, round, o);
	if (!p || !p->valid || !was)
		return 0;
	lk = seen_in(p, round);
	i = lk ? pylook__find(lk, was->task, was->holder) : -1;
	if (i < 0 || !pyholds__stands(was, pp = &lk->snap.p[i]))
		return 0;
	o->fingerprint = lw_hash_combine(was->lock, was->still);
	if (!pp->task) {
		o->has_sc = 1;
		o->sc = pp->sc;
	}
	frames_of(p->m, pp, o);
	return 1;
}

static void python_stats(struct lw_source *s, struct lw_summary *sum)
{
	struct lw_python_source *ps = (struct lw_python_source *)s;

	sum->python_processes += ps->processes;
	sum->python_looks += ps->looks;
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

/* The participant's frames as the last re-check's read saw them (a thread
 * whose wait the futex source saw gets a read of its own). */
static void python_describe(struct lw_source *s, const struct lw_participant *gp,
			    unsigned int round, struct lw_observation *o)
{
	struct pyproc *p = find((struct lw_python_source *)s, gp->pid);
	const struct lw_pyparticipant *was = gp->shown_rec;
	const struct lw_pylook *lk;
	int i;

	if (!p || !p->valid)
		return;
	lk = seen_in(p, round);
	i = lk ? pylook__find(lk, was->task, was->addr) : -1;
	if (i >= 0)
		frames_of(p->m, &lk->snap.p[i], o);
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
	.observe = python_observe,
	.observe_hold = python_observe_hold,
	.order_stands = python_order_stands,
	.unsettled = python_unsettled,
	.describe = python_describe,
	.watch = python_watch,
	.forget = python_forget,
	.stats = python_stats,
	.destroy = python_destroy,
};
