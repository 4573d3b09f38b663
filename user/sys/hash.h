/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one set of hash helpers: signatures of waits and findings, hash tables
 * of the graph, fingerprints of what a re-check saw. Not cryptographic, but
 * keyed: lw_hash_str() and lw_hash_key() start from a seed drawn afresh in
 * each run, so a watched process cannot choose lock addresses whose keys
 * fill one chain of the graph's tables (every build would be quadratic), or
 * whose signature is another process's deadlock (its report would be taken
 * for one already made). Every hash lives and dies with the run.
 */
#ifndef LW_HASH_H
#define LW_HASH_H

#include <stddef.h>
#include <stdint.h>

#define LW_HASH_INIT 1469598103934665603ull /* FNV-1a's offset basis */

/* 0 until lw_hash_seed_init(), as in the unit tests that do not call it */
extern uint64_t lw_hash_seed;

/* A new seed from getrandom(2); once, before anything is hashed. */
void lw_hash_seed_init(void);

/* Mixes all bits of x into all bits of the result (splitmix64's finalizer). */
static inline uint64_t lw_hash64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}

/* h followed by v: the order matters. */
static inline uint64_t lw_hash_combine(uint64_t h, uint64_t v)
{
	return lw_hash64(h ^ (v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2)));
}

/* h followed by n bytes (FNV-1a). */
static inline uint64_t lw_hash_bytes(uint64_t h, const void *data, size_t n)
{
	const unsigned char *p = data;

	while (n--)
		h = (h ^ *p++) * 1099511628211ull;
	return h;
}

/* A string: its bytes under FNV-1a from a seeded basis, then mixed again
 * with the seed. */
static inline uint64_t lw_hash_str(const char *s)
{
	uint64_t h = LW_HASH_INIT ^ lw_hash_seed;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return lw_hash64(h ^ lw_hash_seed);
}

/* A number a watched process chooses (an address, a TID), for a table. */
static inline uint64_t lw_hash_key(uint64_t x)
{
	return lw_hash64(x ^ lw_hash_seed);
}

#endif /* LW_HASH_H */
