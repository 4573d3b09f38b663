// SPDX-License-Identifier: GPL-2.0
/* Keys for shared locks, from the process's mappings (sys/maps.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include "source/futex/memkey.h"
#include "sys/maps.h"

static const char *kind_of(const struct lw_mapping *m)
{
	/* the kernel backs shared anonymous memory with an shmem inode, shown
	 * as "/dev/zero (deleted)"; SysV segments as "/SYSV%08x" */
	if (!strncmp(m->path, "/dev/zero", 9) || !strncmp(m->path, "/SYSV", 5) ||
	    !strncmp(m->path, "[anon_shmem", 11))
		return "shmem";
	return "file";
}

int lw_mem_key(pid_t pid, uint64_t addr, char *key, size_t len)
{
	struct lw_mapping m;
	int err = maps__find(pid, addr, &m);

	if (err)
		return err;
	if (m.perms[3] != 's' || !m.inode)
		return -ENOENT;
	return snprintf(key, len, "%s:%x:%x:%" PRIu64 ":0x%" PRIx64, kind_of(&m), m.major, m.minor,
			m.inode, addr - m.start + m.offset) < (int)len ?
		       0 :
		       -ENAMETOOLONG;
}

int lw_mem_maps_object(pid_t pid, const char *key)
{
	char want[128], have[128];
	struct lw_mapping m;
	struct lw_maps *maps;
	const char *p;
	int found = 0;

	/* "KIND:MAJ:MIN:INODE:OFFSET": compare through INODE */
	p = strrchr(key, ':');
	if (!p || (size_t)(p - key) >= sizeof(want))
		return 0;
	snprintf(want, sizeof(want), "%.*s", (int)(p - key), key);
	maps = maps__open(pid);
	if (!maps)
		return 0;
	while (!found && maps__next(maps, &m)) {
		if (m.perms[3] != 's' || !m.inode)
			continue;
		snprintf(have, sizeof(have), "%s:%x:%x:%" PRIu64, kind_of(&m), m.major, m.minor,
			 m.inode);
		found = !strcmp(have, want);
	}
	maps__close(maps);
	return found;
}
