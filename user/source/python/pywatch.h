/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The watched processes that are (or may become, by execve) CPython
 * interpreters: each is opened once, said once to be unsupported when it is
 * a version lockwatch has no layout for, and read when pydetect.c says it
 * is due. Alerts go to the emit function given at creation.
 */
#ifndef LW_PYWATCH_H
#define LW_PYWATCH_H

#include <stdint.h>
#include <sys/types.h>
#include "report/alert.h"
#include "source/python/pydetect.h"

struct lw_pywatch;

struct lw_pywatch *pywatch__new(lw_pyemit_fn emit, void *ctx);
void pywatch__free(struct lw_pywatch *w);
/* A process to watch, or one that called execve: look at it again. */
void pywatch__add(struct lw_pywatch *w, pid_t pid);
void pywatch__gone(struct lw_pywatch *w, pid_t pid);
/* Read the processes that are due (now_ns: CLOCK_MONOTONIC). */
void pywatch__sweep(struct lw_pywatch *w, uint64_t now_ns);
/* `check`: read pid now, whether due or not. */
void pywatch__check(struct lw_pywatch *w, pid_t pid);
/* After a read: what the tasks and threads wait for, by lock. */
int pywatch__blocked(struct lw_pywatch *w, struct lw_blocked *out, int max);

#endif /* LW_PYWATCH_H */
