// SPDX-License-Identifier: GPL-2.0
/* One-line diagnostics on stderr. */
#include <stdarg.h>
#include <stdio.h>
#include "sys/log.h"

int lw_verbose;

static void vsay(const char *fmt, va_list ap)
{
	/* one write per line, so lines from a watched child never split ours */
	char line[1024];
	int n;

	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n] = '\n';
	fprintf(stderr, "lockwatch: %.*s", n + 1, line);
	fflush(stderr);
}

void lw_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay(fmt, ap);
	va_end(ap);
}

void lw_debug(const char *fmt, ...)
{
	va_list ap;

	if (!lw_verbose)
		return;
	va_start(ap, fmt);
	vsay(fmt, ap);
	va_end(ap);
}
