/* textdate.c - the first date stated in an article's text. */

#include "dedup/sig.h"
#include "textdate.h"

/* Only the head of an article holds its dateline. */
#define DATE_SCAN_BYTES 4096

/* Howard Hinnant, "chrono-Compatible Low-Level Date Algorithms". */
int32_t dedup_days_from_civil(int y, unsigned m, unsigned d)
{
	int era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int32_t)doe - 719468;
}

static const char *const months[12] = {
	"january", "february", "march", "april", "may", "june", "july",
	"august", "september", "october", "november", "december",
};

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static int isdig(int c)
{
	return c >= '0' && c <= '9';
}

static int isalpha_(int c)
{
	c = lower(c);
	return c >= 'a' && c <= 'z';
}

static const unsigned char month_len[12] = { 7, 8, 5, 5, 3, 4, 4, 6, 9, 7,
					      8, 8 };

/*
 * A month name or its 3-letter abbreviation (with optional '.') at p;
 * the first letter rules out most months before any other work.
 */
static int month_at(const char *p, const char *end, const char **after)
{
	int m, c;

	if (p >= end)
		return 0;
	c = lower(*p);
	for (m = 0; m < 12; m++) {
		size_t full = month_len[m], n = 1;

		if (c != months[m][0])
			continue;
		while (p + n < end && n < full && lower(p[n]) == months[m][n])
			n++;
		if ((n == full || n == 3 || (m == 8 && n == 4)) &&
		    (p + n == end || !isalpha_(p[n]))) {
			if (p + n < end && p[n] == '.')
				n++;
			*after = p + n;
			return m + 1;
		}
	}
	return 0;
}

static int number_at(const char *p, const char *end, int maxdig,
		     const char **after)
{
	int v = 0, n = 0;

	while (p < end && isdig(*p) && n < maxdig) {
		v = v * 10 + (*p - '0');
		p++;
		n++;
	}
	if (!n || (p < end && isdig(*p)))
		return -1;
	*after = p;
	return v;
}

static const char *skip_sp(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == ','))
		p++;
	return p;
}

static int valid(int y, int m, int d)
{
	return y >= 1900 && y <= 2200 && m >= 1 && m <= 12 && d >= 1 && d <= 31;
}

int32_t dedup_text_date(const char *text, size_t len)
{
	const char *p = text, *end = text + (len < DATE_SCAN_BYTES ? len :
					     DATE_SCAN_BYTES);

	for (; p < end; p++) {
		const char *q, *r;
		int y, m, d;

		if (p > text && (isdig(p[-1]) || isalpha_(p[-1])))
			continue;
		if (isdig(*p)) {
			/* 2023-10-11 */
			y = number_at(p, end, 4, &q);
			if (y >= 1900 && q + 6 <= end && *q == '-' &&
			    (m = number_at(q + 1, end, 2, &r)) > 0 &&
			    r < end && *r == '-' &&
			    (d = number_at(r + 1, end, 2, &q)) > 0 &&
			    valid(y, m, d))
				return dedup_days_from_civil(y, (unsigned)m,
							     (unsigned)d);
			/* 10 October 2023 */
			d = number_at(p, end, 2, &q);
			if (d > 0 && q < end && *q == ' ' &&
			    (m = month_at(q + 1, end, &r)) &&
			    (y = number_at(skip_sp(r, end), end, 4, &q)) > 0 &&
			    valid(y, m, d))
				return dedup_days_from_civil(y, (unsigned)m,
							     (unsigned)d);
		} else if (isalpha_(*p)) {
			/*
			 * October 10, 2023: a month is a whole word, then
			 * maybe ".", a space and a digit; most words are
			 * not followed so and need not be compared.
			 */
			const char *e = p;

			while (e < end && isalpha_(*e))
				e++;
			q = e < end && *e == '.' ? e + 1 : e;
			if (q + 1 < end && *q == ' ' && isdig(q[1]) &&
			    (m = month_at(p, end, &q)) && q < end &&
			    *q == ' ' &&
			    (d = number_at(q + 1, end, 2, &r)) > 0 &&
			    r < end && (*r == ',' || *r == ' ') &&
			    (y = number_at(skip_sp(r, end), end, 4, &q)) > 0 &&
			    valid(y, m, d))
				return dedup_days_from_civil(y, (unsigned)m,
							     (unsigned)d);
			p = e - 1; /* the rest of the word starts no date */
		}
	}
	return DEDUP_DATE_NONE;
}
