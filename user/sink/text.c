// SPDX-License-Identifier: GPL-2.0
/*
 * The human sink: an alert as a headline, one line per wait (of the cycle),
 * then each thread's stack, in the shape gdb prints backtraces; and the
 * run's summary as one line. Every string from a target goes through
 * lw_text_str(), so a hostile thread name cannot move the cursor, recolour
 * the terminal or forge a line of output.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "lockwatch.h"
#include "sink/sink.h"
#include "sys/escape.h"

/*
 * "thread 4243 (poster)", with "of pid N" when the alert spans processes
 * (ref_pid 0) or the participant lives outside ref_pid.
 */
static void text_participant(FILE *f, const struct lw_alert_participant *p, int ref_pid)
{
	if (!strcmp(p->type, "task")) {
		/* "task rebuilder on thread 4242": the thread of its event loop */
		fputs("task ", f);
		lw_text_str(f, p->name[0] ? p->name : "(unnamed)");
		if (p->exited)
			fputs(" (ended)", f);
		else if (p->tid)
			fprintf(f, " on thread %d", p->tid);
		if (p->pid != ref_pid)
			fprintf(f, " of pid %d", p->pid);
		return;
	}
	lw_text_str(f, p->type);
	fprintf(f, " %d (", p->tid);
	lw_text_str(f, p->name);
	/* an exited holder's name is often unknown: "(exited)", not "(, exited)" */
	fputs(!p->exited ? ")" : p->name[0] ? ", exited)" : "exited)", f);
	if (p->pid != ref_pid)
		fprintf(f, " of pid %d", p->pid);
}

/* The pid every participant shares, or 0 when the cycle crosses processes. */
static int alert_pid(const struct lw_alert *a)
{
	int i, pid = a->nwaits ? a->waits[0].waiter.pid : 0;

	for (i = 0; i < a->nwaits; i++) {
		const struct lw_alert_wait *e = &a->waits[i];

		if (e->waiter.pid != pid || (e->held_by.tid && e->held_by.pid != pid))
			return 0;
	}
	return pid;
}

/* "mutex ledger at 0x55d0c0de4060", or "mutex 0x55d0c0de4060" unnamed. */
static void text_lock(FILE *f, const struct lw_alert_lock *l, int waiter_pid)
{
	lw_text_str(f, l->type);
	if (l->name[0]) {
		fputc(' ', f);
		lw_text_str(f, l->name);
		fputs(" at", f);
	}
	fprintf(f, " 0x%" PRIx64, l->addr);
	if (l->pid && l->pid != waiter_pid)
		fprintf(f, " in pid %d", l->pid);
}

/* "  thread 4243 (poster) waits for mutex journal at 0x..., held by ..." */
static void text_wait(FILE *f, const struct lw_alert_wait *e, const struct lw_alert_lock *l,
		      int ref_pid)
{
	fputs("  ", f);
	text_participant(f, &e->waiter, ref_pid);
	fputs(" waits for ", f);
	if (l)
		text_lock(f, l, e->waiter.pid);
	else
		fputs("an unknown lock", f);
	if (e->held_by.tid) {
		fputs(", held by ", f);
		text_participant(f, &e->held_by, ref_pid);
	} else if (e->held_by.exited && !strcmp(e->held_by.type, "task")) {
		fputs(", held by no live task", f);
	} else {
		fputs(", holder unknown", f);
	}
	fputc('\n', f);
}

/* "#3  0x000055d0c0ddf2a1 in take_journal+0x10 (/path/to/bin) deadlock.c:35" */
static void text_frame(FILE *f, int i, const struct lw_frame *fr)
{
	if (fr->python) { /* "#2  Store.set_hash (store.py:10)" */
		fprintf(f, "      #%-2d ", i);
		lw_text_str(f, fr->function);
		fputs(" (", f);
		lw_text_str(f, fr->file);
		fprintf(f, ":%d)\n", fr->line);
		return;
	}
	if (fr->inlined) /* "#2  [inlined]          in set_hash (...)": pc is the next frame's */
		fprintf(f, "      #%-2d %-18s in ", i, "[inlined]");
	else
		fprintf(f, "      #%-2d 0x%016" PRIx64 " in ", i, fr->pc);
	if (fr->function && fr->inlined) {
		lw_text_str(f, fr->function);
	} else if (fr->function) {
		lw_text_str(f, fr->function);
		fprintf(f, "+0x%" PRIx64, fr->offset);
	} else {
		fputs("??", f);
	}
	if (fr->module) {
		fputs(" (", f);
		lw_text_str(f, fr->module);
		fputc(')', f);
	}
	if (fr->file && fr->line > 0) {
		fputc(' ', f);
		lw_text_str(f, fr->file);
		fprintf(f, ":%d", fr->line);
	}
	fputc('\n', f);
}

static void text_frames(FILE *f, const struct lw_frame *fr, int n)
{
	for (int i = 0; i < n; i++)
		text_frame(f, i, &fr[i]);
	if (!n)
		fputs("      (unknown)\n", f);
}

/* "  thread 4243 (worker) holds mutex ledger at 0x..., 31.000 s, taken at:" */
static void text_hold(FILE *f, const struct lw_alert *a, const struct lw_alert_hold *h, int ref_pid)
{
	fputs("  ", f);
	text_participant(f, &h->holder, ref_pid);
	fputs(h->holder.exited ? " exited holding " : " holds ", f);
	if (h->lock >= 0 && h->lock < a->nlocks)
		text_lock(f, &a->locks[h->lock], h->holder.pid);
	if (h->read)
		fputs(" for reading", f);
	if (h->held_for_ms)
		fprintf(f, ", taken %" PRIu64 ".%03" PRIu64 " s ago", h->held_for_ms / 1000,
			h->held_for_ms % 1000);
	fputs(", at:\n", f);
	text_frames(f, h->taken_at, h->ntaken_at);
}

/* "  thread 4243 (a) took mutex B at 0x... while holding mutex A at 0x...:" */
static void text_order(FILE *f, const struct lw_alert *a, const struct lw_alert_order *o)
{
	const struct lw_alert_lock *held = &a->locks[o->held], *taken = &a->locks[o->taken];

	fputs("  ", f);
	text_participant(f, &o->thread, o->thread.pid);
	fputs(" took ", f);
	text_lock(f, taken, o->thread.pid);
	if (o->taken_as)
		fprintf(f, " (%s)", o->taken_as);
	fputs(" while holding ", f);
	text_lock(f, held, o->thread.pid);
	if (o->held_as)
		fprintf(f, " (%s)", o->held_as);
	fputs(":\n    ", f);
	lw_text_str(f, held->name[0] ? held->name : held->type);
	fputs(" taken at:\n", f);
	text_frames(f, o->held_at, o->nheld_at);
	fputs("    ", f);
	lw_text_str(f, taken->name[0] ? taken->name : taken->type);
	fputs(" taken at:\n", f);
	text_frames(f, o->taken_at, o->ntaken_at);
}

static void text_thread(FILE *f, const struct lw_alert_thread *t, int ref_pid, int holding)
{
	const char *why = t->stack_err ? strerror(abs(t->stack_err)) : NULL;
	int i;

	fputs("\n  ", f);
	text_participant(f, &t->who, ref_pid);
	if (holding) /* a long hold, a stalled loop: the stack now */
		fputs(", now:\n", f);
	else if (t->blocked_at_least && !t->blocked_for_ms) /* since when: unknown */
		fputs(", blocked:\n", f);
	else
		fprintf(f, ", blocked %s%" PRIu64 ".%03" PRIu64 " s:\n",
			t->blocked_at_least ? "at least " : "", t->blocked_for_ms / 1000,
			t->blocked_for_ms % 1000);
	for (i = 0; i < t->nframes; i++)
		text_frame(f, i, &t->stack[i]);
	if (!t->nframes)
		fprintf(f, "      (stack unavailable%s%s)\n", why ? ": " : "", why ? why : "");
	else if (why)
		fprintf(f, "      (stack cut short: %s)\n", why);
}

static int same_party(const struct lw_alert_participant *x, const struct lw_alert_participant *y)
{
	return !strcmp(x->type, y->type) && x->pid == y->pid &&
	       (!strcmp(x->type, "task") ? x->addr == y->addr : x->tid == y->tid);
}

/* The wait of a dump whose waiter is p, or NULL. */
static const struct lw_alert_wait *wait_of(const struct lw_alert *a,
					   const struct lw_alert_participant *p)
{
	for (int i = 0; i < a->nwaits; i++)
		if (same_party(&a->waits[i].waiter, p))
			return &a->waits[i];
	return NULL;
}

/* A dump's task i awaits task j. */
static int awaits(const struct lw_alert *a, int i, int j)
{
	const struct lw_alert_wait *w = wait_of(a, &a->threads[i].who);

	return w && w->lock >= 0 && w->lock < a->nlocks &&
	       !strcmp(a->locks[w->lock].type, "task") &&
	       same_party(&w->held_by, &a->threads[j].who);
}

/* "  Task-1" and, below it, each task it awaits, and so on. */
static void text_task_tree(FILE *f, const struct lw_alert *a, int i, int depth, char *seen)
{
	fprintf(f, "%*s", 4 + 4 * depth, "");
	lw_text_str(f, a->threads[i].who.name[0] ? a->threads[i].who.name : "(unnamed)");
	if (seen[i]) {
		fputs(" (awaited above: a cycle)\n", f);
		return;
	}
	fputc('\n', f);
	seen[i] = 1;
	for (int j = 0; j < a->nthreads && depth < 32; j++)
		if (awaits(a, i, j))
			text_task_tree(f, a, j, depth + 1, seen);
}

/* `dump`: every thread and task - what it does, waits for and holds, its
 * stack - then the tasks as a tree, each above the tasks it awaits. */
static void text_dump(FILE *f, const struct lw_alert *a)
{
	int pid = a->nprocs ? a->procs[0].pid : 0, tree = 0;
	char *seen = calloc(a->nthreads + 1, 1);

	lw_text_str(f, a->summary);
	fputc('\n', f);
	for (int i = 0; i < a->nthreads; i++) {
		const struct lw_alert_thread *t = &a->threads[i];
		const struct lw_alert_wait *w = wait_of(a, &t->who);

		fputs("\n  ", f);
		text_participant(f, &t->who, pid);
		if (t->who.state) {
			fputs(": ", f);
			lw_text_str(f, t->who.state);
		}
		if (w && w->lock >= 0 && w->lock < a->nlocks) {
			fputs(" for ", f);
			text_lock(f, &a->locks[w->lock], pid);
			if (w->held_by.tid || w->held_by.addr) {
				fputs(", held by ", f);
				text_participant(f, &w->held_by, pid);
			} else {
				fputs(", holder unknown", f);
			}
			tree |= !strcmp(a->locks[w->lock].type, "task");
		}
		if (t->blocked_for_ms)
			fprintf(f, ", %s%" PRIu64 ".%03" PRIu64 " s",
				t->blocked_at_least ? "at least " : "", t->blocked_for_ms / 1000,
				t->blocked_for_ms % 1000);
		fputc('\n', f);
		for (int j = 0; j < a->nholds; j++) {
			const struct lw_alert_hold *h = &a->holds[j];

			if (!same_party(&h->holder, &t->who) || h->lock < 0 || h->lock >= a->nlocks)
				continue;
			fputs("    holds ", f);
			text_lock(f, &a->locks[h->lock], pid);
			if (h->held_for_ms)
				fprintf(f, ", for %" PRIu64 ".%03" PRIu64 " s",
					h->held_for_ms / 1000, h->held_for_ms % 1000);
			fputc('\n', f);
		}
		for (int j = 0; j < t->nframes; j++)
			text_frame(f, j, &t->stack[j]);
		if (!t->nframes && t->stack_err)
			fprintf(f, "      (stack unavailable: %s)\n", strerror(abs(t->stack_err)));
	}
	if (tree && seen) {
		fputs("\n  tasks, each above the tasks it awaits:\n", f);
		for (int i = 0; i < a->nthreads; i++) {
			int awaited = 0;

			for (int j = 0; j < a->nthreads && !awaited; j++)
				awaited = awaits(a, j, i);
			if (!strcmp(a->threads[i].who.type, "task") && !awaited && !seen[i])
				text_task_tree(f, a, i, 0, seen);
		}
		for (int i = 0; i < a->nthreads; i++) /* what only awaits in a cycle */
			if (!strcmp(a->threads[i].who.type, "task") && !seen[i])
				text_task_tree(f, a, i, 0, seen);
	}
	free(seen);
	fputc('\n', f);
	fflush(f);
}

static void text_alert(struct lw_sink *s, const struct lw_alert *a)
{
	int i, ref_pid = alert_pid(a);
	char t[LW_TIME_LEN];
	FILE *f = s->out;

	if (a->kind == LW_ALERT_DUMP) {
		text_dump(f, a);
		return;
	}
	fprintf(f, "%s ", lw_time_str(t, sizeof(t), &a->time, LW_TIME_LOCAL));
	sink__headline(f, a);
	fputc('\n', f);
	for (i = 0; i < a->nwaits; i++)
		text_wait(f, &a->waits[i],
			  a->waits[i].lock >= 0 && a->waits[i].lock < a->nlocks ?
				  &a->locks[a->waits[i].lock] :
				  NULL,
			  ref_pid);
	/* a stalled loop's hold is its headline */
	for (i = 0; i < a->nholds && a->kind != LW_ALERT_LOOP_STALL; i++)
		text_hold(f, a, &a->holds[i], ref_pid);
	for (i = 0; i < a->norders; i++)
		text_order(f, a, &a->orders[i]);
	for (i = 0; i < a->nthreads; i++)
		text_thread(f, &a->threads[i], ref_pid,
			    a->kind == LW_ALERT_LONG_HOLD || a->kind == LW_ALERT_LOOP_STALL);
	/* a blank line keeps one alert's block apart from the next */
	fputc('\n', f);
	fflush(f);
}

/* `check`: what every blocked thread waits for, a line per lock. */
static void text_blocked(FILE *f, const struct lw_summary *sum)
{
	for (int i = 0; i < sum->nblocked; i++) {
		const struct lw_blocked *b = &sum->blocked[i];
		struct lw_alert_wait e = { .waiter = b->waiters[0], .held_by = b->holder };

		text_wait(f, &e, &b->lock, e.waiter.pid);
		if (b->nwaiters > 1)
			fprintf(f, "    and %d more waiting for it\n", b->nwaiters - 1);
	}
}

static void text_summary(struct lw_sink *s, const struct lw_summary *sum)
{
	FILE *f = s->out;

	if (sum->blocked) {
		text_blocked(f, sum);
		fflush(f);
		return;
	}
	fprintf(f,
		"lockwatch: watched %" PRIu64 ".%" PRIu64 " s: %" PRIu64 " deadlock%s, %" PRIu64
		" waits tracked, %" PRIu64 " events lost",
		sum->duration_ms / 1000, sum->duration_ms % 1000 / 100, sum->deadlocks,
		sum->deadlocks == 1 ? "" : "s", sum->waits, sum->drops);
	if (sum->drops)
		fputs(" (consider a larger --ringbuf-size)", f);
	if (sum->waits_full)
		fprintf(f, ", %" PRIu64 " waits not tracked (wait map full)", sum->waits_full);
	if (sum->waits_over_share)
		fprintf(f,
			", %" PRIu64 " waits not tracked (a process held its share of %d threads)",
			sum->waits_over_share, LW_WAITS_PER_PROC);
	if (sum->python_processes)
		fprintf(f, ", %" PRIu64 " look%s at %" PRIu64 " Python process%s",
			sum->python_looks, sum->python_looks == 1 ? "" : "s", sum->python_processes,
			sum->python_processes == 1 ? "" : "es");
	if (sum->python_looks_cut)
		fprintf(f, " (%" PRIu64 " cut short: more than a look may read)",
			sum->python_looks_cut);
	if (sum->lock_acquires)
		fprintf(f, ", %" PRIu64 " lock%s taken, %" PRIu64 " lock order%s",
			sum->lock_acquires, sum->lock_acquires == 1 ? "" : "s", sum->lock_orders,
			sum->lock_orders == 1 ? "" : "s");
	if (sum->held_overflow)
		fprintf(f, " (%" PRIu64 " taken past %d held at once: not kept)",
			sum->held_overflow, LW_HELD_MAX);
	if (sum->orders_full)
		fprintf(f, ", %" PRIu64 " lock orders not kept (map full)", sum->orders_full);
	if (sum->holds_full)
		fprintf(f, ", %" PRIu64 " threads' locks not followed (map full)", sum->holds_full);
	if (sum->holds_over_share)
		fprintf(f,
			", %" PRIu64
			" threads' locks not followed (a process held its share of %d threads)",
			sum->holds_over_share, LW_WAITS_PER_PROC);
	if (sum->orders_later)
		fprintf(f, ", %" PRIu64 " put off (ring buffer full; sent when taken again)",
			sum->orders_later);
	if (sum->alerts > sum->deadlocks)
		fprintf(f, ", %" PRIu64 " other alert%s", sum->alerts - sum->deadlocks,
			sum->alerts - sum->deadlocks == 1 ? "" : "s");
	fputc('\n', f);
	fflush(f);
}

/* The FILE belongs to the caller (stdout, usually): not closed here. */
static void text_destroy(struct lw_sink *s)
{
	free(s);
}

static const struct lw_sink_ops text_ops = {
	.alert = text_alert,
	.summary = text_summary,
	.destroy = text_destroy,
};

struct lw_sink *sink__text(FILE *out)
{
	struct lw_sink *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->ops = &text_ops;
	s->out = out;
	return s;
}
