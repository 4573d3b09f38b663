/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Where alerts go. Every output (terminal text, JSON lines, and later
 * syslog/journald and the module's files) is a sink behind this one
 * interface; main.c builds a list and detect.c hands each alert to all.
 */
#ifndef LW_SINK_H
#define LW_SINK_H

#include <stdint.h>
#include <stdio.h>
#include "report/alert.h"

struct lw_sink;
struct lw_graph;
struct lw_syms_cache;

struct lw_sink_ops {
	void (*alert)(struct lw_sink *s, const struct lw_alert *a);
	/* optional: the wait-for graph after each look, now_ns CLOCK_MONOTONIC */
	void (*graph)(struct lw_sink *s, struct lw_graph *g, uint64_t now_ns);
	void (*summary)(struct lw_sink *s, const struct lw_summary *sum);
	void (*destroy)(struct lw_sink *s);
};

struct lw_sink {
	const struct lw_sink_ops *ops;
	FILE *out;
	struct lw_sink *next;
};

/* Human text for a terminal or a log file. */
struct lw_sink *sink__text(FILE *out);
/* One JSON object per line, DESIGN.md schema version 1. */
struct lw_sink *sink__json(FILE *out);
/*
 * The graph, counters and recent alerts as files (kmod/FORMAT.md): published
 * to the module's /sys/kernel/lockwatch/publish when sysfs is set, else
 * written under dir (/run/lockwatch) by atomic replace. NULL and errno when
 * the place cannot be used.
 */
struct lw_sink *sink__files(const char *dir, int sysfs, struct lw_syms_cache *syms);

void sinks__alert(struct lw_sink *head, const struct lw_alert *a);
void sinks__graph(struct lw_sink *head, struct lw_graph *g, uint64_t now_ns);
void sinks__summary(struct lw_sink *head, const struct lw_summary *sum);
void sinks__destroy(struct lw_sink *head);

#endif /* LW_SINK_H */
