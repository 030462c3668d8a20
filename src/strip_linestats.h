/*
 * strip_linestats.h - queries on struct dedup_linestats for the stripper
 * (internal).
 */
#ifndef DEDUP_STRIP_LINESTATS_H
#define DEDUP_STRIP_LINESTATS_H

#include "dedup/strip.h"

/* Upper bound of the number of documents that contain the segment with
 * fingerprint fp (count-min estimate: never below the true count). */
uint32_t strip_linestats_count(const struct dedup_linestats *ls,
			       uint64_t fp);

/* Start loading the counters of fp, so that a strip_linestats_count() of
 * it a little later does not wait for memory (a hint: does nothing where
 * the compiler has no prefetch). */
void strip_linestats_prefetch(const struct dedup_linestats *ls, uint64_t fp);

/* Expected over-count of one sketch row (observations / width): what
 * collisions add to a count on average. */
double strip_linestats_noise(const struct dedup_linestats *ls);

#endif
