/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one clock: CLOCK_MONOTONIC in nanoseconds, the clock the BPF side
 * stamps waits with (bpf_ktime_get_ns), and a sleep in milliseconds; and the
 * CPU time the calling thread has used, for what lockwatch itself spends.
 */
#ifndef LW_CLOCK_H
#define LW_CLOCK_H

#include <stdint.h>

uint64_t lw_now_ns(void);
uint64_t lw_cpu_ns(void);
/* Sleeps ms milliseconds, or less when a signal arrives. */
void lw_sleep_ms(int ms);

#endif /* LW_CLOCK_H */
