// SPDX-License-Identifier: GPL-2.0
/*
 * The wait-for graph: hash tables of participants and locks in an arena that
 * is cleared and rebuilt for each look. Sizes are bounded by the `waits` map.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/graph.h"

#define HASH_BITS 10
#define HASH_SIZE (1u << HASH_BITS)
#define CHUNK 256

struct chunk {
	struct chunk *next;
	size_t used;
	/* nodes and locks are carved from here */
	union {
		struct lw_gnode n;
		struct lw_glock l;
	} items[CHUNK];
};

struct lw_graph {
	struct lw_gnode *threads[HASH_SIZE];
	struct lw_glock *locks[HASH_SIZE];
	struct chunk *chunks; /* in use */
	struct chunk *free_chunks; /* kept across graph__clear() */
};

static uint32_t hash_u32(uint32_t v)
{
	return (v * 2654435761u) >> (32 - HASH_BITS);
}

static uint32_t hash_str(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return hash_u32(h);
}

static void *alloc_item(struct lw_graph *g)
{
	struct chunk *c = g->chunks;

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
	return memset(&c->items[c->used++], 0, sizeof(c->items[0]));
}

struct lw_graph *graph__new(void)
{
	return calloc(1, sizeof(struct lw_graph));
}

void graph__clear(struct lw_graph *g)
{
	struct chunk *c;

	while ((c = g->chunks)) {
		g->chunks = c->next;
		c->next = g->free_chunks;
		g->free_chunks = c;
	}
	memset(g->threads, 0, sizeof(g->threads));
	memset(g->locks, 0, sizeof(g->locks));
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
	free(g);
}

struct lw_gnode *graph__find_thread(struct lw_graph *g, pid_t tid)
{
	struct lw_gnode *n;

	for (n = g->threads[hash_u32(tid)]; n; n = n->hnext)
		if (n->tid == tid)
			return n;
	return NULL;
}

int graph__nlocks(struct lw_graph *g)
{
	int n = 0;

	for (unsigned int i = 0; i < HASH_SIZE; i++)
		for (struct lw_glock *l = g->locks[i]; l; l = l->hnext)
			n++;
	return n;
}

int graph__for_each_thread(struct lw_graph *g, int (*fn)(struct lw_gnode *n, void *arg), void *arg)
{
	int ret;

	for (unsigned int i = 0; i < HASH_SIZE; i++)
		for (struct lw_gnode *n = g->threads[i]; n; n = n->hnext)
			if ((ret = fn(n, arg)))
				return ret;
	return 0;
}

struct lw_gnode *graph__thread(struct lw_graph *g, pid_t pid, pid_t tid)
{
	struct lw_gnode *n = graph__find_thread(g, tid);
	uint32_t h = hash_u32(tid);

	if (n)
		return n;
	n = alloc_item(g);
	if (!n)
		return NULL;
	n->type = "thread";
	n->pid = pid;
	n->tid = tid;
	n->hnext = g->threads[h];
	g->threads[h] = n;
	return n;
}

struct lw_glock *graph__lock(struct lw_graph *g, const char *key, const char *type, pid_t pid,
			     uint64_t addr)
{
	uint32_t h = hash_str(key);
	struct lw_glock *l;

	for (l = g->locks[h]; l; l = l->hnext)
		if (!strcmp(l->key, key))
			return l;
	l = alloc_item(g);
	if (!l)
		return NULL;
	snprintf(l->key, sizeof(l->key), "%s", key);
	l->type = type;
	l->pid = pid;
	l->addr = addr;
	l->hnext = g->locks[h];
	g->locks[h] = l;
	return l;
}

int graph__find_cycle(struct lw_graph *g, struct lw_gnode *start, struct lw_cycle *c)
{
	struct lw_gnode *path[LW_MAX_CYCLE + 1];
	struct lw_gnode *n = start;
	int len = 0;

	c->n = 0;
	while (n && len <= LW_MAX_CYCLE) {
		for (int i = 0; i < len; i++) {
			if (path[i] != n)
				continue;
			/* path[i..len) is the cycle */
			for (int j = i; j < len; j++) {
				struct lw_cedge *e = &c->e[c->n++];

				e->waiter = path[j];
				e->lock = path[j]->waits_on;
				e->holder = path[j]->waits_on->holder;
			}
			return c->n;
		}
		if (len == LW_MAX_CYCLE)
			break;
		path[len++] = n;
		n = n->waits_on ? n->waits_on->holder : NULL;
	}
	return 0;
}

uint64_t graph__cycle_signature(const struct lw_cycle *c)
{
	/* order-independent: a sum of per-edge hashes */
	uint64_t sig = 0;

	for (int i = 0; i < c->n; i++) {
		uint64_t h = 1469598103934665603ull;
		const struct lw_cedge *e = &c->e[i];
		uint64_t parts[3] = { (uint64_t)e->waiter->tid, hash_str(e->lock->key),
				      e->waiter->wait_start_ns };

		for (int k = 0; k < 3; k++)
			h = (h ^ parts[k]) * 1099511628211ull;
		sig += h;
	}
	return sig;
}
