// SPDX-License-Identifier: GPL-2.0
/*
 * The --on-alert sink: for each deadlock-class alert (deadlock, orphaned
 * lock, lock-order inversion) it starts a command - `sh -c CMD` - with the
 * alert's JSON line on its standard input and LOCKWATCH_KIND, LOCKWATCH_PID
 * (the first process) and LOCKWATCH_PIDS (all, space-separated) in its
 * environment: to take a core with gcore, a py-spy dump, page someone.
 * What it prints goes to lockwatch's stderr (stdout is the report).
 *
 * It never holds detection up: the JSON is in a memfd the command reads at
 * its own pace (no pipe to fill), the command runs in a session of its own
 * under timeout(1) (ON_ALERT_S, then SIGKILL), and at most ON_ALERT_MAX run
 * at once - an alert past that starts none (said once). Finished commands
 * are reaped at each alert and each second; a command that fails is said
 * on stderr with its status.
 */
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include "sink/sink.h"
#include "sys/log.h"

#define ON_ALERT_MAX 4 /* commands running at once */
#define ON_ALERT_S "60" /* each command's time, then SIGTERM, 5 s later SIGKILL */

extern char **environ;

struct onalert_sink {
	struct lw_sink base;
	char *cmd;
	pid_t running[ON_ALERT_MAX];
	uint64_t started, skipped;
	int said_full;
};

/* Reap the commands that ended; say how those that failed ended. */
static void reap(struct onalert_sink *o)
{
	for (int i = 0; i < ON_ALERT_MAX; i++) {
		int st;

		if (!o->running[i] || waitpid(o->running[i], &st, WNOHANG) != o->running[i])
			continue;
		if (WIFEXITED(st) && WEXITSTATUS(st) == 124)
			lw_err("--on-alert: the command ran past " ON_ALERT_S " s: stopped");
		else if (WIFEXITED(st) && WEXITSTATUS(st))
			lw_err("--on-alert: the command exited with status %d", WEXITSTATUS(st));
		else if (WIFSIGNALED(st))
			lw_err("--on-alert: the command was killed by signal %d", WTERMSIG(st));
		o->running[i] = 0;
	}
}

/* The alert's JSON line in a memfd at offset 0, or -1. */
static int json_fd(const struct lw_alert *a)
{
	char *line = sink__json_line(a);
	size_t len = line ? strlen(line) : 0;
	int fd = line ? memfd_create("lockwatch-alert", MFD_CLOEXEC) : -1;

	if (fd >= 0 && (write(fd, line, len) != (ssize_t)len || write(fd, "\n", 1) != 1 ||
			lseek(fd, 0, SEEK_SET))) {
		close(fd);
		fd = -1;
	}
	free(line);
	return fd;
}

static void onalert_alert(struct lw_sink *s, const struct lw_alert *a)
{
	struct onalert_sink *o = (struct onalert_sink *)s;
	char kind[64], pid[32], pids[512] = "";
	char *argv[] = { "timeout", "-k", "5", ON_ALERT_S, "/bin/sh", "-c", o->cmd, NULL };
	char **env = NULL;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	int slot = -1, fd, n = 0, err;
	size_t used = 0;

	if (a->kind != LW_ALERT_DEADLOCK && a->kind != LW_ALERT_ORPHANED_LOCK &&
	    a->kind != LW_ALERT_LOCK_ORDER)
		return;
	reap(o);
	for (int i = 0; i < ON_ALERT_MAX && slot < 0; i++)
		if (!o->running[i])
			slot = i;
	if (slot < 0) {
		o->skipped++;
		if (!o->said_full)
			lw_err("--on-alert: %d commands still run: this alert starts none",
			       ON_ALERT_MAX);
		o->said_full = 1;
		return;
	}
	fd = json_fd(a);
	for (char **e = environ; *e; e++)
		n++;
	env = calloc(n + 4, sizeof(*env));
	if (fd < 0 || !env) {
		lw_err("--on-alert: out of memory");
		goto out;
	}
	memcpy(env, environ, n * sizeof(*env));
	snprintf(kind, sizeof(kind), "LOCKWATCH_KIND=%s", lw_alert_kind_name(a->kind));
	snprintf(pid, sizeof(pid), "LOCKWATCH_PID=%d", a->nprocs ? a->procs[0].pid : 0);
	for (int i = 0; i < a->nprocs && used + 16 < sizeof(pids); i++)
		used += snprintf(pids + used, sizeof(pids) - used, "%s%d",
				 i ? " " : "LOCKWATCH_PIDS=", a->procs[i].pid);
	env[n++] = kind;
	env[n++] = pid;
	env[n++] = pids[0] ? pids : "LOCKWATCH_PIDS=";
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fd, 0);
	/* what it prints goes to stderr: stdout is the report (JSON lines) */
	posix_spawn_file_actions_adddup2(&fa, 2, 1);
	posix_spawnattr_init(&attr);
	/* a session of its own: Ctrl-C at lockwatch's terminal is not its;
	 * signals back to defaults */
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGDEF |
						POSIX_SPAWN_SETSIGMASK);
	{
		sigset_t all, none;

		sigfillset(&all);
		sigemptyset(&none);
		posix_spawnattr_setsigdefault(&attr, &all);
		posix_spawnattr_setsigmask(&attr, &none);
	}
	err = posix_spawnp(&o->running[slot], "timeout", &fa, &attr, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (err) {
		o->running[slot] = 0;
		lw_err("--on-alert: cannot start the command: %s", strerror(err));
	} else {
		o->started++;
		o->said_full = 0;
	}
out:
	if (fd >= 0)
		close(fd);
	free(env);
}

static void onalert_stats(struct lw_sink *s, const struct lw_summary *sum)
{
	(void)sum;
	reap((struct onalert_sink *)s);
}

/* Commands still running go on, on their own (timeout(1) bounds them). */
static void onalert_destroy(struct lw_sink *s)
{
	struct onalert_sink *o = (struct onalert_sink *)s;

	reap(o);
	free(o->cmd);
	free(o);
}

static const struct lw_sink_ops onalert_ops = {
	.alert = onalert_alert,
	.stats = onalert_stats,
	.summary = onalert_stats,
	.destroy = onalert_destroy,
};

struct lw_sink *sink__onalert(const char *cmd)
{
	struct onalert_sink *o = calloc(1, sizeof(*o));

	if (!o || !(o->cmd = strdup(cmd))) {
		free(o);
		errno = ENOMEM;
		return NULL;
	}
	o->base.ops = &onalert_ops;
	return &o->base;
}
