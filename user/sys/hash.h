/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one set of hash helpers: signatures of waits and findings, hash tables
 * of the graph, fingerprints of what a re-check saw. Not cryptographic; a
 * watched process can make two of its waits collide at worst into one
 * report, never into a report of something that is not there.
 */
#ifndef LW_HASH_H
#define LW_HASH_H

#include <stddef.h>
#include <stdint.h>

#define LW_HASH_INIT 1469598103934665603ull /* FNV-1a's offset basis */

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

static inline uint64_t lw_hash_str(const char *s)
{
	uint64_t h = LW_HASH_INIT;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return lw_hash64(h);
}

#endif /* LW_HASH_H */
