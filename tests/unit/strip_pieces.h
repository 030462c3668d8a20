/*
 * strip_pieces.h - random lines for the tests of the segmenter, the word
 * splitter and the line counts: pieces that make every kind of cut and
 * word, and near misses, with characters of more than one byte next to
 * all of them and some invalid UTF-8.
 */
#ifndef DEDUP_TEST_STRIP_PIECES_H
#define DEDUP_TEST_STRIP_PIECES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static const char *const piece[] = {
	"menu", "News", "Sport", "iPhone", "YouTube", "a", "ab", "abc", "A",
	"AB", "2023", "7", ")", "]", "(", ".", "!", "?", "\"", "'", ",", "|",
	" | ", " ", "  ", "\t", "\r", "_", "x_y", "it's", "U.S.", "1,000",
	"3.5", "Keep", "reading", "Back", "to", "top", "e", "Z", "-", "/",
	"Read more", "into account.", "Next", "\"Quote.\"", ".\"Next",
	"abcdefghijk", "lowercase words in a row", "ABCDEFGHIJ", "@", "[",
	"`", "{", "~", "\x7f",
	"\xC3\xA9", "caf\xC3\xA9", "\xE2\x80\x99", "l\xE2\x80\x99\xC3\xA9t\xC3\xA9",
	"\xE2\x80\x9C", "\xE2\x80\x9D", "\xE2\x80\x94", "\xE2\x80\xA2",
	" \xE2\x80\xA2 ", "\xC2\xB7", "\xC2\xA0", "\xEF\xBC\xB7", "e\xCC\x81",
	"\xC7\x85", "\xC3\x9Cnited", "na\xC3\xAFve", "x.\xC3\xA9", "3,\xD9\xA3",
	"a'\xC3\xA9", "\xC3\xA9'a", "\xE2\x80\x9DNext", "\xD0\x9C\xD0\xBE",
	"\xE2\x80\x96", "\xC2\xA6", "\xE2\x97\x8F", "\xC2\xBB", "\xE2\x80\xAF",
	"\xE2\x80\x93", "\xE2\x80\x98", "\xE2\x80\x9E", "\xE2\x80\xA6",
	"\xE2\x82\xAC", "\xC2\xA3", "\xC2\xA9", "\xC2\xAB", "\xC2\xAE",
	"\xC2\xB0", "\xE2\x80\x9C" "a", "b\xE2\x80\x93", "\xC2\xA9" "2024",
	/* invalid UTF-8 */
	"\xC3", "\x80", "\xE2\x80", "\xFF",
};

/* A line of np random pieces into line[] (at most cap - 1 bytes). */
static inline size_t make_line(char *line, size_t cap, size_t np, uint32_t *x)
{
	size_t len = 0, k;

	for (k = 0; k < np; k++) {
		const char *p;

		*x = *x * 1103515245u + 12345u;
		p = piece[(*x >> 16) % (sizeof(piece) / sizeof(*piece))];
		if (len + strlen(p) >= cap)
			break;
		memcpy(line + len, p, strlen(p));
		len += strlen(p);
	}
	line[len] = '\0';
	return len;
}

#endif
