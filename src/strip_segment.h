/*
 * strip_segment.h - split scraped lines into segments, fingerprint them
 * (internal, used by the stripper and the line statistics).
 *
 * Some scrapers glue a page's blocks into one line ("...menuNewsShow
 * more", "...into account.Keep reading", "2023Russian President"). A line
 * is cut where a lowercase letter meets an uppercase one that starts a
 * word, where a sentence end meets a capital with no space, where a digit or
 * closing bracket meets a capitalised word, and at "|" and spaced bullet
 * separators. The pieces are trimmed; empty ones are skipped.
 */
#ifndef DEDUP_STRIP_SEGMENT_H
#define DEDUP_STRIP_SEGMENT_H

#include <stddef.h>
#include <stdint.h>

#define SEG_GLUED 0x1u /* cut at a glue point (not a separator) */

/*
 * Call fn(ctx, off, len, flags) for each segment of s[0..len), offsets
 * relative to s. Stops and returns fn's result when it is not 0.
 */
int strip_segments(const char *s, size_t len,
		   int (*fn)(void *ctx, size_t off, size_t len,
			     unsigned flags),
		   void *ctx);

/*
 * Fingerprint of a segment for corpus counts: its folded words with every
 * number replaced by one placeholder, so "Published 3 May" and "Published
 * 9 June" differ but "(c) 2023" and "(c) 2024" do not. 0 when the segment
 * has no word other than numbers; *words receives the word count.
 */
uint64_t strip_fingerprint(const char *s, size_t len, unsigned *words);

/*
 * The same from a segment's words already split: n words with their
 * strip_word_hash() and STRIP_WORD_* flags, as strip_next_word() gives them.
 */
uint64_t strip_fingerprint_words(const uint64_t *hash,
				 const unsigned char *flags, size_t n);

#endif
