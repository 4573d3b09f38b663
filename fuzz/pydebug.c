// SPDX-License-Identifier: GPL-2.0
/*
 * pydebug - libFuzzer over the reader of a CPython 3.13+ _Py_DebugOffsets
 * table (pylayout__describe, user/source/python/pylayout.c), which a watched
 * process could forge: any words are taken or refused with a reason, and
 * nothing is read past the words given.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "source/python/pylayout.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct lw_pylayout *L = pylayout__find(0x030d);
	uint64_t words[512] = { 0 };
	struct lw_pylayout out;
	size_t n = size / 8 < 512 ? size / 8 : 512;
	char why[160];
	uint32_t hex;
	int r;

	if (!L || !L->debug || size < 4)
		return 0;
	memcpy(&hex, data, 4);
	memcpy(words, data + 4,
	       (size - 4) / 8 * 8 < sizeof(words) ? (size - 4) / 8 * 8 : sizeof(words));
	/* most inputs: the real cookie and version, so the checks behind get fuzzed */
	if (n && !(data[0] & 1))
		memcpy(words, "xdebugpy", 8);
	why[0] = '\0';
	r = pylayout__describe(L, words, n, hex & 1 ? 0 : 0x030d05f0, &out, why, sizeof(why));
	if (r != LW_PYDEBUG_OK && !why[0])
		abort(); /* a refusal says why */
	if (strnlen(why, sizeof(why)) == sizeof(why))
		abort();
	return 0;
}
