/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Where in a function a uprobe costs least. The kernel runs the instruction
 * a uprobe replaces either by emulating it (a jump, a call, a push, a nop) or
 * by single-stepping a copy of it, which costs a second trap: ~16 us in a VM
 * whose hypervisor intercepts debug exceptions, against ~1 us for the first.
 * glibc's pthread_mutex_lock starts with a load, so a probe at its entry is
 * single-stepped on every call. This finds, in the straight run of
 * instructions a function starts with, the first one the kernel emulates,
 * provided nothing before it changes the stack or frame pointer or the
 * lock's argument (so the probe still sees the call as at the entry: the
 * argument in its register, the return address at the top of the stack) and
 * no branch of the whole function comes back to it or before it (so it runs
 * once a call). A branch from outside the function's symbol (a .cold part)
 * is not seen. x86-64 only.
 */
#ifndef LW_PROBEAT_H
#define LW_PROBEAT_H

#include <stdint.h>

/* The offset from the function's start (at file offset off, size bytes, in
 * the file open as fd) to probe at, for a probe that reads argument arg
 * (1-6) as the lock: 0 when the entry is as good, or nothing better is safe
 * (the function unknown in size or over 4 KiB, its code not all decoded). */
uint64_t lw_probe_offset(int fd, uint64_t off, uint64_t size, int arg);

#endif /* LW_PROBEAT_H */
