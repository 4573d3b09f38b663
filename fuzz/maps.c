// SPDX-License-Identifier: GPL-2.0
/*
 * maps - libFuzzer over the /proc/PID/maps parser (user/sys/maps.c), whose
 * paths a watched process chooses: a mapping comes only from a whole line
 * that fits the parser's buffer (never from the tail of a longer one, which
 * could forge a shared mapping), and every field it gives is bounded.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sys/maps.h"

#define LINE_FITS (PATH_MAX + 256 - 2) /* maps.c's buffer, less '\n' and NUL */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lw_mapping m;
	struct lw_maps *maps;
	size_t fitting = 0, start = 0;
	int n = 0;

	/* lines short enough to be read whole, the last one without '\n' too */
	for (size_t i = 0; i <= size; i++)
		if (i == size || data[i] == '\n') {
			if (i > start || i < size)
				fitting += i - start <= LINE_FITS;
			start = i + 1;
		}
	maps = maps__from(fmemopen((void *)data, size ? size : 1, "r"));
	if (!maps)
		return 0;
	while (maps__next(maps, &m)) {
		n++;
		if (strnlen(m.path, sizeof(m.path)) == sizeof(m.path) ||
		    strnlen(m.perms, sizeof(m.perms)) == sizeof(m.perms))
			abort();
	}
	maps__close(maps);
	if ((size_t)n > fitting)
		abort(); /* a mapping from part of a line */
	return 0;
}
