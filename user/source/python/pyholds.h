/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The locks a Python process's tasks and threads hold, across looks: a hold
 * is one lock held by one participant (a frame of it inside `with` or
 * `async with`), and it stands since the first look that saw it - the same
 * lock held by the same holder standing still: its frames, where each is,
 * what it waits for (a task, the very future; a thread, its syscall and its
 * context switches) the same in every look since. That is what a Python
 * long_hold rests on: no lock records when it was taken, and a loop that
 * lets go and takes it again between two looks makes new coroutines and
 * futures (or wakes its thread) each time round - never one long hold.
 */
#ifndef LW_PYHOLDS_H
#define LW_PYHOLDS_H

#include <stdint.h>
#include "source/python/pylook.h"

struct lw_pyhold {
	uint64_t lock, holder; /* holder: a Task or PyThreadState */
	uint64_t still; /* pylook__fingerprint() of the holder */
	int task;
	uint64_t since_ns; /* CLOCK_MONOTONIC: the first look that saw it */
};

struct lw_pyholds {
	struct lw_pyhold *v; /* sorted */
	int n;
	uint64_t seen; /* holds seen, in all (a new one each time it is taken again) */
};

/* After a look at now_ns: s's holds, each since it was first seen. Out of
 * memory, the holds of the last look stay. */
void pyholds__update(struct lw_pyholds *h, const struct lw_pysnap *s, uint64_t now_ns);
/* Hold j of participant p, as tracked; NULL when not. */
const struct lw_pyhold *pyholds__find(const struct lw_pyholds *h, const struct lw_pyparticipant *p,
				      int j);
/* Whether p (the same holder, read again) still holds `was`, standing still. */
int pyholds__stands(const struct lw_pyhold *was, const struct lw_pyparticipant *p);
void pyholds__free(struct lw_pyholds *h);

#endif /* LW_PYHOLDS_H */
