/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Where alerts go. Every output (terminal text, JSON lines, the graph as
 * files, journald, and later syslog and metrics) is a sink behind this one
 * interface. Sinks receive finished models (report/model.h) - an alert, the
 * graph with its counts computed, the summary - and never call back into the
 * graph, the detectors or the sources.
 */
#ifndef LW_SINK_H
#define LW_SINK_H

#include <stdint.h>
#include <stdio.h>
#include "report/model.h"

/* The kernel module's publish file (kmod/FORMAT.md). */
#define LW_MODULE_PUBLISH "/sys/kernel/lockwatch/publish"
/* The system logger's socket (--syslog). */
#define LW_SYSLOG_SOCKET "/dev/log"
/* Where the same files go without the module. */
#define LW_RUN_DIR "/run/lockwatch"

struct lw_sink;

struct lw_sink_ops {
	void (*alert)(struct lw_sink *s, const struct lw_alert *a);
	/* optional: the graph after each look, now_ns CLOCK_MONOTONIC */
	void (*graph)(struct lw_sink *s, const struct lw_graph_model *m, uint64_t now_ns);
	void (*summary)(struct lw_sink *s, const struct lw_summary *sum);
	/* optional: the run's counters so far, while watching (about once a
	 * second) */
	void (*stats)(struct lw_sink *s, const struct lw_summary *sum);
	/* optional: SIGHUP - a file rotated away is opened again */
	void (*reopen)(struct lw_sink *s);
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
/* An alert's JSON object as sink__json() writes it, without the newline;
 * malloc'd, NULL when out of memory. */
char *sink__json_line(const struct lw_alert *a);
/* Each alert as a structured journald entry (user/sink/journal.c). */
struct lw_sink *sink__journal(void);
/* The counters, as a Prometheus text file at path for node_exporter's
 * textfile collector, replaced whole each time (user/sink/metrics.c). */
struct lw_sink *sink__metrics(const char *path);
/* Alerts appended to the file at path as JSON lines, the same alert again
 * within a minute only counted; opened again on SIGHUP (user/sink/logfile.c).
 * NULL and errno when it cannot be opened. */
struct lw_sink *sink__logfile(const char *path);
/* The wait-for graph of the last turn, the deadlocks' cycles in red, as
 * Graphviz DOT on out at the summary - or, with svg, rendered by Graphviz
 * into that file (user/sink/dot.c). */
struct lw_sink *sink__dot(FILE *out, const char *svg);
/* For each deadlock-class alert, `sh -c cmd` with the alert's JSON line on
 * its stdin, bounded in time and number (user/sink/onalert.c). */
struct lw_sink *sink__onalert(const char *cmd);
/* Each alert as an RFC 5424 message to the system logger's socket at path
 * (user/sink/syslog.c); NULL and errno when it cannot be reached. */
struct lw_sink *sink__syslog(const char *path);
/*
 * The graph, counters and recent alerts as files (kmod/FORMAT.md): published
 * to the module (LW_MODULE_PUBLISH) when sysfs is set, else written under
 * LW_RUN_DIR by atomic replace. NULL and errno when the place cannot be used;
 * sink__files_strerror(errno) says why.
 */
struct lw_sink *sink__files(int sysfs);
const char *sink__files_strerror(int err);

/* An alert's headline, "DEADLOCK: summary" (the summary escaped for a
 * terminal), as the text, journal and syslog sinks begin it. */
void sink__headline(FILE *f, const struct lw_alert *a);

/* The sinks, as a list. s at its end. */
void sinks__add(struct lw_sink **head, struct lw_sink *s);
void sinks__alert(struct lw_sink *head, const struct lw_alert *a);
/* 1 when a sink wants the graph (building the model costs /proc reads). */
int sinks__want_graph(const struct lw_sink *head);
void sinks__graph(struct lw_sink *head, const struct lw_graph_model *m, uint64_t now_ns);
void sinks__summary(struct lw_sink *head, const struct lw_summary *sum);
/* 1 when a sink wants the counters while watching. */
int sinks__want_stats(const struct lw_sink *head);
void sinks__stats(struct lw_sink *head, const struct lw_summary *sum);
void sinks__reopen(struct lw_sink *head);
void sinks__destroy(struct lw_sink *head);

#endif /* LW_SINK_H */
