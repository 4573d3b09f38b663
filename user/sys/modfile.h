/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libdw callbacks that find a target process's module files and their debug
 * info: the files as the target maps them (deleted since, or in another
 * mount namespace), and never a network download.
 */
#ifndef LW_MODFILE_H
#define LW_MODFILE_H

#include <elfutils/libdwfl.h>
#include <sys/types.h>

extern char *lw_modfile_debuginfo_path;

/* The process whose modules are being reported next. */
void lw_modfile_pid(pid_t pid);
int lw_modfile_find_elf(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr base,
			char **file_name, Elf **elfp);
int lw_modfile_find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname,
			      Dwarf_Addr base, const char *file_name, const char *debuglink_file,
			      GElf_Word debuglink_crc, char **debuginfo_file_name);
/* Inflate mod's debug info ahead of a report (sys/debugcache.h). */
void lw_modfile_prepare(Dwfl_Module *mod);

#endif /* LW_MODFILE_H */
