/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one dedup: signatures of what was already reported, so a deadlock that
 * persists is reported once. Bounded: past LW_SEEN_MAX, the oldest that was
 * not asked about since it last came round is forgotten (a finding still
 * standing is asked about each turn, so it is not reported again while fewer
 * than LW_SEEN_MAX stand).
 */
#ifndef LW_SEEN_H
#define LW_SEEN_H

#include <stdint.h>

#define LW_SEEN_MAX 4096

struct lw_seen;

struct lw_seen *seen__new(void);
void seen__free(struct lw_seen *s);
/* Whether sig was reported; asking marks it as still about. */
int seen__has(struct lw_seen *s, uint64_t sig);
/* Remember sig (once); forgets the oldest when full. */
void seen__add(struct lw_seen *s, uint64_t sig);
/* Forget sig. Its place in the ring stays: added again, it may be forgotten
 * sooner than its age says (reported once more, at worst). */
void seen__remove(struct lw_seen *s, uint64_t sig);

#endif /* LW_SEEN_H */
