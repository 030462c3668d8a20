/*
 * textdate.h - find the date an article states (internal).
 *
 * Looks for the first calendar date written in the first part of the text:
 * ISO 8601 (2023-10-11), "October 10, 2023", "Oct. 10, 2023", "10 October
 * 2023", "10 Oct 2023". English month names only for now.
 */
#ifndef DEDUP_TEXTDATE_H
#define DEDUP_TEXTDATE_H

#include <stddef.h>
#include <stdint.h>

/* Days since 1970-01-01, or DEDUP_DATE_NONE (INT32_MIN) when none. */
int32_t dedup_text_date(const char *text, size_t len);

/* Days since 1970-01-01 of a proleptic Gregorian date. */
int32_t dedup_days_from_civil(int y, unsigned m, unsigned d);

#endif
