/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One watching session: the set of watched processes, dispatch of ring-buffer
 * records, and the loop that runs until a stop condition (DESIGN.md,
 * "Interfaces": SIGINT/SIGTERM, --duration, --exit-on-deadlock, every watched
 * process gone).
 */
#ifndef LW_WATCH_H
#define LW_WATCH_H

#include <signal.h>
#include <stdint.h>
#include <sys/types.h>
#include "report/alert.h"
#include "cmd/child.h"
#include "core/detect.h"
#include "cmd/env.h"
#include "loop/tracer.h"

#define LW_MAX_WATCHED 4096 /* = the `targets` map's size */

struct lw_watch {
	const struct env *env;
	struct lw_tracer *tracer;
	struct lw_detect *detect;
	struct lw_syms_cache *syms;
	struct lw_child *child; /* NULL with -p */
	pid_t pids[LW_MAX_WATCHED];
	uint8_t named[LW_MAX_WATCHED]; /* given with -p: say when it exits */
	int npids;
	uint64_t events;
	uint64_t start_ns;
	int seeded; /* waits found at attach: look at them at once */
};

extern volatile sig_atomic_t lw_exiting;

/* Add a process to the watched set and the kernel's filter; 0 or -errno. */
int watch__add(struct lw_watch *w, pid_t pid, int named);
/* detect.c found a lock held in process pid: watch it too. */
void watch__on_linked(void *ctx, pid_t pid);
/* Ring-buffer callback (lw_event_fn). */
int watch__on_event(void *ctx, const void *data, size_t size);
/* Whole host: look at what every process is already blocked in. */
void watch__seed_host(struct lw_watch *w);
/* Run until a stop condition. */
void watch__run(struct lw_watch *w);
void watch__summary(struct lw_watch *w, struct lw_summary *s);

#endif /* LW_WATCH_H */
