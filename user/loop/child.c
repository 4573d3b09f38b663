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

static int reap(struct lw_child *c, int flags)
{
	pid_t r;
	int st;

	if (c->exited || c->pid <= 0)
		return 1;
	do
		r = waitpid(c->pid, &st, flags);
	while (r < 0 && errno == EINTR);
	if (r != c->pid)
		return 0;
	c->exited = 1;
	c->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	return 1;
}

int child__poll(struct lw_child *c)
{
	return reap(c, WNOHANG);
}

void child__wait(struct lw_child *c)
{
	reap(c, 0);
}

void child__stop(struct lw_child *c, int grace_ms)
{
	if (c->pid <= 0)
		return;
	if (c->go_fd >= 0) {
		/* never released: it is still ours, waiting on the pipe */
		close(c->go_fd);
		c->go_fd = -1;
		child__wait(c);
		return;
	}
	/* the command may be gone while processes it started live on */
	if (kill(-c->pid, SIGTERM) && errno == ESRCH) {
		child__wait(c);
		return;
	}
	for (int waited = 0; waited < grace_ms; waited += 10) {
		if (child__poll(c) && kill(-c->pid, 0) && errno == ESRCH)
			return;
		lw_sleep_ms(10);
	}
	kill(-c->pid, SIGKILL);
	child__wait(c);
}
