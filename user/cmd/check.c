// SPDX-License-Identifier: GPL-2.0
/*
 * `lockwatch check PID`: one turn of the pipeline with no BPF at all - the
 * futex source reads what every thread is blocked in from /proc (following
 * locks the process shares with others), the CPython source reads the
 * interpreter at once - then the verdict, and what every blocked
 * participant waits for. An event loop found running a callback is sampled
 * on until it goes on, or until it has stalled past --stall-threshold.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "cmd/cmd.h"
#include "loop/pipeline.h"
#include "source/futex/futex.h"
#include "source/python/python.h"
#include "sys/clock.h"
#include "sys/escape.h"
#include "sys/log.h"
#include "sys/proc.h"

#define BLOCKED_MAX 64
#define STALL_MARGIN_NS (500 * 1000000ull) /* to confirm a stall, past its threshold */
#define STALL_SAMPLE_MS 50 /* a loop that may be stalling is sampled again this soon */

int cmd_check_targets(const struct env *env)
{
	for (int i = 0; i < env->npids; i++) {
		enum lw_proc_state st = lw_proc_state(env->pids[i]);

		if (st != LW_PROC_OK) {
			lw_err("cannot %s pid %d: %s", env->command, env->pids[i],
			       lw_proc_state_str(st));
			return LW_EXIT_TARGET;
		}
	}
	return 0;
}

static int add_sources(struct lw_pipeline *p)
{
	struct lw_futex_source *fs = futex_source__new(NULL, 0);
	struct lw_python_source *ps = python_source__new();

	if (fs && pipeline__add_source(p, futex_source__source(fs)))
		fs = NULL; /* the pipeline destroyed it */
	if (!fs || !ps) {
		if (ps)
			python_source__source(ps)->ops->destroy(python_source__source(ps));
		return -ENOMEM;
	}
	return pipeline__add_source(p, python_source__source(ps));
}

int cmd_check_turn(const struct env *env, struct lw_pipeline *p, struct lw_sink *sinks,
		   struct lw_syms_cache *syms, struct lw_turn *t)
{
	pid_t pid = env->pids[0];
	struct lw_syscall sc;
	int status = cmd_check_targets(env);

	if (status)
		return status;
	if (!sinks || !syms ||
	    pipeline__init(p, sinks, syms, env->wait_threshold, 0,
			   strcmp(env->command, "check") ? 0 : env->stall_threshold) ||
	    add_sources(p)) {
		lw_err("out of memory");
		return LW_EXIT_INTERNAL;
	}
	if (lw_proc_syscall(pid, 0, &sc) == -EACCES) {
		lw_err("cannot read pid %d: permission denied (run as root)", pid);
		return LW_EXIT_ENV;
	}
	pipeline__watch(p, pid);
	t->now_ns = lw_now_ns();
	if (pipeline__turn(p, t)) {
		lw_err("cannot look at pid %d", pid);
		return LW_EXIT_INTERNAL;
	}
	return 0;
}

/* More turns, STALL_SAMPLE_MS apart, while a source saw something still in
 * the making (an event loop that may be stalling), until it settles, an
 * alert comes, or the stall threshold (and a margin to confirm) passed. */
static void turn_on(const struct env *env, struct lw_pipeline *p, struct lw_turn *t, uint64_t start)
{
	uint64_t until = start + (uint64_t)(env->stall_threshold * 1e9) + STALL_MARGIN_NS;

	t->look_now = 0;
	while (env->stall_threshold > 0 && !p->alerts && pipeline__unsettled(p) &&
	       lw_now_ns() < until) {
		lw_sleep_ms(STALL_SAMPLE_MS);
		t->now_ns = lw_now_ns();
		if (pipeline__turn(p, t))
			break;
	}
}

int cmd_check(const struct env *env)
{
	static struct lw_blocked blocked[BLOCKED_MAX];
	struct lw_sink *sinks = NULL;
	struct lw_syms_cache *syms = syms_cache__new();
	struct lw_turn t = { .look_now = 1 };
	struct lw_pipeline p = {};
	struct lw_summary sum = {};
	uint64_t start = lw_now_ns();
	pid_t pid = env->pids[0];
	char comm[LW_NAME_LEN];
	int status;

	status = cmd_sinks(env, &sinks);
	if (!status)
		status = cmd_check_turn(env, &p, sinks, syms, &t);
	if (status)
		goto out;
	turn_on(env, &p, &t, start);
	pipeline__stats(&p, &sum);
	sum.blocked = blocked;
	sum.nblocked = report__blocked(p.report, p.graph, blocked, BLOCKED_MAX);
	for (int i = 0; i < sum.nblocked; i++)
		sum.waits += blocked[i].nwaiters;
	sum.duration_ms = (lw_now_ns() - start) / 1000000;
	report__self_usage(&sum);
	if (!sum.alerts && !env->json && !env->dot) {
		lw_proc_comm(pid, 0, comm, sizeof(comm));
		printf("no deadlock in pid %d (", pid);
		lw_text_str(stdout, comm); /* the process names itself */
		printf(")%s\n", sum.nblocked ? "; blocked threads:" : "");
	}
	sinks__summary(sinks, &sum);
	status = sum.deadlocks ? LW_EXIT_DEADLOCK : LW_EXIT_OK;
out:
	pipeline__destroy(&p);
	syms_cache__free(syms);
	sinks__destroy(sinks);
	return status;
}
