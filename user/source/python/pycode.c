// SPDX-License-Identifier: GPL-2.0
/*
 * The two tables of a code object that lockwatch decodes (see pymem.h): the
 * location table, for the line an instruction is on, and the exception
 * table, for the value-stack depth of the handler around an instruction -
 * below which a frame inside `with` keeps the lock's bound __exit__. Their
 * format is the same from 3.11 to 3.13.
 */
#include <stdint.h>
#include "source/python/pymem.h"

/* The varints of 3.11's location and exception tables: 6 bits a byte,
 * bit 6 says another byte follows. Locations put the low bits first,
 * exception tables the high bits first. */
static unsigned int varint_le(const uint8_t *t, int n, int *i)
{
	unsigned int v = 0, shift = 0;
	uint8_t b;

	do {
		if (*i >= n)
			return v;
		b = t[(*i)++];
		v |= (unsigned int)(b & 63) << shift;
		shift += 6;
	} while (b & 64 && shift < 32);
	return v;
}

static int svarint(const uint8_t *t, int n, int *i)
{
	unsigned int v = varint_le(t, n, i);

	return v & 1 ? -(int)(v >> 1) : (int)(v >> 1);
}

static unsigned int varint_be(const uint8_t *t, int n, int *i)
{
	unsigned int v;
	uint8_t b;

	if (*i >= n)
		return 0;
	b = t[(*i)++];
	v = b & 63;
	while (b & 64 && *i < n) {
		b = t[(*i)++];
		v = v << 6 | (b & 63);
	}
	return v;
}

/* Objects/locations.md: entries of (code, length) covering the code in
 * order, each moving the line by a delta. */
int pycode__line(const struct lw_pycode *c, int instr)
{
	int64_t line = c->firstlineno; /* a forged table's deltas add up to anything */
	int i = 0, addr = 0;

	while (i < c->nlinetable) {
		uint8_t first = c->linetable[i++];
		int code = first >> 3 & 15, len = (first & 7) + 1, delta = 0;

		if (!(first & 0x80))
			return 0; /* lost sync: not a location table */
		if (code == 15) {
			delta = 0;
		} else if (code == 14) {
			delta = svarint(c->linetable, c->nlinetable, &i);
			for (int k = 0; k < 3; k++)
				varint_le(c->linetable, c->nlinetable, &i);
		} else if (code == 13) {
			delta = svarint(c->linetable, c->nlinetable, &i);
		} else if (code >= 10) {
			delta = code - 10;
			i += 2;
		} else {
			i += 1;
		}
		line += delta;
		if (instr >= addr && instr < addr + len)
			return code == 15 || line <= 0 || line > INT32_MAX ? 0 : (int)line;
		addr += len;
	}
	return 0;
}

/* Objects/exception_handling_notes.txt: entries of start, size, target and
 * depth << 1 | lasti, sorted by start; the first byte of each has bit 7. */
int pycode__handler_depth(const struct lw_pycode *c, int instr)
{
	int i = 0;

	while (i < c->nexctable) {
		unsigned int start, size, depth;

		if (!(c->exctable[i] & 0x80))
			return 0;
		start = varint_be(c->exctable, c->nexctable, &i);
		size = varint_be(c->exctable, c->nexctable, &i);
		varint_be(c->exctable, c->nexctable, &i); /* target */
		depth = varint_be(c->exctable, c->nexctable, &i) >> 1;
		if ((unsigned int)instr < start)
			return 0;
		if ((uint64_t)(unsigned int)instr < (uint64_t)start + size)
			return depth;
	}
	return 0;
}
