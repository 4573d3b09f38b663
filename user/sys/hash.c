// SPDX-License-Identifier: GPL-2.0
/* The run's hash seed (see hash.h). */
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include "sys/hash.h"

uint64_t lw_hash_seed;

void lw_hash_seed_init(void)
{
	struct timespec ts;
	uint64_t seed;

	/* early in boot the pool may not be ready: then the clock */
	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) == sizeof(seed) && seed) {
		lw_hash_seed = seed;
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	lw_hash_seed = lw_hash64((uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^
				 ((uint64_t)getpid() << 16)) |
		       1;
}
