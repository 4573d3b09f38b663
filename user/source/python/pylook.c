// SPDX-License-Identifier: GPL-2.0
/*
 * One look at a Python process (see pylook.h). Each participant has one
 * wait at most: the lock it waits for and that lock's holder (the one
 * participant whose frames hold it), the task it awaits, the thread it
 * joins, or - for a task whose loop's thread is itself blocked on a
 * threading lock - that thread. An asyncio lock is proven orphaned when it
 * is locked and every live task waits for it or awaits only tasks that do.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "source/python/pyfuture.h"
#include "source/python/pylook.h"
#include "source/python/pyname.h"
#include "sys/hash.h"

/* A participant, lock, futex word or task by address, sorted for bsearch. */
struct lw_pypair {
	uint64_t key; /* a lock, a futex word, a task */
	int idx; /* participant, or -1 when two hold it */
	uint64_t lock;
	enum lw_lock_kind kind;
};

struct lw_pyname {
	uint64_t lock;
	enum lw_lock_kind kind;
	char name[LW_NAME_LEN];
};

#define MAX_LOOPS 64

/* One look in progress. */
struct ctx {
	struct lw_pylook *lk;
	struct lw_pymem *m;
	const struct lw_pysnap *s;
	struct lw_pyfutures *fut;
	int *queued; /* per participant: 1 + the executor whose queue holds what it waits for */
	/* the loops tasks run on, and their threads (loop_thread()) */
	uint64_t loops[MAX_LOOPS];
	pid_t loop_tids[MAX_LOOPS];
	int nloops, loops_known;
};

static const struct lw_pypair *find(const struct lw_pypair *v, int n, uint64_t key)
{
	return pymem__find(v, n, sizeof(*v), key);
}

/* Sorted (lock -> holder) and (futex word -> threading lock) pairs. */
static int holders(struct ctx *c, struct lw_pypair **hold, struct lw_pypair **futex, int *nfutex)
{
	const struct lw_pylayout *L = pymem__layout(c->m);
	const struct lw_pysnap *s = c->s;
	int n = 0, k = 0, w = 0;

	for (int i = 0; i < s->n; i++)
		n += s->p[i].nholds;
	*hold = calloc(n + 1, sizeof(**hold));
	*futex = calloc(n + 1, sizeof(**futex));
	if (!*hold || !*futex)
		return -ENOMEM;
	for (int i = 0; i < s->n; i++)
		for (int j = 0; j < s->p[i].nholds; j++)
			(*hold)[k++] = (struct lw_pypair){ s->p[i].holds[j].lock, i,
							   s->p[i].holds[j].lock };
	pymem__sort(*hold, k, sizeof(**hold));
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
	*nfutex = 0;
	for (int i = 0; i < k; i++) {
		enum lw_pykind kind = pymem__kind(c->m, (*hold)[i].lock);
		uint64_t sem;

		if (!pymem__lock_sem(c->m, kind))
			continue;
		sem = pymem__ptr(c->m, (*hold)[i].lock + L->lock_lock);
		if (sem)
			(*futex)[(*nfutex)++] =
				(struct lw_pypair){ sem, (*hold)[i].idx, (*hold)[i].lock,
						    kind == PK_TLOCK ? LW_LOCK_THREADING_LOCK :
								       LW_LOCK_THREADING_RLOCK };
	}
	pymem__sort(*futex, *nfutex, sizeof(**futex));
	return k;
}

/* Tasks by address, sorted, for live_task() and pylook__find(). */
static int index_tasks(struct ctx *c)
{
	struct lw_pylook *lk = c->lk;
	const struct lw_pysnap *s = c->s;

	free(lk->tasks);
	lk->ntasks = 0;
	lk->tasks = calloc(s->n + 1, sizeof(*lk->tasks));
	if (!lk->tasks)
		return -ENOMEM;
	for (int i = 0; i < s->n; i++)
		if (s->p[i].task)
			lk->tasks[lk->ntasks++] =
				(struct lw_pypair){ .key = s->p[i].addr, .idx = i };
	pymem__sort(lk->tasks, lk->ntasks, sizeof(*lk->tasks));
	return 0;
}

static const struct lw_pyparticipant *live_task(const struct ctx *c, uint64_t addr)
{
	const struct lw_pypair *t = find(c->lk->tasks, c->lk->ntasks, addr);

	return t && c->s->p[t->idx].state == 0 ? &c->s->p[t->idx] : NULL;
}

int pylook__lock_kind(struct lw_pymem *m, uint64_t obj)
{
	switch (pymem__kind(m, obj)) {
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

int pylook__find(const struct lw_pylook *lk, int task, uint64_t addr)
{
	const struct lw_pypair *t;

	if (task) {
		t = find(lk->tasks, lk->ntasks, addr);
		return t ? t->idx : -1;
	}
	/* threads come first in a snapshot */
	for (int i = 0; i < lk->snap.n && !lk->snap.p[i].task; i++)
		if (lk->snap.p[i].addr == addr)
			return i;
	return -1;
}

static const struct lw_pyparticipant *thread_by_ident(const struct lw_pysnap *s, uint64_t ident)
{
	for (int j = 0; j < s->n && !s->p[j].task; j++)
		if (s->p[j].th->ident == ident)
			return &s->p[j];
	return NULL;
}

/* The thread that owns RLock obj, by its recorded owner and count. */
static const struct lw_pyparticipant *rlock_owner(struct ctx *c, uint64_t obj)
{
	const struct lw_pylayout *L = pymem__layout(c->m);
	uint64_t owner, count;

	uint8_t bits;

	if (pymem__read(c->m, obj + L->rlock_owner, &owner, 8) ||
	    pymem__read(c->m, obj + L->rlock_count, &count, 8))
		return NULL;
	/* a _PyRecursiveMutex (3.14) counts the recursion beyond the first
	 * take (level): it is held while its mutex is locked */
	if (L->rlock_parked ?
		    pymem__read(c->m, obj + L->lock_lock, &bits, 1) || !(bits & 1) || !owner :
		    !count)
		return NULL;
	return thread_by_ident(c->s, owner);
}

/* The threading lock (or RLock) object whose semaphore is futex word w. */
static enum lw_pykind tlock_of(struct lw_pymem *m, uint64_t obj, uint64_t w)
{
	const struct lw_pylayout *L = pymem__layout(m);
	enum lw_pykind k = pymem__kind(m, obj);

	return pymem__lock_sem(m, k) && pymem__ptr(m, obj + L->lock_lock) == w ? k : PK_OTHER;
}

/*
 * A thread waits in a threading lock that no frame holds (taken by hand):
 * find the lock on its innermost frame - a local, or on the value stack
 * (`lock.acquire` or the __exit__ that `with` pushed) - to name it; an
 * RLock also names its owner. Or the thread joins another.
 */
static void waited_tlock(struct ctx *c, const struct lw_pyparticipant *p, struct lw_pywait *w)
{
	const struct lw_pylayout *L = pymem__layout(c->m);
	const struct lw_pycode *code = p->nframes ? pymem__code(c->m, p->frames[0].code) : NULL;
	uint64_t slots[64];
	int n;

	if (!code)
		return;
	if (!strcmp(code->qualname, "Thread._wait_for_tstate_lock") ||
	    !strcmp(code->qualname, "Thread.join")) {
		/* join(): the lock is released when that thread exits (3.13
		 * waits in Thread.join itself, on the C thread handle) */
		int64_t ident;
		uint64_t self = pymem__ref(c->m, p->frames[0].addr + L->fr_localsplus);

		if (pymem__int(c->m, pymem__attr(c->m, self, "_ident"), &ident))
			return;
		w->kind = LW_LOCK_THREAD_EXIT;
		w->lock = self;
		w->holder = thread_by_ident(c->s, (uint64_t)ident);
		return;
	}
	n = code->nlocalsplus + code->stacksize < 64 ? code->nlocalsplus + code->stacksize : 64;
	if (pymem__read(c->m, p->frames[0].addr + L->fr_localsplus, slots, n * 8))
		return;
	for (int i = 0; i < n; i++) {
		uint64_t obj = pymem__unref(c->m, slots[i]);
		enum lw_pykind k = tlock_of(c->m, obj, p->wait_obj);

		if (k == PK_OTHER) {
			if (pymem__kind(c->m, obj) == PK_CFUNC)
				obj = pymem__ptr(c->m, obj + L->cfunc_self);
			else if (pymem__kind(c->m, obj) == PK_METHOD)
				obj = pymem__ptr(c->m, obj + L->method_self);
			else
				continue;
			k = tlock_of(c->m, obj, p->wait_obj);
		}
		if (k == PK_OTHER)
			continue;
		w->kind = k == PK_TLOCK ? LW_LOCK_THREADING_LOCK : LW_LOCK_THREADING_RLOCK;
		w->lock = obj;
		if (k == PK_RLOCK)
			w->holder = rlock_owner(c, obj);
		return;
	}
}

static const enum lw_lock_kind owned_by_nobody[] = {
	[PW_ASEM] = LW_LOCK_ASYNCIO_SEMAPHORE,
	[PW_ACOND] = LW_LOCK_ASYNCIO_CONDITION,
	[PW_AEVENT] = LW_LOCK_ASYNCIO_EVENT,
	[PW_AQUEUE] = LW_LOCK_ASYNCIO_QUEUE,
};

/*
 * The threading lock a thread parked for (Lock from 3.13.1, RLock from
 * 3.14): its futex word is the semaphore of a wait entry on its own stack,
 * which records the PyMutex's address; the lock is the object around that
 * mutex, while it is locked. Its kind into *kind.
 */
static uint64_t parked_for(struct ctx *c, uint64_t word, enum lw_pykind *kind)
{
	const struct lw_pylayout *L = pymem__layout(c->m);
	uint64_t mutex, obj;
	uint8_t bits;

	if (!L->park_addr || pymem__read(c->m, word + L->park_addr, &mutex, 8) ||
	    mutex < L->lock_lock)
		return 0;
	obj = mutex - L->lock_lock;
	*kind = pymem__kind(c->m, obj);
	if ((*kind != PK_TLOCK && *kind != PK_RLOCK) || pymem__lock_sem(c->m, *kind))
		return 0;
	return !pymem__read(c->m, mutex, &bits, 1) && (bits & 1) /* _Py_LOCKED */ ? obj : 0;
}

/* The thread that runs event loop `loop` (NULL: none is). */
static const struct lw_pyparticipant *loop_thread(struct ctx *c, uint64_t loop)
{
	if (!c->loops_known) { /* the loops and their threads, once a look */
		c->loops_known = 1;
		for (int i = 0; i < c->s->n && c->nloops < MAX_LOOPS; i++) {
			const struct lw_pyparticipant *p = &c->s->p[i];
			int seen = 0;

			for (int k = 0; k < c->nloops; k++)
				seen |= c->loops[k] == p->loop;
			if (p->task && p->loop && p->tid && !seen) {
				c->loops[c->nloops] = p->loop;
				c->loop_tids[c->nloops++] = p->tid;
			}
		}
	}
	for (int k = 0; k < c->nloops; k++)
		if (c->loops[k] == loop)
			return pystate__thread(c->s, c->loop_tids[k]);
	return NULL;
}

/* p waits for future fut (a concurrent one, or an asyncio one chained to
 * one), held by who can complete it: the worker running it, the task it is
 * chained from, the thread of the loop that will start it; one queued in an
 * executor is held by its workers only when they are all stuck (stuck()).
 * 0, or -1 when it is done or not one the look knows. */
static int future_wait(struct ctx *c, const struct lw_pyparticipant *p, struct lw_pywait *w,
		       uint64_t fut, int asyncio)
{
	struct lw_pyfuture f;

	if (!c->fut || pyfut__find(c->m, c->fut, fut, asyncio, &f))
		return -1;
	w->kind = LW_LOCK_FUTURE;
	w->lock = fut;
	w->runs = f.runs;
	if (f.worker >= 0)
		w->holder = &c->s->p[f.worker];
	else if (f.task)
		w->holder = live_task(c, f.task);
	else if (f.pool >= 0)
		c->queued[p - c->s->p] = f.pool + 1;
	else if (f.loop)
		w->holder = loop_thread(c, f.loop);
	return 0;
}

/* A thread's wait: a threading lock, found by its semaphore's futex word
 * (or the wait entry it parked with), a lock taken by hand, a join. */
static void thread_wait(struct ctx *c, const struct lw_pyparticipant *p, struct lw_pywait *w,
			const struct lw_pypair *futex, int nfutex, const struct lw_pypair *hold,
			int nhold)
{
	enum lw_pykind kind;
	const struct lw_pypair *h;
	uint64_t lock;

	if (p->wait == PW_GIL) { /* held by the thread whose state holds it */
		w->kind = LW_LOCK_GIL;
		w->lock = p->wait_obj;
		for (int i = 0; i < c->s->n && !c->s->p[i].task; i++)
			if (c->s->gil_holder && c->s->p[i].addr == c->s->gil_holder &&
			    c->s->p[i].tid != p->tid)
				w->holder = &c->s->p[i];
		return;
	}
	if (p->wait != PW_FUTEX)
		return;
	if ((lock = pyfut__waited(c->m, p))) {
		future_wait(c, p, w, lock, 0);
		return;
	}
	h = find(futex, nfutex, p->wait_obj);
	if (!h && (lock = parked_for(c, p->wait_obj, &kind))) {
		h = find(hold, nhold, lock);
		w->kind = kind == PK_TLOCK ? LW_LOCK_THREADING_LOCK : LW_LOCK_THREADING_RLOCK;
		w->lock = lock;
		w->holder = h && h->idx >= 0 ? &c->s->p[h->idx] : NULL;
		if (!w->holder && kind == PK_RLOCK)
			w->holder = rlock_owner(c, lock);
		return;
	}
	if (!h) {
		waited_tlock(c, p, w);
		return;
	}
	w->kind = h->kind;
	w->lock = h->lock;
	w->holder = h->idx >= 0 ? &c->s->p[h->idx] : NULL;
}

static void task_wait(struct ctx *c, const struct lw_pyparticipant *p, struct lw_pywait *w,
		      const struct lw_pypair *hold, int nhold)
{
	const struct lw_pysnap *s = c->s;
	const struct lw_pyparticipant *t = pystate__thread(s, p->tid);
	const struct lw_pywait *tw = t ? &c->lk->waits[t - s->p] : NULL;
	const struct lw_pypair *h;

	if (p->state)
		return;
	if (tw && tw->lock &&
	    (tw->kind == LW_LOCK_THREADING_LOCK || tw->kind == LW_LOCK_THREADING_RLOCK ||
	     tw->kind == LW_LOCK_FUTURE)) {
		/* its loop's thread is stuck inside another task */
		w->kind = LW_LOCK_EVENT_LOOP;
		w->lock = p->loop;
		w->holder = t;
	} else if (p->wait == PW_ALOCK) {
		h = find(hold, nhold, p->wait_obj);
		w->kind = LW_LOCK_ASYNCIO_LOCK;
		w->lock = p->wait_obj;
		w->holder = h && h->idx >= 0 ? &s->p[h->idx] : NULL;
	} else if (p->wait == PW_TASK) {
		w->kind = LW_LOCK_TASK;
		w->lock = p->wait_obj;
		w->holder = live_task(c, p->wait_obj);
	} else if (p->wait == PW_FUTURE) {
		future_wait(c, p, w, p->wait_obj, 1);
	} else if (p->wait >= PW_ASEM && p->wait <= PW_AQUEUE) {
		w->kind = owned_by_nobody[p->wait];
		w->lock = p->wait_obj;
	}
}

/* Every participant's one wait, into lk->waits. */
static int waits(struct ctx *c)
{
	const struct lw_pysnap *s = c->s;
	struct lw_pylook *lk = c->lk;
	struct lw_pypair *hold = NULL, *futex = NULL;
	int nhold, nfutex = 0, err = 0;

	free(lk->waits);
	lk->waits = calloc(s->n + 1, sizeof(*lk->waits));
	nhold = holders(c, &hold, &futex, &nfutex);
	c->queued = calloc(s->n + 1, sizeof(*c->queued));
	if (!lk->waits || nhold < 0 || !c->queued || index_tasks(c) ||
	    pyfut__read(c->m, s, &c->fut)) {
		err = -ENOMEM;
		goto out;
	}
	for (int i = 0; i < s->n; i++)
		lk->waits[i].waiter = &s->p[i];
	/* threads first: a task's wait may be its loop's thread */
	for (int i = 0; i < s->n; i++)
		if (!s->p[i].task)
			thread_wait(c, &s->p[i], &lk->waits[i], futex, nfutex, hold, nhold);
	for (int i = 0; i < s->n; i++)
		if (s->p[i].task)
			task_wait(c, &s->p[i], &lk->waits[i], hold, nhold);
	if (c->fut)
		pyfut__stuck(c->fut, c->s, lk->waits, c->queued);
out:
	free(hold);
	free(futex);
	free(c->queued);
	c->queued = NULL;
	pyfut__free(c->fut);
	c->fut = NULL;
	return err;
}

static int is_true(struct lw_pymem *m, uint64_t obj)
{
	char type[8];
	int64_t v;

	pymem__type_name(m, obj, type, sizeof(type));
	return !strcmp(type, "bool") && !pymem__int(m, obj, &v) && v;
}

/* Task j waits, at most, for tasks that are done (acc) - edges from the
 * tasks it awaits to it, for propagate(). */
struct awaits {
	int *first; /* per task: its first edge, -1: none */
	int *next; /* per edge: the next of the same awaited task */
	int *to; /* per edge: the awaiting task */
	int *left; /* per task: awaited tasks not yet accounted for; -1: never */
	int n, cap;
};

static int add_edge(struct awaits *a, int from, int to)
{
	if (a->n == a->cap) {
		int cap = a->cap ? a->cap * 2 : 256;
		int *next = realloc(a->next, cap * sizeof(*next));
		int *dst = next ? realloc(a->to, cap * sizeof(*dst)) : NULL;

		if (next)
			a->next = next;
		if (!dst)
			return -ENOMEM;
		a->to = dst;
		a->cap = cap;
	}
	a->to[a->n] = to;
	a->next[a->n] = a->first[from];
	a->first[from] = a->n++;
	return 0;
}

/* Who awaits whom among the live tasks: a task awaiting one task, or a
 * gather of at most 64 of them; anything else never counts. */
static int awaits_of(const struct ctx *c, struct awaits *a)
{
	const struct lw_pysnap *s = c->s;
	uint64_t items[64];

	a->first = malloc((s->n + 1) * sizeof(int));
	a->left = malloc((s->n + 1) * sizeof(int));
	if (!a->first || !a->left)
		return -ENOMEM;
	for (int j = 0; j < s->n; j++)
		a->first[j] = -1;
	for (int j = 0; j < s->n; j++) {
		const struct lw_pyparticipant *p = &s->p[j], *t;
		int n = 0;

		a->left[j] = -1;
		if (!p->task || p->state)
			continue;
		if (p->wait == PW_TASK) {
			items[0] = p->wait_obj;
			n = 1;
		} else if (p->wait == PW_GATHER) {
			n = pystate__gather_children(c->m, p->wait_obj, items, 64);
		}
		if (n <= 0)
			continue;
		for (int i = 0; i < n; i++)
			if (!live_task(c, items[i]))
				n = 0;
		if (!n)
			continue;
		a->left[j] = n;
		for (int i = 0; i < n; i++) {
			t = live_task(c, items[i]);
			if (add_edge(a, (int)(t - s->p), j))
				return -ENOMEM;
		}
	}
	return 0;
}

static void awaits_free(struct awaits *a)
{
	free(a->first);
	free(a->next);
	free(a->to);
	free(a->left);
}

/* Marks in acc every live task that awaits, through tasks, only tasks
 * already marked: each edge once (a worklist, not rounds over all tasks -
 * a chain of 100,000 tasks took as many rounds). */
static int propagate(const struct awaits *a, char *acc, int n)
{
	int *work = malloc((n + 1) * sizeof(*work)), nwork = 0;

	if (!work)
		return -ENOMEM;
	for (int j = 0; j < n; j++)
		if (acc[j])
			work[nwork++] = j;
	while (nwork) {
		int t = work[--nwork];

		for (int e = a->first[t]; e >= 0; e = a->next[e]) {
			int j = a->to[e];

			if (!acc[j] && a->left[j] > 0 && !--a->left[j]) {
				acc[j] = 1;
				work[nwork++] = j;
			}
		}
	}
	free(work);
	return 0;
}

/* "loader (RuntimeError), ..." */
static void ended_tasks(struct ctx *c)
{
	const struct lw_pysnap *s = c->s;
	char *buf = c->lk->ended;
	size_t used = 0, len = sizeof(c->lk->ended);

	buf[0] = '\0';
	for (int i = 0; i < s->n && used + 1 < len; i++) {
		char type[64];

		if (!s->p[i].task || s->p[i].state != 2 || !s->p[i].exception)
			continue;
		pymem__type_name(c->m, s->p[i].exception, type, sizeof(type));
		used += snprintf(buf + used, len - used, "%s%s (%s)", used ? ", " : "",
				 s->p[i].name, type);
	}
}

/* The one asyncio.Lock every live task that waits for a lock at all waits
 * for (an orphan's waiters; tasks awaiting tasks aside), or 0: then no lock
 * can be one - a task that waits for anything else is none of its waiters
 * and awaits none of them. Its first waiter's index in *first. */
static uint64_t orphan_candidate(const struct ctx *c, int *first)
{
	const struct lw_pysnap *s = c->s;
	const struct lw_pywait *w = c->lk->waits;
	uint64_t lock = 0;

	for (int i = 0; i < s->n; i++) {
		if (!s->p[i].task || s->p[i].state > 0 || s->p[i].wait == PW_TASK ||
		    s->p[i].wait == PW_GATHER)
			continue;
		if (!w[i].lock || w[i].kind != LW_LOCK_ASYNCIO_LOCK || (lock && w[i].lock != lock))
			return 0;
		if (!lock) {
			lock = w[i].lock;
			*first = i;
		}
	}
	return lock && !w[*first].holder && !w[*first].gone ? lock : 0;
}

/* An asyncio lock that is locked, waited for, and that no live task can
 * release: every live task waits for it, or awaits only such tasks. */
static void orphans(struct ctx *c)
{
	const struct lw_pysnap *s = c->s;
	struct lw_pywait *w = c->lk->waits;
	struct awaits a = {};
	uint64_t lock;
	int first = 0, all = 1;
	char *acc;

	if (!s->complete || !(lock = orphan_candidate(c, &first)))
		return;
	acc = calloc(s->n + 1, 1);
	if (!acc || awaits_of(c, &a))
		goto out;
	for (int j = 0; j < s->n; j++)
		acc[j] = w[j].lock == lock && w[j].kind == LW_LOCK_ASYNCIO_LOCK;
	if (propagate(&a, acc, s->n))
		goto out;
	for (int j = 0; j < s->n; j++)
		if (s->p[j].task && s->p[j].state <= 0 && !acc[j])
			all = 0;
	if (!all || !is_true(c->m, pymem__attr(c->m, w[first].lock, "_locked")))
		goto out;
	for (int j = 0; j < s->n; j++)
		if (w[j].lock == lock && w[j].kind == LW_LOCK_ASYNCIO_LOCK)
			w[j].gone = 1;
	ended_tasks(c);
out:
	awaits_free(&a);
	free(acc);
}

/* A wait, for names() to sort by lock. */
struct by_lock {
	uint64_t lock;
	int kind;
	int i; /* its participant */
};

static int by_lock(const void *a, const void *b)
{
	const struct by_lock *x = a, *y = b;

	if (x->lock != y->lock)
		return x->lock < y->lock ? -1 : 1;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return x->i - y->i;
}

static int new_lock(const struct by_lock *v, int k)
{
	return !k || v[k - 1].lock != v[k].lock || v[k - 1].kind != v[k].kind;
}

/* Each lock waited for, named once, from its first waiter's frames: the
 * waits sorted by lock (50,000 tasks awaiting 50,000 tasks made a search
 * per wait through every name quadratic). */
static int names(struct ctx *c)
{
	struct lw_pylook *lk = c->lk;
	struct by_lock *v = malloc((c->s->n + 1) * sizeof(*v));
	int n = 0, distinct = 0;

	if (!v)
		return -ENOMEM;
	for (int i = 0; i < c->s->n; i++) {
		struct lw_pywait *w = &lk->waits[i];

		w->name = "";
		if (w->lock)
			v[n++] = (struct by_lock){ .lock = w->lock, .kind = w->kind, .i = i };
	}
	if (n)
		qsort(v, n, sizeof(*v), by_lock);
	for (int k = 0; k < n; k++)
		distinct += new_lock(v, k);
	if (distinct > lk->capnames) {
		struct lw_pyname *names = realloc(lk->names, distinct * sizeof(*names));

		if (!names) {
			free(v);
			return -ENOMEM;
		}
		lk->names = names;
		lk->capnames = distinct;
	}
	lk->nnames = 0;
	for (int k = 0; k < n; k++) {
		struct lw_pywait *w = &lk->waits[v[k].i];
		struct lw_pyname *nm;

		if (new_lock(v, k)) {
			nm = &lk->names[lk->nnames++];
			nm->lock = w->lock;
			nm->kind = w->kind;
			pyname__lock(c->m, w, nm->name, sizeof(nm->name));
		}
		w->name = lk->names[lk->nnames - 1].name;
	}
	free(v);
	return 0;
}

int pylook__read(struct lw_pylook *lk, struct lw_pymem *m, const uint64_t *want, int nwant)
{
	struct ctx c = { .lk = lk, .m = m, .s = &lk->snap };
	int err = pystate__read(m, &lk->snap, want, nwant);

	lk->ended[0] = '\0';
	lk->nnames = 0;
	if (!err)
		err = waits(&c);
	if (!err) {
		if (pymem__cut(m)) /* the holder may be in what it did not read */
			lk->snap.complete = 0;
		orphans(&c);
		err = names(&c);
	}
	if (err) {
		/* nothing half-read is used */
		lk->snap.n = 0;
		free(lk->waits);
		lk->waits = NULL;
	}
	return err;
}

void pylook__free(struct lw_pylook *lk)
{
	pystate__free(&lk->snap);
	free(lk->waits);
	free(lk->tasks);
	free(lk->names);
	memset(lk, 0, sizeof(*lk));
}

uint64_t pylook__fingerprint(const struct lw_pyparticipant *p)
{
	uint64_t h = lw_hash_combine(p->addr, p->task);

	h = lw_hash_combine(h, (uint64_t)(uint32_t)p->state << 32 | (uint32_t)p->nframes);
	h = lw_hash_combine(h, (uint64_t)p->wait << 56 ^ p->wait_obj);
	for (int i = 0; i < p->nframes; i++)
		h = lw_hash_combine(lw_hash_combine(h, p->frames[i].code),
				    (uint64_t)(uint32_t)p->frames[i].instr);
	for (int i = 0; i < p->nholds; i++)
		h = lw_hash_combine(h, p->holds[i].lock);
	/* a thread waiting for the GIL wakes every few ms to ask for it again,
	 * on the condition variable's other word, with another value: that it
	 * still waits for the GIL, in the same frames, is what stands still */
	if (p->task || p->wait == PW_GIL)
		return h;
	h = lw_hash_combine(h, p->th->ctxsw);
	h = lw_hash_combine(h, (uint64_t)p->th->sc.nr);
	for (int i = 0; i < 6; i++)
		h = lw_hash_combine(h, p->th->sc.args[i]);
	return lw_hash_combine(lw_hash_combine(h, p->th->sc.sp), p->th->sc.pc);
}
