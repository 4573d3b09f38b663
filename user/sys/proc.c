// SPDX-License-Identifier: GPL-2.0
/*
 * Reads /proc/PID/... and the memory of other processes (process_vm_readv).
 * Nothing here stops, signals or writes to a process; reading another
 * process's syscall file and memory needs ptrace-read permission (root).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/openat2.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include "sys/proc.h"

static int read_file(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	err = -errno;
	close(fd);
	if (n < 0)
		return err;
	buf[n] = '\0';
	return n;
}

/* Where the value of the "NAME:" line of /proc/PID/status starts, read into
 * buf; NULL when it has none. */
static const char *status_field(pid_t pid, const char *name, char *buf, size_t len)
{
	char path[64], line[32];
	const char *p;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	snprintf(line, sizeof(line), "\n%s:", name);
	if (read_file(path, buf, len) < 0 || !(p = strstr(buf, line)))
		return NULL;
	return p + strlen(line);
}

static void task_path(char *buf, size_t len, pid_t pid, pid_t tid, const char *file)
{
	if (tid)
		snprintf(buf, len, "/proc/%d/task/%d/%s", pid, tid, file);
	else
		snprintf(buf, len, "/proc/%d/%s", pid, file);
}

int lw_proc_stat(pid_t pid, pid_t tid, struct lw_proc_stat *st)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, stm, start;
	int n;

	task_path(path, sizeof(path), pid, tid, "stat");
	n = read_file(path, buf, sizeof(buf));
	if (n < 0)
		return n;
	/* comm may hold ')' and spaces: the fields follow the last ')' */
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ' ||
	    sscanf(p + 2,
		   "%c %*d %d %*d %*d %*d %lu %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %d %*d %llu",
		   &st->state, &st->pgrp, &st->flags, &ut, &stm, &st->nthreads, &start) != 7)
		return -EINVAL;
	st->utime = ut;
	st->stime = stm;
	st->start = start;
	return 0;
}

uint64_t lw_proc_start(pid_t pid)
{
	struct lw_proc_stat st;

	return pid > 0 && !lw_proc_stat(pid, 0, &st) ? st.start : 0;
}

int lw_proc_wakers(pid_t pid, uint64_t *sigcgt, int *ntimers)
{
	char path[64], buf[4096], *p;
	const char *v;

	*sigcgt = 0;
	*ntimers = 0;
	v = status_field(pid, "SigCgt", buf, sizeof(buf));
	if (!v || sscanf(v, "%" SCNx64, sigcgt) != 1)
		return v ? -EINVAL : -ESRCH;
	/* one "ID: N" line a timer; a read cut at the buffer's end counts less */
	snprintf(path, sizeof(path), "/proc/%d/timers", pid);
	if (read_file(path, buf, sizeof(buf)) > 0)
		for (p = buf; (p = strstr(p, "ID:")); p += 3)
			(*ntimers)++;
	return 0;
}

int lw_proc_each(pid_t pid, int (*fn)(pid_t id, void *arg), void *arg)
{
	char path[64];
	struct dirent *de;
	int ret = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(pid ? path : "/proc");
	if (!d)
		return -errno;
	while (!ret && (de = readdir(d)))
		if (atoi(de->d_name) > 0)
			ret = fn(atoi(de->d_name), arg);
	closedir(d);
	return ret;
}

struct runtime {
	pid_t pid;
	uint64_t ns;
	int seen;
};

static int add_runtime(pid_t tid, void *arg)
{
	struct runtime *r = arg;
	char path[64], buf[128];
	unsigned long long v;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/schedstat", r->pid, tid);
	if (read_file(path, buf, sizeof(buf)) > 0 && sscanf(buf, "%llu", &v) == 1) {
		r->ns += v;
		r->seen = 1;
	}
	return 0;
}

int lw_proc_runtime_ns(pid_t pid, uint64_t *ns)
{
	struct runtime r = { .pid = pid };
	int err = lw_proc_each(pid, add_runtime, &r);

	*ns = r.ns;
	if (err)
		return err;
	return r.seen ? 0 : -ENOENT;
}

#define PF_KTHREAD 0x00200000

enum lw_proc_state lw_proc_state(pid_t pid)
{
	struct lw_proc_stat st;

	if (lw_proc_stat(pid, 0, &st))
		return LW_PROC_GONE;
	if (st.state == 'Z' || st.state == 'X')
		return LW_PROC_ZOMBIE;
	if (lw_proc_tgid(pid) != pid)
		return LW_PROC_THREAD;
	/* kernel threads have no mm, so no exe link and an empty cmdline;
	 * PF_KTHREAD in the flags is the sure sign */
	if (st.flags & PF_KTHREAD)
		return LW_PROC_KTHREAD;
	return LW_PROC_OK;
}

const char *lw_proc_state_str(enum lw_proc_state st)
{
	switch (st) {
	case LW_PROC_OK:
		return "running";
	case LW_PROC_GONE:
		return "no such process";
	case LW_PROC_ZOMBIE:
		return "a zombie (exited, not reaped)";
	case LW_PROC_KTHREAD:
		return "a kernel thread";
	case LW_PROC_THREAD:
		return "a thread, not a process (give its process id)";
	}
	return "?";
}

int lw_proc_syscall(pid_t pid, pid_t tid, struct lw_syscall *sc)
{
	char path[64], buf[512];
	int n;

	task_path(path, sizeof(path), pid, tid, "syscall");
	n = read_file(path, buf, sizeof(buf));
	if (n < 0)
		return n;
	memset(sc, 0, sizeof(*sc));
	if (!strncmp(buf, "running", 7)) {
		sc->nr = -1;
		return 0;
	}
	n = sscanf(buf,
		   "%ld %" SCNx64 " %" SCNx64 " %" SCNx64 " %" SCNx64 " %" SCNx64 " %" SCNx64
		   " %" SCNx64 " %" SCNx64,
		   &sc->nr, &sc->args[0], &sc->args[1], &sc->args[2], &sc->args[3], &sc->args[4],
		   &sc->args[5], &sc->sp, &sc->pc);
	if (n == 3 && sc->nr == -1) {
		/* "-1 sp pc": blocked, but not in a syscall */
		sc->sp = sc->args[0];
		sc->pc = sc->args[1];
		sc->args[0] = sc->args[1] = 0;
		return 0;
	}
	return n == 9 ? 0 : -EINVAL;
}

int lw_proc_ctxsw(pid_t pid, pid_t tid, uint64_t *out)
{
	char path[64], buf[4096], *p;
	uint64_t v;
	int n;

	task_path(path, sizeof(path), pid, tid, "status");
	n = read_file(path, buf, sizeof(buf));
	if (n < 0)
		return n;
	*out = 0;
	for (p = buf; (p = strstr(p, "ctxt_switches:")); p++) {
		if (sscanf(p + 14, "%" SCNu64, &v) == 1)
			*out += v;
	}
	return 0;
}

void lw_proc_comm(pid_t pid, pid_t tid, char *buf, size_t len)
{
	char path[64];
	int n;

	task_path(path, sizeof(path), pid, tid, "comm");
	n = read_file(path, buf, len);
	if (n < 0) {
		buf[0] = '\0';
		return;
	}
	if (n > 0 && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
}

void lw_proc_exe(pid_t pid, char *buf, size_t len)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	n = readlink(path, buf, len - 1);
	buf[n < 0 ? 0 : n] = '\0';
}

int lw_proc_tgid(pid_t tid)
{
	char buf[4096];
	const char *v = status_field(tid, "Tgid", buf, sizeof(buf));
	int n;

	if (!v || sscanf(v, "%d", &n) != 1)
		return v ? -EINVAL : -ESRCH;
	return n;
}

int lw_proc_has_thread(pid_t pid, pid_t tid)
{
	char path[64];
	struct stat st;

	if (tid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/task/%d", pid, tid);
	return stat(path, &st) == 0;
}

int lw_open_file(const char *path)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	return fd;
}

int lw_open_in_root(pid_t pid, const char *path)
{
	struct open_how how = {
		.flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY,
		/* "..", absolute links: all within the root; no /proc magic */
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	char root[64];
	struct stat st;
	int dir, fd;

	snprintf(root, sizeof(root), "/proc/%d/root", pid);
	dir = open(pid > 0 ? root : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return -errno;
	fd = syscall(SYS_openat2, dir, path, &how, sizeof(how));
	if (fd < 0) {
		fd = -errno;
		close(dir);
		return fd;
	}
	close(dir);
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	return fd;
}

int lw_proc_read(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = { .iov_base = buf, .iov_len = len };
	struct iovec remote = { .iov_base = (void *)(uintptr_t)addr, .iov_len = len };
	ssize_t n;

	n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EFAULT;
}

/* The innermost NSpid of a status file, or -errno; *levels: how many. */
static pid_t nspid(const char *status_path, int *levels)
{
	char buf[4096], *p;
	pid_t last = -EINVAL, v;
	int n;

	*levels = 0;
	n = read_file(status_path, buf, sizeof(buf));
	if (n < 0)
		return n;
	p = strstr(buf, "\nNSpid:");
	if (!p)
		return -EINVAL;
	for (p += 7; *p && *p != '\n';) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (sscanf(p, "%d%n", &v, &n) != 1)
			break;
		last = v;
		(*levels)++;
		p += n;
	}
	return last;
}

struct nstid {
	pid_t pid, nstid;
	struct stat ns; /* the namespace's, for another process of it */
};

/* a thread of process n whose TID in its own (nested) namespace is nstid */
static int has_nstid(pid_t tid, void *arg)
{
	const struct nstid *q = arg;
	char status[64];
	int levels;

	snprintf(status, sizeof(status), "/proc/%d/task/%d/status", q->pid, tid);
	return nspid(status, &levels) == q->nstid && levels > 1 ? tid : 0;
}

/* The threads of process n whose TID in their own namespace is nstid: the
 * kernel's TID of the first, or -ESRCH. */
static pid_t task_with_nspid(pid_t n, pid_t nstid)
{
	struct nstid q = { .pid = n, .nstid = nstid };
	int tid = lw_proc_each(n, has_nstid, &q);

	return tid > 0 ? tid : -ESRCH;
}

pid_t lw_proc_global_tid(pid_t pid, pid_t nstid)
{
	/* most processes live in the root namespace: remember which do not */
	static struct {
		pid_t pid;
		int nested;
	} seen[64];
	static unsigned int next;
	char path[64];
	int levels, nested = -1;

	for (unsigned int i = 0; i < 64; i++)
		if (seen[i].pid == pid)
			nested = seen[i].nested;
	if (nested < 0) {
		snprintf(path, sizeof(path), "/proc/%d/status", pid);
		if (nspid(path, &levels) < 0)
			return -ESRCH;
		nested = levels > 1;
		seen[next % 64].pid = pid;
		seen[next++ % 64].nested = nested;
	}
	return nested ? task_with_nspid(pid, nstid) : nstid;
}

/* a process of the namespace other than the one asked about, with the thread */
static int ns_thread(pid_t n, void *arg)
{
	const struct nstid *q = arg;
	struct stat other;
	char path[64];
	pid_t tid;

	snprintf(path, sizeof(path), "/proc/%d/ns/pid", n);
	if (n == q->pid || stat(path, &other) || other.st_ino != q->ns.st_ino ||
	    other.st_dev != q->ns.st_dev)
		return 0;
	tid = task_with_nspid(n, q->nstid);
	return tid > 0 ? tid : 0;
}

pid_t lw_proc_ns_tid(pid_t pid, pid_t nstid)
{
	struct nstid q = { .pid = pid, .nstid = nstid };
	char path[64];
	pid_t found;

	/* outside a namespace, the TID itself; inside, one of pid's threads */
	found = lw_proc_global_tid(pid, nstid);
	if (found > 0)
		return found;
	/* else a thread of another process of its namespace */
	snprintf(path, sizeof(path), "/proc/%d/ns/pid", pid);
	if (stat(path, &q.ns))
		return -ESRCH;
	found = lw_proc_each(0, ns_thread, &q);
	return found > 0 ? found : -ESRCH;
}

static int by_tid(const void *a, const void *b)
{
	return *(const pid_t *)a - *(const pid_t *)b;
}

struct tids {
	pid_t *out;
	int n, max;
};

static int add_tid(pid_t tid, void *arg)
{
	struct tids *t = arg;

	t->out[t->n++] = tid;
	return t->n == t->max;
}

int lw_proc_tids(pid_t pid, pid_t *out, int max)
{
	struct tids t = { .out = out, .max = max };
	int err = max > 0 ? lw_proc_each(pid, add_tid, &t) : 0;

	if (err < 0)
		return err;
	qsort(out, t.n, sizeof(*out), by_tid);
	return t.n;
}

void lw_raise_fd_limit(void)
{
	struct rlimit rl;

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl); /* as many as allowed: no error */
	}
}
