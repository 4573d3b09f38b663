/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Where alerts go. Every output (terminal text, JSON lines, and later
 * syslog/journald and the module's files) is a sink behind this one
 * interface; main.c builds a list and detect.c hands each alert to all.
 */
#ifndef LW_SINK_H
#define LW_SINK_H

#include <stdio.h>
#include "alert.h"

struct lw_sink;

struct lw_sink_ops {
	void (*alert)(struct lw_sink *s, const struct lw_alert *a);
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

void sinks__alert(struct lw_sink *head, const struct lw_alert *a);
void sinks__summary(struct lw_sink *head, const struct lw_summary *sum);
void sinks__destroy(struct lw_sink *head);

#endif /* LW_SINK_H */
