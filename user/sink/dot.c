// SPDX-License-Identifier: GPL-2.0
/*
 * The picture of `check`: the wait-for graph in Graphviz DOT - threads and
 * asyncio tasks as boxes, locks (and joins, futures, the GIL...) as
 * ellipses, an edge from each waiter to what it waits for and from that to
 * its holder, the cycles of the deadlocks found in red, each participant's
 * stack (as the alert has it) as its tooltip - written to stdout (--dot)
 * or rendered to an SVG file with Graphviz's own library (--svg FILE).
 * It keeps the last graph model and the alerts, and draws at the summary.
 * Every name is the watched process's: escaped for a terminal, then for a
 * DOT string, so that it can end no string and start no statement.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <graphviz/gvc.h>
#include "sink/sink.h"
#include "sys/escape.h"
#include "sys/log.h"

#define MAX_CYCLE 1024 /* cycle edges kept, of every deadlock */
#define MAX_SHOWN 1024 /* stacks kept */
#define TOOLTIP_FRAMES 16

struct shown {
	char id[64];
	char *stack; /* DOT-escaped tooltip */
};

/* a lock as an alert names it (the graph's model may not have its name) */
struct named {
	char id[64];
	char name[LW_NAME_LEN];
};

struct dot_sink {
	struct lw_sink base;
	const char *svg; /* NULL: DOT on out */
	struct lw_model_wait *waits;
	int nwaits;
	char (*cycle)[2][64]; /* waiter id, lock id */
	int ncycle;
	struct shown *shown;
	int nshown;
	struct named *named;
	int nnamed;
	int failed;
};

/* s as the inside of a DOT string: escaped for a terminal, then '\' and '"' */
static void dot_str(FILE *f, const char *s)
{
	char *buf = NULL;
	size_t len;
	FILE *m = open_memstream(&buf, &len);

	if (!m)
		return;
	lw_text_str(m, s ? s : "");
	if (fclose(m) || !buf) {
		free(buf);
		return;
	}
	for (const char *c = buf; *c; c++) {
		if (*c == '\\' || *c == '"')
			fputc('\\', f);
		fputc(*c, f);
	}
	free(buf);
}

static void participant_id(char *id, size_t len, const struct lw_alert_participant *p)
{
	if (p->type && !strcmp(p->type, "task"))
		snprintf(id, len, "task:%d:%" PRIx64, p->pid, p->addr);
	else
		snprintf(id, len, "thread:%d:%d", p->pid, p->tid);
}

static void lock_id(char *id, size_t len, const struct lw_alert_lock *l)
{
	snprintf(id, len, "lock:%.56s", l->key);
}

static void dot_graph(struct lw_sink *s, const struct lw_graph_model *g, uint64_t now_ns)
{
	struct dot_sink *d = (struct dot_sink *)s;
	struct lw_model_wait *v = g->nwaits ? malloc(g->nwaits * sizeof(*v)) : NULL;

	(void)now_ns;
	if (g->nwaits && !v)
		return; /* the last one, rather than none */
	if (g->nwaits)
		memcpy(v, g->waits, g->nwaits * sizeof(*v));
	free(d->waits);
	d->waits = v;
	d->nwaits = g->nwaits;
}

/* A participant's stack as a tooltip: a frame a line. */
static char *tooltip(const struct lw_alert_thread *t)
{
	char *buf = NULL;
	size_t len;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	for (int i = 0; i < t->nframes && i < TOOLTIP_FRAMES; i++) {
		const struct lw_frame *fr = &t->stack[i];
		char line[600];

		if (fr->file)
			snprintf(line, sizeof(line), "%s (%s:%d)",
				 fr->function ? fr->function : "??", fr->file, fr->line);
		else
			snprintf(line, sizeof(line), "%s", fr->function ? fr->function : "??");
		dot_str(f, line);
		fputs("\\n", f);
	}
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	return buf;
}

static void dot_alert(struct lw_sink *s, const struct lw_alert *a)
{
	struct dot_sink *d = (struct dot_sink *)s;

	if (a->kind == LW_ALERT_DEADLOCK)
		for (int i = 0; i < a->nwaits && d->ncycle < MAX_CYCLE; i++) {
			participant_id(d->cycle[d->ncycle][0], 64, &a->waits[i].waiter);
			if (a->waits[i].lock >= 0 && a->waits[i].lock < a->nlocks)
				lock_id(d->cycle[d->ncycle][1], 64, &a->locks[a->waits[i].lock]);
			else
				d->cycle[d->ncycle][1][0] = '\0';
			d->ncycle++;
		}
	for (int i = 0; i < a->nlocks && d->nnamed < MAX_SHOWN; i++) {
		struct named *n = &d->named[d->nnamed];

		lock_id(n->id, sizeof(n->id), &a->locks[i]);
		snprintf(n->name, sizeof(n->name), "%s", a->locks[i].name);
		d->nnamed += !!n->name[0];
	}
	for (int i = 0; i < a->nthreads && d->nshown < MAX_SHOWN; i++) {
		struct shown *sh = &d->shown[d->nshown];

		participant_id(sh->id, sizeof(sh->id), &a->threads[i].who);
		sh->stack = tooltip(&a->threads[i]);
		d->nshown += !!sh->stack;
	}
}

static int in_cycle(const struct dot_sink *d, const char *a, const char *b)
{
	for (int i = 0; i < d->ncycle; i++)
		if (!strcmp(d->cycle[i][0], a) && (!b || !strcmp(d->cycle[i][1], b)))
			return 1;
	return 0;
}

static const char *name_of(const struct dot_sink *d, const struct lw_alert_lock *l)
{
	char id[64];

	if (l->name[0])
		return l->name;
	lock_id(id, sizeof(id), l);
	for (int i = 0; i < d->nnamed; i++)
		if (!strcmp(d->named[i].id, id))
			return d->named[i].name;
	return l->key;
}

static const char *stack_of(const struct dot_sink *d, const char *id)
{
	for (int i = 0; i < d->nshown; i++)
		if (!strcmp(d->shown[i].id, id))
			return d->shown[i].stack;
	return NULL;
}

/* A participant's node (drawn again for each wait it is in: DOT merges). */
static void node(FILE *f, const struct dot_sink *d, const struct lw_alert_participant *p,
		 const char *comm)
{
	int task = p->type && !strcmp(p->type, "task");
	char id[64];
	const char *stack;

	participant_id(id, sizeof(id), p);
	fprintf(f, "  \"%s\" [shape=box%s%s, label=\"", id, task ? ", style=rounded" : "",
		in_cycle(d, id, NULL) ? ", color=red, fontcolor=red" : "");
	if (task) {
		fputs("task ", f);
		dot_str(f, p->name[0] ? p->name : "?");
	} else {
		fprintf(f, "thread %d\\n", p->tid);
		dot_str(f, p->name[0] ? p->name : comm && comm[0] ? comm : "?");
	}
	fprintf(f, "\\npid %d\"", p->pid);
	if ((stack = stack_of(d, id)))
		fprintf(f, ", tooltip=\"%s\"", stack);
	fputs("];\n", f);
}

static void write_dot(FILE *f, const struct dot_sink *d, const struct lw_summary *sum)
{
	char w[64], l[64], h[64];

	fputs("digraph lockwatch {\n  rankdir=LR;\n  node [fontname=\"monospace\", fontsize=10];\n"
	      "  edge [fontname=\"monospace\", fontsize=9];\n",
	      f);
	fprintf(f, "  label=\"lockwatch: %u blocked, %" PRIu64 " deadlock%s\";\n",
		(unsigned int)d->nwaits, sum->deadlocks, sum->deadlocks == 1 ? "" : "s");
	/* nodes may repeat: DOT merges a node's attributes */
	for (int i = 0; i < d->nwaits; i++) {
		const struct lw_model_wait *mw = &d->waits[i];

		node(f, d, &mw->waiter, mw->comm);
		if (mw->holder.pid)
			node(f, d, &mw->holder, NULL);
		lock_id(l, sizeof(l), &mw->lock);
		fprintf(f, "  \"%s\" [shape=ellipse, label=\"", l);
		dot_str(f, mw->lock.type);
		fputs("\\n", f);
		dot_str(f, name_of(d, &mw->lock));
		fputs("\"];\n", f);
	}
	for (int i = 0; i < d->nwaits; i++) {
		const struct lw_model_wait *mw = &d->waits[i];
		int cyc;

		participant_id(w, sizeof(w), &mw->waiter);
		lock_id(l, sizeof(l), &mw->lock);
		cyc = in_cycle(d, w, l);
		fprintf(f, "  \"%s\" -> \"%s\" [label=\"waits", w, l);
		if (mw->blocked_ms)
			fprintf(f, " %" PRIu64 ".%01" PRIu64 " s", mw->blocked_ms / 1000,
				mw->blocked_ms % 1000 / 100);
		fprintf(f, "\"%s];\n", cyc ? ", color=red, penwidth=2" : "");
		if (!mw->holder.pid)
			continue;
		participant_id(h, sizeof(h), &mw->holder);
		fprintf(f, "  \"%s\" -> \"%s\" [label=\"held by\", style=dashed%s];\n", l, h,
			cyc ? ", color=red, penwidth=2" : "");
	}
	fputs("}\n", f);
}

/* The DOT, laid out and rendered by Graphviz into an SVG file. */
static int render_svg(const char *dot, const char *path)
{
	GVC_t *gvc = gvContext();
	Agraph_t *g = gvc ? agmemread(dot) : NULL;
	int err = !g || gvLayout(gvc, g, "dot") || gvRenderFilename(gvc, g, "svg", path);

	if (g) {
		gvFreeLayout(gvc, g);
		agclose(g);
	}
	if (gvc)
		gvFreeContext(gvc);
	return err ? -1 : 0;
}

static void dot_summary(struct lw_sink *s, const struct lw_summary *sum)
{
	struct dot_sink *d = (struct dot_sink *)s;
	char *buf = NULL;
	size_t len;
	FILE *m;

	if (!d->svg) {
		write_dot(s->out, d, sum);
		fflush(s->out);
		return;
	}
	m = open_memstream(&buf, &len);
	if (!m)
		return;
	write_dot(m, d, sum);
	if (fclose(m) || !buf || render_svg(buf, d->svg))
		lw_err("--svg: cannot render the graph into %s", d->svg);
	free(buf);
}

static void dot_destroy(struct lw_sink *s)
{
	struct dot_sink *d = (struct dot_sink *)s;

	for (int i = 0; i < d->nshown; i++)
		free(d->shown[i].stack);
	free(d->shown);
	free(d->named);
	free(d->cycle);
	free(d->waits);
	free(d);
}

static const struct lw_sink_ops dot_ops = {
	.alert = dot_alert,
	.graph = dot_graph,
	.summary = dot_summary,
	.destroy = dot_destroy,
};

struct lw_sink *sink__dot(FILE *out, const char *svg)
{
	struct dot_sink *d = calloc(1, sizeof(*d));

	if (!d || !(d->cycle = calloc(MAX_CYCLE, sizeof(*d->cycle))) ||
	    !(d->shown = calloc(MAX_SHOWN, sizeof(*d->shown))) ||
	    !(d->named = calloc(MAX_SHOWN, sizeof(*d->named)))) {
		if (d) {
			free(d->cycle);
			free(d->shown);
		}
		free(d);
		errno = ENOMEM;
		return NULL;
	}
	d->base.ops = &dot_ops;
	d->base.out = out;
	d->svg = svg;
	return &d->base;
}
