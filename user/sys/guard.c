// SPDX-License-Identifier: GPL-2.0
/* The stack reserved and library exits caught, as guard.h says. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>
#include "sys/guard.h"
#include "sys/log.h"

static bool returning;

/* exit() called, but not by main returning: a library gave up. */
static void library_exit(void)
{
	if (returning)
		return;
	fflush(NULL);
	lw_err("a library gave up (out of memory?); stopping");
	_exit(LW_EXIT_INTERNAL);
}

/* The address space in use now, in bytes; 0 if unknown. */
static unsigned long long vm_size(void)
{
	unsigned long long pages = 0;
	FILE *f = fopen("/proc/self/statm", "re");

	if (!f)
		return 0;
	if (fscanf(f, "%llu", &pages) != 1)
		pages = 0;
	fclose(f);
	return pages * sysconf(_SC_PAGESIZE);
}

/* Touching the lowest byte grows the stack's mapping over the whole frame
 * at once; the pages between stay untouched (no memory used). */
static __attribute__((noinline)) void reserve_stack(void)
{
	char pad[LW_STACK_RESERVE];

	pad[0] = 0;
	__asm__ volatile("" : : "r"(pad) : "memory");
}

int lw_guard_init(void)
{
	struct rlimit as;

	if (!getrlimit(RLIMIT_AS, &as) && as.rlim_cur != RLIM_INFINITY &&
	    vm_size() + 2 * LW_STACK_RESERVE > as.rlim_cur) {
		lw_err("out of memory: an address-space limit of %llu KiB (ulimit -v) leaves no room for the stack",
		       (unsigned long long)as.rlim_cur / 1024);
		return LW_EXIT_INTERNAL;
	}
	reserve_stack();
	atexit(library_exit);
	return 0;
}

int lw_guard_done(int status)
{
	returning = true;
	return status;
}
