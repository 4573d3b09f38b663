// SPDX-License-Identifier: GPL-2.0
/*
 * The JSON-lines sink: one object per alert and a last one of kind
 * "summary", in DESIGN.md's schema version 1. Consumers pipe it into jq or a
 * collector, so each line is flushed as soon as it is complete. Addresses
 * are hex strings, since JSON numbers lose bits past 2^53; unknown values
 * are null. Every string from a target goes through lw_json_str().
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "sys/escape.h"
#include "sink/sink.h"

#define LW_JSON_SCHEMA 1

/* The record head every line starts with; the caller closes the object. */
static void json_head(FILE *f, const struct timespec *ts, const char *kind)
{
	char t[LW_TIME_LEN];

	fprintf(f, "{\"schema\":%d,\"time\":\"%s\",\"kind\":", LW_JSON_SCHEMA,
		lw_time_str(t, sizeof(t), ts, LW_TIME_UTC_ISO));
	lw_json_str(f, kind);
}

static void json_participant_fields(FILE *f, const struct lw_alert_participant *p)
{
	fputs("\"type\":", f);
	lw_json_str(f, p->type);
	fprintf(f, ",\"pid\":%d,\"tid\":%d,\"name\":", p->pid, p->tid);
	lw_json_str(f, p->name[0] || strcmp(p->type, "task") ? p->name : NULL);
	/* a task: its Task object; tid is the thread its event loop runs on */
	if (p->addr)
		fprintf(f, ",\"addr\":\"0x%" PRIx64 "\"", p->addr);
	if (p->state) { /* a dump's */
		fputs(",\"state\":", f);
		lw_json_str(f, p->state);
	}
}

/* A waiter or holder; null: a holder nobody could name. An exited holder
 * may have no tid: a task that ended. */
static void json_participant(FILE *f, const struct lw_alert_participant *p)
{
	if (!p->tid && !p->addr && !p->exited) {
		fputs("null", f);
		return;
	}
	fputc('{', f);
	json_participant_fields(f, p);
	if (p->exited)
		fputs(",\"exited\":true", f);
	fputc('}', f);
}

/* In the cycle a lock appears without its holder: held_by says it there. */
static void json_lock(FILE *f, const struct lw_alert_lock *l, int with_holder)
{
	fputs("{\"type\":", f);
	lw_json_str(f, l->type);
	fputs(",\"key\":", f);
	lw_json_str(f, l->key[0] ? l->key : NULL);
	fprintf(f, ",\"addr\":\"0x%" PRIx64 "\",\"name\":", l->addr);
	lw_json_str(f, l->name[0] ? l->name : NULL);
	if (with_holder) {
		if (l->holder_tid)
			fprintf(f, ",\"holder\":{\"pid\":%d,\"tid\":%d}", l->holder_pid,
				l->holder_tid);
		else
			fputs(",\"holder\":null", f);
	}
	fputc('}', f);
}

static void json_frame(FILE *f, const struct lw_frame *fr)
{
	if (fr->python) { /* no pc: a Python function, its file and line */
		fputs("{\"language\":\"python\",\"function\":", f);
		lw_json_str(f, fr->function);
		fputs(",\"file\":", f);
		lw_json_str(f, fr->file);
		fprintf(f, ",\"line\":%d}", fr->line);
		return;
	}
	fprintf(f, "{\"pc\":\"0x%" PRIx64 "\",\"function\":", fr->pc);
	lw_json_str(f, fr->function);
	fprintf(f, ",\"offset\":%" PRIu64 ",\"module\":", fr->offset);
	lw_json_str(f, fr->module);
	if (fr->inlined) /* inlined into the next frame's function, at the same pc */
		fputs(",\"inlined\":true", f);
	if (fr->file && fr->line > 0) {
		fputs(",\"file\":", f);
		lw_json_str(f, fr->file);
		fprintf(f, ",\"line\":%d", fr->line);
	}
	fputc('}', f);
}

static void json_thread(FILE *f, const struct lw_alert_thread *t)
{
	int i;

	fputc('{', f);
	json_participant_fields(f, &t->who);
	fprintf(f, ",\"blocked_for_ms\":%" PRIu64, t->blocked_for_ms);
	if (t->blocked_at_least) /* blocked before lockwatch looked */
		fputs(",\"blocked_for_ms_is_lower_bound\":true", f);
	fputs(",\"stack\":[", f);
	for (i = 0; i < t->nframes; i++) {
		if (i)
			fputc(',', f);
		json_frame(f, &t->stack[i]);
	}
	fputc(']', f);
	/* an addition to schema 1: why "stack" is short or empty */
	if (t->stack_err) {
		fputs(",\"stack_error\":", f);
		lw_json_str(f, strerror(abs(t->stack_err)));
	}
	fputc('}', f);
}

static void json_frames(FILE *f, const char *field, const struct lw_frame *fr, int n)
{
	fprintf(f, ",\"%s\":[", field);
	for (int i = 0; i < n; i++) {
		if (i)
			fputc(',', f);
		json_frame(f, &fr[i]);
	}
	fputc(']', f);
}

/* A lock of the alert, or null. */
static void json_lock_at(FILE *f, const struct lw_alert *a, int i)
{
	if (i >= 0 && i < a->nlocks)
		json_lock(f, &a->locks[i], 0);
	else
		fputs("null", f);
}

static void json_hold(FILE *f, const struct lw_alert *a, const struct lw_alert_hold *h, int i)
{
	fputs(i ? ",{\"lock\":" : "{\"lock\":", f);
	json_lock_at(f, a, h->lock);
	fputs(",\"holder\":", f);
	json_participant(f, &h->holder);
	if (h->held_for_ms)
		fprintf(f, ",\"held_for_ms\":%" PRIu64, h->held_for_ms);
	else
		fputs(",\"held_for_ms\":null", f);
	fputs(h->read ? ",\"read\":true" : ",\"read\":false", f);
	json_frames(f, "taken_at", h->taken_at, h->ntaken_at);
	fputc('}', f);
}

/* One order of a cycle: held, then taken, by thread; an rwlock's mode. */
static void json_order(FILE *f, const struct lw_alert *a, const struct lw_alert_order *o, int i)
{
	fputs(i ? ",{\"held\":" : "{\"held\":", f);
	json_lock_at(f, a, o->held);
	fputs(",\"held_as\":", f);
	lw_json_str(f, o->held_as);
	fputs(",\"taken\":", f);
	json_lock_at(f, a, o->taken);
	fputs(",\"taken_as\":", f);
	lw_json_str(f, o->taken_as);
	fputs(",\"thread\":", f);
	json_participant(f, &o->thread);
	json_frames(f, "held_at", o->held_at, o->nheld_at);
	json_frames(f, "taken_at", o->taken_at, o->ntaken_at);
	fputc('}', f);
}

static void json_alert(struct lw_sink *s, const struct lw_alert *a)
{
	FILE *f = s->out;
	int i;

	json_head(f, &a->time, lw_alert_kind_name(a->kind));
	fputs(",\"summary\":", f);
	lw_json_str(f, a->summary);

	fputs(",\"processes\":[", f);
	for (i = 0; i < a->nprocs; i++) {
		const struct lw_alert_process *p = &a->procs[i];

		fprintf(f, "%s{\"pid\":%d,\"comm\":", i ? "," : "", p->pid);
		lw_json_str(f, p->comm);
		fputs(",\"exe\":", f);
		lw_json_str(f, p->exe[0] ? p->exe : NULL);
		fputc('}', f);
	}

	/* a deadlock's waits form a cycle; other alerts list them as waits */
	fputs(a->kind == LW_ALERT_DEADLOCK ? "],\"cycle\":[" : "],\"waits\":[", f);
	for (i = 0; i < a->nwaits; i++) {
		const struct lw_alert_wait *e = &a->waits[i];

		fputs(i ? ",{\"waiter\":" : "{\"waiter\":", f);
		json_participant(f, &e->waiter);
		fputs(",\"waits_for\":", f);
		if (e->lock >= 0 && e->lock < a->nlocks)
			json_lock(f, &a->locks[e->lock], 0);
		else
			fputs("null", f);
		fputs(",\"held_by\":", f);
		json_participant(f, &e->held_by);
		fputc('}', f);
	}

	fputs("],\"threads\":[", f);
	for (i = 0; i < a->nthreads; i++) {
		if (i)
			fputc(',', f);
		json_thread(f, &a->threads[i]);
	}

	fputs("],\"locks\":[", f);
	for (i = 0; i < a->nlocks; i++) {
		if (i)
			fputc(',', f);
		json_lock(f, &a->locks[i], 1);
	}
	fputc(']', f);
	/* additions to schema 1: long_hold, an orphan nobody waits for yet, a
	 * deadlock through an rwlock's readers */
	if (a->kind == LW_ALERT_LONG_HOLD || a->kind == LW_ALERT_DUMP || a->nholds) {
		fputs(",\"holds\":[", f);
		for (i = 0; i < a->nholds; i++)
			json_hold(f, a, &a->holds[i], i);
		fputc(']', f);
	}
	/* ... lock_order */
	if (a->kind == LW_ALERT_LOCK_ORDER) {
		fputs(",\"orders\":[", f);
		for (i = 0; i < a->norders; i++)
			json_order(f, a, &a->orders[i], i);
		fputc(']', f);
	}
	/* ... hang: what could still wake the process (signal numbers) */
	if (a->kind == LW_ALERT_HANG) {
		fputs(",\"signal_handlers\":[", f);
		for (int sig = 1, k = 0; sig <= 64; sig++)
			if (a->sigcgt & (1ull << (sig - 1)))
				fprintf(f, "%s%d", k++ ? "," : "", sig);
		fprintf(f, "],\"timers\":%d", a->ntimers);
	}
	fputs("}\n", f);
	fflush(f);
}

static void json_summary(struct lw_sink *s, const struct lw_summary *sum)
{
	struct timespec now;
	FILE *f = s->out;

	clock_gettime(CLOCK_REALTIME, &now);
	json_head(f, &now, "summary");
	fprintf(f,
		",\"duration_ms\":%" PRIu64 ",\"waits\":%" PRIu64 ",\"events\":%" PRIu64
		",\"drops\":%" PRIu64 ",\"waits_full\":%" PRIu64 ",\"alerts\":%" PRIu64
		",\"deadlocks\":%" PRIu64 ",\"cpu_ms\":%" PRIu64 ",\"max_rss_kb\":%" PRIu64
		",\"python_processes\":%" PRIu64 ",\"python_looks\":%" PRIu64
		",\"python_rereads\":%" PRIu64 ",\"python_rereads_partial\":%" PRIu64
		",\"python_holds\":%" PRIu64 ",\"python_loops\":%" PRIu64
		",\"loop_samples\":%" PRIu64 ",\"loop_busy\":%" PRIu64 ",\"python_orders\":%" PRIu64
		",\"lock_acquires\":%" PRIu64 ",\"lock_orders\":%" PRIu64
		",\"held_overflow\":%" PRIu64 ",\"orders_full\":%" PRIu64
		",\"orders_later\":%" PRIu64 ",\"waits_over_share\":%" PRIu64
		",\"python_looks_cut\":%" PRIu64 ",\"holds_full\":%" PRIu64
		",\"holds_over_share\":%" PRIu64 ",\"debuginfo_files\":%" PRIu64
		",\"debuginfo_kb\":%" PRIu64,
		sum->duration_ms, sum->waits, sum->events, sum->drops, sum->waits_full, sum->alerts,
		sum->deadlocks, sum->cpu_ms, sum->max_rss_kb, sum->python_processes,
		sum->python_looks, sum->python_rereads, sum->python_rereads_partial,
		sum->python_holds, sum->python_loops, sum->loop_samples, sum->loop_busy,
		sum->python_orders, sum->lock_acquires, sum->lock_orders, sum->held_overflow,
		sum->orders_full, sum->orders_later, sum->waits_over_share, sum->python_looks_cut,
		sum->holds_full, sum->holds_over_share, sum->debuginfo_files, sum->debuginfo_kb);
	if (sum->blocked) {
		/* `check`: what every blocked thread waits for, by lock */
		fputs(",\"blocked\":[", f);
		for (int i = 0; i < sum->nblocked; i++) {
			const struct lw_blocked *b = &sum->blocked[i];

			fputs(i ? ",{\"waits_for\":" : "{\"waits_for\":", f);
			json_lock(f, &b->lock, 1);
			fprintf(f, ",\"count\":%d,\"waiters\":[", b->nwaiters);
			for (int k = 0; k < b->nwaiters && k < LW_BLOCKED_NAMED; k++) {
				if (k)
					fputc(',', f);
				json_participant(f, &b->waiters[k]);
			}
			fputs("]}", f);
		}
		fputc(']', f);
	}
	fputs("}\n", f);
	fflush(f);
}

char *sink__json_line(const struct lw_alert *a)
{
	struct lw_sink s = { .ops = NULL };
	char *buf = NULL;
	size_t len;

	s.out = open_memstream(&buf, &len);
	if (!s.out)
		return NULL;
	json_alert(&s, a);
	if (fclose(s.out) || !buf) {
		free(buf);
		return NULL;
	}
	if (len && buf[len - 1] == '\n')
		buf[len - 1] = '\0';
	return buf;
}

/* The FILE belongs to the caller (stdout, usually): not closed here. */
static void json_destroy(struct lw_sink *s)
{
	free(s);
}

static const struct lw_sink_ops json_ops = {
	.alert = json_alert,
	.summary = json_summary,
	.destroy = json_destroy,
};

struct lw_sink *sink__json(FILE *out)
{
	struct lw_sink *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->ops = &json_ops;
	s->out = out;
	return s;
}
