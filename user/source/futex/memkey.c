// SPDX-License-Identifier: GPL-2.0
/* Keys for shared locks, from /proc/PID/maps. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include "source/futex/memkey.h"

struct mapping {
	uint64_t start, end, pgoff, inode;
	unsigned int major, minor;
	char perms[5];
	char path[256];
};

static int parse(const char *line, struct mapping *m)
{
	int n;

	m->path[0] = '\0';
	n = sscanf(line, "%" SCNx64 "-%" SCNx64 " %4s %" SCNx64 " %x:%x %" SCNu64 " %255[^\n]",
		   &m->start, &m->end, m->perms, &m->pgoff, &m->major, &m->minor, &m->inode,
		   m->path);
	return n >= 7;
}

static const char *kind_of(const struct mapping *m)
{
	/* the kernel backs shared anonymous memory with an shmem inode, shown
	 * as "/dev/zero (deleted)"; SysV segments as "/SYSV%08x" */
	if (!strncmp(m->path, "/dev/zero", 9) || !strncmp(m->path, "/SYSV", 5) ||
	    !strncmp(m->path, "[anon_shmem", 11))
		return "shmem";
	return "file";
}

static FILE *open_maps(pid_t pid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	return fopen(path, "re");
}

int lw_mem_key(pid_t pid, uint64_t addr, char *key, size_t len)
{
	struct mapping m;
	char line[512];
	FILE *f = open_maps(pid);
	int err = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (!parse(line, &m) || addr < m.start || addr >= m.end)
			continue;
		if (m.perms[3] == 's' && m.inode)
			err = snprintf(key, len, "%s:%x:%x:%" PRIu64 ":0x%" PRIx64, kind_of(&m),
				       m.major, m.minor, m.inode,
				       addr - m.start + m.pgoff) < (int)len ?
				      0 :
				      -ENAMETOOLONG;
		break;
	}
	fclose(f);
	return err;
}

int lw_mem_maps_object(pid_t pid, const char *key)
{
	char line[512], want[128], have[128];
	struct mapping m;
	const char *p;
	FILE *f;
	int found = 0;

	/* "KIND:MAJ:MIN:INODE:OFFSET": compare through INODE */
	p = strrchr(key, ':');
	if (!p || (size_t)(p - key) >= sizeof(want))
		return 0;
	snprintf(want, sizeof(want), "%.*s", (int)(p - key), key);
	f = open_maps(pid);
	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f)) {
		if (!parse(line, &m) || m.perms[3] != 's' || !m.inode)
			continue;
		snprintf(have, sizeof(have), "%s:%x:%x:%" PRIu64, kind_of(&m), m.major, m.minor,
			 m.inode);
		found = !strcmp(have, want);
	}
	fclose(f);
	return found;
}
