// SPDX-License-Identifier: GPL-2.0
/*
 * Finds CPython's runtime in a process: among the executable and the mapped
 * files whose name says libpython, the one whose dynamic symbols define
 * `_PyRuntime`. Its load bias comes from the mapping at file offset 0, so
 * the symbol's address in the process is bias + st_value. The file is opened
 * as the process maps it (/proc/PID/map_files), which works for deleted
 * files and other mount namespaces alike.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "sys/maps.h"
#include "sys/proc.h"
#include "source/python/pyfind.h"

/* Symbols `_PyRuntime` and `Py_Version` of an ELF: 0, or -ENOENT. */
static int elf_syms(int fd, uint64_t *runtime, uint64_t *version, uint64_t *first_load)
{
	Elf_Scn *scn = NULL;
	size_t nph;
	GElf_Phdr ph;
	GElf_Shdr sh;
	Elf *e;
	int ret = -ENOENT;

	elf_version(EV_CURRENT);
	e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!e)
		return -ENOEXEC;
	*first_load = UINT64_MAX;
	if (!elf_getphdrnum(e, &nph))
		for (size_t i = 0; i < nph; i++)
			if (gelf_getphdr(e, i, &ph) && ph.p_type == PT_LOAD &&
			    ph.p_vaddr < *first_load)
				*first_load = ph.p_vaddr & ~(uint64_t)0xfff;
	*runtime = *version = 0;
	while ((scn = elf_nextscn(e, scn))) {
		Elf_Data *data;

		if (!gelf_getshdr(scn, &sh) ||
		    (sh.sh_type != SHT_DYNSYM && sh.sh_type != SHT_SYMTAB))
			continue;
		data = elf_getdata(scn, NULL);
		for (size_t i = 0; data && sh.sh_entsize && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym s;
			const char *name;

			if (!gelf_getsym(data, i, &s) || s.st_shndx == SHN_UNDEF || !s.st_value)
				continue;
			name = elf_strptr(e, sh.sh_link, s.st_name);
			if (!name || (name[0] != '_' && name[0] != 'P'))
				continue;
			if (!strcmp(name, "_PyRuntime"))
				*runtime = s.st_value;
			else if (!strcmp(name, "Py_Version"))
				*version = s.st_value;
		}
		if (*runtime)
			break; /* .dynsym comes first; .symtab only when stripped of it */
	}
	if (*runtime && *first_load != UINT64_MAX)
		ret = 0;
	elf_end(e);
	return ret;
}

/* "python3.11", "libpython3.11.so.1.0", "python3.11d": 3, 11; a "t" after
 * the version is a free-threaded build ("python3.13t"). */
static void version_from_name(const char *path, unsigned int *major, unsigned int *minor,
			      int *freethreaded)
{
	const char *base = strrchr(path, '/');
	int end = 0;

	base = base ? base + 1 : path;
	if (!strncmp(base, "lib", 3))
		base += 3;
	*freethreaded = 0;
	if (sscanf(base, "python%u.%u%n", major, minor, &end) != 2) {
		*major = *minor = 0;
		return;
	}
	*freethreaded = base[end] == 't';
}

static int candidate(const char *path, const char *exe)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	return !strcmp(path, exe) || !strncmp(base, "libpython", 9);
}

/* The file of mapping m, as the process maps it: an fd, or -errno. */
static int open_mapped(pid_t pid, const struct lw_mapping *m)
{
	char path[96];

	snprintf(path, sizeof(path), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, pid, m->start,
		 m->end);
	return lw_open_file(path);
}

/* Try the file of mapping m (file offset 0): 0 when it is the runtime. */
static int try_file(pid_t pid, const struct lw_mapping *m, struct lw_pyfound *f)
{
	uint64_t runtime, version, first_load, bias;
	uint32_t hex;
	int fd, err;

	fd = open_mapped(pid, m);
	if (fd < 0)
		return fd;
	err = elf_syms(fd, &runtime, &version, &first_load);
	close(fd);
	if (err)
		return err;
	bias = m->start - first_load;
	f->runtime = bias + runtime;
	snprintf(f->file, sizeof(f->file), "%.*s", (int)sizeof(f->file) - 1, m->path);
	version_from_name(m->path, &f->major, &f->minor, &f->freethreaded);
	f->hexversion = 0;
	if (version && !lw_proc_read(pid, bias + version, &hex, sizeof(hex)) && hex >> 24 == 3) {
		f->hexversion = hex;
		f->major = hex >> 24;
		f->minor = hex >> 16 & 0xff;
	}
	return 0;
}

int pyfind__runtime(pid_t pid, struct lw_pyfound *f)
{
	char path[64], exe[256];
	struct lw_mapping m;
	struct lw_maps *maps;
	ssize_t n;
	int ret = -ENOENT;

	memset(f, 0, sizeof(*f));
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = '\0';
	maps = maps__open(pid);
	if (!maps)
		return -errno;
	while (ret && maps__next(maps, &m)) {
		if (m.offset || m.path[0] != '/' || !candidate(m.path, exe))
			continue;
		if (!try_file(pid, &m, f))
			ret = 0;
	}
	maps__close(maps);
	return ret;
}

/* The .AsyncioDebug section of the ELF open at fd, into words: 0 or -ENOENT. */
static int asyncio_section(int fd, uint64_t *words)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	size_t shstrndx;
	Elf *e;
	int ret = -ENOENT;

	elf_version(EV_CURRENT);
	e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!e)
		return -ENOEXEC;
	if (elf_getshdrstrndx(e, &shstrndx))
		goto out;
	while ((scn = elf_nextscn(e, scn))) {
		const char *name;
		Elf_Data *data;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS)
			continue;
		name = elf_strptr(e, shstrndx, sh.sh_name);
		if (!name || strcmp(name, ".AsyncioDebug"))
			continue;
		data = elf_getdata(scn, NULL);
		if (data && data->d_buf && data->d_size >= LW_PYASYNC_WORDS * 8) {
			memcpy(words, data->d_buf, LW_PYASYNC_WORDS * 8);
			ret = 0;
		}
		break;
	}
out:
	elf_end(e);
	return ret;
}

int pyfind__asyncio(pid_t pid, const char *runtime_file, uint64_t *words)
{
	struct lw_mapping m;
	struct lw_maps *maps = maps__open(pid);
	int ret = -ENOENT;

	if (!maps)
		return -errno;
	while (ret && maps__next(maps, &m)) {
		const char *base = strrchr(m.path, '/');
		int fd;

		base = base ? base + 1 : m.path;
		if (m.offset || m.path[0] != '/' ||
		    (strncmp(base, "_asyncio.", 9) && strcmp(m.path, runtime_file)))
			continue;
		fd = open_mapped(pid, &m);
		if (fd < 0)
			continue;
		ret = asyncio_section(fd, words);
		close(fd);
	}
	maps__close(maps);
	return ret;
}
