// SPDX-License-Identifier: GPL-2.0
/*
 * The watching loop: polls the ring buffer (~100 ms, shorter while a check is
 * pending), hands records to detect.c, sweeps the `waits` map on a timer,
 * keeps the watched set current (forks, exits, exec), and stops when told.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "source/futex/attach.h"
#include "sys/log.h"
#include "sys/proc.h"
#include "report/report.h"
#include "loop/watch.h"

volatile sig_atomic_t lw_exiting;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static int find(const struct lw_watch *w, pid_t pid)
{
	for (int i = 0; i < w->npids; i++)
		if (w->pids[i] == pid)
			return i;
	return -1;
}

#define SEED_MAX 4096

static int same_wait(const struct lw_wait *a, const struct lw_wait *b, int n)
{
	for (int i = 0; i < n; i++)
		if (b[i].tid == a->tid && b[i].uaddr == a->uaddr)
			return 1;
	return 0;
}

/*
 * Threads already blocked when the filter went on: no event will come for
 * them. Read them from /proc into the kernel's map (the filter is on first,
 * so a wait that begins meanwhile is the kernel's), then read again and
 * retire what ended in between: no gap, no double count.
 */
static void seed(struct lw_watch *w, pid_t pid)
{
	static struct lw_wait before[SEED_MAX], after[SEED_MAX];
	uint64_t now = now_ns();
	int n, m;

	n = attach__scan(pid, before, SEED_MAX, now);
	if (n <= 0)
		return;
	tracer__seed(w->tracer, before, n);
	m = attach__scan(pid, after, SEED_MAX, now);
	for (int i = 0; i < n; i++)
		if (m < 0 || !same_wait(&before[i], after, m))
			tracer__unseed(w->tracer, &before[i]);
	w->seeded = 1;
}

void watch__seed_host(struct lw_watch *w)
{
	struct dirent *de;
	DIR *d = opendir("/proc");

	if (!d)
		return;
	while ((de = readdir(d)))
		if (atoi(de->d_name) > 0)
			seed(w, atoi(de->d_name));
	closedir(d);
}

int watch__add(struct lw_watch *w, pid_t pid, int named)
{
	int err;

	if (find(w, pid) >= 0)
		return 0;
	if (w->npids == LW_MAX_WATCHED) {
		lw_err("watching %d processes already; not following pid %d", LW_MAX_WATCHED, pid);
		return -ENOSPC;
	}
	err = tracer__add_target(w->tracer, pid);
	if (err) {
		lw_err("failed to watch pid %d: %s", pid, strerror(-err));
		return err;
	}
	w->named[w->npids] = named;
	w->pids[w->npids++] = pid;
	if (!w->env->host)
		detect__python(w->detect, pid);
	if (named)
		seed(w, pid);
	return 0;
}

void watch__on_linked(void *ctx, pid_t pid)
{
	struct lw_watch *w = ctx;

	if (w->env->host || find(w, pid) >= 0)
		return;
	lw_debug("following a shared lock into pid %d", pid);
	if (!watch__add(w, pid, 0))
		seed(w, pid);
}

static void forget(struct lw_watch *w, pid_t pid, const char *comm)
{
	int i = find(w, pid);

	if (i < 0)
		return;
	if (w->named[i])
		lw_err("process %d (%s) exited", pid, comm);
	else
		lw_debug("process %d (%s) exited", pid, comm);
	syms_cache__invalidate(w->syms, pid);
	detect__python_gone(w->detect, pid);
	w->npids--;
	w->pids[i] = w->pids[w->npids];
	w->named[i] = w->named[w->npids];
}

int watch__on_event(void *ctx, const void *data, size_t size)
{
	const struct lw_event_hdr *h = data;
	const struct lw_ev_cycle *cy = data;
	const struct lw_ev_pi *pi = data;
	const struct lw_ev_task *t = data;
	struct lw_watch *w = ctx;
	char comm[LW_COMM_LEN + 1];

	if (size < sizeof(*h) || h->size > size)
		return 0;
	w->events++;
	switch (h->type) {
	case LW_EV_CYCLE:
		if (size >= sizeof(*cy))
			detect__on_cycle_hint(w->detect, &cy->wait);
		break;
	case LW_EV_PI_EDEADLK:
		if (size >= sizeof(*pi))
			detect__on_pi_edeadlk(w->detect, &pi->wait);
		break;
	case LW_EV_THREAD_EXIT:
		if (size < sizeof(*t))
			break;
		memcpy(comm, t->comm, LW_COMM_LEN);
		comm[LW_COMM_LEN] = '\0';
		detect__thread_exited(w->detect, h->tgid, h->tid, comm);
		if (t->group_dead)
			forget(w, h->tgid, comm);
		break;
	case LW_EV_FORK:
		if (size >= sizeof(*t) && find(w, h->tgid) >= 0)
			watch__add(w, t->child_pid, 0);
		break;
	case LW_EV_EXEC:
		syms_cache__invalidate(w->syms, h->tgid);
		if (!w->env->host && find(w, h->tgid) >= 0)
			detect__python(w->detect, h->tgid); /* a new program: Python now? */
		break;
	default:
		lw_debug("unknown record type %u (size %zu)", h->type, size);
	}
	return 0;
}

/* Exit events can be lost to a full ring buffer: /proc has the last word. */
static void reap_gone(struct lw_watch *w)
{
	char comm[LW_COMM_LEN + 1];

	for (int i = 0; i < w->npids; i++) {
		enum lw_proc_state st;

		if (w->child && w->pids[i] == w->child->pid && child__poll(w->child)) {
			forget(w, w->pids[i--], "command");
			continue;
		}
		st = lw_proc_state(w->pids[i]);
		if (st == LW_PROC_GONE || st == LW_PROC_ZOMBIE) {
			lw_proc_comm(w->pids[i], 0, comm, sizeof(comm));
			forget(w, w->pids[i--], comm[0] ? comm : "?");
		}
	}
}

void watch__run(struct lw_watch *w)
{
	const struct env *env = w->env;
	uint64_t next_sweep = 0, stop_at = 0;
	int timeout = 100, err;

	if (env->duration > 0)
		stop_at = w->start_ns + (uint64_t)(env->duration * 1e9);
	while (!lw_exiting) {
		uint64_t now;

		if (w->seeded) { /* waits found blocked: look at them at once */
			w->seeded = 0;
			detect__check_all(w->detect);
		}
		err = tracer__poll(w->tracer, timeout);
		if (err < 0) {
			lw_err("error polling the ring buffer: %s", strerror(-err));
			break;
		}
		now = now_ns();
		if (now >= next_sweep) {
			timeout = detect__sweep(w->detect);
			next_sweep = now + (uint64_t)timeout * 1000000;
			reap_gone(w);
		}
		if (env->exit_on_deadlock && detect__deadlocks(w->detect))
			break;
		if (stop_at && now >= stop_at)
			break;
		if (!w->npids && !env->host)
			break;
		if (ferror(stdout)) {
			/* the reader went away (SIGPIPE is ignored so that a started
			 * command is still ended cleanly) */
			lw_debug("stdout closed, stopping");
			break;
		}
	}
}

void watch__summary(struct lw_watch *w, struct lw_summary *s)
{
	uint64_t st[LW_STAT_NR];

	memset(s, 0, sizeof(*s));
	tracer__stats(w->tracer, st);
	s->duration_ms = (now_ns() - w->start_ns) / 1000000;
	s->waits = st[LW_STAT_WAITS];
	s->drops = st[LW_STAT_DROPS];
	s->waits_full = st[LW_STAT_WAITS_FULL];
	s->events = w->events;
	s->alerts = detect__alerts(w->detect);
	s->deadlocks = detect__deadlocks(w->detect);
	report__self_usage(s);
	if (s->drops)
		lw_err("%llu events lost: the ring buffer was full (consider a larger --ringbuf-size)",
		       (unsigned long long)s->drops);
}
