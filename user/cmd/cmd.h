/* SPDX-License-Identifier: GPL-2.0 */
/*
 * lockwatch's commands, as main() dispatches them by name (bpftool style):
 * each takes the parsed options and returns the exit status (DESIGN.md).
 */
#ifndef LW_CMD_H
#define LW_CMD_H

#include "cmd/env.h"

/* Watch processes, a started command, or the whole host (cmd/watch.c). */
int cmd_watch(const struct env *env);
/* Look once at a process that may already be hung (cmd/check.c). */
int cmd_check(const struct env *env);
/* Every thread and task of a process, where each is, what it waits for and
 * holds (cmd/dump.c). */
int cmd_dump(const struct env *env);
/* Each -p PID names a live process that can be inspected; 0, or the exit
 * status after a one-line message. */
int cmd_check_targets(const struct env *env);
struct lw_pipeline;
struct lw_sink;
/* The sinks the options ask for into *head: stdout's (text, or JSON lines
 * with --json), then --journal's, --syslog's, --log-file's,
 * --metrics-file's, --svg's and --on-alert's (--dot: DOT on stdout instead
 * of the report). 0, or the exit status after a one-line message
 * (cmd/sinks.c). */
int cmd_sinks(const struct env *env, struct lw_sink **head);
struct lw_syms_cache;
struct lw_turn;
/* `check`'s one turn at env's PID into p (made here, with sinks and syms;
 * pipeline__destroy() it either way): the futex waits from /proc and the
 * CPython source, no BPF. 0, or the exit status after a one-line message. */
int cmd_check_turn(const struct env *env, struct lw_pipeline *p, struct lw_sink *sinks,
		   struct lw_syms_cache *syms, struct lw_turn *t);

#endif /* LW_CMD_H */
