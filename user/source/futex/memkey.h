/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The identity of a lock in shared memory: the object that backs it, not the
 * address, which differs in each process. As the kernel keys shared futexes:
 * "file:DEV:INODE:OFFSET" for a shared file mapping (POSIX shm included),
 * "shmem:DEV:INODE:OFFSET" for MAP_SHARED|MAP_ANONYMOUS and SysV shm.
 */
#ifndef LW_MEMKEY_H
#define LW_MEMKEY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* 0 with the key of the shared object at addr, -ENOENT if addr is not in a
 * shared mapping of an object, other -errno if maps cannot be read. */
int lw_mem_key(pid_t pid, uint64_t addr, char *key, size_t len);
/* Whether pid maps the object (DEV:INODE) that key names. */
int lw_mem_maps_object(pid_t pid, const char *key);

#endif /* LW_MEMKEY_H */
