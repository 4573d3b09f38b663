// SPDX-License-Identifier: GPL-2.0
/*
 * The watch loop (see loop.h): polls the ring buffer, hands each record to
 * what it concerns (a hint or a PI refusal to the futex source; forks,
 * execve and exits to the watched set and every source), runs a turn of the
 * pipeline on the sweep timer or soon after a hint, follows processes that
 * hold locks watched threads wait for, and stops when told.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "loop/loop.h"
#include "sink/sink.h"
#include "sys/clock.h"
#include "sys/escape.h"
#include "sys/log.h"
#include "sys/proc.h"

volatile sig_atomic_t lw_exiting;
volatile sig_atomic_t lw_reopen;

static int find(const struct lw_loop *l, pid_t pid)
{
	for (int i = 0; i < l->npids; i++)
		if (l->pids[i] == pid)
			return i;
	return -1;
}

static int seed(pid_t pid, void *arg)
{
	struct lw_loop *l = arg;

	if (futex_source__seed(l->futex, pid))
		l->look_now = 1;
	return 0;
}

void loop__seed_host(struct lw_loop *l)
{
	lw_proc_each(0, seed, l);
}

int loop__add(struct lw_loop *l, pid_t pid, int named)
{
	int err;

	if (find(l, pid) >= 0)
		return 0;
	if (l->npids == LW_TARGETS_MAX) {
		lw_err("watching %d processes already; not following pid %d", LW_TARGETS_MAX, pid);
		return -ENOSPC;
	}
	err = tracer__add_target(l->tracer, pid);
	if (err) {
		lw_err("failed to watch pid %d: %s", pid, strerror(-err));
		return err;
	}
	l->named[l->npids] = named;
	l->pids[l->npids++] = pid;
	if (!l->env->host)
		pipeline__watch(l->pipe, pid);
	if (l->uprobes)
		uprobes__attach(l->uprobes, pid);
	if (named && futex_source__seed(l->futex, pid))
		l->look_now = 1;
	return 0;
}

/* Processes that hold a lock a watched thread waits for: a cycle may run
 * through them, so watch them too. */
static void follow_linked(struct lw_loop *l)
{
	pid_t linked[64];
	int n = futex_source__linked(l->futex, linked, 64);

	for (int i = 0; i < n; i++) {
		if (l->env->host || find(l, linked[i]) >= 0)
			continue;
		lw_debug("following a shared lock into pid %d", linked[i]);
		if (!loop__add(l, linked[i], 0) && futex_source__seed(l->futex, linked[i]))
			l->look_now = 1;
	}
}

static void forget(struct lw_loop *l, pid_t pid, const char *comm)
{
	char name[4 * 16 + 1]; /* a comm, every byte escaped */
	int i = find(l, pid);

	if (i < 0)
		return;
	if (l->named[i])
		lw_err("process %d (%s) exited", pid, lw_text_buf(name, sizeof(name), comm));
	else
		lw_debug("process %d (%s) exited", pid, lw_text_buf(name, sizeof(name), comm));
	/* its symbols stay for one more turn: its last lock orders name them */
	if (l->ndying < LW_TARGETS_MAX)
		l->dying[l->ndying++] = pid;
	else
		syms_cache__invalidate(l->syms, pid);
	pipeline__forget(l->pipe, pid);
	if (l->uprobes)
		uprobes__detach(l->uprobes, pid);
	l->npids--;
	l->pids[i] = l->pids[l->npids];
	l->named[i] = l->named[l->npids];
}

int loop__on_event(void *ctx, const void *data, size_t size)
{
	const struct lw_event_hdr *h = data;
	const struct lw_ev_cycle *cy = data;
	const struct lw_ev_pi *pi = data;
	const struct lw_ev_task *t = data;
	struct lw_loop *l = ctx;
	char comm[LW_COMM_LEN + 1];

	if (size < sizeof(*h) || h->size > size)
		return 0;
	l->events++;
	switch (h->type) {
	case LW_EV_CYCLE:
		if (size >= sizeof(*cy))
			futex_source__hint(l->futex, cy->wait.tid);
		break;
	case LW_EV_PI_EDEADLK:
		if (size >= sizeof(*pi))
			futex_source__pi_refused(l->futex, &pi->wait);
		break;
	case LW_EV_THREAD_EXIT:
		if (size < sizeof(*t))
			break;
		memcpy(comm, t->comm, LW_COMM_LEN);
		comm[LW_COMM_LEN] = '\0';
		futex_source__thread_exited(l->futex, h->tgid, h->tid, comm);
		if (t->group_dead)
			forget(l, h->tgid, comm);
		break;
	case LW_EV_FORK:
		if (size >= sizeof(*t) && find(l, h->tgid) >= 0)
			loop__add(l, t->child_pid, 0);
		break;
	case LW_EV_EXEC:
		syms_cache__invalidate(l->syms, h->tgid);
		if (l->env->host || find(l, h->tgid) < 0)
			break;
		pipeline__watch(l->pipe, h->tgid); /* a new program: Python now? */
		if (l->uprobes) /* its lock functions are others now */
			uprobes__attach(l->uprobes, h->tgid);
		break;
	case LW_EV_ORDER:
		if (size >= sizeof(struct lw_ev_order) && l->locks)
			locks_source__order(l->locks, data, size);
		break;
	case LW_EV_ORDER_GATES:
		if (size >= sizeof(struct lw_ev_order_gates) && l->locks)
			locks_source__gates(l->locks, data);
		break;
	case LW_EV_HELD_EXIT:
		if (size >= sizeof(struct lw_ev_held_exit) && l->locks)
			locks_source__held_exit(l->locks, data);
		break;
	default:
		lw_debug("unknown record type %u (size %zu)", h->type, size);
	}
	/* enough for one round: the rest stays in the ring for the next */
	return --l->budget ? 0 : -E2BIG;
}

/* Exit events can be lost to a full ring buffer: /proc has the last word. */
static void reap_gone(struct lw_loop *l)
{
	char comm[LW_COMM_LEN + 1];
	int drained = 0;

	for (int i = 0; i < l->npids; i++) {
		enum lw_proc_state st;

		if (l->child && l->pids[i] == l->child->pid && child__poll(l->child)) {
			forget(l, l->pids[i--], "command");
			continue;
		}
		st = lw_proc_state(l->pids[i]);
		if (st != LW_PROC_GONE && st != LW_PROC_ZOMBIE)
			continue;
		if (!drained++) {
			/* its exit record, sent before it became a zombie, may
			 * still be in the ring: it has the name, which /proc of a
			 * reaped process has not; then look again */
			l->budget = LW_EVENTS_PER_ROUND;
			tracer__poll(l->tracer, 0);
			i = -1;
			continue;
		}
		lw_proc_comm(l->pids[i], 0, comm, sizeof(comm));
		forget(l, l->pids[i--], comm[0] ? comm : "?");
	}
}

static void turn(struct lw_loop *l, uint64_t min_age_ns)
{
	struct lw_turn t = { .now_ns = lw_now_ns(),
			     .min_age_ns = min_age_ns,
			     .stop_ns = l->stop_ns };
	uint64_t t0 = t.now_ns, cpu0 = lw_cpu_ns();
	int err;

	t.look_now = l->look_now;
	l->look_now = 0;
	err = pipeline__turn(l->pipe, &t);
	if (err)
		lw_debug("turn: %s", strerror(-err));
	for (int i = 0; i < l->ndying; i++)
		syms_cache__invalidate(l->syms, l->dying[i]);
	l->ndying = 0;
	follow_linked(l);
	l->turn_start = t0;
	l->turn_ns = lw_cpu_ns() - cpu0;
}

/* The soonest the next turn may start: ms after `since`, and the pace after
 * the start of the last turn, whatever its kind. */
static uint64_t paced(const struct lw_loop *l, uint64_t since, unsigned int ms)
{
	uint64_t at = since + ms * 1000000ull, pace = l->turn_start + LW_TURN_PACE * l->turn_ns;

	return at > pace ? at : pace;
}

/* When the next turn is due: the sweep's time, or sooner when a hint, a PI
 * refusal or a finding left for later asks for it - but not sooner than
 * LW_HINT_TURN_MS (or the pace) after the last turn that came early. */
static uint64_t sooner(struct lw_loop *l, uint64_t next_turn, uint64_t last_early, uint64_t now)
{
	int want = pipeline__next_turn_ms(l->pipe);
	uint64_t at, soonest = paced(l, last_early, LW_HINT_TURN_MS);

	if (want < 0)
		return next_turn;
	at = now + want * 1000000ull;
	at = at > soonest ? at : soonest;
	return at < next_turn ? at : next_turn;
}

/* The run's counters so far. */
static void stats(struct lw_loop *l, struct lw_summary *s)
{
	uint64_t st[LW_STAT_NR];

	memset(s, 0, sizeof(*s));
	tracer__stats(l->tracer, st);
	s->duration_ms = (lw_now_ns() - l->start_ns) / 1000000;
	s->waits = st[LW_STAT_WAITS];
	s->drops = st[LW_STAT_DROPS];
	s->waits_full = st[LW_STAT_WAITS_FULL];
	s->waits_over_share = st[LW_STAT_WAITS_SHARE];
	s->lock_acquires = st[LW_STAT_ACQUIRES] + (l->uprobes ? uprobes__acquires(l->uprobes) : 0);
	s->lock_orders = st[LW_STAT_ORDERS];
	s->held_overflow = st[LW_STAT_HELD_OVERFLOW];
	s->orders_full = st[LW_STAT_ORDERS_FULL];
	s->orders_later = st[LW_STAT_ORDERS_LATER];
	s->holds_full = st[LW_STAT_HOLDS_FULL];
	s->holds_over_share = st[LW_STAT_HOLDS_SHARE];
	s->events = l->events;
	s->watched = l->env->host ? 0 : l->npids;
	pipeline__stats(l->pipe, s);
	report__self_usage(s);
}

/*
 * What a report will need, read now rather than after a deadlock formed: the
 * debug info of the modules of lockwatch itself (the host's libc, which a
 * command it starts and most processes map too) and of the processes given
 * with -p, inflated once and bounded (syms__prepare).
 */
void loop__prepare(struct lw_loop *l)
{
	struct lw_syms *self = syms__open(getpid());

	if (self) {
		syms__prepare(self);
		syms__close(self);
	}
	for (int i = 0; i < l->npids; i++) {
		struct lw_syms *s = l->named[i] ? syms_cache__get(l->syms, l->pids[i]) : NULL;

		if (s)
			syms__prepare(s);
	}
}

void loop__run(struct lw_loop *l)
{
	const struct env *env = l->env;
	uint64_t next_turn = 0, next_sweep = 0, last_early = 0, next_reap = 0, stop_at = 0;
	uint64_t next_stats = 0;
	struct lw_summary sum;
	int err;

	if (env->duration > 0)
		stop_at = l->start_ns + (uint64_t)(env->duration * 1e9);
	l->stop_ns = stop_at;
	while (!lw_exiting) {
		uint64_t now = lw_now_ns();

		if (l->look_now) /* waits found blocked: look at them at once */
			turn(l, 0);
		l->budget = LW_EVENTS_PER_ROUND;
		err = tracer__poll(l->tracer,
				   next_turn > now ? (int)((next_turn - now) / 1000000) + 1 : 0);
		if (err < 0 && err != -E2BIG) {
			lw_err("error polling the ring buffer: %s", strerror(-err));
			break;
		}
		now = lw_now_ns();
		next_turn = sooner(l, next_turn, last_early, now);
		if (now >= next_turn) {
			int sweep = now >= next_sweep;

			if (!sweep)
				last_early = now; /* asked for, before the sweep */
			turn(l, LW_SWEEP_MIN_AGE_NS);
			if (sweep)
				next_sweep = paced(l, now, LW_SWEEP_MS);
			next_turn = sooner(l, next_sweep, last_early, now);
		}
		if (lw_reopen) {
			lw_reopen = 0;
			sinks__reopen(l->pipe->sinks);
		}
		if (now >= next_stats && sinks__want_stats(l->pipe->sinks)) {
			stats(l, &sum);
			sinks__stats(l->pipe->sinks, &sum);
			next_stats = now + LW_STATS_MS * 1000000ull;
		}
		if (now >= next_reap) {
			reap_gone(l);
			if (l->uprobes)
				uprobes__look_again(l->uprobes);
			next_reap = now + LW_SWEEP_MS * 1000000ull;
		}
		if (env->exit_on_deadlock && l->pipe->deadlocks)
			break;
		if (stop_at && now >= stop_at)
			break;
		if (!l->npids && !env->host)
			break;
		if (ferror(stdout)) {
			/* the reader went away (SIGPIPE is ignored so that a started
			 * command is still ended cleanly) */
			lw_debug("stdout closed, stopping");
			break;
		}
		if (err == -E2BIG)
			/* a flood of records: let it wait (a full ring drops records,
			 * which is counted; the sweeps cover what they said) rather
			 * than spend all the CPU on it */
			lw_sleep_ms(LW_HINT_TURN_MS);
	}
	if (l->uprobes) {
		/* lock orders are history: the last ones in the ring, of a
		 * command that just ended, are looked at too */
		l->budget = LW_EVENTS_PER_ROUND * 16;
		tracer__poll(l->tracer, 0);
		turn(l, 0);
	}
}

void loop__summary(struct lw_loop *l, struct lw_summary *s)
{
	stats(l, s);
	if (s->drops)
		lw_err("%llu events lost: the ring buffer was full (consider a larger --ringbuf-size)",
		       (unsigned long long)s->drops);
}
