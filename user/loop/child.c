// SPDX-License-Identifier: GPL-2.0
/* Starts, releases, reaps and ends the command given after "--". */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "loop/child.h"
#include "sys/clock.h"
#include "sys/log.h"
#include "sys/proc.h"

int child__path(const char *argv0, char *buf, size_t len)
{
	const char *path = getenv("PATH"), *end;

	if (strchr(argv0, '/')) {
		snprintf(buf, len, "%s", argv0);
		return access(buf, X_OK) ? -errno : 0;
	}
	for (path = path ? path : "/usr/local/bin:/usr/bin:/bin"; *path; path = end + !!*end) {
		end = strchrnul(path, ':');
		snprintf(buf, len, "%.*s/%s", (int)(end - path), end > path ? path : ".", argv0);
		if (!access(buf, X_OK))
			return 0;
	}
	return -ENOENT;
}

int child__start(struct lw_child *c, char **argv)
{
	int go[2], err[2];
	char b;

	memset(c, 0, sizeof(*c));
	if (pipe2(go, O_CLOEXEC))
		return -errno;
	if (pipe2(err, O_CLOEXEC)) {
		close(go[0]);
		close(go[1]);
		return -errno;
	}
	c->pid = fork();
	if (c->pid < 0) {
		int e = -errno;

		close(go[0]);
		close(go[1]);
		close(err[0]);
		close(err[1]);
		return e;
	}
	if (c->pid == 0) {
		close(go[1]);
		close(err[0]);
		/* lockwatch's own signal dispositions must not leak into it */
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		setpgid(0, 0);
		if (read(go[0], &b, 1) != 1)
			_exit(127); /* lockwatch gave up before releasing us */
		execvp(argv[0], argv);
		b = errno;
		if (write(err[1], &b, 1) < 0)
			_exit(127);
		_exit(errno == ENOENT ? 127 : 126);
	}
	/* in the parent too, so the group exists before either side goes on */
	setpgid(c->pid, c->pid);
	close(go[0]);
	close(err[1]);
	c->go_fd = go[1];
	c->err_fd = err[0];
	return 0;
}

int child__go(struct lw_child *c, char **argv)
{
	ssize_t n;
	char b = 1;

	if (write(c->go_fd, &b, 1) != 1)
		return -errno;
	close(c->go_fd);
	c->go_fd = -1;
	do
		n = read(c->err_fd, &b, 1);
	while (n < 0 && errno == EINTR);
	close(c->err_fd);
	c->err_fd = -1;
	if (n == 1) {
		lw_err("cannot run '%s': %s", argv[0], strerror(b));
		return -b;
	}
	return 0;
}

/*
 * Whether it has exited, without reaping it: an unreaped command keeps its
 * PID, and so its process group's ID, from being given to anyone else, so
 * the group lockwatch signals at the end is still the command's (reaped
 * early, its PGID could be a stranger's group by then).
 */
static int wait_for(struct lw_child *c, int options)
{
	siginfo_t si;
	int err;

	si.si_pid = 0;
	while ((err = waitid(P_PID, c->pid, &si, WEXITED | options)) && errno == EINTR)
		;
	if (err || si.si_pid != c->pid)
		return 0;
	if (!c->exited)
		c->status = si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status;
	c->exited = 1;
	return 1;
}

int child__poll(struct lw_child *c)
{
	if (c->exited || c->pid <= 0)
		return 1;
	return wait_for(c, WNOHANG | WNOWAIT);
}

/* Reap it, waiting as long as it takes. */
static void reap(struct lw_child *c)
{
	if (c->reaped || c->pid <= 0)
		return;
	wait_for(c, 0);
	c->reaped = 1;
}

void child__wait(struct lw_child *c)
{
	if (!child__poll(c))
		wait_for(c, WNOWAIT);
}

/* A process of the group other than an exited one (the command, unreaped,
 * is one until the end). */
static int in_group(pid_t pid, void *pgid)
{
	struct lw_proc_stat st;

	return !lw_proc_stat(pid, 0, &st) && st.pgrp == *(pid_t *)pgid && st.state != 'Z' &&
	       st.state != 'X';
}

static int group_lives(pid_t pgid)
{
	return lw_proc_each(0, in_group, &pgid) > 0;
}

/* Whether any of it runs: the command itself (which may have left the
 * group), or its group. */
static int runs(struct lw_child *c)
{
	return !child__poll(c) || group_lives(c->pid);
}

/* sig to its group, and to the command should it have left the group (its
 * PID is still its own: it is not reaped). */
static void signal_all(struct lw_child *c, int sig)
{
	kill(-c->pid, sig);
	if (!child__poll(c))
		kill(c->pid, sig);
}

void child__stop(struct lw_child *c, int grace_ms)
{
	if (c->pid <= 0)
		return;
	if (c->go_fd >= 0) {
		/* never released: it is still ours, waiting on the pipe */
		close(c->go_fd);
		c->go_fd = -1;
		reap(c);
		return;
	}
	/* the command may be gone while processes it started live on; its
	 * group is still its own, as it is not reaped yet */
	if (runs(c)) {
		uint64_t until = lw_now_ns() + grace_ms * 1000000ull;

		signal_all(c, SIGTERM);
		while (lw_now_ns() < until && runs(c))
			lw_sleep_ms(10);
		if (runs(c))
			signal_all(c, SIGKILL);
	}
	reap(c);
}
