/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Waits that began before lockwatch looked: threads already blocked in a futex
 * call, read from /proc/PID/task/TID/syscall and the process's memory, as the
 * same struct lw_futex_wait the BPF side records. No event will ever come for them.
 */
#ifndef LW_ATTACH_H
#define LW_ATTACH_H

#include <stdint.h>
#include <sys/types.h>
#include "lockwatch.h"

/*
 * Append the current futex waits of every thread of pid to out (at most max);
 * start_ns is set to now_ns and LW_WF_ATTACH marks it a lower bound. Returns
 * how many, or -errno when the process cannot be read.
 */
int attach__scan(pid_t pid, struct lw_futex_wait *out, int max, uint64_t now_ns);

/*
 * The one rule for glibc's park: after the kernel refuses a PI lock with
 * EDEADLK, glibc parks the thread for good in a plain futex(2) wait (WAIT or
 * WAIT_BITSET) expecting 0 on a word that is 0 (a local on its stack). op and
 * val as passed to futex(2); word as read, 0 when not read.
 */
int attach__is_park(uint32_t op, uint32_t val, uint32_t word);

#endif /* LW_ATTACH_H */
