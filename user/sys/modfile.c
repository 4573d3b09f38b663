// SPDX-License-Identifier: GPL-2.0
/*
 * Finding a watched process's binaries and debug info for libdw: through
 * /proc/PID/map_files and inside /proc/PID/root, so a binary deleted after
 * start or one inside a container is the one symbolized; debug info from the
 * local build-id tree, or a .gnu_debuglink's file found safely.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <elfutils/libdwelf.h>
#include <unistd.h>
#include "sys/debugcache.h"
#include "sys/maps.h"
#include "sys/modfile.h"
#include "sys/proc.h"

char *lw_modfile_debuginfo_path;

/* The process dwfl_linux_proc_report is reporting: find_elf has no other way
 * to know it (lockwatch is single-threaded). */
static pid_t reporting_pid;
/* its maps, read once for every module's range (a process with a thousand
 * thread stacks has a maps file of 100 KiB, and forty modules) */
static char *maps_text;
static size_t maps_len;
static int maps_read;

#define MAPS_TEXT_MAX (64u << 20) /* 65,530 mappings with long paths fit */
#define MAPS_CHUNK 65536
#define BUILD_ID_DIR "/usr/lib/debug/.build-id"

void lw_modfile_pid(pid_t pid)
{
	reporting_pid = pid;
	free(maps_text);
	maps_text = NULL;
	maps_len = 0;
	maps_read = 0;
}

/* reporting_pid's maps into maps_text, once: 0 or -errno. */
static int read_maps(void)
{
	char path[64];
	size_t cap = 0;
	int fd;

	if (maps_read)
		return maps_text ? 0 : -EIO;
	maps_read = 1;
	snprintf(path, sizeof(path), "/proc/%d/maps", reporting_pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (maps_len < MAPS_TEXT_MAX) {
		ssize_t n;

		if (cap - maps_len < MAPS_CHUNK) {
			size_t more = cap ? cap * 2 : 4 * MAPS_CHUNK;
			char *t = realloc(maps_text, more);

			if (!t)
				break;
			maps_text = t;
			cap = more;
		}
		n = read(fd, maps_text + maps_len, cap - maps_len);
		if (n <= 0)
			break;
		maps_len += n;
	}
	close(fd);
	return maps_text ? 0 : -ENOMEM;
}

/* Whether the ELF file fd has the build ID id (len bytes). */
static int same_build_id(int fd, const unsigned char *id, int len)
{
	Elf *e = elf_begin(fd, ELF_C_READ, NULL); /* no map: truncated, SIGBUS */
	const void *got;
	int n = e ? dwelf_elf_gnu_build_id(e, &got) : -1;
	int same = n == len && !memcmp(got, id, len);

	if (e)
		elf_end(e);
	return same;
}

/*
 * The build-id tree's debug file for id (root's, its names hex), inflated
 * once and shared by every process's Dwfl (debugcache.h): an fd, or -1.
 * Not libdw's dwfl_build_id_find_debuginfo: it keeps the file it opened for
 * the module, whatever fd it is given back.
 */
static int build_id_file(const unsigned char *id, int len, char **name)
{
	char path[sizeof(BUILD_ID_DIR) + 2 * LW_BUILD_ID_MAX + 16];
	int n, fd;

	if (len < 2 || len > LW_BUILD_ID_MAX)
		return -1;
	n = snprintf(path, sizeof(path), BUILD_ID_DIR "/%02x/", id[0]);
	for (int i = 1; i < len; i++)
		n += snprintf(path + n, sizeof(path) - n, "%02x", id[i]);
	snprintf(path + n, sizeof(path) - n, ".debug");
	fd = lw_open_file(path);
	if (fd < 0)
		return -1;
	if (!same_build_id(fd, id, len)) {
		close(fd);
		return -1;
	}
	*name = strdup(path);
	return debugcache__fd(fd, id, len);
}

/* The debug info of mod's build ID, inflated now while nothing waits for
 * it (debugcache.h), so that a report's first look at it is quick. */
void lw_modfile_prepare(Dwfl_Module *mod)
{
	const unsigned char *id;
	GElf_Addr id_vaddr;
	char *name = NULL;
	int len = dwfl_module_build_id(mod, &id, &id_vaddr);
	int fd = len > 0 ? build_id_file(id, len, &name) : -1;

	free(name);
	if (fd >= 0)
		close(fd);
}

/*
 * Debug info, where Debian and gdb look: the local build-id tree
 * (/usr/lib/debug/.build-id, where -dbg packages go: root's, its names hex),
 * then the file a module's .gnu_debuglink names, beside the module, in its
 * .debug/ or under /usr/lib/debug. Those places are the target's to choose:
 * the name must be a file name (no "/": no "../" out of them), it is opened
 * inside the target's root without blocking (a FIFO there hung libdw's own
 * finder, which opens with a plain O_RDONLY), and taken only with the
 * module's build ID. No debuginfod: a watchdog must not stall on the network
 * (or tell it what runs here) while it looks at a hung process.
 */
int lw_modfile_find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname,
			      Dwarf_Addr base, const char *file_name, const char *debuglink_file,
			      GElf_Word debuglink_crc, char **debuginfo_file_name)
{
	static const char *const places[] = { "%s/%s", "%s/.debug/%s", "/usr/lib/debug%s/%s" };
	char dir[PATH_MAX], path[2 * PATH_MAX];
	const unsigned char *id;
	GElf_Addr id_vaddr;
	/* debug info is looked for when first needed: the process is the
	 * one find_elf noted for the module then (see there) */
	pid_t pid = (pid_t)(intptr_t)*userdata;
	const char *slash;
	int fd, len;

	if (debuglink_file && strchr(debuglink_file, '/'))
		/* a .gnu_debugaltlink's (dwz) file, by its own build ID: libdw's */
		return dwfl_build_id_find_debuginfo(mod, userdata, modname, base, file_name,
						    debuglink_file, debuglink_crc,
						    debuginfo_file_name);
	len = dwfl_module_build_id(mod, &id, &id_vaddr);
	fd = build_id_file(id, len, debuginfo_file_name);
	if (fd >= 0)
		return fd;
	if (!debuglink_file || !debuglink_file[0] || strchr(debuglink_file, '/') || !file_name ||
	    file_name[0] != '/' || len <= 0)
		return -1;
	slash = strrchr(file_name, '/');
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - file_name), file_name);
	for (size_t i = 0; i < sizeof(places) / sizeof(places[0]); i++) {
		snprintf(path, sizeof(path), places[i], dir, debuglink_file);
		fd = lw_open_in_root(pid, path);
		if (fd < 0)
			continue;
		if (same_build_id(fd, id, len)) {
			*debuginfo_file_name = strdup(path);
			return fd;
		}
		close(fd);
	}
	return -1;
}

/* "START-END" of the first mapping of path in pid, for map_files/. */
static int mapping_range(pid_t pid, const char *path, char *range, size_t len)
{
	size_t plen = strlen(path);
	struct lw_mapping m;
	struct lw_maps *maps;
	int found = 0;

	if (pid != reporting_pid || read_maps() || !maps_len)
		return 0;
	maps = maps__from(fmemopen(maps_text, maps_len, "r"));
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

	*userdata = (void *)(intptr_t)reporting_pid; /* whose files, for debug info */
	if (reporting_pid > 0 && name[0] == '/') {
		if (mapping_range(reporting_pid, name, range, sizeof(range))) {
			snprintf(path, sizeof(path), "/proc/%d/map_files/%s", reporting_pid, range);
			fd = lw_open_file(path);
		}
		if (fd < 0)
			fd = lw_open_in_root(reporting_pid, name);
	}
	/* not libdw's own finder for a path: it opens it with a plain open(2)
	 * in lockwatch's root, where a FIFO swapped in would block it */
	if (fd < 0 && name[0] == '/')
		return -1;
	if (fd < 0) /* [vdso] and the like: from memory */
		return dwfl_linux_proc_find_elf(mod, userdata, name, base, file_name, elfp);
	*elfp = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!*elfp) {
		close(fd);
		return -1;
	}
	*file_name = strdup(name);
	return fd;
}
