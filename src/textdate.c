/* textdate.c - the first date stated in an article's text. */

#include <string.h>

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

/* 1 for the ASCII digits, 2 for the ASCII letters, 0 for any other byte. */
static const unsigned char alnum_class[256] = {
	['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1,
	['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
	['A'] = 2, ['B'] = 2, ['C'] = 2, ['D'] = 2, ['E'] = 2, ['F'] = 2,
	['G'] = 2, ['H'] = 2, ['I'] = 2, ['J'] = 2, ['K'] = 2, ['L'] = 2,
	['M'] = 2, ['N'] = 2, ['O'] = 2, ['P'] = 2, ['Q'] = 2, ['R'] = 2,
	['S'] = 2, ['T'] = 2, ['U'] = 2, ['V'] = 2, ['W'] = 2, ['X'] = 2,
	['Y'] = 2, ['Z'] = 2,
	['a'] = 2, ['b'] = 2, ['c'] = 2, ['d'] = 2, ['e'] = 2, ['f'] = 2,
	['g'] = 2, ['h'] = 2, ['i'] = 2, ['j'] = 2, ['k'] = 2, ['l'] = 2,
	['m'] = 2, ['n'] = 2, ['o'] = 2, ['p'] = 2, ['q'] = 2, ['r'] = 2,
	['s'] = 2, ['t'] = 2, ['u'] = 2, ['v'] = 2, ['w'] = 2, ['x'] = 2,
	['y'] = 2, ['z'] = 2,
};

#define CLASS(p) alnum_class[(unsigned char)*(p)]

/*
 * The date, if one starts at or just before the digit at d, which begins
 * a run of ASCII letters and digits: "2023-10-11" and "10 October 2023"
 * start at d, "October 10, 2023" at the word before it.
 */
static int32_t date_near(const char *text, const char *end, const char *d)
{
	const char *p, *q, *r, *e;
	int y, m, dd;

	/* October 10, 2023: a whole word, maybe ".", a space, then d */
	if (d - text >= 2 && d[-1] == ' ') {
		e = d[-2] == '.' ? d - 2 : d - 1;
		for (p = e; p > text && CLASS(p - 1) == 2; p--)
			;
		if (p < e && (p == text || !CLASS(p - 1)) &&
		    (m = month_at(p, end, &q)) && q < end && *q == ' ' &&
		    (dd = number_at(q + 1, end, 2, &r)) > 0 &&
		    r < end && (*r == ',' || *r == ' ') &&
		    (y = number_at(skip_sp(r, end), end, 4, &q)) > 0 &&
		    valid(y, m, dd))
			return dedup_days_from_civil(y, (unsigned)m,
						     (unsigned)dd);
	}
	/* 2023-10-11 */
	y = number_at(d, end, 4, &q);
	if (y >= 1900 && q + 6 <= end && *q == '-' &&
	    (m = number_at(q + 1, end, 2, &r)) > 0 && r < end && *r == '-' &&
	    (dd = number_at(r + 1, end, 2, &q)) > 0 && valid(y, m, dd))
		return dedup_days_from_civil(y, (unsigned)m, (unsigned)dd);
	/* 10 October 2023 */
	dd = number_at(d, end, 2, &q);
	if (dd > 0 && q < end && *q == ' ' && (m = month_at(q + 1, end, &r)) &&
	    (y = number_at(skip_sp(r, end), end, 4, &q)) > 0 &&
	    valid(y, m, dd))
		return dedup_days_from_civil(y, (unsigned)m, (unsigned)dd);
	return DEDUP_DATE_NONE;
}

#if defined(__GNUC__) && defined(__BYTE_ORDER__) && \
	__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define DATE_SWAR 1
#define ONES 0x0101010101010101ULL
#define HIGH 0x8080808080808080ULL
#endif

/*
 * Every date holds a digit that starts a run of ASCII letters and digits
 * (after the month in "October 10, 2023"), and digits are a few percent
 * of news text: the scan looks for those digits, eight bytes at a time
 * where it can, and tries the patterns around each. Dates are found in
 * the order of their first byte, as a scan of every position would.
 */
int32_t dedup_text_date(const char *text, size_t len)
{
	size_t n = len < DATE_SCAN_BYTES ? len : DATE_SCAN_BYTES, i = 0;
	const char *end = text + n;
	int32_t date;

	while (i < n) {
#ifdef DATE_SWAR
		if (i + 8 <= n) {
			uint64_t x, t, dg;

			memcpy(&x, text + i, sizeof(x));
			t = x & ~HIGH;
			/* the high bit of each byte in '0'..'9' */
			dg = (t + ONES * (0x80 - '0')) &
			     ~(t + ONES * (0x7F - '9')) & ~x & HIGH;
			if (!dg) {
				i += 8;
				continue;
			}
			i += (size_t)__builtin_ctzll(dg) >> 3;
		} else
#endif
		if (!isdig(text[i])) {
			i++;
			continue;
		}
		if (i == 0 || !CLASS(text + i - 1)) {
			date = date_near(text, end, text + i);
			if (date != DEDUP_DATE_NONE)
				return date;
		}
		i++;
	}
	return DEDUP_DATE_NONE;
}
