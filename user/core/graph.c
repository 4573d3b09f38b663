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
#include "sys/hash.h"

#define CHUNK 256
#define HASH_MIN 1024

struct chunk {
	struct chunk *next;
	size_t used;
	union {
		struct lw_participant p;
		struct lw_lock l;
	} items[CHUNK];
};

struct lw_graph {
	struct lw_participant **phash;
	struct lw_lock **lhash;
	uint32_t psize, lsize; /* powers of two */
	struct lw_participant **parts; /* in the order added */
	int nparts, cap;
	int nlocks; /* with a waiter */
	uint32_t nitems;
	uint64_t refused;
	struct lw_participant **path; /* the cycle search's */
	struct chunk *chunks; /* in use */
	struct chunk *free_chunks; /* kept across graph__clear() */
};

static const char *const kind_names[LW_LOCK_NKINDS] = {
	[LW_LOCK_FUTEX] = "futex",
	[LW_LOCK_MUTEX] = "mutex",
	[LW_LOCK_PI_MUTEX] = "pi_mutex",
	[LW_LOCK_RWLOCK] = "rwlock",
	[LW_LOCK_THREAD_EXIT] = "thread_exit",
	[LW_LOCK_ASYNCIO_LOCK] = "asyncio.Lock",
	[LW_LOCK_THREADING_LOCK] = "threading.Lock",
	[LW_LOCK_THREADING_RLOCK] = "threading.RLock",
	[LW_LOCK_TASK] = "task",
	[LW_LOCK_EVENT_LOOP] = "event_loop",
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
	return type == LW_PARTICIPANT_THREAD ? lw_hash64(tid) :
					       lw_hash64(addr ^ ((uint64_t)pid << 48));
}

static void *alloc_item(struct lw_graph *g)
{
	struct chunk *c = g->chunks;

	if (g->nitems >= LW_GRAPH_MAX)
		return NULL;
	if (!c || c->used == CHUNK) {
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
	return memset(&c->items[c->used++], 0, sizeof(c->items[0]));
}

struct lw_graph *graph__new(void)
{
	struct lw_graph *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	g->psize = g->lsize = HASH_MIN;
	g->phash = calloc(g->psize, sizeof(*g->phash));
	g->lhash = calloc(g->lsize, sizeof(*g->lhash));
	if (!g->phash || !g->lhash) {
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
	g->nparts = g->nlocks = 0;
	g->nitems = 0;
	g->refused = 0;
}

void graph__free(struct lw_graph *g)
{
	struct chunk *c;

	if (!g)
		return;
	graph__clear(g);
	while ((c = g->free_chunks)) {
		g->free_chunks = c->next;
		free(c);
	}
	free(g->phash);
	free(g->lhash);
	free(g->parts);
	free(g->path);
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
		if (p->type == type &&
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
	p = alloc_item(g);
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

static struct lw_lock *lock(struct lw_graph *g, enum lw_lock_kind kind, const char *key, pid_t pid,
			    uint64_t addr)
{
	uint32_t h = lw_hash_str(key) & (g->lsize - 1), count = 0;
	struct lw_lock *l;

	for (l = g->lhash[h]; l; l = l->hnext)
		if (!strcmp(l->key, key))
			return l;
	l = alloc_item(g);
	if (!l) {
		g->refused++;
		return NULL;
	}
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

	/* a bare futex word says less than anything else about the same wait */
	if (old && (old->kind != LW_LOCK_FUTEX || kind == LW_LOCK_FUTEX)) {
		if (kind == LW_LOCK_FUTEX && old->kind != LW_LOCK_FUTEX)
			merge(&p->wait, w);
		return NULL;
	}
	l = lock(g, kind, key, pid, addr);
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

uint64_t graph__refused(const struct lw_graph *g)
{
	return g->refused;
}

static struct lw_participant *next_of(const struct lw_participant *p)
{
	return p->wait.lock ? p->wait.lock->holder : NULL;
}

/*
 * Each participant waits for one lock at most and each lock has one holder
 * at most: following waits from any participant either ends, or enters one
 * cycle. Each walk marks what it passes with its own number, so meeting its
 * own mark closes a new cycle and meeting another's ends the walk: every
 * participant is passed once.
 */
int graph__cycles(struct lw_graph *g, lw_cycle_fn fn, void *arg)
{
	struct lw_participant **path;
	int ret = 0;

	if (!g->nparts)
		return 0;
	path = realloc(g->path, g->nparts * sizeof(*path));
	if (!path)
		return -ENOMEM;
	g->path = path;
	for (int i = 0; i < g->nparts; i++)
		g->parts[i]->mark = 0;
	for (int i = 0; i < g->nparts && !ret; i++) {
		struct lw_participant *q = g->parts[i];
		uint32_t id = (uint32_t)i + 1;
		int len = 0, at;

		while (q && !q->mark) {
			q->mark = id;
			path[len++] = q;
			q = next_of(q);
		}
		if (!q || q->mark != id)
			continue;
		for (at = len - 1; path[at] != q; at--)
			;
		ret = fn(path + at, len - at, arg);
	}
	return ret;
}
