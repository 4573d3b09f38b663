// SPDX-License-Identifier: GPL-2.0
/*
 * `lockwatch dump PID`'s record (see report.h): one process as one look saw
 * it, in the alerts' terms - every thread and task with where it is (its
 * native stack from its syscall's sp/pc, merged with its Python frames),
 * what it waits for and who holds that, and what it was seen to hold.
 * Tasks awaiting tasks are waits like any other: the sinks draw the tree.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include "core/source.h"
#include "report/report.h"

/* threads (in TID order) before tasks (in address order) */
static int dump_order(const void *x, const void *y)
{
	const struct lw_participant *a = *(const struct lw_participant *const *)x;
	const struct lw_participant *b = *(const struct lw_participant *const *)y;

	if (a->type != b->type)
		return a->type == LW_PARTICIPANT_TASK ? 1 : -1;
	if (a->type == LW_PARTICIPANT_TASK)
		return a->addr < b->addr ? -1 : a->addr > b->addr;
	return a->tid - b->tid;
}

/* What a thread is doing, from its syscall (a task: whether it waits). */
static const char *state_of(const struct lw_participant *p, const struct lw_observation *o)
{
	if (p->wait.lock)
		return "waiting";
	if (p->type == LW_PARTICIPANT_TASK) /* running: its frames are its thread's */
		return o->running ? "running" : "pending";
	if (!o->has_sc)
		return "unknown";
	if (o->sc.nr < 0)
		return "running";
	switch (o->sc.nr) {
	case SYS_futex:
		return "futex";
	case SYS_epoll_wait:
	case SYS_epoll_pwait:
	case SYS_poll:
	case SYS_ppoll:
	case SYS_select:
	case SYS_pselect6:
		return "polling";
	case SYS_read:
	case SYS_recvfrom:
	case SYS_recvmsg:
		return "reading";
	case SYS_nanosleep:
	case SYS_clock_nanosleep:
		return "sleeping";
	default:
		return "in a system call";
	}
}

/* One participant as o saw it: who, state, stack, and its wait. */
static void one(struct lw_report *r, struct lw_alert *a, const struct lw_participant *p,
		const struct lw_observation *seen, uint64_t now_ns)
{
	struct lw_alert_thread *t = &a->threads[a->nthreads++];
	struct lw_observation o = *seen;
	struct lw_alert_wait *w;
	struct lw_stack st;

	report__participant(&t->who, p);
	t->who.state = state_of(p, &o);
	if (o.has_sc && o.sc.nr < 0)
		o.has_sc = 0; /* running: no syscall to unwind from */
	stack__of(report__syms(r), p, &o, &st);
	t->stack = st.frames;
	t->nframes = st.n;
	t->stack_err = st.err;
	if (p->wait.lock) {
		t->blocked_for_ms = p->wait.start_ns && now_ns > p->wait.start_ns ?
					    (now_ns - p->wait.start_ns) / 1000000 :
					    0;
		t->blocked_at_least = !p->wait.start_ns || (p->wait.flags & LW_WAIT_SINCE_ATTACH);
		w = &a->waits[a->nwaits++];
		w->waiter = t->who;
		report__holder(&w->held_by, p->wait.lock);
		w->lock = report__add_lock(report__syms(r), a, p->wait.lock, &w->held_by, &st);
	}
}

/* One hold of l by h, when h is pid's. */
static void hold(struct lw_report *r, struct lw_alert *a, const struct lw_lock *l,
		 const struct lw_participant *h, pid_t pid, uint64_t now_ns)
{
	const struct lw_hold_info *hi = graph__hold_of(l, h);
	struct lw_alert_hold *ah;

	/* a thread "holds" its exit, a task its end: what a join or an
	 * await waits for, not a lock it took */
	if (h->pid != pid || a->nholds == a->room || l->kind == LW_LOCK_THREAD_EXIT ||
	    l->kind == LW_LOCK_TASK || l->kind == LW_LOCK_EVENT_LOOP || l->kind == LW_LOCK_FUTURE)
		return;
	ah = &a->holds[a->nholds++];
	report__participant(&ah->holder, h);
	ah->lock = report__add_lock(report__syms(r), a, l, &ah->holder, NULL);
	ah->read = hi && hi->read;
	ah->held_for_ms =
		hi && hi->since_ns && now_ns > hi->since_ns ? (now_ns - hi->since_ns) / 1000000 : 0;
	if (hi && hi->site)
		ah->ntaken_at = stack__pcs(report__syms(r), h->pid, &hi->site, 1, !hi->site_is_pc,
					   &ah->taken_at);
}

struct lw_alert *report__dump(struct lw_report *r, struct lw_graph *g, pid_t pid,
			      const struct lw_observation *obs, uint64_t now_ns)
{
	int n = 0, nall = graph__nparticipants(g), nlocks = graph__nall_locks(g);
	const struct lw_participant **v = calloc(nall + 1, sizeof(*v));
	struct lw_alert *a = NULL;
	int ntasks = 0;

	if (!v)
		return NULL;
	for (int i = 0; i < nall; i++) {
		const struct lw_participant *p = graph__participant(g, i);

		if (p->pid == pid)
			v[n++] = p;
	}
	qsort(v, n, sizeof(*v), dump_order);
	/* each wait and hold names at most one lock of its own */
	a = alert__new(LW_ALERT_DUMP, n + nlocks + 1);
	if (!a)
		goto out;
	clock_gettime(CLOCK_REALTIME, &a->time);
	report__process(a, pid);
	for (int i = 0; i < n; i++) {
		one(r, a, v[i], &obs[v[i]->idx], now_ns);
		ntasks += v[i]->type == LW_PARTICIPANT_TASK;
	}
	for (int i = 0; i < nlocks; i++) {
		const struct lw_lock *l = graph__lock_at(g, i);

		if (l->holder)
			hold(r, a, l, l->holder, pid, now_ns);
		for (const struct lw_holder *m = l->more; m; m = m->next)
			hold(r, a, l, m->p, pid, now_ns);
	}
	snprintf(a->summary, sizeof(a->summary), "pid %d (%s): %d thread%s, %d task%s, %d waiting",
		 pid, a->procs[0].comm, n - ntasks, n - ntasks == 1 ? "" : "s", ntasks,
		 ntasks == 1 ? "" : "s", a->nwaits);
out:
	free(v);
	return a;
}
