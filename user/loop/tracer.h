/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel side, seen from the daemon: checks the environment, loads and
 * attaches bpf/lockwatch.bpf.c, grows the target filter, polls the ring
 * buffer, and reads the `waits` map (the source of truth for who waits now).
 */
#ifndef LW_TRACER_H
#define LW_TRACER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/types.h>
#include "lockwatch.h"

struct lw_tracer;

/* Called for each ring-buffer record; a negative return stops the poll. */
typedef int (*lw_event_fn)(void *ctx, const void *data, size_t size);

struct lw_tracer_opts {
	const char *btf; /* NULL: the running kernel's */
	uint32_t ringbuf_size;
	int all; /* every process, not a list of targets */
	lw_event_fn on_event;
	void *ctx;
};

/*
 * 0, or a negative errno after a one-line message naming what failed:
 * -EPERM (not root / missing capability), -ENOENT (no BTF), -ENOSYS (no
 * BPF), anything else (internal).
 */
int tracer__open(struct lw_tracer **out, const struct lw_tracer_opts *opts);
int tracer__add_target(struct lw_tracer *t, pid_t tgid);
/* Handle ready records, waiting at most timeout_ms; count or -errno. */
int tracer__poll(struct lw_tracer *t, int timeout_ms);
/* Copy up to max current waits into out; count or -errno. */
int tracer__waits(struct lw_tracer *t, struct lw_futex_wait *out, int max);
/*
 * Put waits found blocked at attach into the `waits` map, where the kernel's
 * sys_exit retires them when those threads wake; a thread whose slot already
 * holds a wait (it began one after the filter was on) keeps the kernel's.
 */
void tracer__seed(struct lw_tracer *t, const struct lw_futex_wait *w, int n);
/* Retire a seeded wait that ended before it was seeded. */
void tracer__unseed(struct lw_tracer *t, const struct lw_futex_wait *w);
void tracer__stats(struct lw_tracer *t, uint64_t stats[LW_STAT_NR]);
/* The fds of the maps other BPF objects share: `events` (the ring buffer,
 * of opts.ringbuf_size) and `stats`. */
int tracer__events_fd(struct lw_tracer *t);
int tracer__stats_fd(struct lw_tracer *t);
const char *tracer__btf(struct lw_tracer *t);
uint32_t tracer__ringbuf_size(struct lw_tracer *t);
void tracer__destroy(struct lw_tracer *t);

#endif /* LW_TRACER_H */
