/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kernel.h - what kmod/parse.h takes from the kernel, in user space, for
 * fuzz/kmod_publish.c: the types, min_t, kstrtou32 (base 10, digits only,
 * as parse.h calls it), scnprintf and the limits it checks against.
 */
#ifndef LW_FUZZ_KERNEL_H
#define LW_FUZZ_KERNEL_H

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint32_t u32;
typedef unsigned long long u64; /* as the kernel has it: %llu */

#define U32_MAX UINT32_MAX
#define SZ_1M (1024 * 1024)
#define PID_MAX_LIMIT (4 * 1024 * 1024)
#define min_t(type, a, b) ((type)(a) < (type)(b) ? (type)(a) : (type)(b))

static inline int kstrtou32(const char *s, unsigned int base, u32 *res)
{
	unsigned long long v = 0;

	if (base != 10 || !*s)
		return -EINVAL;
	for (; *s; s++) {
		if (!isdigit((unsigned char)*s))
			return -EINVAL;
		v = v * 10 + (*s - '0');
		if (v > U32_MAX)
			return -ERANGE;
	}
	*res = (u32)v;
	return 0;
}

/* the kernel's: what was written, never more than size - 1 */
static inline int scnprintf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static inline int scnprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!size)
		return 0;
	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n < 0 ? 0 : (size_t)n >= size ? (int)size - 1 : n;
}

#endif /* LW_FUZZ_KERNEL_H */
