/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The CPython source: the watched processes that are (or become, by execve)
 * CPython interpreters of a version lockwatch has a layout for, read from
 * their memory (pylook.h) when they look stuck - idle for a second, as a
 * hung event loop is, or every ten seconds while busy, and never when they
 * ran no code since the last look - and put into the graph as tasks and
 * threads waiting for asyncio and threading locks, tasks and joins. A
 * version it cannot read is said once, and the native sources go on.
 */
#ifndef LW_PYTHON_SOURCE_H
#define LW_PYTHON_SOURCE_H

#include "core/source.h"

struct lw_python_source;

struct lw_python_source *python_source__new(void);
struct lw_source *python_source__source(struct lw_python_source *ps);

#endif /* LW_PYTHON_SOURCE_H */
