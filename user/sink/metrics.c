// SPDX-License-Identifier: GPL-2.0
/*
 * The metrics sink: lockwatch's counters in the Prometheus text format, in
 * a file for node_exporter's textfile collector (its *.prom files), written
 * aside and renamed into place each time, so that a scrape never reads half
 * of it. Alerts by kind and deadlocks are counted here as they pass; the
 * waits now (threads and tasks blocked, the longest wait) come from the
 * graph model of each turn; events, drops, watched processes and
 * lockwatch's own CPU and memory from the counters the loop hands every
 * sink about once a second, and once more at the end.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "sink/sink.h"
#include "sys/log.h"

#define NKINDS LW_ALERT_DUMP /* every kind of alert comes before it */

struct metrics_sink {
	struct lw_sink base;
	char *path, *tmp;
	uint64_t alerts[NKINDS];
	uint64_t deadlocks; /* deadlock-class alerts */
	unsigned int standing; /* the graph's: confirmed findings standing */
	unsigned int blocked_threads, blocked_tasks;
	uint64_t longest_ms;
	int failed; /* said once that the file could not be written */
};

static void metric(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* The file anew: 0 or an errno (said once). */
static int write_file(struct metrics_sink *m, const struct lw_summary *sum)
{
	int fd = open(m->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	int err;

	if (!f) {
		err = errno;
		if (fd >= 0)
			close(fd);
		goto fail;
	}
	metric(f, "lockwatch_alerts_total", "counter", "Alerts reported, by kind.");
	for (int k = 0; k < NKINDS; k++)
		fprintf(f, "lockwatch_alerts_total{kind=\"%s\"} %llu\n", lw_alert_kind_name(k),
			(unsigned long long)m->alerts[k]);
	metric(f, "lockwatch_deadlocks_total", "counter",
	       "Deadlock-class alerts reported (deadlock, orphaned_lock, lock_order).");
	fprintf(f, "lockwatch_deadlocks_total %llu\n", (unsigned long long)m->deadlocks);
	metric(f, "lockwatch_deadlocks_standing", "gauge",
	       "Deadlock-class findings confirmed and still standing.");
	fprintf(f, "lockwatch_deadlocks_standing %u\n", m->standing);
	metric(f, "lockwatch_blocked", "gauge", "Threads and asyncio tasks waiting now, by type.");
	fprintf(f, "lockwatch_blocked{type=\"thread\"} %u\n", m->blocked_threads);
	fprintf(f, "lockwatch_blocked{type=\"task\"} %u\n", m->blocked_tasks);
	metric(f, "lockwatch_longest_wait_seconds", "gauge",
	       "The longest wait now, as far as lockwatch has seen it.");
	fprintf(f, "lockwatch_longest_wait_seconds %llu.%03llu\n",
		(unsigned long long)m->longest_ms / 1000, (unsigned long long)m->longest_ms % 1000);
	metric(f, "lockwatch_events_total", "counter", "Ring-buffer records handled.");
	fprintf(f, "lockwatch_events_total %llu\n", (unsigned long long)sum->events);
	metric(f, "lockwatch_events_dropped_total", "counter",
	       "Ring-buffer records lost (the ring was full).");
	fprintf(f, "lockwatch_events_dropped_total %llu\n", (unsigned long long)sum->drops);
	metric(f, "lockwatch_waits_total", "counter", "Futex waits the kernel side tracked.");
	fprintf(f, "lockwatch_waits_total %llu\n", (unsigned long long)sum->waits);
	metric(f, "lockwatch_watched_processes", "gauge",
	       "Processes watched (-p, a command and its children); 0: the whole host.");
	fprintf(f, "lockwatch_watched_processes %llu\n", (unsigned long long)sum->watched);
	metric(f, "lockwatch_cpu_seconds_total", "counter", "lockwatch's own CPU time.");
	fprintf(f, "lockwatch_cpu_seconds_total %llu.%03llu\n",
		(unsigned long long)sum->cpu_ms / 1000, (unsigned long long)sum->cpu_ms % 1000);
	metric(f, "lockwatch_max_resident_memory_bytes", "gauge", "lockwatch's own peak RSS.");
	fprintf(f, "lockwatch_max_resident_memory_bytes %llu\n",
		(unsigned long long)sum->max_rss_kb * 1024);
	err = ferror(f) ? EIO : 0;
	if (fclose(f) && !err)
		err = errno;
	if (!err && rename(m->tmp, m->path))
		err = errno;
	if (!err) {
		m->failed = 0;
		return 0;
	}
fail:
	unlink(m->tmp);
	if (!m->failed)
		lw_err("--metrics-file: cannot write %s: %s", m->path, strerror(err));
	m->failed = 1;
	return err;
}

static void metrics_alert(struct lw_sink *s, const struct lw_alert *a)
{
	struct metrics_sink *m = (struct metrics_sink *)s;

	if (a->kind >= NKINDS)
		return;
	m->alerts[a->kind]++;
	m->deadlocks += a->kind == LW_ALERT_DEADLOCK || a->kind == LW_ALERT_ORPHANED_LOCK ||
			a->kind == LW_ALERT_LOCK_ORDER;
}

static void metrics_graph(struct lw_sink *s, const struct lw_graph_model *g, uint64_t now_ns)
{
	struct metrics_sink *m = (struct metrics_sink *)s;

	(void)now_ns;
	m->standing = g->deadlocks;
	m->blocked_threads = m->blocked_tasks = 0;
	m->longest_ms = 0;
	for (int i = 0; i < g->nwaits; i++) {
		const struct lw_model_wait *w = &g->waits[i];

		if (w->waiter.type && !strcmp(w->waiter.type, "task"))
			m->blocked_tasks++;
		else
			m->blocked_threads++;
		if (w->blocked_ms > m->longest_ms)
			m->longest_ms = w->blocked_ms;
	}
}

static void metrics_stats(struct lw_sink *s, const struct lw_summary *sum)
{
	write_file((struct metrics_sink *)s, sum);
}

static void metrics_destroy(struct lw_sink *s)
{
	struct metrics_sink *m = (struct metrics_sink *)s;

	free(m->path);
	free(m->tmp);
	free(m);
}

static const struct lw_sink_ops metrics_ops = {
	.alert = metrics_alert,
	.graph = metrics_graph,
	.summary = metrics_stats,
	.stats = metrics_stats,
	.destroy = metrics_destroy,
};

struct lw_sink *sink__metrics(const char *path)
{
	struct metrics_sink *m = calloc(1, sizeof(*m));
	int err;

	if (!m)
		return NULL;
	m->base.ops = &metrics_ops;
	/* aside in the same folder (a rename within it is atomic); the
	 * textfile collector reads *.prom only */
	m->path = strdup(path);
	if (!m->path || asprintf(&m->tmp, "%s.tmp", path) < 0) {
		m->tmp = NULL;
		metrics_destroy(&m->base);
		errno = ENOMEM;
		return NULL;
	}
	/* written at once: a place it cannot be written is an error now */
	m->failed = 1; /* said by the caller */
	err = write_file(m, &(struct lw_summary){ 0 });
	if (err) {
		metrics_destroy(&m->base);
		errno = err;
		return NULL;
	}
	return &m->base;
}
