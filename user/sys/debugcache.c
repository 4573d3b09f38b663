// SPDX-License-Identifier: GPL-2.0
/*
 * Debug files inflated once per run (see debugcache.h). The copy is written
 * with libelf: every section as it was, the compressed ones inflated, laid
 * out anew by libelf; program headers that pointed at a section (the build
 * ID's note, which libdw checks) are moved with it.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "sys/debugcache.h"

struct entry {
	unsigned char id[LW_BUILD_ID_MAX];
	int len;
	int fd; /* the inflated copy; -1: keep the file as it is */
	size_t size;
};

static struct entry cache[LW_DEBUGCACHE_FILES];
static int nentries;
static size_t used;

/* The file's size once inflated, or 0 when nothing in it is compressed. */
static size_t inflated_size(Elf *in)
{
	size_t size = 0, shnum;
	int any = 0;
	Elf_Scn *scn = NULL;

	if (elf_getshdrnum(in, &shnum))
		return 0;
	while ((scn = elf_nextscn(in, scn))) {
		GElf_Shdr sh;
		GElf_Chdr ch;

		if (!gelf_getshdr(scn, &sh))
			return 0;
		if (sh.sh_type == SHT_NOBITS)
			continue;
		if (sh.sh_flags & SHF_COMPRESSED) {
			if (!gelf_getchdr(scn, &ch))
				return 0;
			any = 1;
			sh.sh_size = ch.ch_size;
		}
		if (sh.sh_size > LW_DEBUGCACHE_FILE_MAX)
			return LW_DEBUGCACHE_FILE_MAX + 1;
		size += sh.sh_size + 64; /* and its alignment */
	}
	return any ? size + shnum * sizeof(GElf_Shdr) + 4096 : 0;
}

/* Where section data that was at off in the file is in out now; 0: none. */
static GElf_Off moved(Elf *in, Elf *out, GElf_Off off)
{
	Elf_Scn *a = NULL, *b = NULL;

	while ((a = elf_nextscn(in, a)) && (b = elf_nextscn(out, b))) {
		GElf_Shdr sa, sb;

		if (gelf_getshdr(a, &sa) && gelf_getshdr(b, &sb) && sa.sh_type != SHT_NOBITS &&
		    sa.sh_offset == off)
			return sb.sh_offset;
	}
	return 0;
}

/* in's sections, inflated, into out; 0 or -1 */
static int copy_sections(Elf *in, Elf *out)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(in, scn))) {
		Elf_Scn *to = elf_newscn(out);
		Elf_Data *d = NULL, *nd;
		GElf_Shdr sh;

		if (!to || !gelf_getshdr(scn, &sh))
			return -1;
		if ((sh.sh_flags & SHF_COMPRESSED) &&
		    (elf_compress(scn, 0, 0) < 0 || !gelf_getshdr(scn, &sh)))
			return -1;
		if (!gelf_update_shdr(to, &sh))
			return -1;
		while ((d = elf_getdata(scn, d))) {
			nd = elf_newdata(to);
			if (!nd)
				return -1;
			*nd = *d; /* in's buffer: in lives until out is written */
		}
	}
	return 0;
}

/* An inflated copy of the ELF file in into a new memfd: the fd, or -1. */
static int write_inflated(Elf *in)
{
	GElf_Ehdr eh;
	size_t phnum, shstrndx;
	Elf *out = NULL;
	int fd, ok = 0;

	if (!gelf_getehdr(in, &eh) || elf_getphdrnum(in, &phnum) ||
	    elf_getshdrstrndx(in, &shstrndx))
		return -1;
	fd = memfd_create("lockwatch-debuginfo", MFD_CLOEXEC);
	if (fd < 0)
		return -1;
	out = elf_begin(fd, ELF_C_WRITE, NULL);
	if (!out || !gelf_newehdr(out, gelf_getclass(in)) || (phnum && !gelf_newphdr(out, phnum)) ||
	    copy_sections(in, out))
		goto out;
	eh.e_shstrndx = shstrndx < SHN_LORESERVE ? shstrndx : SHN_XINDEX;
	if (shstrndx >= SHN_LORESERVE) {
		GElf_Shdr zero;
		Elf_Scn *s0 = elf_getscn(out, 0);

		if (!s0 || !gelf_getshdr(s0, &zero))
			goto out;
		zero.sh_link = shstrndx;
		if (!gelf_update_shdr(s0, &zero))
			goto out;
	}
	if (!gelf_update_ehdr(out, &eh) || elf_update(out, ELF_C_NULL) < 0)
		goto out;
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(in, i, &ph))
			goto out;
		ph.p_offset = moved(in, out, ph.p_offset);
		if (!gelf_update_phdr(out, i, &ph))
			goto out;
	}
	ok = elf_update(out, ELF_C_WRITE) >= 0;
out:
	if (out)
		elf_end(out);
	if (!ok) {
		close(fd);
		return -1;
	}
	return fd;
}

/* fd's inflated copy, or -1 when it is not worth one or over the bounds */
static int inflate_file(int fd, size_t *size)
{
	struct stat st;
	Elf *in;
	int copy = -1;

	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > (off_t)LW_DEBUGCACHE_FILE_MAX)
		return -1;
	in = elf_begin(fd, ELF_C_READ, NULL); /* not mapped: a file cut short, no SIGBUS */
	if (!in)
		return -1;
	*size = inflated_size(in);
	if (*size && *size <= LW_DEBUGCACHE_FILE_MAX && used + *size <= LW_DEBUGCACHE_MAX)
		copy = write_inflated(in);
	elf_end(in);
	if (copy >= 0) {
		struct stat cs;

		if (!fstat(copy, &cs))
			*size = cs.st_size;
	}
	return copy;
}

int debugcache__fd(int fd, const unsigned char *id, int len)
{
	struct entry *e = NULL;
	int dup;

	if (fd < 0 || len <= 0 || len > LW_BUILD_ID_MAX)
		return fd;
	for (int i = 0; i < nentries && !e; i++)
		if (cache[i].len == len && !memcmp(cache[i].id, id, len))
			e = &cache[i];
	if (!e) {
		if (nentries == LW_DEBUGCACHE_FILES)
			return fd;
		e = &cache[nentries++];
		memcpy(e->id, id, len);
		e->len = len;
		e->fd = inflate_file(fd, &e->size);
		if (e->fd >= 0)
			used += e->size;
	}
	if (e->fd < 0)
		return fd;
	dup = fcntl(e->fd, F_DUPFD_CLOEXEC, 0);
	if (dup < 0)
		return fd;
	close(fd);
	return dup;
}

void debugcache__usage(unsigned int *files, size_t *bytes)
{
	*files = 0;
	for (int i = 0; i < nentries; i++)
		*files += cache[i].fd >= 0;
	*bytes = used;
}
