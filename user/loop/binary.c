// SPDX-License-Identifier: GPL-2.0
/* A binary's lock sites, found with libelf (see binary.h). */
#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "loop/binary.h"
#include "sys/proc.h"

int binary__open(struct lw_binary *b)
{
	struct stat st;

	b->fd = lw_open_file(b->path);
	if (b->fd < 0)
		return b->fd;
	if (fstat(b->fd, &st)) {
		close(b->fd);
		b->fd = -1;
		return -EIO;
	}
	b->dev = st.st_dev;
	b->ino = st.st_ino;
	return 0;
}

void binary__close(struct lw_binary *b)
{
	if (b->fd >= 0)
		close(b->fd);
	b->fd = -1;
}

/* A symbol's name without its version ("pthread_mutex_trylock@GLIBC_2.2.5"). */
static int same_name(const char *sym, const char *name)
{
	size_t n = strlen(name);

	return !strncmp(sym, name, n) && (sym[n] == '\0' || sym[n] == '@');
}

/* One symbol table: the file offsets of the functions wanted. */
static void resolve(struct lw_binary *b, Elf *e, Elf_Scn *scn, const GElf_Shdr *sh,
		    const char *const *names, int nnames)
{
	Elf_Data *d = elf_getdata(scn, NULL);
	size_t n = sh->sh_entsize ? sh->sh_size / sh->sh_entsize : 0;
	GElf_Shdr text;
	GElf_Sym sym;

	for (size_t i = 0; d && i < n; i++) {
		const char *name;

		if (!gelf_getsym(d, i, &sym) || GELF_ST_TYPE(sym.st_info) != STT_FUNC ||
		    sym.st_shndx == SHN_UNDEF || sym.st_shndx >= SHN_LORESERVE ||
		    !(name = elf_strptr(e, sh->sh_link, sym.st_name)))
			continue;
		for (int k = 0; k < nnames; k++) {
			if (b->off[k] || !same_name(name, names[k]))
				continue;
			/* versions of one function share its address: any will do */
			if (gelf_getshdr(elf_getscn(e, sym.st_shndx), &text) &&
			    sym.st_value >= text.sh_addr &&
			    sym.st_value - text.sh_addr < text.sh_size) {
				b->off[k] = sym.st_value - text.sh_addr + text.sh_offset;
				b->size[k] = sym.st_size;
			}
		}
	}
}

void binary__inspect(struct lw_binary *b, const char *const *names, int n)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	GElf_Ehdr eh;
	GElf_Shdr sh;
	Elf *e;

	memset(b->off, 0, sizeof(b->off));
	memset(b->size, 0, sizeof(b->size));
	b->dynamic = b->usdt = 0;
	if (n > LW_BINARY_NAMES_MAX)
		n = LW_BINARY_NAMES_MAX;
	elf_version(EV_CURRENT);
	e = elf_begin(b->fd, ELF_C_READ, NULL);
	/* the probes read x86-64 registers and decode x86-64 code */
	if (e && gelf_getehdr(e, &eh) && eh.e_ident[EI_CLASS] == ELFCLASS64 &&
	    eh.e_machine == EM_X86_64 && !elf_getshdrstrndx(e, &shstrndx)) {
		while ((scn = elf_nextscn(e, scn))) {
			const char *name;

			if (!gelf_getshdr(scn, &sh))
				continue;
			name = elf_strptr(e, shstrndx, sh.sh_name) ?: "";
			b->dynamic |= !strcmp(name, ".interp");
			b->usdt |= !strcmp(name, ".note.stapsdt");
			if (sh.sh_type == SHT_SYMTAB || sh.sh_type == SHT_DYNSYM)
				resolve(b, e, scn, &sh, names, n);
		}
	}
	elf_end(e);
}
