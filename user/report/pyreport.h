/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Python alerts in the terms of the program: tasks by name and the thread
 * their loop runs on, threads by their threading name, locks by the name the
 * code uses for them (a local, `Class.attr` of self, a module global), and
 * each participant's Python stack with file:line.
 */
#ifndef LW_PYREPORT_H
#define LW_PYREPORT_H

#include <stdint.h>
#include "report/alert.h"
#include "source/python/pygraph.h"

/* A confirmed cycle of n edges (n == 1: waits for itself). */
void pyreport__cycle(struct lw_alert *a, struct lw_pymem *m, const struct lw_pyedge *e, int n);
/* Tasks waiting for an asyncio lock no live task holds; `ended`: the tasks
 * that ended with an exception ("loader (RuntimeError)"), or "". */
void pyreport__orphan(struct lw_alert *a, struct lw_pymem *m, const struct lw_pyedge *e, int n,
		      const char *ended);
/* A participant and a lock, for `check`'s list of what is blocked. */
void pyreport__party(struct lw_party *p, struct lw_pymem *m, const struct lw_pypart *w);
void pyreport__lock(struct lw_lockref *l, struct lw_pymem *m, const struct lw_pyedge *e);
/* lock types as alerts name them: "asyncio.Lock", "threading.Lock", ... */
const char *pyreport__type(enum lw_pylock k);

#endif /* LW_PYREPORT_H */
