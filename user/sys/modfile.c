// SPDX-License-Identifier: GPL-2.0
/*
 * Finding a watched process's binaries and debug info for libdw: through
 * /proc/PID/map_files and /proc/PID/root, so a binary deleted after start or
 * one inside a container is the one symbolized; debug info from the local
 * build-id tree only.
 */
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "sys/maps.h"
#include "sys/modfile.h"
#include "sys/proc.h"

char *lw_modfile_debuginfo_path;

/*
 * dwfl_standard_find_debuginfo ends with a debuginfod download when
 * DEBUGINFOD_URLS is set. A watchdog must not stall on the network (or leak
 * what runs on the host) while it looks at a hung process: with the variable
 * set, search only the local build-id tree (where Debian's -dbg packages go).
 */
int lw_modfile_find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname,
			      Dwarf_Addr base, const char *file_name, const char *debuglink_file,
			      GElf_Word debuglink_crc, char **debuginfo_file_name)
{
	const char *urls = getenv("DEBUGINFOD_URLS");

	if (urls && urls[0])
		return dwfl_build_id_find_debuginfo(mod, userdata, modname, base, file_name,
						    debuglink_file, debuglink_crc,
						    debuginfo_file_name);
	return dwfl_standard_find_debuginfo(mod, userdata, modname, base, file_name, debuglink_file,
					    debuglink_crc, debuginfo_file_name);
}

/* The process dwfl_linux_proc_report is reporting: find_elf has no other way
 * to know it (lockwatch is single-threaded). */
static pid_t reporting_pid;

void lw_modfile_pid(pid_t pid)
{
	reporting_pid = pid;
}

/* "START-END" of the first mapping of path in pid, for map_files/. */
static int mapping_range(pid_t pid, const char *path, char *range, size_t len)
{
	size_t plen = strlen(path);
	struct lw_mapping m;
	struct lw_maps *maps = maps__open(pid);
	int found = 0;

	if (!maps)
		return 0;
	while (!found && maps__next(maps, &m))
		/* maps says "PATH (deleted)" once the file is unlinked */
		if (!strncmp(m.path, path, plen) &&
		    (!m.path[plen] || !strcmp(m.path + plen, " (deleted)")))
			found = snprintf(range, len, "%" PRIx64 "-%" PRIx64, m.start, m.end) <
				(int)len;
	maps__close(maps);
	return found;
}

/*
 * A module's path is the target's: the file may be deleted since, or live in
 * another mount namespace (a container). /proc/PID/map_files/ opens the very
 * file that is mapped; /proc/PID/root/PATH the path as the target sees it.
 */
int lw_modfile_find_elf(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr base,
			char **file_name, Elf **elfp)
{
	char range[64], path[PATH_MAX + 64];
	int fd = -1;

	if (reporting_pid > 0 && name[0] == '/') {
		if (mapping_range(reporting_pid, name, range, sizeof(range))) {
			snprintf(path, sizeof(path), "/proc/%d/map_files/%s", reporting_pid, range);
			fd = lw_open_file(path);
		}
		if (fd < 0) {
			snprintf(path, sizeof(path), "/proc/%d/root%s", reporting_pid, name);
			fd = lw_open_file(path);
		}
	}
	if (fd < 0)
		return dwfl_linux_proc_find_elf(mod, userdata, name, base, file_name, elfp);
	*elfp = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!*elfp) {
		close(fd);
		return -1;
	}
	*file_name = strdup(name);
	return fd;
}
