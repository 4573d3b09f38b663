// SPDX-License-Identifier: GPL-2.0
/*
 * The files sink: the wait-for graph, its counters and the recent alerts in
 * the line-oriented format of kmod/FORMAT.md, published to the module
 * (/sys/kernel/lockwatch/publish, one write of the whole record) or written
 * under /run/lockwatch by atomic replace, so consumers read one layout either
 * way. The graph is rewritten when it changes, and at least every second so
 * `updated` and `stale` stay true; on exit the files are marked stale.
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "core/graph.h"
#include "sys/proc.h"
#include "sink/sink.h"
#include "sys/syms.h"

#define PUBLISH_PATH "/sys/kernel/lockwatch/publish"
#define ALERTS_MAX 64
#define TEXT_MAX (512 * 1024) /* each of graph and alerts; the module takes 1 MiB */
#define HEARTBEAT_NS 1000000000ull
#define PAGE 4096

struct files_sink {
	struct lw_sink base;
	char dir[256];
	int sysfs;
	struct lw_syms_cache *syms;
	char *alerts[ALERTS_MAX]; /* ring of "alert ..." lines */
	int nalerts;
	uint64_t generation, last_sig, last_ns;
	char *text; /* scratch for one section */
	size_t len;
	int lines, truncated;
	unsigned int deadlocks, blocked, locks;
};

/* Append to the scratch text; drops what would pass TEXT_MAX. */
static void put(struct files_sink *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct files_sink *f, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (f->truncated)
		return;
	va_start(ap, fmt);
	n = vsnprintf(f->text + f->len, TEXT_MAX - f->len, fmt, ap);
	va_end(ap);
	if (n < 0 || f->len + n >= TEXT_MAX - 64) {
		f->truncated = 1;
		f->text[f->len] = '\0';
		return;
	}
	f->len += n;
}

/* A value: no space, control byte, '=', '\\' or non-ASCII byte, as \xNN. */
static void put_value(struct files_sink *f, const char *key, const char *v)
{
	char buf[4 * LW_NAME_LEN + 8], *o = buf;

	for (; v && *v && o < buf + sizeof(buf) - 5; v++) {
		unsigned char c = *v;

		if (c <= ' ' || c >= 0x7f || c == '=' || c == '\\')
			o += sprintf(o, "\\x%02x", c);
		else
			*o++ = c;
	}
	*o = '\0';
	put(f, " %s=%s", key, buf[0] ? buf : "-");
}

struct graph_walk {
	struct files_sink *f;
	uint64_t now, sig;
	struct lw_graph *g;
};

static pid_t lowest_in(const struct lw_cycle *c)
{
	pid_t low = c->e[0].waiter->tid;

	for (int i = 1; i < c->n; i++)
		if (c->e[i].waiter->tid < low)
			low = c->e[i].waiter->tid;
	return low;
}

static int wait_line(struct lw_gnode *n, void *arg)
{
	struct graph_walk *w = arg;
	struct files_sink *f = w->f;
	const struct lw_glock *l = n->waits_on;
	struct lw_cycle c;
	char comm[LW_NAME_LEN], name[LW_NAME_LEN] = "";
	struct lw_syms *s;

	if (!l)
		return 0;
	/* the graph's identity, without the times that change every look */
	w->sig = (w->sig ^ ((uint64_t)n->tid * 0x9e3779b97f4a7c15ull) ^ l->addr) * 1099511628211ull;
	if (l->holder)
		w->sig ^= (uint64_t)l->holder->tid << 32;
	f->blocked++;
	if (graph__find_cycle(w->g, n, &c) && lowest_in(&c) == n->tid)
		f->deadlocks++; /* once per cycle: from its lowest TID */
	lw_proc_comm(n->pid, n->tid, comm, sizeof(comm));
	s = syms_cache__get(f->syms, l->pid);
	if (s)
		syms__data_name(s, l->addr, name, sizeof(name));
	put(f, "wait pid=%d tid=%d", n->pid, n->tid);
	put_value(f, "comm", comm);
	put_value(f, "type", l->type);
	put_value(f, "key", l->key);
	put(f, " addr=0x%" PRIx64, l->addr);
	put_value(f, "name", name);
	put(f, " holder_pid=%d holder_tid=%d blocked_ms=%" PRIu64 "\n",
	    l->holder ? l->holder->pid : 0, l->holder ? l->holder->tid : 0,
	    w->now > n->wait_start_ns ? (w->now - n->wait_start_ns) / 1000000 : 0);
	f->lines++;
	return 0;
}

static int write_file(const char *dir, const char *name, const char *data, size_t len)
{
	char tmp[320], path[320];
	int fd, err = 0;

	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		  !strcmp(name, "graph") || !strcmp(name, "alerts") ? 0400 : 0444);
	if (fd < 0)
		return -errno;
	if (write(fd, data, len) != (ssize_t)len)
		err = -EIO;
	close(fd);
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

static void write_value(struct files_sink *f, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void write_value(struct files_sink *f, const char *name, const char *fmt, ...)
{
	char buf[64];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	write_file(f->dir, name, buf, n);
}

/* The alerts section into the scratch text. */
static void alerts_text(struct files_sink *f, uint64_t generation)
{
	int first = f->nalerts > ALERTS_MAX ? f->nalerts - ALERTS_MAX : 0;

	put(f, "lockwatch-alerts 1 generation=%" PRIu64 " lines=%d\n", generation,
	    f->nalerts - first);
	for (int i = first; i < f->nalerts; i++)
		put(f, "%s", f->alerts[i % ALERTS_MAX]);
	put(f, "end generation=%" PRIu64 "\n", generation);
}

static void publish_run(struct files_sink *f, const char *graph, size_t glen, int stopping)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	f->generation++;
	if (graph) {
		write_file(f->dir, "graph", graph, glen);
		f->len = 0;
		f->truncated = 0;
		alerts_text(f, f->generation);
		write_file(f->dir, "alerts", f->text, f->len);
		write_value(f, "deadlocks", "%u\n", f->deadlocks);
		write_value(f, "blocked_threads", "%u\n", f->blocked);
		write_value(f, "tracked_locks", "%u\n", f->locks);
	}
	write_value(f, "version", "1\n");
	write_value(f, "daemon_pid", "%d\n", stopping ? 0 : getpid());
	write_value(f, "updated", "%lld.%09ld\n", (long long)now.tv_sec, now.tv_nsec);
	write_value(f, "stale", "%d\n", stopping);
	write_value(f, "generation", "%" PRIu64 "\n", f->generation);
}

static void publish_sysfs(struct files_sink *f, const char *graph, size_t glen, int stopping)
{
	char head[256], *rec;
	size_t alen, n = 0;
	int fd, h;

	f->len = 0;
	f->truncated = 0;
	if (stopping) /* FORMAT.md: a stopping record carries empty sections */
		put(f, "lockwatch-alerts 1 generation=0 lines=0\nend generation=0\n");
	else
		alerts_text(f, 0);
	alen = f->len;
	/* the length counts the header line too, digits included: iterate */
	for (;;) {
		h = snprintf(
			head, sizeof(head),
			"lockwatch-publish 1 length=%zu pid=%d deadlocks=%u blocked_threads=%u "
			"tracked_locks=%u stopping=%d\n",
			n + glen + alen, getpid(), f->deadlocks, f->blocked, f->locks, stopping);
		if ((size_t)h == n)
			break;
		n = h;
	}
	rec = malloc(n + glen + alen);
	if (!rec)
		return;
	memcpy(rec, head, n);
	memcpy(rec + n, graph, glen);
	memcpy(rec + n + glen, f->text, alen);
	fd = open(PUBLISH_PATH, O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		/* sysfs takes a page per write(2): whole pages from offset 0 */
		for (size_t off = 0, len = n + glen + alen; off < len;) {
			ssize_t k = write(fd, rec + off, len - off < PAGE ? len - off : PAGE);

			if (k <= 0) {
				fprintf(stderr,
					"lockwatch: publishing to " PUBLISH_PATH " failed: %s\n",
					k < 0 ? strerror(errno) : "short write");
				break;
			}
			off += k;
		}
		close(fd);
	}
	free(rec);
}

static void files_graph(struct lw_sink *s, struct lw_graph *g, uint64_t now_ns)
{
	struct files_sink *f = (struct files_sink *)s;
	struct graph_walk w = { .f = f, .now = now_ns, .g = g };
	char *graph;
	size_t glen;

	f->len = 0;
	f->truncated = 0;
	f->lines = f->deadlocks = f->blocked = 0;
	/* the header's line count is known only at the end: leave room */
	graph__for_each_thread(g, wait_line, &w);
	f->locks = graph__nlocks(g);
	if (w.sig == f->last_sig && f->last_ns && now_ns - f->last_ns < HEARTBEAT_NS)
		return;
	f->last_sig = w.sig;
	f->last_ns = now_ns;
	glen = f->len + 256;
	graph = malloc(glen);
	if (!graph)
		return;
	glen = snprintf(graph, glen, "lockwatch-graph 1 generation=%" PRIu64 " lines=%d\n%s",
			f->sysfs ? 0 : f->generation + 1, f->lines, f->text);
	glen += snprintf(graph + glen, 64, "end generation=%" PRIu64 "\n",
			 f->sysfs ? 0 : f->generation + 1);
	if (f->sysfs)
		publish_sysfs(f, graph, glen, 0);
	else
		publish_run(f, graph, glen, 0);
	free(graph);
}

static void files_alert(struct lw_sink *s, const struct lw_alert *a)
{
	struct files_sink *f = (struct files_sink *)s;
	char pids[128] = "", *line;
	size_t off = 0;

	for (int i = 0; i < a->nprocs && off < sizeof(pids) - 12; i++)
		off += snprintf(pids + off, sizeof(pids) - off, "%s%d", i ? "," : "",
				a->procs[i].pid);
	f->len = 0;
	f->truncated = 0;
	put(f, "alert time=%lld.%09ld kind=%s pids=%s", (long long)a->time.tv_sec, a->time.tv_nsec,
	    lw_alert_kind_name(a->kind), pids);
	put_value(f, "summary", a->summary);
	put(f, "\n");
	line = strdup(f->text);
	if (!line)
		return;
	free(f->alerts[f->nalerts % ALERTS_MAX]);
	f->alerts[f->nalerts++ % ALERTS_MAX] = line;
	f->last_sig = 0; /* publish at the next look */
	f->last_ns = 0;
}

static void files_destroy(struct lw_sink *s)
{
	struct files_sink *f = (struct files_sink *)s;
	const char empty[] = "lockwatch-graph 1 generation=0 lines=0\nend generation=0\n";

	/* readers must not take the last snapshot for the present */
	f->deadlocks = f->blocked = f->locks = 0;
	if (f->sysfs)
		publish_sysfs(f, empty, sizeof(empty) - 1, 1);
	else
		publish_run(f, NULL, 0, 1);
	for (int i = 0; i < ALERTS_MAX; i++)
		free(f->alerts[i]);
	free(f->text);
	free(f);
}

static const struct lw_sink_ops files_ops = {
	.alert = files_alert,
	.graph = files_graph,
	.destroy = files_destroy,
};

struct lw_sink *sink__files(const char *dir, int sysfs, struct lw_syms_cache *syms)
{
	struct files_sink *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->base.ops = &files_ops;
	f->sysfs = sysfs;
	f->syms = syms;
	snprintf(f->dir, sizeof(f->dir), "%s", dir ? dir : "");
	f->text = malloc(TEXT_MAX);
	if (!f->text)
		goto out_free;
	if (sysfs) {
		if (access(PUBLISH_PATH, W_OK))
			goto out_free;
	} else if (mkdir(f->dir, 0755) && errno != EEXIST) {
		goto out_free;
	}
	return &f->base;

out_free : {
	int err = errno;

	free(f->text);
	free(f);
	errno = err;
}
	return NULL;
}
