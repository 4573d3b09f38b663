// SPDX-License-Identifier: GPL-2.0
/*
 * syms_cache - a cached process's symbols stay that process's
 * (user/sys/syms_cache.c): a process gone keeps its symbols, but once its PID
 * is given to another process - its exit never seen, as when a full ring
 * buffer lost it - the next get opens the new one instead of naming the new
 * process's addresses with the old one's files. Real processes: sleep(1),
 * then a child of this program made to take the same PID through
 * /proc/sys/kernel/ns_last_pid. Needs root (ns_last_pid), as make check has.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "sys/syms.h"
#include "tap.h"

/* An object only this program has, at an address its children share. */
int reuse_marker = 42;

static pid_t start_sleep(void)
{
	char exe[64], path[256];
	pid_t pid = fork();

	if (!pid) {
		execl("/usr/bin/sleep", "sleep", "600", (char *)NULL);
		_exit(127);
	}
	/* until the exec is done: the symbols must be sleep's */
	snprintf(exe, sizeof(exe), "/proc/%d/exe", pid);
	for (int i = 0; i < 500; i++) {
		ssize_t n = readlink(exe, path, sizeof(path) - 1);

		if (n > 0 && (path[n] = '\0', strstr(path, "sleep")))
			break;
		usleep(10000);
	}
	return pid;
}

static void stop(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* A child of this program (no exec) with PID want, or -1. */
static pid_t child_at(pid_t want)
{
	for (int tries = 0; tries < 20; tries++) {
		FILE *f = fopen("/proc/sys/kernel/ns_last_pid", "w");
		pid_t pid;

		if (!f || fprintf(f, "%d", want - 1) < 0 || fclose(f))
			return -1;
		pid = fork();
		if (!pid) {
			pause();
			_exit(0);
		}
		if (pid == want)
			return pid;
		stop(pid); /* another fork took it first: again */
	}
	return -1;
}

static int names_marker(struct lw_syms *s)
{
	char buf[64] = "";

	return s && !syms__data_name(s, (uintptr_t)&reuse_marker, buf, sizeof(buf)) &&
	       !strcmp(buf, "reuse_marker");
}

int main(void)
{
	struct lw_syms_cache *c = syms_cache__new();
	struct lw_syms *first, *gone, *again;
	pid_t pid, reused;

	tap_begin();
	if (geteuid()) {
		ok(0, "runs as root (writes /proc/sys/kernel/ns_last_pid)");
		return done();
	}
	pid = start_sleep();
	first = syms_cache__get(c, pid);
	ok(first != NULL, "sleep's symbols are opened (pid %d)", pid);
	ok(!names_marker(first), "they do not name this program's object");
	stop(pid);
	gone = syms_cache__get(c, pid);
	ok(gone == first, "sleep gone: its symbols stay, to name what it did last");
	reused = child_at(pid);
	ok(reused == pid, "a child of this program took pid %d", pid);
	again = syms_cache__get(c, pid);
	ok(names_marker(again), "the cache opened the child's symbols: they name reuse_marker");
	if (reused > 0)
		stop(reused);
	syms_cache__free(c);
	return done();
}
