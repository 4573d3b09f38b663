/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Inside the CPython source: what it keeps of each Python process, shared by
 * python.c (looks, into the graph) and pyrecheck.c (re-checks of what a
 * look put there). Each process has two looks: the one in the graph, and
 * the one a re-check reads. A re-check that finds a wait moved withdraws
 * the process's waits from the graph until its next look, which is then
 * due at once.
 */
#ifndef LW_PYSOURCE_H
#define LW_PYSOURCE_H

#include "core/source.h"
#include "source/python/pyholds.h"
#include "source/python/pylook.h"
#include "source/python/pystall.h"
#include "source/python/python.h"

#define READ_TRIES 3 /* a process not readable now is tried again, 10 ms apart */
#define WANT_MAX 64 /* tasks a partial re-check reads, at most */
#define PY_MAX 64 /* Python processes read while watching */

struct pyproc {
	pid_t pid;
	uint64_t start; /* lw_proc_start(pid) when watched: which process it is */
	enum { PY_UNKNOWN, PY_YES, PY_NO } state;
	int open_tries; /* looked for its runtime this many times */
	uint64_t open_again_ns; /* not before this */
	struct lw_pymem *m;
	char file[256]; /* the ELF that defines _PyRuntime */
	int asyncio; /* 3.14+ task lists: 0 not described yet, 1 read, -1 refused */
	struct lw_pylook look[2]; /* look[cur] is in the graph */
	struct lw_pyholds holds; /* look[cur]'s holds, since first seen */
	struct lw_pystalls stalls; /* its event loops, sampled every turn */
	int cur;
	int valid; /* look[cur] holds a read */
	int fresh; /* look[cur] is this turn's, unused by a re-check */
	int withdrawn; /* a re-check found it moved: out until the next look */
	unsigned int round; /* the re-check round of `seen` */
	const struct lw_pylook *seen; /* what that round saw; NULL: unreadable */
	int seen_whole; /* ... read whole, or this turn's look */
	uint64_t last_ns, last_cpu;
	int looks; /* taken so far */
	int cut; /* looks that ran out of reads (pymem__cut()): looked at less often */
	uint64_t orders; /* lock orders seen (distinct, while it lived) */
};

struct lw_python_source {
	struct lw_source base;
	struct pyproc py[PY_MAX];
	int n;
	int next; /* where the next turn starts looking for a due process */
	uint64_t processes, looks;
	uint64_t looks_cut; /* looks that ran out of reads */
	uint64_t rereads, rereads_partial; /* reads for re-checks; of them, partial */
	uint64_t holds; /* of processes forgotten since: their holds seen */
	uint64_t loops, loop_samples, loop_busy; /* ... their loops, sampled */
	uint64_t orders_seen; /* ... their lock orders */
};

struct pyproc *pysource__find(struct lw_python_source *ps, pid_t pid);
/* Read p into lk, READ_TRIES times while it is not readable: whole (want
 * NULL), or partial (pylook__read()); 0 or -errno. */
int pysource__read(struct pyproc *p, struct lw_pylook *lk, const uint64_t *want, int nwant);

/* The source's re-checks (source.h's observe, observe_hold, describe) */
int pyrecheck__observe(struct lw_source *s, const struct lw_participant *gp, unsigned int round,
		       struct lw_observation *o);
int pyrecheck__observe_hold(struct lw_source *s, const struct lw_lock *l,
			    const struct lw_participant *holder, const struct lw_hold_info *h,
			    unsigned int round, struct lw_observation *o);
void pyrecheck__describe(struct lw_source *s, const struct lw_participant *gp, unsigned int round,
			 struct lw_observation *o);

#endif /* LW_PYSOURCE_H */
