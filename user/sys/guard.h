/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the process sets up before any library may run out of memory: a
 * stack grown in advance (an address-space limit stops its growth with
 * SIGSEGV, not an error), and an exit status no library can set (libdw
 * calls exit(1) when malloc fails; 1 says "deadlock" here).
 */
#ifndef LW_GUARD_H
#define LW_GUARD_H

/* The stack lockwatch may use: some six times the deepest seen (192 KiB,
 * libdw's line-table reader the most of it). */
#define LW_STACK_RESERVE (1024 * 1024)

/* 0, or LW_EXIT_INTERNAL after a line saying the address space is too
 * small to hold the stack. */
int lw_guard_init(void);
/* main() returns status: the library-exit check stands down. */
int lw_guard_done(int status);

#endif /* LW_GUARD_H */
