// SPDX-License-Identifier: GPL-2.0
/*
 * concurrent.futures in one look (see pyfuture.h). The look's threads that
 * run a ThreadPoolExecutor's _worker() give the executors (their work
 * queues) and the futures being run (_WorkItem.run's self.future); each
 * executor's queue gives the futures waiting for a worker; each loop's ready
 * queue the callbacks of run_coroutine_threadsafe() that have not run yet.
 * Every future found has its done callbacks read: _chain_future() leaves
 * there the asyncio future it completes (run_in_executor, wrap_future).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "source/python/pyfuture.h"
#include "source/python/pylook.h"

#define MAX_POOLS 64
#define MAX_QUEUED 4096 /* items read of one executor's queue */
#define MAX_LOOPS 64
#define MAX_READY 1024 /* handles read of one loop's ready queue */
#define MAX_CELLS 16 /* cells read of one closure */
#define MAX_CALLBACKS 16 /* done callbacks read of one future */
#define DEQUE_BLOCK 64 /* items in a deque's block */
#define MAX_KNOWN 65536 /* futures (and chained ones) kept of one look */

/* A future the look found, and who can complete it. */
struct known {
	uint64_t key; /* the future; of a chained one, the asyncio future */
	int idx; /* of a chained one: the concurrent future's, in known */
	struct lw_pyfuture f;
};

/* A ThreadPoolExecutor as the look found it. */
struct lw_pypool {
	int nworkers;
	const int *workers; /* participants (threads) running its _worker() */
	int full; /* all of its threads are those, and it may start no more */
};

struct pool {
	uint64_t queue, executor;
	int *workers, nworkers, cap;
	struct lw_pypool pub;
};

struct lw_pyfutures {
	struct pool pools[MAX_POOLS];
	int npools;
	struct known *known; /* by key, once read */
	int nknown, capknown;
	struct known *chained; /* asyncio futures, by key */
	int nchained, capchained;
};

static int ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), k = strlen(tail);

	return n >= k && !strcmp(s + n - k, tail);
}

/* Whether frame fr runs `qualname` of a file ending in `file`. */
static int runs(struct lw_pymem *m, const struct lw_pyframe *fr, const char *qualname,
		const char *file)
{
	const struct lw_pycode *c = pymem__code(m, fr->code);

	return c && !strcmp(c->qualname, qualname) && ends_with(c->filename, file);
}

static int push(struct known **v, int *n, int *cap, const struct known *k)
{
	if (*n == MAX_KNOWN)
		return 0; /* the rest are not known: waits for them have no holder */
	if (*n == *cap) {
		int c = *cap ? *cap * 2 : 64;
		struct known *nv = realloc(*v, c * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		*v = nv;
		*cap = c;
	}
	(*v)[(*n)++] = *k;
	return 0;
}

static int add(struct lw_pyfutures *f, uint64_t fut, uint64_t what, int worker, int pool,
	       uint64_t loop)
{
	struct known k = {
		.key = fut,
		.f = { .fut = fut, .runs = what, .worker = worker, .pool = pool, .loop = loop }
	};

	return fut ? push(&f->known, &f->nknown, &f->capknown, &k) : 0;
}

/* What a _WorkItem will run: its fn (to 3.13) or its task's (fn, args, kwargs). */
static uint64_t item_fn(struct lw_pymem *m, uint64_t item)
{
	const struct lw_pylayout *L = pymem__layout(m);
	uint64_t fn = pymem__attr(m, item, "fn"), task;

	if (fn)
		return fn;
	task = pymem__attr(m, item, "task");
	return pymem__ptr(m, task + L->tuple_item);
}

static int done(struct lw_pymem *m, uint64_t fut)
{
	char state[32];

	return pymem__str(m, pymem__attr(m, fut, "_state"), state, sizeof(state)) ||
	       (strcmp(state, "PENDING") && strcmp(state, "RUNNING"));
}

/* The cells' contents of function fn's closure, into v; how many. */
static int cells(struct lw_pymem *m, uint64_t fn, uint64_t *v)
{
	const struct lw_pylayout *L = pymem__layout(m);
	uint64_t tuple, ptrs[MAX_CELLS];
	int64_t n;

	if (pymem__kind(m, fn) != PK_FUNC || !(tuple = pymem__ptr(m, fn + L->func_closure)) ||
	    pymem__read(m, tuple + L->var_size, &n, sizeof(n)) || n <= 0)
		return 0;
	n = n < MAX_CELLS ? n : MAX_CELLS;
	if (pymem__read(m, tuple + L->tuple_item, ptrs, n * 8))
		return 0;
	for (int i = 0; i < n; i++)
		v[i] = pymem__ptr(m, ptrs[i] + L->cell_ref);
	return n;
}

static int qualname_is(struct lw_pymem *m, uint64_t fn, const char *name)
{
	const struct lw_pylayout *L = pymem__layout(m);
	char q[96];

	return !pymem__str(m, pymem__ptr(m, fn + L->func_qualname), q, sizeof(q)) &&
	       !strcmp(q, name);
}

/* Fut's done callbacks of _chain_future() named `name`: their cells into
 * v (at most MAX_CALLBACKS * MAX_CELLS); how many. */
static int chain_cells(struct lw_pymem *m, uint64_t fut, const char *name, uint64_t *v)
{
	const struct lw_pylayout *L = pymem__layout(m);
	uint64_t list = pymem__attr(m, fut, "_done_callbacks"), fns[MAX_CALLBACKS];
	int64_t n;
	int k = 0;

	if (pymem__kind(m, list) != PK_LIST || pymem__read(m, list + L->var_size, &n, sizeof(n)) ||
	    n <= 0)
		return 0;
	n = n < MAX_CALLBACKS ? n : MAX_CALLBACKS;
	if (pymem__read(m, pymem__ptr(m, list + L->list_item), fns, n * 8))
		return 0;
	for (int i = 0; i < n; i++)
		if (qualname_is(m, fns[i], name))
			k += cells(m, fns[i], v + k);
	return k;
}

static struct pool *pool_of(struct lw_pyfutures *f, uint64_t queue, uint64_t executor)
{
	struct pool *p;

	for (int i = 0; i < f->npools; i++)
		if (f->pools[i].queue == queue)
			return &f->pools[i];
	if (f->npools == MAX_POOLS)
		return NULL;
	p = &f->pools[f->npools++];
	memset(p, 0, sizeof(*p));
	p->queue = queue;
	p->executor = executor;
	return p;
}

/* Thread i of s: the executor whose _worker() it runs, and the future its
 * _WorkItem.run() runs. */
static int read_worker(struct lw_pymem *m, const struct lw_pysnap *s, int i, struct lw_pyfutures *f)
{
	const struct lw_pylayout *L = pymem__layout(m);
	const struct lw_pyparticipant *p = &s->p[i];
	static const char file[] = "concurrent/futures/thread.py";
	uint64_t item = 0, queue = 0, ref = 0;
	struct pool *pool;

	for (int j = 0; j < p->nframes; j++) {
		const struct lw_pyframe *fr = &p->frames[j];

		if (runs(m, fr, "_WorkItem.run", file)) {
			item = pymem__ref(m, fr->addr + L->fr_localsplus); /* self */
		} else if (runs(m, fr, "_worker", file)) {
			queue = pymem__local(m, fr->addr, fr->code, "work_queue");
			ref = pymem__local(m, fr->addr, fr->code, "executor_reference");
		}
	}
	if (!queue || !(pool = pool_of(f, queue, pymem__ptr(m, ref + L->weakref_object))))
		return 0;
	if (pool->nworkers == pool->cap) {
		int cap = pool->cap ? pool->cap * 2 : 8;
		int *v = realloc(pool->workers, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		pool->workers = v;
		pool->cap = cap;
	}
	pool->workers[pool->nworkers++] = i;
	return item ? add(f, pymem__attr(m, item, "future"), item_fn(m, item), i, -1, 0) : 0;
}

/* The _WorkItems in a SimpleQueue: a list and the index of the first (to
 * 3.12), or a ring buffer (3.13+). */
static int read_queue(struct lw_pymem *m, struct lw_pyfutures *f, int pi)
{
	const struct lw_pylayout *L = pymem__layout(m);
	uint64_t q = f->pools[pi].queue, items, item;
	int64_t n, first, cap = 0, ring[5];
	int err = 0;

	if (L->sq_ring) {
		/* put_idx, get_idx, items, items_cap, num_items */
		if (pymem__read(m, q + L->sq_ring, ring, sizeof(ring)))
			return 0;
		first = ring[1], items = ring[2], cap = ring[3], n = ring[4];
		if (cap <= 0 || cap > 1 << 24 || first < 0 || first >= cap || n < 0 || n > cap)
			return 0;
	} else {
		uint64_t list = pymem__ptr(m, q + L->sq_list);

		if (pymem__kind(m, list) != PK_LIST ||
		    pymem__read(m, list + L->var_size, &n, sizeof(n)) ||
		    pymem__read(m, q + L->sq_list_pos, &first, sizeof(first)) || first < 0 ||
		    first > n)
			return 0;
		items = pymem__ptr(m, list + L->list_item);
		n -= first;
	}
	for (int64_t k = 0; k < n && k < MAX_QUEUED && !err; k++) {
		int64_t at = cap ? (first + k) % cap : first + k;

		item = pymem__ptr(m, items + at * 8);
		err = add(f, item ? pymem__attr(m, item, "future") : 0, item_fn(m, item), -1, pi,
			  0);
	}
	return err;
}

/* An executor may start no more threads: it has its most, and every one
 * of them is among the look's workers. */
static void pool_full(struct lw_pymem *m, struct pool *p)
{
	uint64_t threads[64];
	int64_t max;
	int n;

	p->pub.nworkers = p->nworkers;
	p->pub.workers = p->workers;
	if (!p->executor || pymem__int(m, pymem__attr(m, p->executor, "_max_workers"), &max))
		return;
	n = pymem__set_keys(m, pymem__attr(m, p->executor, "_threads"), threads, 64);
	p->pub.full = n > 0 && n < 64 && n == p->nworkers && n >= max;
}

/* The callbacks waiting in loop's ready queue that run_coroutine_threadsafe()
 * left: each will start a coroutine and chain a concurrent future to it. */
static int read_ready(struct lw_pymem *m, struct lw_pyfutures *f, uint64_t loop)
{
	const struct lw_pylayout *L = pymem__layout(m);
	uint64_t deque = pymem__attr(m, loop, "_ready"), block, v[MAX_CELLS];
	uint64_t words[1 + DEQUE_BLOCK + 1];
	int64_t n, at;
	char type[24];
	int err = 0;

	pymem__type_name(m, deque, type, sizeof(type));
	if (strcmp(type, "collections.deque") ||
	    pymem__read(m, deque + L->var_size, &n, sizeof(n)) ||
	    pymem__read(m, deque + L->deque_leftindex, &at, sizeof(at)) || at < 0 ||
	    at >= DEQUE_BLOCK || !(block = pymem__ptr(m, deque + L->deque_left)) ||
	    pymem__read(m, block, words, sizeof(words)))
		return 0;
	for (int64_t k = 0; k < n && k < MAX_READY && !err; k++, at++) {
		uint64_t fn, fut = 0, coro = 0;
		int nc;

		if (at == DEQUE_BLOCK) {
			at = 0;
			block = words[1 + DEQUE_BLOCK];
			if (!block || pymem__read(m, block, words, sizeof(words)))
				break;
		}
		fn = pymem__slot(m, words[1 + at], "_callback");
		if (!qualname_is(m, fn, "run_coroutine_threadsafe.<locals>.callback"))
			continue;
		nc = cells(m, fn, v);
		for (int i = 0; i < nc; i++) {
			pymem__type_name(m, v[i], type, sizeof(type));
			if (!strcmp(type, "Future"))
				fut = v[i];
			else if (pymem__kind(m, v[i]) == PK_CORO)
				coro = v[i];
		}
		err = add(f, fut, coro, -1, -1, loop);
	}
	return err;
}

/* The asyncio futures that the known ones complete when done. */
static int read_chained(struct lw_pymem *m, struct lw_pyfutures *f)
{
	uint64_t v[MAX_CALLBACKS * MAX_CELLS];
	int err = 0;

	for (int i = 0; i < f->nknown && !err; i++) {
		int n = chain_cells(m, f->known[i].f.fut, "_chain_future.<locals>._call_set_state",
				    v);

		for (int j = 0; j < n && !err; j++)
			if (v[j] && v[j] != f->known[i].f.fut)
				err = push(&f->chained, &f->nchained, &f->capchained,
					   &(struct known){ .key = v[j], .idx = i });
	}
	return err;
}

int pyfut__read(struct lw_pymem *m, const struct lw_pysnap *s, struct lw_pyfutures **out)
{
	struct lw_pyfutures *f = calloc(1, sizeof(*f));
	uint64_t loops[MAX_LOOPS];
	int nloops = 0, err = 0;

	*out = f;
	if (!f)
		return -ENOMEM;
	for (int i = 0; i < s->n && !s->p[i].task && !err; i++)
		err = read_worker(m, s, i, f);
	for (int i = 0; i < f->npools && !err; i++) {
		pool_full(m, &f->pools[i]);
		err = read_queue(m, f, i);
	}
	for (int i = 0; i < s->n && !err; i++) {
		int seen = 0;

		if (!s->p[i].task || !s->p[i].loop)
			continue;
		for (int j = 0; j < nloops; j++)
			seen |= loops[j] == s->p[i].loop;
		if (!seen && nloops < MAX_LOOPS)
			err = read_ready(m, f, loops[nloops++] = s->p[i].loop);
	}
	if (!err)
		err = read_chained(m, f);
	if (err)
		return err;
	pymem__sort(f->chained, f->nchained, sizeof(*f->chained));
	/* a chained one points into known: sort it last, by a copy */
	for (int i = 0; i < f->nchained; i++)
		f->chained[i].f = f->known[f->chained[i].idx].f;
	pymem__sort(f->known, f->nknown, sizeof(*f->known));
	return 0;
}

void pyfut__free(struct lw_pyfutures *f)
{
	if (!f)
		return;
	for (int i = 0; i < f->npools; i++)
		free(f->pools[i].workers);
	free(f->known);
	free(f->chained);
	free(f);
}

uint64_t pyfut__waited(struct lw_pymem *m, const struct lw_pyparticipant *p)
{
	const struct lw_pylayout *L = pymem__layout(m);
	static const char base[] = "concurrent/futures/_base.py";
	uint64_t fs[256], mode;
	char when[32];
	int n;

	if (p->task || p->wait != PW_FUTEX || p->nframes < 2 ||
	    !runs(m, &p->frames[0], "Condition.wait", "/threading.py"))
		return 0;
	if (runs(m, &p->frames[1], "Future.result", base))
		return pymem__ref(m, p->frames[1].addr + L->fr_localsplus); /* self */
	if (p->nframes < 3 || !runs(m, &p->frames[1], "Event.wait", "/threading.py") ||
	    !runs(m, &p->frames[2], "wait", base))
		return 0;
	/* wait(fs): for all of them (then for each), or for the one left */
	n = pymem__set_keys(m, pymem__local(m, p->frames[2].addr, p->frames[2].code, "not_done"),
			    fs, 256);
	mode = pymem__local(m, p->frames[2].addr, p->frames[2].code, "return_when");
	if (n <= 0 || n == 256 ||
	    (n > 1 && (pymem__str(m, mode, when, sizeof(when)) || strcmp(when, "ALL_COMPLETED"))))
		return 0;
	for (int i = 0; i < n; i++)
		if (!done(m, fs[i]))
			return fs[i];
	return 0;
}

int pyfut__find(struct lw_pymem *m, struct lw_pyfutures *f, uint64_t fut, int asyncio,
		struct lw_pyfuture *out)
{
	const struct lw_pylayout *L = pymem__layout(m);
	const struct known *k =
		asyncio ? pymem__find(f->chained, f->nchained, sizeof(struct known), fut) :
			  pymem__find(f->known, f->nknown, sizeof(struct known), fut);
	uint64_t v[MAX_CALLBACKS * MAX_CELLS];
	int n;

	if (asyncio && !k)
		return -1;
	*out = k ? k->f : (struct lw_pyfuture){ .fut = fut, .worker = -1, .pool = -1 };
	if (done(m, out->fut))
		return -1;
	if (out->worker >= 0)
		return 0;
	/* run_coroutine_threadsafe()'s, once its callback ran: completed
	 * when the task it chained it to ends */
	n = chain_cells(m, out->fut, "_chain_future.<locals>._call_check_cancel", v);
	for (int i = 0; i < n; i++)
		if (pymem__kind(m, v[i]) == PK_TASK) {
			out->task = v[i];
			out->runs = pymem__ptr(m, v[i] + L->task_coro);
			out->pool = -1;
			out->loop = 0;
		}
	return 0;
}

/*
 * Futures queued in an executor are held by its workers when every one of
 * them waits for good and the executor may start no more: the greatest set
 * of participants each of which waits for one in the set, or for a future
 * queued in an executor whose workers are all in it (an all-of proof, from
 * one look). Each such future is held by the worker after its waiter, so
 * the workers' waits close a cycle.
 */
void pyfut__stuck(const struct lw_pyfutures *f, const struct lw_pysnap *s, struct lw_pywait *w,
		  const int *queued)
{
	int n = s->n, npools = f->npools, top = 0, any = 0;
	/* waiters by holder (first/next), queued waiters by executor
	 * (qfirst/qnext), the executor each worker is of, and the removed
	 * still to pass on (stack): every participant is removed once */
	int *first = NULL, *next = NULL, *qfirst = NULL, *qnext = NULL, *pool_of = NULL;
	int *stack = NULL, *pos = NULL; /* pos: a worker's place among its executor's */
	char *in = NULL, *pool_in = NULL;

	for (int i = 0; i < n; i++)
		any |= queued[i];
	if (!any)
		return;
	in = calloc(n, 1);
	pool_in = calloc(npools + 1, 1);
	first = malloc(n * sizeof(*first));
	next = malloc(n * sizeof(*next));
	qfirst = malloc((npools + 1) * sizeof(*qfirst));
	qnext = malloc(n * sizeof(*qnext));
	pool_of = malloc(n * sizeof(*pool_of));
	stack = malloc(n * sizeof(*stack));
	pos = malloc(n * sizeof(*pos));
	if (!in || !pool_in || !first || !next || !qfirst || !qnext || !pool_of || !stack || !pos)
		goto out;
	for (int i = 0; i < n; i++)
		first[i] = pool_of[i] = -1;
	for (int k = 0; k < npools; k++)
		qfirst[k] = -1;
	for (int i = 0; i < n; i++) {
		in[i] = w[i].lock && (w[i].holder || queued[i]);
		if (in[i] && queued[i]) {
			qnext[i] = qfirst[queued[i] - 1];
			qfirst[queued[i] - 1] = i;
		} else if (in[i]) {
			int h = w[i].holder - s->p;

			next[i] = first[h];
			first[h] = i;
		}
	}
	for (int k = 0; k < npools; k++) {
		const struct lw_pypool *pool = &f->pools[k].pub;

		pool_in[k] = pool->full;
		for (int j = 0; j < pool->nworkers; j++) {
			pool_of[pool->workers[j]] = k;
			pos[pool->workers[j]] = j;
			pool_in[k] &= in[pool->workers[j]];
		}
	}
	/* what cannot stand: a holder that does not wait, an executor that may
	 * start a thread or has one that does not wait */
	for (int i = 0; i < n; i++)
		if (in[i] && !(queued[i] ? pool_in[queued[i] - 1] : in[w[i].holder - s->p]))
			in[i] = 0, stack[top++] = i;
	while (top) {
		int j = stack[--top], k = pool_of[j];

		for (int i = first[j]; i >= 0; i = next[i])
			if (in[i])
				in[i] = 0, stack[top++] = i;
		if (k < 0)
			continue;
		pool_in[k] = 0;
		for (int i = qfirst[k]; i >= 0; i = qnext[i])
			if (in[i])
				in[i] = 0, stack[top++] = i;
	}
	for (int i = 0; i < n; i++) {
		const struct lw_pypool *pool;
		int k;

		if (!queued[i] || !in[i])
			continue;
		pool = &f->pools[queued[i] - 1].pub;
		k = pool_of[i] == queued[i] - 1 ? (pos[i] + 1) % pool->nworkers : 0;
		w[i].holder = &s->p[pool->workers[k]];
	}
out:
	free(in);
	free(pool_in);
	free(first);
	free(next);
	free(qfirst);
	free(qnext);
	free(pool_of);
	free(stack);
	free(pos);
}
