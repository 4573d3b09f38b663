// SPDX-License-Identifier: GPL-2.0
/*
 * The wait-for graph (see graph.h): participants and locks carved from an
 * arena that is kept across builds, found through hash tables that grow with
 * them, and the cycle search.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/graph.h"
#include "core/order.h"
#include "sys/hash.h"

#define CHUNK_BYTES (256 * sizeof(struct lw_lock))
#define HASH_MIN 1024

/* Participants, locks and holders, each taking its own size (a graph of
 * 100,000 waiting tasks is mostly participants, a third of a lock each). */
struct chunk {
	struct chunk *next;
	size_t used; /* bytes */
	_Alignas(16) unsigned char mem[CHUNK_BYTES];
};

struct lw_graph {
	struct lw_participant **phash;
	struct lw_lock **lhash;
	uint32_t psize, lsize; /* powers of two */
	struct lw_participant **parts; /* in the order added */
	int nparts, cap;
	struct lw_lock **lockv; /* every lock, in the order added */
	int nall, capall;
	struct lw_order *order; /* kept across clears */
	struct {
		pid_t pid;
		int n;
	} * threads; /* graph__set_threads() */
	int nthreads, capthreads;
	int nlocks; /* with a waiter */
	uint32_t nitems;
	uint64_t refused;
	uint64_t probes; /* entries compared in lookups, over the graph's life */
	struct lw_participant **path; /* the cycle search's */
	int *marks;
	struct chunk *chunks; /* in use */
	struct chunk *free_chunks; /* kept across graph__clear() */
};

static const char *const kind_names[LW_LOCK_NKINDS] = {
	[LW_LOCK_FUTEX] = "futex",
	[LW_LOCK_MUTEX] = "mutex",
	[LW_LOCK_PI_MUTEX] = "pi_mutex",
	[LW_LOCK_RWLOCK] = "rwlock",
	[LW_LOCK_CUSTOM] = "lock",
	[LW_LOCK_THREAD_EXIT] = "thread_exit",
	[LW_LOCK_ASYNCIO_LOCK] = "asyncio.Lock",
	[LW_LOCK_THREADING_LOCK] = "threading.Lock",
	[LW_LOCK_THREADING_RLOCK] = "threading.RLock",
	[LW_LOCK_TASK] = "task",
	[LW_LOCK_EVENT_LOOP] = "event_loop",
	[LW_LOCK_GIL] = "GIL",
	[LW_LOCK_FUTURE] = "future",
	[LW_LOCK_ASYNCIO_SEMAPHORE] = "asyncio.Semaphore",
	[LW_LOCK_ASYNCIO_CONDITION] = "asyncio.Condition",
	[LW_LOCK_ASYNCIO_EVENT] = "asyncio.Event",
	[LW_LOCK_ASYNCIO_QUEUE] = "asyncio.Queue",
};

const char *lw_lock_kind_name(enum lw_lock_kind k)
{
	return k >= 0 && k < LW_LOCK_NKINDS && kind_names[k] ? kind_names[k] : "lock";
}

int lw_lock_kind_is_native_lock(enum lw_lock_kind k)
{
	return k == LW_LOCK_MUTEX || k == LW_LOCK_PI_MUTEX || k == LW_LOCK_RWLOCK;
}

static uint32_t part_hash(enum lw_participant_type type, pid_t pid, pid_t tid, uint64_t addr)
{
	/* a thread is its TID, which is unique on the host; a task its object */
	return type == LW_PARTICIPANT_THREAD ? lw_hash_key(tid) :
					       lw_hash_key(addr ^ ((uint64_t)pid << 48));
}

static void *alloc_item(struct lw_graph *g, size_t size)
{
	struct chunk *c = g->chunks;
	void *item;

	size = (size + 15) & ~(size_t)15;
	if (g->nitems >= LW_GRAPH_MAX)
		return NULL;
	if (!c || c->used + size > CHUNK_BYTES) {
		c = g->free_chunks;
		if (c)
			g->free_chunks = c->next;
		else if (!(c = malloc(sizeof(*c))))
			return NULL;
		c->used = 0;
		c->next = g->chunks;
		g->chunks = c;
	}
	g->nitems++;
	item = c->mem + c->used;
	c->used += size;
	return memset(item, 0, size);
}

struct lw_graph *graph__new(void)
{
	struct lw_graph *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	g->psize = g->lsize = HASH_MIN;
	g->phash = calloc(g->psize, sizeof(*g->phash));
	g->lhash = calloc(g->lsize, sizeof(*g->lhash));
	g->order = order__new();
	if (!g->phash || !g->lhash || !g->order) {
		graph__free(g);
		return NULL;
	}
	return g;
}

void graph__clear(struct lw_graph *g)
{
	struct chunk *c;

	while ((c = g->chunks)) {
		g->chunks = c->next;
		c->next = g->free_chunks;
		g->free_chunks = c;
	}
	memset(g->phash, 0, g->psize * sizeof(*g->phash));
	memset(g->lhash, 0, g->lsize * sizeof(*g->lhash));
	g->nparts = g->nlocks = g->nall = 0;
	g->nthreads = 0;
	g->nitems = 0;
	g->refused = 0;
}

void graph__set_threads(struct lw_graph *g, pid_t pid, int n)
{
	for (int i = 0; i < g->nthreads; i++)
		if (g->threads[i].pid == pid) {
			g->threads[i].n = n;
			return;
		}
	if (g->nthreads == g->capthreads) {
		int cap = g->capthreads ? g->capthreads * 2 : 16;
		__typeof__(g->threads) v = realloc(g->threads, cap * sizeof(*v));

		if (!v)
			return;
		g->threads = v;
		g->capthreads = cap;
	}
	g->threads[g->nthreads].pid = pid;
	g->threads[g->nthreads++].n = n;
}

int graph__threads(const struct lw_graph *g, pid_t pid)
{
	for (int i = 0; i < g->nthreads; i++)
		if (g->threads[i].pid == pid)
			return g->threads[i].n;
	return 0;
}

void graph__free(struct lw_graph *g)
{
	struct chunk *c;

	if (!g)
		return;
	graph__clear(g);
	free(g->threads);
	while ((c = g->free_chunks)) {
		g->free_chunks = c->next;
		free(c);
	}
	free(g->phash);
	free(g->lhash);
	free(g->parts);
	free(g->lockv);
	free(g->path);
	free(g->marks);
	order__free(g->order);
	free(g);
}

/* Doubles a table once it holds as many entries as slots; a failed
 * growth only makes chains longer. */
static void grow_participants(struct lw_graph *g)
{
	uint32_t size = g->psize * 2;
	struct lw_participant **t;

	if ((uint32_t)g->nparts < g->psize || !(t = calloc(size, sizeof(*t))))
		return;
	for (int i = 0; i < g->nparts; i++) {
		struct lw_participant *p = g->parts[i];
		uint32_t h = part_hash(p->type, p->pid, p->tid, p->addr) & (size - 1);

		p->hnext = t[h];
		t[h] = p;
	}
	free(g->phash);
	g->phash = t;
	g->psize = size;
}

static void grow_locks(struct lw_graph *g, uint32_t count)
{
	uint32_t size = g->lsize * 2;
	struct lw_lock **t;

	if (count < g->lsize || !(t = calloc(size, sizeof(*t))))
		return;
	for (uint32_t i = 0; i < g->lsize; i++) {
		struct lw_lock *l, *next;

		for (l = g->lhash[i]; l; l = next) {
			uint32_t h = lw_hash_str(l->key) & (size - 1);

			next = l->hnext;
			l->hnext = t[h];
			t[h] = l;
		}
	}
	free(g->lhash);
	g->lhash = t;
	g->lsize = size;
}

static struct lw_participant *find(struct lw_graph *g, enum lw_participant_type type, pid_t pid,
				   pid_t tid, uint64_t addr)
{
	struct lw_participant *p;

	for (p = g->phash[part_hash(type, pid, tid, addr) & (g->psize - 1)]; p; p = p->hnext)
		if (++g->probes && p->type == type &&
		    (type == LW_PARTICIPANT_THREAD ? p->tid == tid :
						     p->pid == pid && p->addr == addr))
			return p;
	return NULL;
}

static struct lw_participant *add(struct lw_graph *g, enum lw_participant_type type, pid_t pid,
				  pid_t tid, uint64_t addr)
{
	struct lw_participant *p = find(g, type, pid, tid, addr);
	uint32_t h;

	if (p)
		return p;
	if (g->nparts == g->cap) {
		int cap = g->cap ? g->cap * 2 : 1024;
		struct lw_participant **v = realloc(g->parts, cap * sizeof(*v));

		if (!v) {
			g->refused++;
			return NULL;
		}
		g->parts = v;
		g->cap = cap;
	}
	p = alloc_item(g, sizeof(*p));
	if (!p) {
		g->refused++;
		return NULL;
	}
	p->type = type;
	p->pid = pid;
	p->tid = tid;
	p->addr = addr;
	p->idx = g->nparts;
	g->parts[g->nparts++] = p;
	h = part_hash(type, pid, tid, addr) & (g->psize - 1);
	p->hnext = g->phash[h];
	g->phash[h] = p;
	grow_participants(g);
	return p;
}

struct lw_participant *graph__thread(struct lw_graph *g, pid_t pid, pid_t tid)
{
	return add(g, LW_PARTICIPANT_THREAD, pid, tid, 0);
}

struct lw_participant *graph__task(struct lw_graph *g, pid_t pid, uint64_t addr, pid_t loop_tid)
{
	struct lw_participant *p = add(g, LW_PARTICIPANT_TASK, pid, 0, addr);

	if (p && !p->tid)
		p->tid = loop_tid;
	return p;
}

struct lw_participant *graph__find_thread(struct lw_graph *g, pid_t tid)
{
	return find(g, LW_PARTICIPANT_THREAD, 0, tid, 0);
}

struct lw_lock *graph__lock(struct lw_graph *g, enum lw_lock_kind kind, const char *key, pid_t pid,
			    uint64_t addr)
{
	uint32_t h = lw_hash_str(key) & (g->lsize - 1), count = 0;
	struct lw_lock *l;

	for (l = g->lhash[h]; l; l = l->hnext)
		if (++g->probes && !strcmp(l->key, key))
			return l;
	if (g->nall == g->capall) {
		int cap = g->capall ? g->capall * 2 : 1024;
		struct lw_lock **v = realloc(g->lockv, cap * sizeof(*v));

		if (!v) {
			g->refused++;
			return NULL;
		}
		g->lockv = v;
		g->capall = cap;
	}
	l = alloc_item(g, sizeof(*l));
	if (!l) {
		g->refused++;
		return NULL;
	}
	l->idx = g->nall;
	g->lockv[g->nall++] = l;
	l->kind = kind;
	snprintf(l->key, sizeof(l->key), "%s", key);
	l->pid = pid;
	l->addr = addr;
	l->hnext = g->lhash[h];
	g->lhash[h] = l;
	/* nitems counts locks too: grow when locks alone could fill the table */
	count = g->nitems - g->nparts;
	grow_locks(g, count);
	return l;
}

/*
 * What the futex source knows of a wait - it has a timeout, a probe hinted
 * at it - stays when a source that knows what it is on says so: it is one
 * wait, seen twice. Its start does not: the winner's own (unknown for a
 * Python wait) keeps the wait the same in every turn, whether or not the
 * futex source had anything to say in that turn.
 */
static void merge(struct lw_wait *into, const struct lw_wait *from)
{
	into->flags |= from->flags & (LW_WAIT_TIMED | LW_WAIT_HINTED);
}

struct lw_lock *graph__wait(struct lw_graph *g, struct lw_participant *p, enum lw_lock_kind kind,
			    const char *key, pid_t pid, uint64_t addr, const struct lw_wait *w)
{
	struct lw_lock *old = p->wait.lock, *l;
	struct lw_wait was = p->wait;

	/* a bare futex word says less than anything else about the same wait;
	 * and a guess from a futex word's shape that names no holder less than
	 * the GIL, which the interpreter itself says it is (its condition
	 * variable's words can look like a join's or an rwlock's) */
	if (old && (old->kind != LW_LOCK_FUTEX || kind == LW_LOCK_FUTEX) &&
	    !(kind == LW_LOCK_GIL && !old->holder && old->nwaiters == 1)) {
		if (kind == LW_LOCK_FUTEX && old->kind != LW_LOCK_FUTEX)
			merge(&p->wait, w);
		return NULL;
	}
	l = graph__lock(g, kind, key, pid, addr);
	if (!l)
		return NULL;
	if (old && --old->nwaiters == 0)
		g->nlocks--;
	p->wait = *w;
	p->wait.lock = l;
	if (old)
		merge(&p->wait, &was);
	if (l->nwaiters++ == 0)
		g->nlocks++;
	return l;
}

void graph__hold(struct lw_lock *l, struct lw_participant *holder)
{
	if (!l->holder)
		l->holder = holder;
}

static int holds(const struct lw_lock *l, const struct lw_participant *p)
{
	if (l->holder == p)
		return 1;
	for (const struct lw_holder *h = l->more; h; h = h->next)
		if (h->p == p)
			return 1;
	return 0;
}

void graph__held(struct lw_graph *g, struct lw_lock *l, struct lw_participant *holder,
		 const struct lw_hold_info *h)
{
	struct lw_holder *more;

	if (!holder)
		return;
	if (!l->holder) {
		l->holder = holder;
		l->hold = *h;
		return;
	}
	if (l->holder == holder) {
		if (!l->hold.src)
			l->hold = *h;
		return;
	}
	/* another holder: only of a lock held shared */
	if (!h->read || holds(l, holder) || !(more = alloc_item(g, sizeof(*more))))
		return;
	more->p = holder;
	more->hold = *h;
	more->next = l->more;
	l->more = more;
}

const struct lw_hold_info *graph__hold_of(const struct lw_lock *l,
					  const struct lw_participant *holder)
{
	if (l->holder == holder)
		return l->hold.src ? &l->hold : NULL;
	for (const struct lw_holder *h = l->more; h; h = h->next)
		if (h->p == holder)
			return &h->hold;
	return NULL;
}

int graph__nall_locks(const struct lw_graph *g)
{
	return g->nall;
}

struct lw_lock *graph__lock_at(const struct lw_graph *g, int i)
{
	return g->lockv[i];
}

struct lw_order *graph__order(struct lw_graph *g)
{
	return g->order;
}

int graph__nparticipants(const struct lw_graph *g)
{
	return g->nparts;
}

struct lw_participant *graph__participant(const struct lw_graph *g, int i)
{
	return g->parts[i];
}

int graph__nlocks(const struct lw_graph *g)
{
	return g->nlocks;
}

uint64_t graph__probes(const struct lw_graph *g)
{
	return g->probes;
}

uint64_t graph__refused(const struct lw_graph *g)
{
	return g->refused;
}

/* The holders p's wait leads to: the lock's holder, then its readers. */
static struct lw_participant *holder_at(const struct lw_participant *p, int k)
{
	const struct lw_lock *l = p->wait.lock;
	const struct lw_holder *h;

	if (!l || !l->holder)
		return NULL;
	if (!k)
		return l->holder;
	for (h = l->more; h && --k; h = h->next)
		;
	return h ? h->p : NULL;
}

/*
 * Depth first from every participant not yet done, each wait followed once
 * to each holder: meeting a participant still on the path closes a cycle.
 * marks: 0 not seen, 1 on the path, 2 done; nexts: which holder of its
 * lock the walk goes to next.
 */
int graph__cycles(struct lw_graph *g, lw_cycle_fn fn, void *arg)
{
	struct lw_participant **path;
	int *pos, ret = 0;

	if (!g->nparts)
		return 0;
	path = realloc(g->path, g->nparts * sizeof(*path));
	if (!path)
		return -ENOMEM;
	g->path = path;
	pos = realloc(g->marks, g->nparts * 2 * sizeof(*pos));
	if (!pos)
		return -ENOMEM;
	g->marks = pos;
	for (int i = 0; i < g->nparts; i++) {
		g->parts[i]->mark = 0;
		pos[2 * i] = pos[2 * i + 1] = 0; /* place on the path, next holder */
	}
	for (int i = 0; i < g->nparts && !ret; i++) {
		int len = 0;

		if (g->parts[i]->mark)
			continue;
		g->parts[i]->mark = 1;
		path[len++] = g->parts[i];
		while (len && !ret) {
			struct lw_participant *top = path[len - 1], *q;
			int *next = &pos[2 * top->idx + 1];

			q = holder_at(top, (*next)++);
			if (!q) {
				top->mark = 2;
				len--;
				continue;
			}
			if (q->mark == 1) {
				int at = pos[2 * q->idx];

				ret = fn(path + at, len - at, arg);
			} else if (!q->mark) {
				q->mark = 1;
				pos[2 * q->idx] = len;
				path[len++] = q;
			}
		}
	}
	return ret;
}
