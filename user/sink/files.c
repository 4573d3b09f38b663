// SPDX-License-Identifier: GPL-2.0
/*
 * The files sink: the graph model, its counters and the recent alerts in the
 * line-oriented format of kmod/FORMAT.md, published to the module
 * (LW_MODULE_PUBLISH, one record written from offset 0 in page-sized
 * pieces) or written under LW_RUN_DIR by atomic replace, so consumers read
 * one layout either way. The graph is rewritten when it changes, and at
 * least every second so `updated` and `stale` stay true; on exit the files
 * are marked stale. Every line is formatted whole into its own buffer and
 * then appended whole or not at all, so a section is always well-formed:
 * its header's line count is the number of lines that follow it.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "sink/sink.h"
#include "sys/escape.h"

#define ALERTS_MAX 64 /* the module keeps as many */
#define TEXT_MAX (512 * 1024) /* a section's lines; the module takes 1 MiB in all */
#define SECTION_MAX (TEXT_MAX + 256) /* with its header and trailer */
#define LINE_MAX 2048
#define HEARTBEAT_NS 1000000000ull
#define PAGE 4096

/* Text made of whole lines only. */
struct text {
	char *buf;
	size_t len, cap;
	unsigned int lines;
};

struct files_sink {
	struct lw_sink base;
	int sysfs;
	char *alerts[ALERTS_MAX]; /* ring of "alert ..." lines */
	unsigned int nalerts;
	uint64_t generation, last_sig, last_ns;
	unsigned int last_nalerts;
	int published;
	int dirfd, lockfd; /* LW_RUN_DIR, and its .lock held: -1 with sysfs */
	struct text graph, section;
};

static void text_reset(struct text *t)
{
	t->len = 0;
	t->lines = 0;
}

/* Append whole lines, or nothing when they would pass max bytes (or memory
 * runs out): 0 or -ENOSPC. */
static int text_line(struct text *t, const char *line, size_t max)
{
	size_t n = strlen(line);

	if (!n)
		return 0;
	if (t->len + n + 1 > max)
		return -ENOSPC;
	if (t->len + n + 1 > t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16384;
		char *b;

		while (cap < t->len + n + 1)
			cap *= 2;
		b = realloc(t->buf, cap);
		if (!b)
			return -ENOSPC;
		t->buf = b;
		t->cap = cap;
	}
	memcpy(t->buf + t->len, line, n + 1);
	t->len += n;
	t->lines += line[n - 1] == '\n';
	return 0;
}

/* Adds " KEY=VALUE" (the value escaped) to a line being built. */
static size_t put_value(char *line, size_t off, const char *key, const char *v)
{
	char esc[4 * LW_NAME_LEN + 8];

	if (off >= LINE_MAX)
		return off;
	return off + snprintf(line + off, LINE_MAX - off, " %s=%s", key,
			      lw_value_str(esc, sizeof(esc), v));
}

static size_t put(char *line, size_t off, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static size_t put(char *line, size_t off, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (off >= LINE_MAX)
		return off;
	va_start(ap, fmt);
	n = vsnprintf(line + off, LINE_MAX - off, fmt, ap);
	va_end(ap);
	return n < 0 ? off : off + n;
}

/* "wait pid= tid= comm= type= key= addr= name= holder_pid= holder_tid=
 * blocked_ms=", then (added in version 1) waiter_type= waiter_name= and a
 * task's waiter_addr=. */
static void wait_line(struct text *t, const struct lw_model_wait *w)
{
	char line[LINE_MAX];
	size_t off = 0;

	off = put(line, off, "wait pid=%d tid=%d", w->waiter.pid, w->waiter.tid);
	off = put_value(line, off, "comm", w->comm);
	off = put_value(line, off, "type", w->lock.type);
	off = put_value(line, off, "key", w->lock.key);
	off = put(line, off, " addr=0x%" PRIx64, w->lock.addr);
	off = put_value(line, off, "name", w->lock.name);
	off = put(line, off, " holder_pid=%d holder_tid=%d blocked_ms=%" PRIu64, w->lock.holder_pid,
		  w->lock.holder_tid, w->blocked_ms);
	off = put_value(line, off, "waiter_type", w->waiter.type);
	off = put_value(line, off, "waiter_name", w->waiter.name);
	if (w->waiter.addr)
		off = put(line, off, " waiter_addr=0x%" PRIx64, w->waiter.addr);
	if (off >= LINE_MAX - 1)
		return; /* cannot be cut short: leave it out */
	put(line, off, "\n");
	text_line(t, line, TEXT_MAX);
}

/* A whole section: header, the body's lines, trailer. */
static void section(struct text *out, const char *magic, uint64_t gen, const struct text *body)
{
	char line[128];

	text_reset(out);
	snprintf(line, sizeof(line), "lockwatch-%s 1 generation=%" PRIu64 " lines=%u\n", magic, gen,
		 body->lines);
	text_line(out, line, SECTION_MAX);
	if (body->len)
		text_line(out, body->buf, SECTION_MAX); /* fits: bodies stop at TEXT_MAX */
	snprintf(line, sizeof(line), "end generation=%" PRIu64 "\n", gen);
	text_line(out, line, SECTION_MAX);
}

static void alerts_body(struct files_sink *f, struct text *t)
{
	unsigned int first = f->nalerts > ALERTS_MAX ? f->nalerts - ALERTS_MAX : 0;

	text_reset(t);
	for (unsigned int i = first; i < f->nalerts; i++)
		text_line(t, f->alerts[i % ALERTS_MAX], TEXT_MAX);
}

/* Replaces dir/name whole: a new file beside it, renamed over it. The
 * directory is root's and this run holds its lock (sink__files), and still
 * nothing is written through a link or into a file that was there before. */
static int write_file(int dirfd, const char *name, const char *data, size_t len)
{
	int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
	mode_t mode = !strcmp(name, "graph") || !strcmp(name, "alerts") ? 0400 : 0444;
	char tmp[320];
	int fd, err = 0;

	snprintf(tmp, sizeof(tmp), ".%s.tmp", name);
	fd = openat(dirfd, tmp, flags, mode);
	if (fd < 0 && errno == EEXIST && !unlinkat(dirfd, tmp, 0))
		fd = openat(dirfd, tmp, flags, mode); /* a crashed run's */
	if (fd < 0)
		return -errno;
	if (write(fd, data, len) != (ssize_t)len)
		err = -EIO;
	close(fd);
	if (!err && renameat(dirfd, tmp, dirfd, name))
		err = -errno;
	if (err)
		unlinkat(dirfd, tmp, 0);
	return err;
}

static void write_value(int dirfd, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void write_value(int dirfd, const char *name, const char *fmt, ...)
{
	char buf[64];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	write_file(dirfd, name, buf, n);
}

struct counts {
	unsigned int deadlocks, blocked, locks;
};

/* /run/lockwatch: each file replaced whole; the one-value files last, so a
 * reader that sees a new generation finds the sections already there. */
static void publish_run(struct files_sink *f, const struct text *graph, const struct counts *c,
			int stopping)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	f->generation++;
	if (!stopping) {
		struct text body = {};

		section(&f->section, "graph", f->generation, graph);
		write_file(f->dirfd, "graph", f->section.buf, f->section.len);
		alerts_body(f, &body);
		section(&f->section, "alerts", f->generation, &body);
		free(body.buf);
		write_file(f->dirfd, "alerts", f->section.buf, f->section.len);
	}
	write_value(f->dirfd, "deadlocks", "%u\n", c->deadlocks);
	write_value(f->dirfd, "blocked_threads", "%u\n", c->blocked);
	write_value(f->dirfd, "tracked_locks", "%u\n", c->locks);
	write_value(f->dirfd, "version", "1\n");
	write_value(f->dirfd, "daemon_pid", "%d\n", stopping ? 0 : getpid());
	write_value(f->dirfd, "updated", "%lld.%09ld\n", (long long)now.tv_sec, now.tv_nsec);
	write_value(f->dirfd, "stale", "%d\n", stopping);
	write_value(f->dirfd, "generation", "%" PRIu64 "\n", f->generation);
}

/* The module: one record, "lockwatch-publish 1 length=N ...", the graph and
 * the alerts sections with generation 0 (the module fills it in). */
static void publish_sysfs(struct files_sink *f, const struct text *graph, const struct counts *c,
			  int stopping)
{
	struct text g = {}, a = {}, body = {};
	char head[256], *rec = NULL;
	size_t n = 0, len;
	int fd, h;

	if (!stopping)
		alerts_body(f, &body);
	/* a stopping record carries empty sections (FORMAT.md) */
	section(&g, "graph", 0, stopping ? &body : graph);
	section(&a, "alerts", 0, &body);
	/* the length counts the header line too, digits included: iterate */
	for (;;) {
		h = snprintf(
			head, sizeof(head),
			"lockwatch-publish 1 length=%zu pid=%d deadlocks=%u blocked_threads=%u "
			"tracked_locks=%u stopping=%d\n",
			n + g.len + a.len, getpid(), c->deadlocks, c->blocked, c->locks, stopping);
		if ((size_t)h == n)
			break;
		n = h;
	}
	len = n + g.len + a.len;
	rec = malloc(len);
	fd = rec ? open(LW_MODULE_PUBLISH, O_WRONLY | O_CLOEXEC) : -1;
	if (fd >= 0) {
		memcpy(rec, head, n);
		memcpy(rec + n, g.buf, g.len);
		memcpy(rec + n + g.len, a.buf, a.len);
		/* sysfs takes a page per write(2): whole pages from offset 0 */
		for (size_t off = 0; off < len;) {
			ssize_t k = write(fd, rec + off, len - off < PAGE ? len - off : PAGE);

			if (k <= 0) {
				fprintf(stderr,
					"lockwatch: publishing to " LW_MODULE_PUBLISH
					" failed: %s\n",
					k < 0 ? strerror(errno) : "short write");
				break;
			}
			off += k;
		}
		close(fd);
	}
	free(rec);
	free(g.buf);
	free(a.buf);
	free(body.buf);
}

static void files_graph(struct lw_sink *s, const struct lw_graph_model *m, uint64_t now_ns)
{
	struct files_sink *f = (struct files_sink *)s;
	struct counts c = { m->deadlocks, m->blocked, m->locks };

	if (f->published && m->sig == f->last_sig && f->nalerts == f->last_nalerts &&
	    now_ns - f->last_ns < HEARTBEAT_NS)
		return;
	f->published = 1;
	f->last_sig = m->sig;
	f->last_nalerts = f->nalerts;
	f->last_ns = now_ns;
	text_reset(&f->graph);
	for (int i = 0; i < m->nwaits; i++)
		wait_line(&f->graph, &m->waits[i]);
	if (f->sysfs)
		publish_sysfs(f, &f->graph, &c, 0);
	else
		publish_run(f, &f->graph, &c, 0);
}

static void files_alert(struct lw_sink *s, const struct lw_alert *a)
{
	struct files_sink *f = (struct files_sink *)s;
	char line[LINE_MAX], *copy;
	size_t off;

	off = put(line, 0, "alert time=%lld.%09ld kind=%s pids=", (long long)a->time.tv_sec,
		  a->time.tv_nsec, lw_alert_kind_name(a->kind));
	for (int i = 0; i < a->nprocs && off < 200; i++)
		off = put(line, off, "%s%d", i ? "," : "", a->procs[i].pid);
	off = put_value(line, off, "summary", a->summary);
	if (off >= LINE_MAX - 1)
		return;
	put(line, off, "\n");
	copy = strdup(line);
	if (!copy)
		return;
	free(f->alerts[f->nalerts % ALERTS_MAX]);
	f->alerts[f->nalerts++ % ALERTS_MAX] = copy;
}

static void files_free(struct files_sink *f)
{
	for (int i = 0; i < ALERTS_MAX; i++)
		free(f->alerts[i]);
	free(f->graph.buf);
	free(f->section.buf);
	if (f->lockfd >= 0)
		close(f->lockfd);
	if (f->dirfd >= 0)
		close(f->dirfd);
	free(f);
}

static void files_destroy(struct lw_sink *s)
{
	struct files_sink *f = (struct files_sink *)s;
	struct counts none = {};

	/* readers must not take the last snapshot for the present */
	if (f->sysfs)
		publish_sysfs(f, NULL, &none, 1);
	else
		publish_run(f, NULL, &none, 1);
	files_free(f);
}

static const struct lw_sink_ops files_ops = {
	.alert = files_alert,
	.graph = files_graph,
	.destroy = files_destroy,
};

/*
 * LW_RUN_DIR, made if need be: a directory (not a link to one), owned by
 * this user (root) and writable by no one else, or anyone could have put
 * links in it for root to write through. Its .lock is held for the run: a
 * second lockwatch does not overwrite the first one's files. A -errno that
 * sink__files_strerror() explains.
 */
static int open_run_dir(struct files_sink *f)
{
	struct stat st;

	if (mkdir(LW_RUN_DIR, 0755) && errno != EEXIST)
		return -errno;
	f->dirfd = open(LW_RUN_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (f->dirfd < 0)
		return errno == ENOTDIR || errno == ELOOP ? -ENOTDIR : -errno;
	if (fstat(f->dirfd, &st))
		return -errno;
	if (st.st_uid != geteuid() || st.st_mode & 022)
		return -EPERM;
	f->lockfd = openat(f->dirfd, ".lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (f->lockfd < 0)
		return -errno;
	if (flock(f->lockfd, LOCK_EX | LOCK_NB))
		return errno == EWOULDBLOCK ? -EBUSY : -errno;
	return 0;
}

const char *sink__files_strerror(int err)
{
	switch (err) {
	case ENOTDIR:
		return "it is not a directory (a link, or a file)";
	case EPERM:
		return "it is not root's own, or others may write to it";
	case EBUSY:
		return "another lockwatch publishes there";
	default:
		return strerror(err);
	}
}

struct lw_sink *sink__files(int sysfs)
{
	struct files_sink *f = calloc(1, sizeof(*f));
	int err;

	if (!f)
		return NULL;
	f->base.ops = &files_ops;
	f->sysfs = sysfs;
	f->dirfd = f->lockfd = -1;
	if (sysfs) {
		if (access(LW_MODULE_PUBLISH, W_OK) == 0)
			return &f->base;
		err = errno;
	} else {
		err = -open_run_dir(f);
		if (!err)
			return &f->base;
	}
	files_free(f);
	errno = err;
	return NULL;
}
