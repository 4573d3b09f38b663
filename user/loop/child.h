/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The command lockwatch starts (lockwatch -- CMD): forked early, held before
 * execve until the BPF side watches its PID, so it is watched from its first
 * instruction; ended with lockwatch, like timeout(1) does: it runs in a
 * process group of its own, and the whole group is signalled, so processes
 * it started end with it.
 */
#ifndef LW_CHILD_H
#define LW_CHILD_H

#include <stddef.h>
#include <sys/types.h>

struct lw_child {
	pid_t pid;
	int go_fd; /* write end: a byte releases the child into execve */
	int err_fd; /* read end: errno of a failed execve, EOF on success */
	int exited; /* has exited (a zombie until reaped, at the end) */
	int reaped;
	int status; /* exit status as a shell reports it (128+N: signal N) */
};

/* Fork the command, held; 0 or -errno. */
int child__start(struct lw_child *c, char **argv);
/* The file execvp(argv0) will run, searching $PATH as it does, into buf:
 * 0, or -ENOENT. */
int child__path(const char *argv0, char *buf, size_t len);
/* Let it execve; 0, or -errno of a failed execve (message printed). */
int child__go(struct lw_child *c, char **argv);
/* 1 when it has exited; it stays unreaped (child.c says why). */
int child__poll(struct lw_child *c);
/* Until it has exited, waiting as long as it takes. */
void child__wait(struct lw_child *c);
/* SIGTERM to its process group while any of it runs, then SIGKILL after
 * grace_ms; reaps it. */
void child__stop(struct lw_child *c, int grace_ms);

#endif /* LW_CHILD_H */
