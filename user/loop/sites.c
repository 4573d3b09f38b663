// SPDX-License-Identifier: GPL-2.0
/*
 * Shared lock sites (see sites.h): tracefs uprobe events in a group of this
 * lockwatch's own ("lockwatch_PID"), each with its anchor perf event
 * carrying the BPF program.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/perf_event.h>
#include <bpf/libbpf.h>
#include "loop/sites.h"
#include "sys/log.h"
#include "sys/proc.h"

#define GROUP_PREFIX "lockwatch_"

struct site {
	const struct bpf_program *prog;
	uint64_t cookie;
	dev_t dev;
	ino_t ino;
	uint64_t off;
	int ret;
	int id; /* the tracefs event's */
	struct bpf_link *anchor; /* the program on lockwatch's own perf event */
};

struct lw_sites {
	char tracefs[64];
	char group[32];
	struct site *v;
	int n, cap;
};

static int tracefs_write(const struct lw_sites *s, const char *line)
{
	char path[96];
	ssize_t len = strlen(line), n;
	int fd;

	snprintf(path, sizeof(path), "%s/uprobe_events", s->tracefs);
	fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, line, len);
	close(fd);
	return n == len ? 0 : n < 0 ? -errno : -EIO;
}

/* Groups of lockwatch processes that are gone: their events go. */
static void sweep_stale(struct lw_sites *s)
{
	char path[96], line[512], del[160], comm[32];
	FILE *f;

	snprintf(path, sizeof(path), "%s/uprobe_events", s->tracefs);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char group[64], name[64];
		int pid;

		if (sscanf(line, "%*c:%63[^/]/%63s", group, name) != 2 ||
		    strncmp(group, GROUP_PREFIX, strlen(GROUP_PREFIX)) ||
		    (pid = atoi(group + strlen(GROUP_PREFIX))) <= 0)
			continue;
		comm[0] = '\0';
		if (!kill(pid, 0) || errno != ESRCH)
			lw_proc_comm(pid, 0, comm, sizeof(comm));
		if (!strcmp(comm, "lockwatch"))
			continue; /* another lockwatch's, running */
		snprintf(del, sizeof(del), "-:%s/%s\n", group, name);
		tracefs_write(s, del);
	}
	fclose(f);
}

struct lw_sites *sites__new(void)
{
	static const char *const roots[] = { "/sys/kernel/tracing", "/sys/kernel/debug/tracing" };
	struct lw_sites *s = calloc(1, sizeof(*s));
	char path[96];

	if (!s)
		return NULL;
	for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]) && !s->tracefs[0]; i++) {
		snprintf(path, sizeof(path), "%s/uprobe_events", roots[i]);
		if (!access(path, W_OK))
			snprintf(s->tracefs, sizeof(s->tracefs), "%s", roots[i]);
	}
	if (!s->tracefs[0]) {
		free(s);
		errno = ENOENT;
		return NULL;
	}
	snprintf(s->group, sizeof(s->group), GROUP_PREFIX "%d", getpid());
	sweep_stale(s);
	return s;
}

static int perf_open(int id, pid_t pid)
{
	struct perf_event_attr a = {
		.type = PERF_TYPE_TRACEPOINT,
		.size = sizeof(a),
		.config = id,
		.sample_period = 1,
		.wakeup_events = 1,
	};
	int fd = syscall(SYS_perf_event_open, &a, pid, -1, -1, PERF_FLAG_FD_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

/* The site's tracefs event and its anchor. 0 or -errno. */
static int make(struct lw_sites *s, struct site *site, int fd)
{
	LIBBPF_OPTS(bpf_perf_event_opts, opts, .bpf_cookie = site->cookie);
	char line[256], path[160];
	int err, afd;
	FILE *f;

	snprintf(line, sizeof(line), "%c:%s/s%d /proc/%d/fd/%d:0x%" PRIx64 "\n",
		 site->ret ? 'r' : 'p', s->group, s->n, getpid(), fd, site->off);
	err = tracefs_write(s, line);
	if (err)
		return err;
	snprintf(path, sizeof(path), "%s/events/%s/s%d/id", s->tracefs, s->group, s->n);
	f = fopen(path, "re");
	if (!f || fscanf(f, "%d", &site->id) != 1) {
		err = f ? -EIO : -errno;
		goto out;
	}
	fclose(f);
	f = NULL;
	afd = perf_open(site->id, getpid());
	if (afd < 0) {
		err = afd;
		goto out;
	}
	site->anchor =
		bpf_program__attach_perf_event_opts((struct bpf_program *)site->prog, afd, &opts);
	if (!site->anchor) {
		err = -errno;
		close(afd);
	}
out:
	if (f)
		fclose(f);
	if (err) {
		snprintf(line, sizeof(line), "-:%s/s%d\n", s->group, s->n);
		tracefs_write(s, line);
	}
	return err;
}

int sites__open(struct lw_sites *s, const struct bpf_program *prog, uint64_t cookie, int fd,
		dev_t dev, ino_t ino, uint64_t off, int ret, pid_t pid)
{
	struct site *site = NULL;
	int err;

	for (int i = 0; i < s->n && !site; i++)
		if (s->v[i].prog == prog && s->v[i].cookie == cookie && s->v[i].dev == dev &&
		    s->v[i].ino == ino && s->v[i].off == off && s->v[i].ret == ret)
			site = &s->v[i];
	if (!site) {
		if (s->n == s->cap) {
			int cap = s->cap ? s->cap * 2 : 32;
			struct site *v = realloc(s->v, cap * sizeof(*v));

			if (!v)
				return -ENOMEM;
			s->v = v;
			s->cap = cap;
		}
		site = &s->v[s->n];
		*site = (struct site){ .prog = prog,
				       .cookie = cookie,
				       .dev = dev,
				       .ino = ino,
				       .off = off,
				       .ret = ret };
		err = make(s, site, fd);
		if (err)
			return err;
		s->n++;
	}
	return perf_open(site->id, pid);
}

int sites__count(const struct lw_sites *s)
{
	return s->n;
}

void sites__free(struct lw_sites *s)
{
	char line[128];

	if (!s)
		return;
	/* each takes the kernel a synchronisation (~0.1 s) */
	for (int i = 0; i < s->n; i++)
		bpf_link__destroy(s->v[i].anchor);
	for (int i = 0; i < s->n; i++) {
		snprintf(line, sizeof(line), "-:%s/s%d\n", s->group, i);
		tracefs_write(s, line);
	}
	free(s->v);
	free(s);
}
