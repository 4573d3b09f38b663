/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Diagnostics on stderr, one line each, "lockwatch: " first; and the exit
 * statuses every mode shares (DESIGN.md, "Exit status").
 */
#ifndef LW_LOG_H
#define LW_LOG_H

enum lw_exit {
	LW_EXIT_OK = 0, /* finished, no deadlock-class alert */
	LW_EXIT_DEADLOCK = 1, /* at least one deadlock-class alert */
	LW_EXIT_USAGE = 2, /* bad option or argument */
	LW_EXIT_TARGET = 3, /* no such PID, zombie, kernel thread */
	LW_EXIT_ENV = 4, /* not root, no BPF, no BTF, no tracefs */
	LW_EXIT_INTERNAL = 5,
};

extern int lw_verbose;

void lw_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* -v only */
void lw_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* LW_LOG_H */
