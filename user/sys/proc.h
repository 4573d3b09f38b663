/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What /proc and process_vm_readv tell about a process and its threads,
 * without stopping them: names, the syscall a thread sits in (with its sp and
 * pc), context-switch counts, and reads of its memory.
 */
#ifndef LW_PROC_H
#define LW_PROC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* /proc/PID/task/TID/syscall */
struct lw_syscall {
	long nr; /* -1: running in user space, not in a syscall */
	uint64_t args[6];
	uint64_t sp, pc;
};

enum lw_proc_state {
	LW_PROC_OK,
	LW_PROC_GONE, /* no such process */
	LW_PROC_ZOMBIE,
	LW_PROC_KTHREAD,
	LW_PROC_THREAD, /* a thread, not a process (its TID is not a TGID) */
};

/* /proc/PID/stat, or /proc/PID/task/TID/stat with tid */
struct lw_proc_stat {
	char state; /* R, S, D, Z, X, ... */
	pid_t pgrp; /* its process group */
	unsigned long flags; /* PF_* */
	uint64_t utime, stime; /* clock ticks */
	int nthreads; /* of the process */
	uint64_t start; /* when it started, clock ticks after boot */
};

/* 0 or -errno. */
int lw_proc_stat(pid_t pid, pid_t tid, struct lw_proc_stat *st);
/* Which process pid names now: its start time (lw_proc_stat's start), or 0
 * when there is none. Equal starts mean the same process; another one means
 * the number was given again, to someone else. */
uint64_t lw_proc_start(pid_t pid);
/* Calls fn for each process (pid 0) or each thread of process pid, by its
 * folder in /proc, until fn returns non-zero: that value; 0 when fn never
 * did, -errno when the folder cannot be read. */
int lw_proc_each(pid_t pid, int (*fn)(pid_t id, void *arg), void *arg);
/* The CPU time all threads of pid have run, in ns (schedstat: exact to
 * the ns, where clock ticks miss a short burst of work); 0 or -errno. */
int lw_proc_runtime_ns(pid_t pid, uint64_t *ns);
enum lw_proc_state lw_proc_state(pid_t pid);
/* What could still wake a process from outside it: the signals it has
 * handlers for (a mask, bit N-1 for signal N: SigCgt) and its POSIX timers;
 * 0 or -errno. */
int lw_proc_wakers(pid_t pid, uint64_t *sigcgt, int *ntimers);
const char *lw_proc_state_str(enum lw_proc_state st);

/* 0 or -errno. */
int lw_proc_syscall(pid_t pid, pid_t tid, struct lw_syscall *sc);
/* voluntary + involuntary context switches: unchanged means it never ran */
int lw_proc_ctxsw(pid_t pid, pid_t tid, uint64_t *n);
/* comm of the thread (tid) or of the process (tid == 0); "" if gone */
void lw_proc_comm(pid_t pid, pid_t tid, char *buf, size_t len);
void lw_proc_exe(pid_t pid, char *buf, size_t len);
/* TGID of a TID, or -errno */
int lw_proc_tgid(pid_t tid);
/*
 * The kernel's TID for a TID read from pid's memory, which is local to pid's
 * PID namespace (NSpid in /proc/PID/task/TID/status); -ESRCH when no thread
 * of pid has it. Outside a namespace, the TID itself.
 */
pid_t lw_proc_global_tid(pid_t pid, pid_t nstid);
/* The same for a thread of any process in pid's PID namespace (a shared
 * lock's owner in another process of a container); pid's own threads first.
 * -ESRCH when none has it. */
pid_t lw_proc_ns_tid(pid_t pid, pid_t nstid);
/* whether tid is a live thread of process pid */
int lw_proc_has_thread(pid_t pid, pid_t tid);
/*
 * Opens a file a watched process named (a path in its maps or its root) for
 * reading: never blocks (a FIFO, a device), and only a regular file is
 * accepted. The fd, or -errno (-EINVAL: not a regular file).
 */
int lw_open_file(const char *path);
/*
 * The same for path as process pid sees it (pid 0: lockwatch's own root),
 * resolved inside pid's root: "..", and absolute links, never lead out of it.
 */
int lw_open_in_root(pid_t pid, const char *path);
/* the whole of [addr, addr+len) or -errno (-EFAULT on a short read) */
int lw_proc_read(pid_t pid, uint64_t addr, void *buf, size_t len);
/* pid's threads (at most max), in TID order: how many, or -errno */
int lw_proc_tids(pid_t pid, pid_t *out, int max);
/* lockwatch's own open-file limit raised to its hard limit */
void lw_raise_fd_limit(void);

#endif /* LW_PROC_H */
