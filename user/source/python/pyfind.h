/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Is a process a CPython interpreter, and which one: the ELF file that
 * carries the runtime (the executable, or a libpython it maps), the address
 * of `_PyRuntime` in the process, and the version from `Py_Version` (3.11+)
 * or the file's name. Read from /proc/PID/maps and the mapped file itself.
 */
#ifndef LW_PYFIND_H
#define LW_PYFIND_H

#include <stdint.h>
#include <sys/types.h>
#include "source/python/pylayout.h"

struct lw_pyfound {
	uint64_t runtime; /* &_PyRuntime in the process */
	unsigned int major, minor; /* 0.0: a Python whose version is unknown */
	uint32_t hexversion; /* Py_Version (0 before 3.11) */
	int freethreaded; /* python3.13t: another object layout altogether */
	char file[256]; /* the ELF that defines _PyRuntime */
};

/* 0; -ENOENT: not a CPython process; other -errno: cannot be read. */
int pyfind__runtime(pid_t pid, struct lw_pyfound *f);
/*
 * 3.14+: the words (LW_PYASYNC_WORDS) of the .AsyncioDebug section of the
 * _asyncio module pid maps, or of runtime_file where it is built in: 0;
 * -ENOENT: none mapped (yet).
 */
int pyfind__asyncio(pid_t pid, const char *runtime_file, uint64_t *words);

#endif /* LW_PYFIND_H */
