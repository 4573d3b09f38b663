// SPDX-License-Identifier: GPL-2.0
/*
 * debugcache - debug files inflated once and shared (user/sys/debugcache.c):
 * libc's debug file from libc6-dbg (zlib-compressed DWARF) comes back with
 * every section as it was, the compressed ones inflated byte for byte, the
 * same build ID (read through its program headers, as libdw does) and DWARF
 * that libdw reads with as many units; a second ask gives the same copy; a
 * file with nothing compressed is left as it is, and one whose compressed
 * section claims more than the bound is not inflated.
 */
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "sys/debugcache.h"
#include "tap.h"

#define LIBC "/lib/x86_64-linux-gnu/libc.so.6"

static int build_id(int fd, unsigned char *id)
{
	Elf *e = elf_begin(fd, ELF_C_READ, NULL);
	const void *got;
	int n = e ? dwelf_elf_gnu_build_id(e, &got) : -1;

	if (n > 0 && n <= 64)
		memcpy(id, got, n);
	if (e)
		elf_end(e);
	return n;
}

static int units(int fd)
{
	Dwarf *dw = dwarf_begin(fd, DWARF_C_READ);
	Dwarf_Off off = 0, next;
	size_t hsize;
	int n = 0;

	if (!dw)
		return -1;
	while (!dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL))
		n++, off = next;
	dwarf_end(dw);
	return n;
}

/* Every section of a (inflated first) against b's: 0 when all are equal. */
static int compare_sections(int fa, int fb, int *inflated)
{
	Elf *a = elf_begin(fa, ELF_C_READ, NULL), *b = elf_begin(fb, ELF_C_READ, NULL);
	Elf_Scn *sa = NULL, *sb = NULL;
	size_t stra, strb;
	int bad = !a || !b || elf_getshdrstrndx(a, &stra) || elf_getshdrstrndx(b, &strb);

	*inflated = 0;
	while (!bad && (sa = elf_nextscn(a, sa))) {
		GElf_Shdr ha, hb;
		Elf_Data *da, *db;

		sb = elf_nextscn(b, sb);
		if (!sb || !gelf_getshdr(sa, &ha) || !gelf_getshdr(sb, &hb)) {
			bad = 1;
			break;
		}
		if (ha.sh_flags & SHF_COMPRESSED) {
			(*inflated)++;
			if (elf_compress(sa, 0, 0) < 0 || !gelf_getshdr(sa, &ha))
				bad = 1;
		}
		bad |= strcmp(elf_strptr(a, stra, ha.sh_name), elf_strptr(b, strb, hb.sh_name)) ||
		       ha.sh_type != hb.sh_type || ha.sh_flags != hb.sh_flags ||
		       ha.sh_size != hb.sh_size || ha.sh_addr != hb.sh_addr;
		if (bad || ha.sh_type == SHT_NOBITS)
			continue;
		da = elf_getdata(sa, NULL);
		db = elf_getdata(sb, NULL);
		bad |= !da || !db || da->d_size != db->d_size ||
		       (da->d_size && memcmp(da->d_buf, db->d_buf, da->d_size));
	}
	bad |= !bad && elf_nextscn(b, sb) != NULL;
	if (a)
		elf_end(a);
	if (b)
		elf_end(b);
	return bad;
}

/* A new section of e: its type, its name's offset, its bytes. */
static Elf_Scn *add_section(Elf *e, Elf64_Word type, Elf64_Word name, void *buf, size_t size)
{
	Elf_Scn *scn = elf_newscn(e);
	Elf_Data *d = scn ? elf_newdata(scn) : NULL;
	Elf64_Shdr *sh = scn ? elf64_getshdr(scn) : NULL;

	if (!d || !sh)
		return NULL;
	d->d_buf = buf;
	d->d_size = size;
	sh->sh_type = type;
	sh->sh_name = name;
	return scn;
}

/* A small ELF file with one zlib-compressed .debug_info whose header claims
 * claim bytes inflated (0: the truth); its fd. */
static int compressed_file(const char *path, uint64_t claim)
{
	static char payload[4096];
	static char names[] = "\0.shstrtab\0.debug_info";
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	Elf *e = fd >= 0 ? elf_begin(fd, ELF_C_WRITE, NULL) : NULL;
	Elf64_Ehdr *eh = e ? elf64_newehdr(e) : NULL;
	Elf_Scn *str, *info;
	GElf_Shdr ih;

	if (!eh)
		return -1;
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_REL;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (char)(i * 7 % 251);
	str = add_section(e, SHT_STRTAB, 1, names, sizeof(names));
	info = add_section(e, SHT_PROGBITS, 11, payload, sizeof(payload));
	if (!str || !info)
		return -1;
	eh->e_shstrndx = elf_ndxscn(str);
	if (elf_compress(info, ELFCOMPRESS_ZLIB, 0) != 1 || elf_update(e, ELF_C_WRITE) < 0 ||
	    !gelf_getshdr(info, &ih))
		return -1;
	elf_end(e);
	if (claim && pwrite(fd, &claim, 8, ih.sh_offset + 8) != 8) /* Elf64_Chdr.ch_size */
		return -1;
	return fd;
}

int main(void)
{
	unsigned char id[64], got[64], small_id[20] = { 1 }, big_id[20] = { 2 }, exe_id[20] = { 3 };
	char path[256], tmp[] = "/tmp/lw-debugcache-XXXXXX";
	struct stat st, cs, cs2;
	unsigned int files;
	size_t bytes;
	int libc, n, fd, copy, again, inflated = 0, plain, same, m;

	tap_begin();
	elf_version(EV_CURRENT);

	libc = open(LIBC, O_RDONLY);
	n = libc >= 0 ? build_id(libc, id) : -1;
	if (n < 2) {
		printf("Bail out! no build ID in %s\n", LIBC);
		return 1;
	}
	n = snprintf(path, sizeof(path), "/usr/lib/debug/.build-id/%02x/", id[0]);
	for (int i = 1; i < 20; i++)
		n += snprintf(path + n, sizeof(path) - n, "%02x", id[i]);
	strcat(path, ".debug");
	fd = open(path, O_RDONLY);
	if (fd < 0 || fstat(fd, &st)) {
		printf("Bail out! %s: libc6-dbg is not installed (make deps)\n", path);
		return 1;
	}

	copy = debugcache__fd(fd, id, 20);
	ok(copy >= 0 && copy != fd, "libc's debug file is inflated into a copy");
	debugcache__usage(&files, &bytes);
	ok(files == 1 && bytes > (size_t)st.st_size && !fstat(copy, &cs) &&
		   (size_t)cs.st_size == bytes,
	   "usage counts it: %u file, %zu bytes (the file is %lld)", files, bytes,
	   (long long)st.st_size);
	fd = open(path, O_RDONLY);
	same = !compare_sections(fd, copy, &inflated);
	ok(same && inflated >= 5,
	   "every section as it was, %d compressed ones inflated byte for byte", inflated);
	n = build_id(copy, got);
	ok(n == 20 && !memcmp(got, id, 20), "the copy has libc's build ID");
	n = units(fd);
	m = units(copy);
	ok(n > 100 && m == n, "libdw reads as many units from the copy: %d", n);

	again = debugcache__fd(open(path, O_RDONLY), id, 20);
	ok(again >= 0 && !fstat(again, &cs2) && cs2.st_ino == cs.st_ino && cs2.st_dev == cs.st_dev,
	   "asked again: the same copy, not a second inflation");
	debugcache__usage(&files, &bytes);
	ok(files == 1, "still one file kept");

	fd = mkstemp(tmp);
	close(fd);
	fd = compressed_file(tmp, 0);
	copy = fd >= 0 ? debugcache__fd(fd, small_id, 20) : -1;
	plain = open(tmp, O_RDONLY);
	same = copy >= 0 && copy != fd && !compare_sections(plain, copy, &inflated);
	ok(same && inflated == 1, "a small file's one compressed section inflated as libelf does");

	fd = compressed_file(tmp, (uint64_t)LW_DEBUGCACHE_FILE_MAX + 1);
	copy = fd >= 0 ? debugcache__fd(fd, big_id, 20) : -2;
	ok(copy == fd, "a section claiming more than %u MiB inflated: left as it is",
	   LW_DEBUGCACHE_FILE_MAX >> 20);

	fd = open("/proc/self/exe", O_RDONLY);
	copy = debugcache__fd(fd, exe_id, 20);
	ok(copy == fd, "a file with nothing compressed: left as it is");
	debugcache__usage(&files, &bytes);
	ok(files == 2, "two files kept (libc's and the small one): %u", files);
	unlink(tmp);
	return done();
}
