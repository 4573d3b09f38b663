// SPDX-License-Identifier: GPL-2.0
/*
 * lockwatch: a deadlock detector for running processes. main() only
 * sequences: options, targets, the kernel side, outputs, the watching loop,
 * the summary, one cleanup path.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "cmd/child.h"
#include "core/detect.h"
#include "cmd/env.h"
#include "sys/log.h"
#include "sys/proc.h"
#include "report/report.h"
#include "sink/sink.h"
#include "sys/syms.h"
#include "loop/tracer.h"
#include "loop/watch.h"

static void on_stop(int sig)
{
	lw_exiting = 1;
	/* a second Ctrl-C kills */
	signal(sig, SIG_DFL);
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
	sa.sa_handler = on_child;
	sigaction(SIGCHLD, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static int check_targets(const struct env *env)
{
	for (int i = 0; i < env->npids; i++) {
		enum lw_proc_state st = lw_proc_state(env->pids[i]);

		if (st != LW_PROC_OK) {
			lw_err("cannot watch pid %d: %s", env->pids[i], lw_proc_state_str(st));
			return LW_EXIT_TARGET;
		}
	}
	return 0;
}

#define MODULE_PUBLISH "/sys/kernel/lockwatch/publish"
#define RUN_DIR "/run/lockwatch"

/* The graph as files: the module's when loaded (or asked for), else /run. */
static int add_files_sink(const struct env *env, struct lw_sink *head, struct lw_syms_cache *syms)
{
	int sysfs = env->sysfs < 0 ? access(MODULE_PUBLISH, F_OK) == 0 : env->sysfs;

	head->next = sink__files(RUN_DIR, sysfs, syms);
	if (head->next)
		return 0;
	if (sysfs) {
		lw_err("--sysfs: cannot publish to " MODULE_PUBLISH ": %s (is the module loaded?)",
		       strerror(errno));
		return LW_EXIT_ENV;
	}
	/* the report on stdout matters more than the files */
	lw_err("cannot write " RUN_DIR ": %s; going on without it", strerror(errno));
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

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

#define LW_CHECK_BLOCKED_MAX 64

/* `lockwatch check PID`: one look from /proc and memory, no BPF. */
static int check(const struct env *env)
{
	static struct lw_blocked blocked[LW_CHECK_BLOCKED_MAX];
	struct lw_sink *sinks = env->json ? sink__json(stdout) : sink__text(stdout);
	struct lw_syms_cache *syms = syms_cache__new();
	struct lw_detect *d = detect__new(NULL, sinks, syms);
	struct lw_syscall sc;
	struct lw_summary sum = {};
	uint64_t start = mono_ns();
	int status = LW_EXIT_INTERNAL;
	char comm[LW_NAME_LEN];

	if (!sinks || !syms || !d) {
		lw_err("out of memory");
		goto out;
	}
	if (lw_proc_syscall(env->pids[0], 0, &sc) == -EACCES) {
		lw_err("cannot read pid %d: permission denied (run as root)", env->pids[0]);
		status = LW_EXIT_ENV;
		goto out;
	}
	sum.deadlocks = detect__check(d, env->pids[0]);
	sum.alerts = detect__alerts(d);
	sum.blocked = blocked;
	sum.nblocked = detect__blocked(d, blocked, LW_CHECK_BLOCKED_MAX);
	for (int i = 0; i < sum.nblocked; i++)
		sum.waits += blocked[i].nwaiters;
	sum.duration_ms = (mono_ns() - start) / 1000000;
	report__self_usage(&sum);
	if (!sum.alerts && !env->json) {
		lw_proc_comm(env->pids[0], 0, comm, sizeof(comm));
		printf("no deadlock in pid %d (%s)%s\n", env->pids[0], comm,
		       sum.nblocked ? "; blocked threads:" : "");
	}
	sinks__summary(sinks, &sum);
	status = sum.deadlocks ? LW_EXIT_DEADLOCK : LW_EXIT_OK;
out:
	detect__free(d);
	syms_cache__free(syms);
	sinks__destroy(sinks);
	return status;
}

int main(int argc, char **argv)
{
	struct lw_watch w = {};
	struct lw_child child = { .pid = -1 };
	struct lw_tracer_opts topts = {};
	struct lw_summary sum;
	struct lw_sink *sinks = NULL;
	struct env env;
	int status, err;

	if (env__parse(&env, argc, argv, &status))
		return status;
	lw_verbose = env.verbose;
	status = check_targets(&env);
	if (status)
		return status;
	if (env.check)
		return check(&env);

	topts.btf = env.btf;
	topts.ringbuf_size = env.ringbuf_size;
	topts.all = env.host;
	topts.on_event = watch__on_event;
	topts.ctx = &w;
	err = tracer__open(&w.tracer, &topts);
	if (err)
		return env_status(err);

	status = LW_EXIT_INTERNAL;
	sinks = env.json ? sink__json(stdout) : sink__text(stdout);
	w.env = &env;
	w.syms = syms_cache__new();
	if (sinks && w.syms && (err = add_files_sink(&env, sinks, w.syms))) {
		status = err;
		goto out;
	}
	w.detect = detect__new(w.tracer, sinks, w.syms);
	if (!sinks || !w.syms || !w.detect) {
		lw_err("out of memory");
		goto out;
	}
	detect__set_wait_threshold(w.detect, env.wait_threshold);
	detect__on_linked(w.detect, watch__on_linked, &w);
	install_signals();

	if (env.cmd) {
		err = child__start(&child, env.cmd);
		if (err) {
			lw_err("cannot start '%s': %s", env.cmd[0], strerror(-err));
			goto out;
		}
		w.child = &child;
		if (watch__add(&w, child.pid, 0))
			goto out;
		err = child__go(&child, env.cmd);
		if (err) {
			/* it is on its way to _exit(127 or 126): no signal */
			child__wait(&child);
			status = child.status;
			goto out;
		}
	}
	for (int i = 0; i < env.npids; i++)
		if (watch__add(&w, env.pids[i], 1))
			goto out;
	if (env.host)
		watch__seed_host(&w);

	w.start_ns = mono_ns();
	watch__run(&w);
	watch__summary(&w, &sum);
	sinks__summary(sinks, &sum);

	if (env.cmd && !w.npids)
		child__wait(&child); /* the command ended on its own */
	if (sum.deadlocks)
		status = env.cmd && env.error_exitcode ? env.error_exitcode : LW_EXIT_DEADLOCK;
	else if (env.cmd && child.exited)
		status = child.status;
	else
		status = LW_EXIT_OK;
out:
	if (env.cmd)
		child__stop(&child, 2000);
	detect__free(w.detect);
	syms_cache__free(w.syms);
	sinks__destroy(sinks);
	tracer__destroy(w.tracer);
	return status;
}
