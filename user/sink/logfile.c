// SPDX-License-Identifier: GPL-2.0
/*
 * The log-file sink: each alert appended to a file as its JSON line (as
 * --json writes it), and the run's summary at the end. The same alert again
 * - the same kind about the same processes and locks, a lock order or a long
 * wait that comes back - within REPEAT_S of the last one written is counted,
 * not written: the next one written says how many were left out
 * ("suppressed"), and the summary how many were never said. SIGHUP opens
 * the file again at its path, after logrotate moved it away.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "sink/sink.h"
#include "sys/hash.h"
#include "sys/log.h"

#define REPEAT_S 60
#define RECENT 256 /* alerts remembered for that */

struct recent {
	uint64_t key;
	time_t at; /* CLOCK_REALTIME seconds it was last written */
	uint64_t suppressed; /* since */
};

struct logfile_sink {
	struct lw_sink base;
	char *path;
	struct lw_sink *json; /* writes the summary into out */
	struct recent recent[RECENT];
	uint64_t evicted; /* suppressed counts of slots given to other alerts */
	int failed; /* said once that the file could not be written */
};

static FILE *open_log(const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
	FILE *f = fd >= 0 ? fdopen(fd, "a") : NULL;

	if (!f && fd >= 0)
		close(fd);
	return f;
}

/* What makes an alert the same again: its kind, processes and locks. */
static uint64_t key_of(const struct lw_alert *a)
{
	uint64_t k = lw_hash_combine(0x6c6f67, (uint64_t)a->kind), sum = 0;

	/* order-free: the same alert may list them in another order */
	for (int i = 0; i < a->nprocs; i++)
		sum += lw_hash_combine(1, (uint64_t)a->procs[i].pid);
	for (int i = 0; i < a->nlocks; i++)
		sum += lw_hash_combine(lw_hash_combine(2, a->locks[i].addr),
				       (uint64_t)a->locks[i].pid);
	return lw_hash_combine(k, sum);
}

/* Its slot: the one with key, or the oldest. */
static struct recent *slot(struct logfile_sink *l, uint64_t key)
{
	struct recent *old = &l->recent[0];

	for (int i = 0; i < RECENT; i++) {
		if (l->recent[i].key == key)
			return &l->recent[i];
		if (l->recent[i].at < old->at)
			old = &l->recent[i];
	}
	l->evicted += old->suppressed;
	*old = (struct recent){ .key = key };
	return old;
}

static void failed(struct logfile_sink *l, int err)
{
	if (!l->failed)
		lw_err("--log-file: cannot write %s: %s", l->path, strerror(err));
	l->failed = 1;
}

static void logfile_alert(struct lw_sink *s, const struct lw_alert *a)
{
	struct logfile_sink *l = (struct logfile_sink *)s;
	struct recent *r;
	char *line;
	size_t len;

	if (a->kind == LW_ALERT_DUMP || !s->out)
		return;
	r = slot(l, key_of(a));
	if (r->at && a->time.tv_sec >= r->at && a->time.tv_sec - r->at < REPEAT_S) {
		r->suppressed++;
		return;
	}
	line = sink__json_line(a);
	if (!line) {
		failed(l, ENOMEM);
		return;
	}
	/* the object, with how many of it were left out since the last */
	len = strlen(line);
	if (r->suppressed && len && line[len - 1] == '}')
		fprintf(s->out, "%.*s,\"suppressed\":%llu}\n", (int)len - 1, line,
			(unsigned long long)r->suppressed);
	else
		fprintf(s->out, "%s\n", line);
	free(line);
	if (fflush(s->out)) {
		failed(l, errno);
		return;
	}
	r->at = a->time.tv_sec;
	r->suppressed = 0;
}

/* The summary, with how many alerts were left out and not said since. */
static void logfile_summary(struct lw_sink *s, const struct lw_summary *sum)
{
	struct logfile_sink *l = (struct logfile_sink *)s;
	uint64_t suppressed = l->evicted;
	char *line = NULL;
	size_t len;

	if (!s->out)
		return;
	for (int i = 0; i < RECENT; i++)
		suppressed += l->recent[i].suppressed;
	l->json->out = open_memstream(&line, &len);
	if (!l->json->out) {
		failed(l, errno);
		return;
	}
	l->json->ops->summary(l->json, sum);
	if (fclose(l->json->out) || !line || len < 2 || line[len - 2] != '}') {
		free(line);
		failed(l, ENOMEM);
		return;
	}
	fprintf(s->out, "%.*s,\"suppressed\":%llu}\n", (int)len - 2, line,
		(unsigned long long)suppressed);
	free(line);
	if (fflush(s->out))
		failed(l, errno);
}

static void logfile_reopen(struct lw_sink *s)
{
	struct logfile_sink *l = (struct logfile_sink *)s;
	FILE *f = open_log(l->path);

	if (!f) {
		failed(l, errno);
		return; /* the old one goes on */
	}
	if (s->out)
		fclose(s->out);
	s->out = f;
	l->failed = 0;
}

static void logfile_destroy(struct lw_sink *s)
{
	struct logfile_sink *l = (struct logfile_sink *)s;

	if (s->out)
		fclose(s->out);
	if (l->json)
		l->json->ops->destroy(l->json);
	free(l->path);
	free(l);
}

static const struct lw_sink_ops logfile_ops = {
	.alert = logfile_alert,
	.summary = logfile_summary,
	.reopen = logfile_reopen,
	.destroy = logfile_destroy,
};

struct lw_sink *sink__logfile(const char *path)
{
	struct logfile_sink *l = calloc(1, sizeof(*l));
	int err;

	if (!l)
		return NULL;
	l->base.ops = &logfile_ops;
	l->path = strdup(path);
	l->json = sink__json(NULL);
	l->base.out = l->path ? open_log(path) : NULL;
	if (!l->path || !l->json || !l->base.out) {
		err = l->path && l->json ? errno : ENOMEM;
		logfile_destroy(&l->base);
		errno = err;
		return NULL;
	}
	return &l->base;
}
