/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Deadlocks in CPython processes, from what pystate.c reads: tasks and threads
 * wait for asyncio locks, threading locks and other tasks; frames inside
 * `with`/`async with` hold locks. Cycles (a task waiting for a lock it holds
 * itself is a cycle of one), tasks awaiting each other, a loop's thread
 * blocked on a lock that one of its own suspended tasks holds, and asyncio
 * locks that no live task can release. Each is confirmed by a second read
 * that finds every participant exactly where it was, and a thread that has
 * not run in between.
 */
#ifndef LW_PYDETECT_H
#define LW_PYDETECT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "report/alert.h"
#include "source/python/pymem.h"
#include "source/python/pystate.h"

struct lw_pyproc;

/*
 * 0 and *out for a CPython this layout table knows; -ENOENT: not CPython;
 * -ENOTSUP: a CPython of another version, named in why ("Python 3.12").
 */
int pydetect__open(pid_t pid, struct lw_pyproc **out, char *why, size_t len);
void pydetect__close(struct lw_pyproc *pp);
pid_t pydetect__pid(const struct lw_pyproc *pp);

typedef void (*lw_pyemit_fn)(void *ctx, struct lw_alert *a);
/* Read, find, confirm; each new confirmed alert goes to emit (which owns
 * it). Returns how many were emitted, or -errno when unreadable. */
int pydetect__check(struct lw_pyproc *pp, lw_pyemit_fn emit, void *ctx);
/* While watching: whether the process looks idle or stuck in a way worth
 * a new pydetect__check (cheap: /proc only, no memory reads). */
int pydetect__due(struct lw_pyproc *pp, uint64_t now_ns);
/* After pydetect__check: what its tasks and threads wait for, by lock. */
int pydetect__blocked(struct lw_pyproc *pp, struct lw_blocked *out, int max);

#endif /* LW_PYDETECT_H */
