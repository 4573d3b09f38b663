// SPDX-License-Identifier: GPL-2.0
/*
 * Python deadlocks from two reads of the process (see pydetect.h). Each
 * participant has at most one edge: the lock it waits for and that lock's
 * holder (the one participant whose frames hold it), the task it awaits, or
 * - for a task whose loop thread is itself blocked on a threading lock - that
 * thread. Following edges from every participant finds the cycles.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "log.h"
#include "proc.h"
#include "pydetect.h"
#include "pyfind.h"
#include "pyreport.h"

#define CONFIRM_GAP_MS 10
#define READS 4 /* reads of one look at most: confirm, or retry a torn one */
#define SIG_MAX 64
#define MAX_CANDS 16
#define ENDED_LEN 256
#define DUE_IDLE_NS (1000 * 1000000ull)
#define DUE_ANY_NS (10000 * 1000000ull)

struct pair {
	uint64_t key; /* a lock, a futex word, a task */
	int idx; /* participant, or -1 when two hold it */
	uint64_t lock;
	enum lw_pylock kind;
};

struct cand {
	int orphan;
	int n;
	struct lw_pyedge e[LW_MAX_CYCLE];
	uint64_t sig;
	char ended[ENDED_LEN];
};

struct lw_pyproc {
	pid_t pid;
	struct lw_pymem *m;
	struct lw_pysnap snap[2];
	int cur; /* snap[cur]: the latest read */
	struct lw_pyedge *edges; /* per participant of snap[cur]; lock 0: none */
	struct pair *tasks; /* the tasks of snap[cur] by address */
	int ntasks;
	struct cand cands[MAX_CANDS];
	int ncands;
	uint64_t reported[SIG_MAX];
	int nreported;
	uint64_t last_ns, last_cpu;
};

int pydetect__open(pid_t pid, struct lw_pyproc **out, char *why, size_t len)
{
	const struct lw_pylayout *L;
	struct lw_pyfound f;
	struct lw_pyproc *pp;
	int err = pyfind(pid, &f);

	if (err)
		return err;
	L = f.freethreaded ? NULL : pylayout__find(f.major << 8 | f.minor);
	if (!L) {
		if (f.freethreaded) {
			snprintf(why, len, "free-threaded Python %u.%ut", f.major, f.minor);
			return -ENOTSUP;
		}
		if (f.major)
			snprintf(why, len, "Python %u.%u", f.major, f.minor);
		else
			snprintf(why, len, "Python of unknown version (%s)", f.file);
		return -ENOTSUP;
	}
	pp = calloc(1, sizeof(*pp));
	if (!pp)
		return -ENOMEM;
	pp->pid = pid;
	pp->m = pymem__new(pid, L, f.runtime, f.hexversion);
	if (!pp->m) {
		free(pp);
		return -ENOMEM;
	}
	lw_debug("pid %d: Python %u.%u (%s), _PyRuntime at 0x%" PRIx64, pid, f.major, f.minor,
		 f.file, f.runtime);
	*out = pp;
	return 0;
}

void pydetect__close(struct lw_pyproc *pp)
{
	if (!pp)
		return;
	pystate__free(&pp->snap[0]);
	pystate__free(&pp->snap[1]);
	free(pp->edges);
	free(pp->tasks);
	pymem__free(pp->m);
	free(pp);
}

pid_t pydetect__pid(const struct lw_pyproc *pp)
{
	return pp->pid;
}

static int by_key(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;

	return x->key < y->key ? -1 : x->key > y->key;
}

static const struct pair *find(const struct pair *v, int n, uint64_t key)
{
	struct pair k = { .key = key };

	return n ? bsearch(&k, v, n, sizeof(*v), by_key) : NULL;
}

/* Sorted (lock -> holder) and (futex word -> threading lock) pairs. */
static int holders(struct lw_pymem *m, const struct lw_pysnap *s, struct pair **hold,
		   struct pair **futex, int *nfutex)
{
	const struct lw_pylayout *L = pymem__layout(m);
	int n = 0, k = 0, w = 0;

	for (int i = 0; i < s->n; i++)
		n += s->p[i].nholds;
	*hold = calloc(n + 1, sizeof(**hold));
	*futex = calloc(n + 1, sizeof(**futex));
	if (!*hold || !*futex)
		return -ENOMEM;
	for (int i = 0; i < s->n; i++)
		for (int j = 0; j < s->p[i].nholds; j++)
			(*hold)[k++] = (struct pair){ s->p[i].holds[j], i, s->p[i].holds[j] };
	qsort(*hold, k, sizeof(**hold), by_key);
	/* the same lock held by two: neither is believed */
	for (int i = 0; i < k; i++) {
		if (i && (*hold)[i].key == (*hold)[w - 1].key) {
			if ((*hold)[i].idx != (*hold)[w - 1].idx)
				(*hold)[w - 1].idx = -1;
			continue;
		}
		(*hold)[w++] = (*hold)[i];
	}
	k = w;
	for (int i = 0, f = 0; i < k; i++) {
		enum lw_pykind kind = py_kind(m, (*hold)[i].lock);
		uint64_t sem;

		if ((kind != PK_TLOCK && kind != PK_RLOCK) || !pymem__lock_sem(m))
			continue;
		sem = py_ptr(m, (*hold)[i].lock + L->lock_lock);
		if (sem)
			(*futex)[f++] = (struct pair){ sem, (*hold)[i].idx, (*hold)[i].lock,
						       kind == PK_TLOCK ? PL_TLOCK : PL_RLOCK };
		*nfutex = f;
	}
	qsort(*futex, *nfutex, sizeof(**futex), by_key);
	return k;
}

/* Tasks by address, sorted, for live_task(). */
static int index_tasks(struct lw_pyproc *pp)
{
	const struct lw_pysnap *s = &pp->snap[pp->cur];

	free(pp->tasks);
	pp->ntasks = 0;
	pp->tasks = calloc(s->n + 1, sizeof(*pp->tasks));
	if (!pp->tasks)
		return -ENOMEM;
	for (int i = 0; i < s->n; i++)
		if (s->p[i].task)
			pp->tasks[pp->ntasks++] = (struct pair){ .key = s->p[i].addr, .idx = i };
	qsort(pp->tasks, pp->ntasks, sizeof(*pp->tasks), by_key);
	return 0;
}

static const struct lw_pypart *live_task(const struct lw_pyproc *pp, uint64_t addr)
{
	const struct lw_pysnap *s = &pp->snap[pp->cur];
	const struct pair *t = find(pp->tasks, pp->ntasks, addr);

	return t && s->p[t->idx].state == 0 ? &s->p[t->idx] : NULL;
}

/* threads come first in a snapshot */
static const struct lw_pypart *thread_of(const struct lw_pysnap *s, pid_t tid)
{
	for (int i = 0; tid && i < s->n && !s->p[i].task; i++)
		if (s->p[i].tid == tid)
			return &s->p[i];
	return NULL;
}

/* The threading lock (or RLock) object whose semaphore is futex word w. */
static enum lw_pykind tlock_of(struct lw_pymem *m, uint64_t obj, uint64_t w)
{
	const struct lw_pylayout *L = pymem__layout(m);
	enum lw_pykind k = py_kind(m, obj);

	return (k == PK_TLOCK || k == PK_RLOCK) && pymem__lock_sem(m) &&
			       py_ptr(m, obj + L->lock_lock) == w ?
		       k :
		       PK_OTHER;
}

/*
 * A thread waits in a threading lock that no frame holds (taken by hand):
 * find the lock on its innermost frame - a local, or on the value stack
 * (`lock.acquire` or the __exit__ that `with` pushed) - to name it; an
 * RLock also names its owner.
 */
static void waited_tlock(struct lw_pyproc *pp, const struct lw_pypart *p, struct lw_pyedge *e)
{
	const struct lw_pylayout *L = pymem__layout(pp->m);
	const struct lw_pysnap *s = &pp->snap[pp->cur];
	const struct lw_pycode *c = p->nframes ? py_code(pp->m, p->frames[0].code) : NULL;
	uint64_t slots[64], owner, count;
	int n;

	if (!c)
		return;
	if (!strcmp(c->qualname, "Thread._wait_for_tstate_lock") ||
	    !strcmp(c->qualname, "Thread.join")) {
		/* join(): the lock is released when that thread exits (3.13
		 * waits in Thread.join itself, on the C thread handle) */
		int64_t ident;

		e->lock = py_ptr(pp->m, p->frames[0].addr + L->fr_localsplus); /* self */
		if (py_int(pp->m, py_attr(pp->m, e->lock, "_ident"), &ident)) {
			e->lock = 0;
			return;
		}
		e->kind = PL_JOIN;
		for (int j = 0; j < s->n && !s->p[j].task; j++)
			if (s->p[j].ident == (uint64_t)ident)
				e->holder = &s->p[j];
		return;
	}
	n = c->nlocalsplus + c->stacksize < 64 ? c->nlocalsplus + c->stacksize : 64;
	if (py_read(pp->m, p->frames[0].addr + L->fr_localsplus, slots, n * 8))
		return;
	for (int i = 0; i < n; i++) {
		uint64_t obj = slots[i];
		enum lw_pykind k = tlock_of(pp->m, obj, p->wait_obj);

		if (k == PK_OTHER) {
			if (py_kind(pp->m, obj) == PK_CFUNC)
				obj = py_ptr(pp->m, obj + L->cfunc_self);
			else if (py_kind(pp->m, obj) == PK_METHOD)
				obj = py_ptr(pp->m, obj + L->method_self);
			else
				continue;
			k = tlock_of(pp->m, obj, p->wait_obj);
		}
		if (k == PK_OTHER)
			continue;
		e->kind = k == PK_TLOCK ? PL_TLOCK : PL_RLOCK;
		e->lock = obj;
		if (k == PK_RLOCK && !py_read(pp->m, obj + L->rlock_owner, &owner, 8) &&
		    !py_read(pp->m, obj + L->rlock_count, &count, 8) && count)
			for (int j = 0; j < s->n && !s->p[j].task; j++)
				if (s->p[j].ident == owner)
					e->holder = &s->p[j];
		return;
	}
}

/* Every participant's one edge, into pp->edges. */
static int edges(struct lw_pyproc *pp)
{
	const struct lw_pysnap *s = &pp->snap[pp->cur];
	struct pair *hold = NULL, *futex = NULL;
	int nhold, nfutex = 0, err = 0;

	free(pp->edges);
	pp->edges = calloc(s->n + 1, sizeof(*pp->edges));
	nhold = holders(pp->m, s, &hold, &futex, &nfutex);
	if (!pp->edges || nhold < 0 || index_tasks(pp)) {
		err = -ENOMEM;
		goto out;
	}
	/* threads first: a task's edge may go to its loop's thread */
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < s->n; i++) {
			const struct lw_pypart *p = &s->p[i], *t;
			struct lw_pyedge *e = &pp->edges[i];
			const struct pair *h;

			if (p->task != pass)
				continue;
			e->waiter = p;
			if (!p->task && p->wait == PW_FUTEX) {
				h = find(futex, nfutex, p->wait_obj);
				if (h) {
					e->kind = h->kind;
					e->lock = h->lock;
					e->holder = h->idx >= 0 ? &s->p[h->idx] : NULL;
				} else {
					waited_tlock(pp, p, e);
				}
				continue;
			}
			if (!p->task || p->state)
				continue;
			t = thread_of(s, p->tid);
			if (t && pp->edges[t - s->p].lock &&
			    (pp->edges[t - s->p].kind == PL_TLOCK ||
			     pp->edges[t - s->p].kind == PL_RLOCK)) {
				/* its loop's thread is stuck inside another task */
				e->kind = PL_LOOP;
				e->lock = p->loop;
				e->holder = t;
			} else if (p->wait == PW_ALOCK) {
				h = find(hold, nhold, p->wait_obj);
				e->kind = PL_ALOCK;
				e->lock = p->wait_obj;
				e->holder = h && h->idx >= 0 ? &s->p[h->idx] : NULL;
			} else if (p->wait == PW_TASK) {
				e->kind = PL_TASK;
				e->lock = p->wait_obj;
				e->holder = live_task(pp, p->wait_obj);
			} else if (p->wait >= PW_ASEM && p->wait <= PW_AQUEUE) {
				static const enum lw_pylock kinds[] = {
					[PW_ASEM] = PL_ASEM,
					[PW_ACOND] = PL_ACOND,
					[PW_AEVENT] = PL_AEVENT,
					[PW_AQUEUE] = PL_AQUEUE,
				};

				e->kind = kinds[p->wait];
				e->lock = p->wait_obj;
			}
		}
	}
out:
	free(hold);
	free(futex);
	return err;
}

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return x;
}

static uint64_t signature(const struct cand *c)
{
	uint64_t sig = c->orphan ? 0x6f7270 : 0x6379636c;

	for (int i = 0; i < c->n; i++)
		sig += mix(c->e[i].waiter->addr ^ mix(c->e[i].lock));
	return sig;
}

static int is_true(struct lw_pymem *m, uint64_t obj)
{
	char type[8];
	int64_t v;

	py_type_name(m, obj, type, sizeof(type));
	return !strcmp(type, "bool") && !py_int(m, obj, &v) && v;
}

static void add_cand(struct lw_pyproc *pp, struct cand *c)
{
	c->sig = signature(c);
	for (int i = 0; i < pp->ncands; i++)
		if (pp->cands[i].sig == c->sig)
			return;
	if (pp->ncands < MAX_CANDS)
		pp->cands[pp->ncands++] = *c;
}

/* Follow edges from every participant; each cycle once. */
static void cycles(struct lw_pyproc *pp)
{
	const struct lw_pysnap *s = &pp->snap[pp->cur];
	int *walk = calloc(s->n + 1, sizeof(int));

	if (!walk)
		return;
	for (int i = 0; i < s->n; i++) {
		int path[LW_MAX_CYCLE + 1], n = 0, k = i, id = i + 1;

		while (k >= 0 && !walk[k] && pp->edges[k].lock && n <= LW_MAX_CYCLE) {
			walk[k] = id;
			path[n++] = k;
			k = pp->edges[k].holder ? (int)(pp->edges[k].holder - s->p) : -1;
		}
		if (k >= 0 && walk[k] == id) {
			struct cand c = { 0 };
			int at = 0;

			while (path[at] != k)
				at++;
			for (int j = at; j < n; j++)
				c.e[c.n++] = pp->edges[path[j]];
			add_cand(pp, &c);
		}
	}
	free(walk);
}

static int accounted_for(struct lw_pyproc *pp, const char *acc, const struct lw_pypart *p)
{
	const struct lw_pylayout *L = pymem__layout(pp->m);
	const struct lw_pysnap *s = &pp->snap[pp->cur];
	uint64_t list, items[64];
	int64_t n;

	if (p->wait == PW_TASK) {
		const struct lw_pypart *t = live_task(pp, p->wait_obj);

		return t && acc[t - s->p];
	}
	if (p->wait != PW_GATHER)
		return 0;
	list = py_attr(pp->m, p->wait_obj, "_children");
	if (py_kind(pp->m, list) != PK_LIST || py_read(pp->m, list + L->var_size, &n, sizeof(n)) ||
	    n <= 0 || n > 64 || py_read(pp->m, py_ptr(pp->m, list + L->list_item), items, n * 8))
		return 0;
	for (int i = 0; i < n; i++) {
		const struct lw_pypart *t = live_task(pp, items[i]);

		if (!t || !acc[t - s->p])
			return 0;
	}
	return 1;
}

/* "loader (RuntimeError), ..." */
static void ended_tasks(struct lw_pyproc *pp, char *buf, size_t len)
{
	const struct lw_pysnap *s = &pp->snap[pp->cur];
	size_t used = 0;

	buf[0] = '\0';
	for (int i = 0; i < s->n && used + 1 < len; i++) {
		char type[64];

		if (!s->p[i].task || s->p[i].state != 2 || !s->p[i].exception)
			continue;
		py_type_name(pp->m, s->p[i].exception, type, sizeof(type));
		used += snprintf(buf + used, len - used, "%s%s (%s)", used ? ", " : "",
				 s->p[i].name, type);
	}
}

/* asyncio locks that are locked, waited for, and that no live task can
 * release: every live task waits for it, or awaits only such tasks. */
static void orphans(struct lw_pyproc *pp)
{
	const struct lw_pysnap *s = &pp->snap[pp->cur];
	char *acc;

	if (!s->complete)
		return;
	acc = calloc(s->n + 1, 1);
	if (!acc)
		return;
	for (int i = 0; i < s->n; i++) {
		const struct lw_pyedge *e = &pp->edges[i];
		struct cand c = { .orphan = 1 };
		int changed = 1, all = 1;

		if (!e->lock || e->kind != PL_ALOCK || e->holder)
			continue;
		memset(acc, 0, s->n);
		for (int j = 0; j < s->n; j++)
			if (pp->edges[j].lock == e->lock && pp->edges[j].kind == PL_ALOCK) {
				if (j < i)
					goto next; /* looked at from its first waiter */
				acc[j] = 1;
				if (c.n < LW_MAX_CYCLE)
					c.e[c.n++] = pp->edges[j];
			}
		while (changed) {
			changed = 0;
			for (int j = 0; j < s->n; j++)
				if (s->p[j].task && !s->p[j].state && !acc[j] &&
				    accounted_for(pp, acc, &s->p[j]))
					acc[j] = changed = 1;
		}
		for (int j = 0; j < s->n; j++)
			if (s->p[j].task && s->p[j].state <= 0 && !acc[j])
				all = 0;
		if (all && is_true(pp->m, py_attr(pp->m, e->lock, "_locked"))) {
			ended_tasks(pp, c.ended, sizeof(c.ended));
			add_cand(pp, &c);
		}
next:;
	}
	free(acc);
}

static int analyze(struct lw_pyproc *pp)
{
	struct lw_pysnap *s = &pp->snap[pp->cur];
	int err = pystate__read(pp->m, s);

	pp->ncands = 0;
	if (err)
		return err;
	err = edges(pp);
	if (err)
		return err;
	cycles(pp);
	orphans(pp);
	return 0;
}

static const struct lw_pypart *same_part(const struct lw_pysnap *s, const struct lw_pypart *p)
{
	for (int i = 0; i < s->n; i++)
		if (s->p[i].addr == p->addr && s->p[i].task == p->task)
			return &s->p[i];
	return NULL;
}

/* Exactly where it was, and a thread that did not run in between. */
static int unchanged(const struct lw_pypart *a, const struct lw_pypart *b)
{
	if (!b || a->state != b->state || a->nframes != b->nframes || a->wait != b->wait ||
	    a->wait_obj != b->wait_obj || a->nholds != b->nholds ||
	    memcmp(a->holds, b->holds, sizeof(a->holds[0]) * a->nholds))
		return 0;
	for (int i = 0; i < a->nframes; i++)
		if (a->frames[i].code != b->frames[i].code ||
		    a->frames[i].instr != b->frames[i].instr)
			return 0;
	return a->task || (a->ctxsw == b->ctxsw && !memcmp(&a->sc, &b->sc, sizeof(a->sc)));
}

static int confirmed(const struct cand *was, const struct cand *now, const struct lw_pysnap *s)
{
	if (was->n != now->n)
		return 0;
	for (int i = 0; i < now->n; i++) {
		const struct lw_pyedge *e = &now->e[i];

		if (!unchanged(e->waiter, same_part(s, e->waiter)) ||
		    (e->holder && !unchanged(e->holder, same_part(s, e->holder))))
			return 0;
	}
	return 1;
}

static int reported(struct lw_pyproc *pp, uint64_t sig)
{
	for (int i = 0; i < pp->nreported && i < SIG_MAX; i++)
		if (pp->reported[i] == sig)
			return 1;
	return 0;
}

static int check(struct lw_pyproc *pp, lw_pyemit_fn emit, void *ctx);

int pydetect__check(struct lw_pyproc *pp, lw_pyemit_fn emit, void *ctx)
{
	int n = check(pp, emit, ctx);

	pymem__trim(pp->m);
	return n;
}

/* The candidates of the latest read that a read before (in snapshot s)
 * saw exactly the same: reported. */
static int emit_confirmed(struct lw_pyproc *pp, const struct cand *first, int nfirst,
			  const struct lw_pysnap *s, lw_pyemit_fn emit, void *ctx)
{
	int n = 0;

	for (int i = 0; i < pp->ncands; i++) {
		struct cand *c = &pp->cands[i];
		struct lw_alert *a;

		for (int j = 0; j < nfirst; j++) {
			if (first[j].sig != c->sig || reported(pp, c->sig) ||
			    !confirmed(&first[j], c, s))
				continue;
			a = calloc(1, sizeof(*a));
			if (!a)
				return n;
			if (c->orphan)
				pyreport__orphan(a, pp->m, c->e, c->n, c->ended);
			else
				pyreport__cycle(a, pp->m, c->e, c->n);
			pp->reported[pp->nreported++ % SIG_MAX] = c->sig;
			emit(ctx, a);
			n++;
			break;
		}
	}
	return n;
}

/*
 * Reads, CONFIRM_GAP_MS apart, until every candidate was seen the same in
 * two reads in a row, or READS reads: a read torn by the running process
 * (an object freed or moved under it) is retried, never believed.
 */
static int check(struct lw_pyproc *pp, lw_pyemit_fn emit, void *ctx)
{
	struct timespec gap = { 0, CONFIRM_GAP_MS * 1000000L };
	struct cand first[MAX_CANDS];
	int nfirst = 0, fs = -1, err = 0, n = 0;

	for (int r = 0; r < READS; r++) {
		if (r)
			nanosleep(&gap, NULL);
		/* first[] points into snapshot fs: read into the other one */
		if (fs >= 0)
			pp->cur = fs ^ 1;
		err = analyze(pp);
		if (err == -EAGAIN)
			continue;
		if (err)
			break;
		if (fs >= 0)
			n += emit_confirmed(pp, first, nfirst, &pp->snap[fs], emit, ctx);
		nfirst = 0;
		for (int i = 0; i < pp->ncands; i++)
			if (!reported(pp, pp->cands[i].sig))
				first[nfirst++] = pp->cands[i];
		fs = pp->cur;
		if (!nfirst)
			return n;
	}
	return n ? n : err;
}

/* utime + stime of the whole process, in clock ticks */
static uint64_t cpu_ticks(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut = 0, st = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	p = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
	fclose(f);
	if (!p ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return 0;
	return ut + st;
}

int pydetect__due(struct lw_pyproc *pp, uint64_t now_ns)
{
	uint64_t cpu, since = now_ns - pp->last_ns;
	int due;

	if (since < DUE_IDLE_NS)
		return 0;
	cpu = cpu_ticks(pp->pid);
	/* it ran no code since the last look: nothing new to see. Otherwise
	 * look after a second when it was mostly idle (a hung event loop
	 * sleeps), and every ten seconds anyway. */
	due = !pp->last_ns ||
	      (cpu != pp->last_cpu &&
	       ((cpu - pp->last_cpu) * 10000000ull < since / 2 || since >= DUE_ANY_NS));
	if (due) {
		pp->last_ns = now_ns;
		pp->last_cpu = cpu;
	}
	return due;
}

int pydetect__blocked(struct lw_pyproc *pp, struct lw_blocked *out, int max)
{
	const struct lw_pysnap *s = &pp->snap[pp->cur];
	int n = 0;

	for (int i = 0; pp->edges && i < s->n; i++) {
		const struct lw_pyedge *e = &pp->edges[i];
		struct lw_blocked *b = NULL;

		if (!e->lock || e->kind == PL_LOOP)
			continue;
		for (int j = 0; j < n; j++)
			if (out[j].lock.addr == e->lock && out[j].lock.pid == pp->pid)
				b = &out[j];
		if (!b) {
			if (n == max)
				continue;
			b = &out[n++];
			memset(b, 0, sizeof(*b));
			pyreport__lock(&b->lock, pp->m, e);
			if (e->holder)
				pyreport__party(&b->holder, pp->m, e->holder);
		}
		if (b->nwaiters < LW_BLOCKED_NAMED)
			pyreport__party(&b->waiters[b->nwaiters], pp->m, e->waiter);
		b->nwaiters++;
	}
	pymem__trim(pp->m);
	return n;
}
