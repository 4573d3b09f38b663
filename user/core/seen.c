// SPDX-License-Identifier: GPL-2.0
/*
 * Reported signatures (see seen.h): an open-addressing set (linear probing,
 * backward-shift deletion) with a ring that says which is oldest, and a bit a
 * slot that says it was asked about since it last came round (CLOCK's second
 * chance): what is still standing is asked about every turn, and stays.
 */
#include <stdlib.h>
#include "core/seen.h"
#include "sys/hash.h"

#define SLOTS (LW_SEEN_MAX * 2) /* a power of two, half full at most */

struct lw_seen {
	uint64_t slot[SLOTS]; /* 0: empty */
	uint8_t asked[SLOTS]; /* the slot's signature was asked about */
	uint64_t ring[LW_SEEN_MAX];
	unsigned int n, next;
};

struct lw_seen *seen__new(void)
{
	return calloc(1, sizeof(struct lw_seen));
}

void seen__free(struct lw_seen *s)
{
	free(s);
}

static uint64_t key(uint64_t sig)
{
	return sig ? sig : 1; /* 0 marks an empty slot */
}

static unsigned int home(uint64_t k)
{
	return (unsigned int)lw_hash64(k) & (SLOTS - 1);
}

/* The slot of k, or -1. */
static int find(const struct lw_seen *s, uint64_t k)
{
	for (unsigned int i = home(k); s->slot[i]; i = (i + 1) & (SLOTS - 1))
		if (s->slot[i] == k)
			return i;
	return -1;
}

int seen__has(struct lw_seen *s, uint64_t sig)
{
	int i = find(s, key(sig));

	if (i < 0)
		return 0;
	s->asked[i] = 1;
	return 1;
}

static void forget(struct lw_seen *s, uint64_t k)
{
	unsigned int i = home(k), j;

	while (s->slot[i] != k) {
		if (!s->slot[i])
			return;
		i = (i + 1) & (SLOTS - 1);
	}
	/* shift back every entry of the run that would no longer be found */
	for (j = (i + 1) & (SLOTS - 1); s->slot[j]; j = (j + 1) & (SLOTS - 1)) {
		unsigned int h = home(s->slot[j]);

		if ((j > i && (h <= i || h > j)) || (j < i && h <= i && h > j)) {
			s->slot[i] = s->slot[j];
			s->asked[i] = s->asked[j];
			i = j;
		}
	}
	s->slot[i] = 0;
	s->asked[i] = 0;
}

/* Makes room at the ring's head: its oldest signature not asked about since
 * it last came round goes; those asked about go round again, unasked. */
static void evict(struct lw_seen *s)
{
	for (int turns = 0; turns <= LW_SEEN_MAX; turns++) {
		int i = find(s, s->ring[s->next]);

		if (i < 0 || !s->asked[i] || turns == LW_SEEN_MAX) {
			if (i >= 0)
				forget(s, s->ring[s->next]);
			return;
		}
		s->asked[i] = 0;
		s->next = (s->next + 1) % LW_SEEN_MAX;
	}
}

void seen__add(struct lw_seen *s, uint64_t sig)
{
	uint64_t k = key(sig);
	unsigned int i;

	if (find(s, k) >= 0)
		return;
	if (s->n == LW_SEEN_MAX)
		evict(s);
	else
		s->n++;
	s->ring[s->next] = k;
	s->next = (s->next + 1) % LW_SEEN_MAX;
	for (i = home(k); s->slot[i]; i = (i + 1) & (SLOTS - 1))
		;
	s->slot[i] = k;
}

void seen__remove(struct lw_seen *s, uint64_t sig)
{
	forget(s, key(sig));
}
