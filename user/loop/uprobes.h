/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Uprobe lock sites, seen from the daemon (--lock-order): loads
 * bpf/locks.bpf.c, sharing the tracer's ring buffer and counters, and
 * attaches it per watched process - to the pthread lock and unlock
 * functions of the libc it maps (or of its executable, when linked
 * statically), to the program's own lock functions given with --lock-fn,
 * and to its USDT probes lockwatch:acquire, :acquire_read, :acquired and
 * :release - so processes that are not watched pay nothing. Reads what each
 * thread holds (the `holds` map) and a lock's generation for the locks
 * source.
 */
#ifndef LW_UPROBES_H
#define LW_UPROBES_H

#include <stdint.h>
#include <sys/types.h>
#include "lockwatch.h"

struct lw_tracer;
struct lw_uprobes;

/* --lock-fn [BINARY:]ACQUIRE,RELEASE[,TRY][@ARG], at most LW_LOCK_FNS_MAX */
#define LW_LOCK_FNS_MAX 16
struct lw_lock_fn {
	char binary[256]; /* "": the executable; a path, or a mapped file's name */
	char acquire[128], release[128], try[128]; /* try: "" none; 0 means taken */
	int arg; /* which argument is the lock: 1-6 */
};

/* 0, or a negative errno after a one-line message. */
int uprobes__open(struct lw_uprobes **out, struct lw_tracer *t, const struct lw_lock_fn *fns,
		  int nfns);
/* Attach pid's lock sites as it maps them now, and again after execve
 * (probes already there stay). The binaries its dynamic loader maps later
 * are found by uprobes__look_again(), which says when a process has no lock
 * site at all. 0 or -errno. */
int uprobes__attach(struct lw_uprobes *u, pid_t pid);
/* Once a sweep: look at the maps of processes attached lately again. */
void uprobes__look_again(struct lw_uprobes *u);
/* Before a started command's execve: the lock sites of the executable it
 * is about to run (path), so its first locks are seen. 0 or -errno. */
int uprobes__attach_exe(struct lw_uprobes *u, pid_t pid, const char *path);
void uprobes__detach(struct lw_uprobes *u, pid_t pid);
/* Each thread's holds: fn per thread with at least one; stops when fn
 * returns non-zero. 0 or -errno. */
typedef int (*lw_holds_fn)(void *ctx, pid_t tid, const struct lw_holds *h);
int uprobes__for_each_holds(struct lw_uprobes *u, lw_holds_fn fn, void *ctx);
/* Locks taken by the threads alive now (LW_STAT_ACQUIRES has the rest). */
uint64_t uprobes__acquires(struct lw_uprobes *u);
/* The holds of one thread now: 0, or -ENOENT. */
int uprobes__holds(struct lw_uprobes *u, pid_t tid, struct lw_holds *h);
/* A lock's generation now (0: never re-initialised or destroyed). */
uint32_t uprobes__lockgen(struct lw_uprobes *u, pid_t pid, uint64_t lock);
/* An order of a process that exited out of the BPF side's map. */
void uprobes__forget_order(struct lw_uprobes *u, const struct lw_order_key *k);
/* Probes attached, in all. */
uint64_t uprobes__attached(const struct lw_uprobes *u);
void uprobes__destroy(struct lw_uprobes *u);

#endif /* LW_UPROBES_H */
