/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A binary a watched process maps (or is about to run), as the lock-site
 * probes need it: which file it is, whether it has an interpreter and USDT
 * notes, and where the functions to probe are. It is read with libelf
 * (never mapped: a process could truncate it under us); the functions are
 * found here rather than by libbpf 1.1, which refuses a name that two
 * symbol versions define, as glibc's pthread functions are.
 */
#ifndef LW_BINARY_H
#define LW_BINARY_H

#include <stdint.h>
#include <sys/types.h>

#define LW_BINARY_NAMES_MAX 72 /* functions looked for at once */

struct lw_binary {
	const char *path; /* to open it by: /proc/PID/map_files/..., or a path */
	const char *name; /* as mapped: for --lock-fn BINARY and messages */
	int fd; /* open from binary__open() to binary__close() */
	dev_t dev;
	ino_t ino;
	int is_exe;
	/* what binary__inspect() found */
	int dynamic; /* has an interpreter: its pthread functions are libc's */
	int usdt; /* has USDT notes (.note.stapsdt) */
	uint64_t off[LW_BINARY_NAMES_MAX]; /* file offset of names[i]; 0: not here */
	uint64_t size[LW_BINARY_NAMES_MAX]; /* ... and its size */
};

/* Open b->path (no open that can block) and say which file it is: 0, or
 * -errno. */
int binary__open(struct lw_binary *b);
/* The functions names[0..n) (at most LW_BINARY_NAMES_MAX), the
 * interpreter and the USDT notes. */
void binary__inspect(struct lw_binary *b, const char *const *names, int n);
void binary__close(struct lw_binary *b);

#endif /* LW_BINARY_H */
