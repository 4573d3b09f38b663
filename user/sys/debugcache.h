/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Debug files decompressed once per run and shared by every process's Dwfl.
 *
 * Debian's -dbg packages compress their DWARF (SHF_COMPRESSED, zlib), and
 * libdw inflates all of it when it first opens a module's debug info: 70 ms
 * and 10 MiB for libc's, paid again for every process symbolized, on the
 * path from a confirmed deadlock to its report. Here a debug file from the
 * local build-id tree is inflated once into a memfd; each Dwfl maps that
 * copy, so its pages are shared too. Bounded: a file of at most
 * LW_DEBUGCACHE_FILE_MAX inflated, LW_DEBUGCACHE_MAX in all.
 */
#ifndef LW_DEBUGCACHE_H
#define LW_DEBUGCACHE_H

#include <stddef.h>

#define LW_DEBUGCACHE_FILE_MAX (64u << 20)
#define LW_DEBUGCACHE_MAX (128u << 20)
#define LW_DEBUGCACHE_FILES 32
#define LW_BUILD_ID_MAX 64 /* bytes of a build ID kept */

/*
 * fd is a debug file with the build ID id (len bytes), from a place only
 * root writes. Returns an fd of its inflated copy (made now if it is not
 * yet; fd is closed then), or fd itself when nothing in it is compressed,
 * it is over the bounds or it cannot be read as ELF.
 */
int debugcache__fd(int fd, const unsigned char *id, int len);
/* inflated files kept and their bytes */
void debugcache__usage(unsigned int *files, size_t *bytes);

#endif /* LW_DEBUGCACHE_H */
