/* SPDX-License-Identifier: GPL-2.0 */
/*
 * TAP 13 for the unit tests (kselftest's shape, as a header): ok() per check,
 * done() prints the plan and the totals and gives the exit status. prove
 * runs the test programs as they are.
 */
#ifndef LW_TAP_H
#define LW_TAP_H

#include <stdarg.h>
#include <stdio.h>

static int tap_n, tap_failed;

static inline void tap_begin(void)
{
	printf("TAP version 13\n");
}

/* One check: "ok N - what" or "not ok N - what". Returns cond. */
static inline int ok(int cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline int ok(int cond, const char *fmt, ...)
{
	va_list ap;

	tap_n++;
	if (!cond)
		tap_failed++;
	printf("%sok %d - ", cond ? "" : "not ", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	return cond;
}

/* A diagnostic line, "# ...". */
static inline void diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void diag(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static inline int done(void)
{
	printf("1..%d\n# totals: pass:%d fail:%d xfail:0 xpass:0 skip:0 error:0\n", tap_n,
	       tap_n - tap_failed, tap_failed);
	return tap_failed ? 1 : 0;
}

#endif /* LW_TAP_H */
