/* SPDX-License-Identifier: GPL-2.0 */
/* Command-line options, parsed once into struct env. */
#ifndef LW_ENV_H
#define LW_ENV_H

#include <stdint.h>
#include <sys/types.h>
#include "loop/uprobes.h"

#define LW_MAX_PIDS 64

struct env {
	const char *command; /* "watch" (the default) or "check" */
	pid_t pids[LW_MAX_PIDS]; /* -p */
	int npids;
	char **cmd; /* after "--": the command to start and watch */
	int host; /* neither -p nor a command: watch every process */
	int json;
	int journal; /* --journal: each alert into journald too */
	const char *syslog; /* --syslog[=SOCKET]: ... to the system logger, RFC 5424 */
	const char *log_file; /* --log-file: ... appended to it, JSON lines */
	const char *metrics_file; /* --metrics-file: the counters, Prometheus text */
	const char *on_alert; /* --on-alert: a command for each deadlock-class alert */
	int dot; /* check --dot: the graph in DOT on stdout, instead of the report */
	const char *svg; /* check --svg: ... rendered into this SVG file */
	double duration; /* seconds; 0: until stopped */
	double wait_threshold; /* seconds before a long_wait alert; 0: never */
	int lock_order; /* --lock-order: uprobe lock sites */
	double hold_threshold; /* seconds before a long_hold alert; 0: never */
	double stall_threshold; /* seconds before a loop_stall alert; 0: never */
	struct lw_lock_fn lock_fns[LW_LOCK_FNS_MAX]; /* --lock-fn */
	int nlock_fns;
	int exit_on_deadlock;
	int error_exitcode; /* status for a deadlock with -- CMD; 0: use 1 */
	const char *btf; /* --btf: BTF file instead of the running kernel's */
	uint32_t ringbuf_size;
	int verbose;
	int sysfs; /* files: -1 auto (module if loaded), 0 /run/lockwatch, 1 module */
};

/* 0 to go on; non-zero to exit with *exit_status (0 after --help). */
int env__parse(struct env *env, int argc, char **argv, int *exit_status);

#endif /* LW_ENV_H */
