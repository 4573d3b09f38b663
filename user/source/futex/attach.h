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

#endif /* LW_ATTACH_H */
