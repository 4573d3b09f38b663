// SPDX-License-Identifier: GPL-2.0
/*
 * pycode - lockwatch's decoders of CPython's location and exception tables
 * (user/source/python/pycode.c) against what the interpreter itself says its
 * code objects mean (pycode_vectors.py, run under each CPython given in
 * LW_PYTHONS, default Debian's /usr/bin/python3.11): for every code unit of
 * every function of asyncio's locks, queues and tasks, threading, and
 * tests/pyhang.py, the line, and the depth of the handler that covers it -
 * the depth below which a frame inside `with` keeps the lock's __exit__.
 * Needs no root.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "source/python/pymem.h"
#include "tap.h"

static int unhex(const char *hex, uint8_t **out)
{
	size_t n = strcmp(hex, "-") ? strlen(hex) / 2 : 0;

	*out = malloc(n + 1);
	for (size_t i = 0; i < n; i++)
		sscanf(hex + 2 * i, "%2hhx", &(*out)[i]);
	return n;
}

/* The numbers after the first word of line, into v (at most max). */
static int numbers(char *line, int *v, int max)
{
	char *save, *tok = strtok_r(line, " \n", &save);
	int n = 0;

	while ((tok = strtok_r(NULL, " \n", &save)) && n < max)
		v[n++] = atoi(tok);
	return n;
}

/* One interpreter's vectors: the number of code objects checked, or -1. */
static int check(const char *python, const char *root)
{
	char cmd[1024], *line = NULL, *lines = NULL, *depths = NULL, lt[65536], et[65536];
	int ncode = 0, bad_line = 0, bad_depth = 0, first = 1;
	size_t cap = 0, cap2 = 0, cap3 = 0;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "%s %s/tests/unit/pycode_vectors.py %s/tests/pyhang.py", python,
		 root, root);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	while (getline(&line, &cap, f) > 0 && getline(&lines, &cap2, f) > 0 &&
	       getline(&depths, &cap3, f) > 0) {
		struct lw_pycode c = {};
		int units, *want_line, *want_depth;

		if (sscanf(line, "code %d %d %65535s %65535s %95s", &c.firstlineno, &units, lt, et,
			   c.qualname) != 5)
			break;
		c.nlinetable = unhex(lt, &c.linetable);
		c.nexctable = unhex(et, &c.exctable);
		want_line = calloc(units + 1, sizeof(int));
		want_depth = calloc(units + 1, sizeof(int));
		if (numbers(lines, want_line, units) != units ||
		    numbers(depths, want_depth, units) != units) {
			diag("%s: malformed vectors", c.qualname);
			bad_line++;
		}
		for (int u = 0; u < units; u++) {
			int l = pycode__line(&c, u), d = pycode__handler_depth(&c, u);

			if (l != want_line[u] && bad_line++ < 5 && first)
				diag("%s unit %d: line %d, the interpreter says %d", c.qualname, u,
				     l, want_line[u]);
			if (d != want_depth[u] && bad_depth++ < 5 && first)
				diag("%s unit %d: handler depth %d, the interpreter says %d",
				     c.qualname, u, d, want_depth[u]);
		}
		free(want_line);
		free(want_depth);
		free(c.linetable);
		free(c.exctable);
		ncode++;
	}
	free(line);
	free(lines);
	free(depths);
	if (pclose(f))
		return -1;
	ok(ncode > 200, "%s: vectors for %d code objects", python, ncode);
	ok(!bad_line, "%s: every code unit's line as co_lines() says (%d differ)", python,
	   bad_line);
	ok(!bad_depth,
	   "%s: every code unit's handler depth as the exception table says (%d differ)", python,
	   bad_depth);
	return ncode;
}

/* Tables a process forged (fuzz/pycode.c found the first): a line past
 * INT_MAX, or before 1, is no line; a handler's range past 2^32 does not
 * wrap around to end before its start. */
static void forged(void)
{
	uint8_t up[] = { 0xe8, 0x48, 0x03 }; /* one unit, "no column", line + 100 */
	uint8_t down[] = { 0xe8, 0x49, 0x03 }; /* line - 100 */
	uint8_t wide[] = { 0x80 | 3, /* start 3 */
			   0x7f,     0x7f, 0x7f, 0x7f, 0x7f, 0x3f, /* size 2^32 - 1 */
			   0x00,     0x02 }; /* target 0, depth 1 */
	struct lw_pycode c = { .linetable = up, .nlinetable = sizeof(up) };

	c.firstlineno = INT32_MAX - 1;
	ok(pycode__line(&c, 0) == 0, "a line past INT_MAX is none (%d)", pycode__line(&c, 0));
	c.linetable = down;
	c.firstlineno = 50;
	ok(pycode__line(&c, 0) == 0, "a line below 1 is none (%d)", pycode__line(&c, 0));
	c.firstlineno = 500;
	ok(pycode__line(&c, 0) == 400, "a line 100 before 500 is 400 (%d)", pycode__line(&c, 0));
	c.exctable = wide;
	c.nexctable = sizeof(wide);
	ok(pycode__handler_depth(&c, 5) == 1 && pycode__handler_depth(&c, 2) == 0,
	   "a handler from 3 on for 2^32 - 1 units covers 5, not 2");
}

int main(void)
{
	const char *root = getenv("LW_ROOT") ? getenv("LW_ROOT") : ".";
	char *pythons = strdup(getenv("LW_PYTHONS") ? getenv("LW_PYTHONS") : "/usr/bin/python3.11");
	char *save, *py;

	tap_begin();
	for (py = strtok_r(pythons, " ", &save); py; py = strtok_r(NULL, " ", &save))
		ok(check(py, root) > 0, "%s ran and gave vectors", py);
	free(pythons);
	forged();
	return done();
}
