/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The names a Python program's code uses for its locks, read from the frames
 * that wait for them or hold them: a local (`cache_lock`), an attribute of
 * a local (`Store._lock` through self), a global of the frame's module; an
 * awaited task, a joined thread or a loop's thread by its own name; a future
 * by what it will run.
 */
#ifndef LW_PYNAME_H
#define LW_PYNAME_H

#include <stddef.h>
#include "source/python/pylook.h"

/* The name of what w waits for into buf; "" when the code gives none. */
void pyname__lock(struct lw_pymem *m, const struct lw_pywait *w, char *buf, size_t len);
/* The name of p's hold i, as its frames see it; "" unknown. */
void pyname__held(struct lw_pymem *m, const struct lw_pyparticipant *p, int i, char *buf,
		  size_t len);

#endif /* LW_PYNAME_H */
