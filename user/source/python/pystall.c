// SPDX-License-Identifier: GPL-2.0
/*
 * Stalled event loops (see pystall.h): each loop's thread is in its
 * selector - epoll_wait on the loop's own epoll fd (poll or select with a
 * selector of another kind) - or it is not, and then the _ready deque's
 * count of moves tells whether the loop went round since.
 */
#include <string.h>
#include <sys/syscall.h>
#include "source/python/pystall.h"
#include "sys/proc.h"

/* The loop's selector's epoll fd, or -1 (another kind of selector). */
static int epoll_fd(struct lw_pymem *m, uint64_t loop)
{
	uint64_t sel = pymem__attr(m, pymem__attr(m, loop, "_selector"), "_selector");
	char type[16];
	int32_t fd;

	pymem__type_name(m, sel, type, sizeof(type));
	if (strcmp(type, "select.epoll") ||
	    pymem__read(m, sel + pymem__layout(m)->epoll_fd, &fd, sizeof(fd)) || fd < 0)
		return -1;
	return fd;
}

void pystall__update(struct lw_pystalls *st, struct lw_pymem *m, const struct lw_pysnap *s)
{
	for (int i = 0; i < st->n; i++)
		st->v[i].kept = st->v[i].seen = 0;
	for (int i = 0; i < s->n; i++) {
		const struct lw_pyparticipant *p = &s->p[i];
		struct lw_pystall *l = NULL;
		char type[24];

		if (!p->task || !p->loop || p->tid <= 0)
			continue;
		for (int j = 0; j < st->n && !l; j++)
			if (st->v[j].loop == p->loop && st->v[j].tid == p->tid)
				l = &st->v[j];
		if (l && l->seen)
			continue; /* one check a loop a look (its tasks are many) */
		if (l && (!l->deque || pymem__attr(m, p->loop, "_ready") == l->ready)) {
			l->seen = 1;
			l->kept = l->deque; /* seen this look: no deque, no samples */
			continue;
		}
		if (!l && st->n == LW_PY_LOOPS)
			continue;
		if (!l) { /* else another loop now at its address: anew */
			l = &st->v[st->n++];
			st->loops++;
		}
		memset(l, 0, sizeof(*l));
		l->loop = p->loop;
		l->tid = p->tid;
		l->ready = pymem__attr(m, p->loop, "_ready");
		pymem__type_name(m, l->ready, type, sizeof(type));
		l->epfd = epoll_fd(m, p->loop);
		/* not asyncio's own loop (no deque to count with): dropped */
		l->deque = !strcmp(type, "collections.deque");
		l->kept = l->deque;
		l->seen = 1;
	}
	/* loops that stopped (or whose thread left) are forgotten */
	for (int i = 0; i < st->n;)
		if (st->v[i].kept)
			i++;
		else
			st->v[i] = st->v[--st->n];
}

static int in_selector(const struct lw_pystall *l, const struct lw_syscall *sc)
{
	switch (sc->nr) {
	case SYS_epoll_wait:
	case SYS_epoll_pwait:
	case SYS_epoll_pwait2:
		return l->epfd < 0 || (int)sc->args[0] == l->epfd;
	case SYS_select:
	case SYS_pselect6:
	case SYS_poll:
	case SYS_ppoll:
		return l->epfd < 0;
	default:
		return 0;
	}
}

/* Where loop l is now: 1 out of its selector (the deque's count into
 * *count), 0 in it, -1 unreadable. */
static int out_of_selector(struct lw_pymem *m, const struct lw_pystall *l, uint64_t *count)
{
	struct lw_syscall sc;

	if (lw_proc_syscall(pymem__pid(m), l->tid, &sc) ||
	    pymem__read_now(m, l->ready + pymem__layout(m)->deque_state, count, sizeof(*count)))
		return -1;
	return !in_selector(l, &sc);
}

void pystall__sample(struct lw_pystalls *st, struct lw_pymem *m, uint64_t now_ns)
{
	for (int i = 0; i < st->n; i++) {
		struct lw_pystall *l = &st->v[i];
		uint64_t count;

		int out = out_of_selector(m, l, &count);

		st->samples++;
		l->samples++;
		st->busy += out == 1;
		if (out <= 0) {
			l->since_ns = 0;
			l->run = 0;
		} else if (!l->since_ns || count != l->count) {
			l->since_ns = now_ns; /* a callback now, maybe another one */
			l->count = count;
			l->run = 1;
		} else {
			l->run++;
		}
	}
}

int pystall__suspect(const struct lw_pystalls *st)
{
	for (int i = 0; i < st->n; i++)
		if (st->v[i].since_ns && (st->v[i].run > 1 || st->v[i].samples == 1))
			return 1;
	return 0;
}

int pystall__stands(struct lw_pymem *m, const struct lw_pystall *l)
{
	uint64_t count;

	return l->since_ns && out_of_selector(m, l, &count) == 1 && count == l->count;
}
