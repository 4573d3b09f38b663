// SPDX-License-Identifier: GPL-2.0
/*
 * pycode - libFuzzer over the decoders of CPython's location and exception
 * tables (user/source/python/pycode.c), which read bytes copied out of a
 * watched process: the first 4 bytes are firstlineno, one byte splits the
 * rest into the two tables; every code unit the tables could cover is asked
 * for its line and its handler's depth.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "source/python/pymem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lw_pycode c = { .nlocalsplus = 4, .stacksize = 16 };
	size_t split;
	int32_t first;

	if (size < 5)
		return 0;
	memcpy(&first, data, 4);
	c.firstlineno = first;
	split = data[4] * (size - 5) / 255;
	data += 5;
	size -= 5;
	/* copies of their exact size, so a read past either is caught */
	c.nlinetable = split;
	c.nexctable = size - split;
	c.linetable = malloc(c.nlinetable + 1);
	c.exctable = malloc(c.nexctable + 1);
	if (c.linetable && c.exctable) {
		memcpy(c.linetable, data, c.nlinetable);
		memcpy(c.exctable, data + split, c.nexctable);
		for (int instr = -1; instr < 4 * (int)size + 8; instr++) {
			int depth = pycode__handler_depth(&c, instr);

			pycode__line(&c, instr);
			if (depth < 0)
				abort(); /* a depth is a count of stack slots */
		}
	}
	free(c.linetable);
	free(c.exctable);
	return 0;
}
