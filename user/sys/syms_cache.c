// SPDX-License-Identifier: GPL-2.0
/*
 * lw_syms by pid, opened on first use and kept while the process lives: a
 * process's modules are reported and its debug info decompressed once, not
 * for every report. Bounded; the least recently used entry goes first. The
 * watch loop invalidates an entry when its process exits or calls execve;
 * and an entry is the process's that opened it (its start time), so a PID
 * given to another process while that went unseen (its exit lost with a
 * full ring buffer) never shows the old one's symbols.
 */
#include <errno.h>
#include <stdlib.h>
#include "sys/proc.h"
#include "sys/syms.h"

#define SYMS_CACHE_MAX 64

struct entry {
	pid_t pid;
	uint64_t start; /* lw_proc_start(pid) when opened */
	struct lw_syms *syms;
	struct entry *next;
};

struct lw_syms_cache {
	struct entry *head; /* most recently used first */
	int count;
};

struct lw_syms_cache *syms_cache__new(void)
{
	return calloc(1, sizeof(struct lw_syms_cache));
}

static void drop(struct lw_syms_cache *c, struct entry **pp)
{
	struct entry *e = *pp;

	*pp = e->next;
	syms__close(e->syms);
	free(e);
	c->count--;
}

struct lw_syms *syms_cache__get(struct lw_syms_cache *c, pid_t pid)
{
	uint64_t start = lw_proc_start(pid);
	struct entry **pp, *e, **lastp = NULL;

	for (pp = &c->head; (e = *pp); pp = &e->next) {
		if (e->pid == pid && start && start != e->start) {
			drop(c, pp); /* the PID names another process now */
			break;
		}
		if (e->pid == pid) {
			/* to the front: the tail is the one evicted (a process gone
			 * keeps its symbols: they name what it did before it went) */
			*pp = e->next;
			e->next = c->head;
			c->head = e;
			return e->syms;
		}
		lastp = pp;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->start = start;
	e->syms = syms__open(pid);
	if (!e->syms) {
		int err = errno;

		free(e);
		errno = err;
		return NULL;
	}
	if (c->count >= SYMS_CACHE_MAX && lastp)
		drop(c, lastp);
	e->pid = pid;
	e->next = c->head;
	c->head = e;
	c->count++;
	return e->syms;
}

void syms_cache__invalidate(struct lw_syms_cache *c, pid_t pid)
{
	struct entry **pp;

	for (pp = &c->head; *pp; pp = &(*pp)->next) {
		if ((*pp)->pid == pid) {
			drop(c, pp);
			return;
		}
	}
}

void syms_cache__free(struct lw_syms_cache *c)
{
	if (!c)
		return;
	while (c->head)
		drop(c, &c->head);
	free(c);
}
