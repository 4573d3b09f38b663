// SPDX-License-Identifier: GPL-2.0
/* /proc/PID/maps (see maps.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sys/maps.h"

/* /proc fills a read with as many whole lines as fit: a process with
 * thousands of mappings (a thread stack each) is a few reads, not one per
 * KiB (stdio's default buffer for /proc files) */
#define MAPS_READ (64 * 1024)

struct lw_maps {
	FILE *f;
	char line[PATH_MAX + 256];
	char buf[MAPS_READ];
};

struct lw_maps *maps__from(FILE *f)
{
	struct lw_maps *m = f ? malloc(sizeof(*m)) : NULL;

	if (!m) {
		if (f)
			fclose(f);
		errno = f ? ENOMEM : errno;
		return NULL;
	}
	m->f = f;
	setvbuf(f, m->buf, _IOFBF, sizeof(m->buf));
	return m;
}

struct lw_maps *maps__open(pid_t pid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	return maps__from(fopen(path, "re"));
}

/* A whole line into m->line: 1, or 0 at the end. */
static int whole_line(struct lw_maps *m)
{
	for (;;) {
		size_t n;

		if (!fgets(m->line, sizeof(m->line), m->f))
			return 0;
		n = strlen(m->line);
		if (n && m->line[n - 1] == '\n') {
			m->line[n - 1] = '\0';
			return 1;
		}
		if (feof(m->f))
			return 1; /* the last line, without its newline */
		/* longer than any real line: skip to its end */
		while (fgets(m->line, sizeof(m->line), m->f) && !strchr(m->line, '\n'))
			;
	}
}

int maps__next(struct lw_maps *m, struct lw_mapping *out)
{
	while (whole_line(m)) {
		const char *p;
		int pos = -1;

		if (sscanf(m->line, "%" SCNx64 "-%" SCNx64 " %4s %" SCNx64 " %x:%x %" SCNu64 "%n",
			   &out->start, &out->end, out->perms, &out->offset, &out->major,
			   &out->minor, &out->inode, &pos) < 7 ||
		    pos < 0)
			continue;
		for (p = m->line + pos; *p == ' ' || *p == '\t'; p++)
			;
		snprintf(out->path, sizeof(out->path), "%s", p);
		return 1;
	}
	return 0;
}

void maps__close(struct lw_maps *m)
{
	if (!m)
		return;
	fclose(m->f);
	free(m);
}

int maps__find(pid_t pid, uint64_t addr, struct lw_mapping *out)
{
	struct lw_maps *m = maps__open(pid);
	int err = -ENOENT;

	if (!m)
		return -errno;
	while (maps__next(m, out))
		if (addr >= out->start && addr < out->end) {
			err = 0;
			break;
		}
	maps__close(m);
	return err;
}
