// SPDX-License-Identifier: GPL-2.0
/*
 * `lockwatch dump PID`: `check`'s one turn, asked for everything - every
 * thread of the process (from /proc), every Python thread and asyncio task,
 * every lock a source saw held - then one record of kind "dump": where each
 * is, what it waits for and who holds that, what it holds. A deadlock found
 * on the way is reported as `check` reports it, before the dump.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cmd/cmd.h"
#include "loop/pipeline.h"
#include "sys/clock.h"
#include "sys/log.h"
#include "sys/proc.h"

#define DUMP_THREADS 4096

int cmd_dump(const struct env *env)
{
	static pid_t tids[DUMP_THREADS];
	/* a dump is no alert: for stdout only */
	struct lw_sink *sinks = env->json ? sink__json(stdout) : sink__text(stdout);
	struct lw_syms_cache *syms = syms_cache__new();
	struct lw_turn t = { .look_now = 1, .all = 1 };
	struct lw_pipeline p = {};
	struct lw_summary sum = {};
	uint64_t start = lw_now_ns();
	pid_t pid = env->pids[0];
	struct lw_observation *obs = NULL;
	struct lw_alert *d = NULL;
	int status, n;

	status = cmd_check_turn(env, &p, sinks, syms, &t);
	if (status)
		goto out;
	status = LW_EXIT_INTERNAL;
	/* the threads no source had a word for: running, or sleeping */
	n = lw_proc_tids(pid, tids, DUMP_THREADS);
	for (int i = 0; i < n; i++)
		graph__thread(p.graph, pid, tids[i]);
	d = pipeline__observe_all(&p, pid, &obs) ?
		    NULL :
		    report__dump(p.report, p.graph, pid, obs, lw_now_ns());
	if (!d) {
		lw_err("out of memory");
		goto out;
	}
	sinks__alert(sinks, d);
	pipeline__stats(&p, &sum);
	sum.duration_ms = (lw_now_ns() - start) / 1000000;
	report__self_usage(&sum);
	if (env->json)
		sinks__summary(sinks, &sum);
	status = sum.deadlocks ? LW_EXIT_DEADLOCK : LW_EXIT_OK;
out:
	for (int i = 0; obs && i < graph__nparticipants(p.graph); i++)
		observation__free(&obs[i]);
	free(obs);
	alert__free(d);
	pipeline__destroy(&p);
	syms_cache__free(syms);
	sinks__destroy(sinks);
	return status;
}
