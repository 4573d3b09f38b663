// SPDX-License-Identifier: GPL-2.0
/*
 * `lockwatch [-p PID]... | -- CMD`: load the BPF side, build the pipeline
 * (the futex source fed by it, the CPython source, the sinks), start the
 * command or take the given processes, run the watch loop, and say the
 * summary. One cleanup path, in reverse.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "cmd/cmd.h"
#include "loop/loop.h"
#include "source/python/python.h"
#include "sys/clock.h"
#include "sys/log.h"
#include "sys/proc.h"

static void on_stop(int sig)
{
	lw_exiting = 1;
	/* a second Ctrl-C kills */
	signal(sig, SIG_DFL);
}

static void on_hup(int sig)
{
	lw_reopen = 1;
}

static void on_child(int sig)
{
	/* only here to interrupt the poll */
}

static void install_signals(void)
{
	struct sigaction sa = { .sa_handler = on_stop };

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* a child's end or a SIGHUP must not fail a write to stdout (EINTR
	 * would look like a reader gone); the poll still wakes */
	sa.sa_flags = SA_RESTART;
	sa.sa_handler = on_child;
	sigaction(SIGCHLD, &sa, NULL);
	sa.sa_handler = on_hup;
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* The graph as files: the module's when loaded (or asked for), else /run. */
static int add_files_sink(const struct env *env, struct lw_sink **head)
{
	int sysfs = env->sysfs < 0 ? access(LW_MODULE_PUBLISH, F_OK) == 0 : env->sysfs;
	struct lw_sink *files = sink__files(sysfs);

	sinks__add(head, files);
	if (files)
		return 0;
	if (sysfs) {
		lw_err("--sysfs: cannot publish to " LW_MODULE_PUBLISH
		       ": %s (is the module loaded?)",
		       strerror(errno));
		return LW_EXIT_ENV;
	}
	/* the report on stdout matters more than the files */
	lw_err("not publishing under " LW_RUN_DIR ": %s; going on without it",
	       sink__files_strerror(errno));
	return 0;
}

static int env_status(int err)
{
	switch (err) {
	case -EPERM:
	case -EACCES:
	case -ENOENT:
	case -ENODEV:
	case -ENOSYS:
		return LW_EXIT_ENV;
	}
	return LW_EXIT_INTERNAL;
}

/* The futex source (fed by the ring buffer through the loop) and, but for
 * the whole host, the CPython one. */
static int add_sources(struct lw_loop *l)
{
	struct lw_python_source *ps;

	l->futex = futex_source__new(l->tracer, !l->env->host);
	if (!l->futex || pipeline__add_source(l->pipe, futex_source__source(l->futex)))
		return -ENOMEM;
	if (l->env->host)
		return 0;
	ps = python_source__new();
	if (!ps || pipeline__add_source(l->pipe, python_source__source(ps)))
		return -ENOMEM;
	if (!l->uprobes)
		return 0;
	l->locks = locks_source__new(l->uprobes, l->syms);
	return l->locks ? pipeline__add_source(l->pipe, locks_source__source(l->locks)) : -ENOMEM;
}

int cmd_watch(const struct env *env)
{
	struct lw_tracer_opts topts = { .btf = env->btf,
					.ringbuf_size = env->ringbuf_size,
					.all = env->host,
					.on_event = loop__on_event };
	struct lw_child child = { .pid = -1 };
	struct lw_loop l = { .env = env };
	struct lw_pipeline pipe = {};
	struct lw_sink *sinks = NULL;
	struct lw_summary sum;
	char path[PATH_MAX];
	int status, err;

	status = cmd_check_targets(env);
	if (status)
		return status;
	topts.ctx = &l;
	err = tracer__open(&l.tracer, &topts);
	if (err)
		return env_status(err);

	status = cmd_sinks(env, &sinks);
	if (status)
		goto out;
	status = LW_EXIT_INTERNAL;
	l.syms = syms_cache__new();
	if (l.syms && (err = add_files_sink(env, &sinks))) {
		status = err;
		goto out;
	}
	if (env->lock_order &&
	    (err = uprobes__open(&l.uprobes, l.tracer, env->lock_fns, env->nlock_fns))) {
		status = env_status(err);
		goto out;
	}
	l.pipe = &pipe;
	if (!sinks || !l.syms ||
	    pipeline__init(&pipe, sinks, l.syms, env->wait_threshold, env->hold_threshold,
			   env->stall_threshold) ||
	    add_sources(&l)) {
		lw_err("out of memory");
		goto out;
	}
	install_signals();

	if (env->cmd) {
		err = child__start(&child, env->cmd);
		if (err) {
			lw_err("cannot start '%s': %s", env->cmd[0], strerror(-err));
			goto out;
		}
		l.child = &child;
		if (loop__add(&l, child.pid, 0))
			goto out;
		/* its own lock sites before it runs: its first locks are seen */
		if (l.uprobes && !child__path(env->cmd[0], path, sizeof(path)))
			uprobes__attach_exe(l.uprobes, child.pid, path);
	}
	/* a process's lock sites are ~30 perf events, each an fd; raised after
	 * the command was forked, which keeps the limit it was given */
	if (l.uprobes)
		lw_raise_fd_limit();
	for (int i = 0; i < env->npids; i++)
		if (loop__add(&l, env->pids[i], 1))
			goto out;
	loop__prepare(&l); /* before the command runs: a deadlock at once is quick too */
	if (env->cmd) {
		err = child__go(&child, env->cmd);
		if (err) {
			/* it is on its way to _exit(127 or 126): no signal */
			child__wait(&child);
			status = child.status;
			goto out;
		}
	}
	if (env->host)
		loop__seed_host(&l);

	l.start_ns = lw_now_ns();
	loop__run(&l);
	loop__summary(&l, &sum);
	sinks__summary(sinks, &sum);

	if (env->cmd && !l.npids)
		child__wait(&child); /* the command ended on its own */
	if (sum.deadlocks)
		status = env->cmd && env->error_exitcode ? env->error_exitcode : LW_EXIT_DEADLOCK;
	else if (env->cmd && child.exited)
		status = child.status;
	else
		status = LW_EXIT_OK;
out:
	if (env->cmd)
		child__stop(&child, 2000);
	pipeline__destroy(&pipe);
	uprobes__destroy(l.uprobes);
	syms_cache__free(l.syms);
	sinks__destroy(sinks);
	tracer__destroy(l.tracer);
	return status;
}
