/* SPDX-License-Identifier: GPL-2.0 */
/*
 * /proc/PID/maps, parsed in one place: an iterator over a process's
 * mappings, and the mapping that holds an address. The path of a mapping is
 * the process's to choose (a file name may hold anything but NUL and "/"):
 * it is bounded, and a line too long for the buffer is skipped whole, never
 * read as two lines.
 */
#ifndef LW_MAPS_H
#define LW_MAPS_H

#include <limits.h>
#include <stdio.h>
#include <stdint.h>
#include <sys/types.h>

struct lw_mapping {
	uint64_t start, end; /* [start, end) */
	uint64_t offset; /* file offset of start */
	uint64_t inode;
	unsigned int major, minor; /* device of the backing file */
	char perms[5]; /* "r-xp"; perms[3] 's': shared */
	char path[PATH_MAX]; /* "" for anonymous memory; "[heap]", "/lib/..." */
};

struct lw_maps;

/* NULL and errno when /proc/PID/maps cannot be opened. */
struct lw_maps *maps__open(pid_t pid);
/* The same over f, which it closes (NULL: errno as it was); for fuzz/maps.c. */
struct lw_maps *maps__from(FILE *f);
/* The next mapping: 1, or 0 at the end. */
int maps__next(struct lw_maps *m, struct lw_mapping *out);
void maps__close(struct lw_maps *m);
/* The mapping of pid that holds addr: 0, -ENOENT, or -errno. */
int maps__find(pid_t pid, uint64_t addr, struct lw_mapping *out);

#endif /* LW_MAPS_H */
