/*
 * strip_ascii.h - eight ASCII bytes at a time (internal, for the stripper's
 * loops over text).
 *
 * Where the machine is little-endian and GCC-compatible, STRIP_SWAR is
 * defined and a 64-bit word holds eight bytes of text, the first in its
 * lowest byte; elsewhere callers keep their byte loops. Within bytes under
 * 0x80, adding 0x80 - c to each sets its high bit exactly when the byte is
 * c or above, without a carry into the next; a byte from 0x80 up may
 * carry into the bytes after it, so a caller stops at the first such byte
 * (the lowest flagged one is always exact).
 */
#ifndef DEDUP_STRIP_ASCII_H
#define DEDUP_STRIP_ASCII_H

#include <stdint.h>
#include <string.h>

#if defined(__GNUC__) && defined(__BYTE_ORDER__) && \
	__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define STRIP_SWAR 1

#define SWAR_ONES 0x0101010101010101ull
#define SWAR_HIGH 0x8080808080808080ull

static inline uint64_t swar_load(const void *p)
{
	uint64_t x;

	memcpy(&x, p, 8);
	return x;
}

/* The high bit of each byte of x that is 'A' to 'Z' (x: bytes under 0x80,
 * or see above). */
static inline uint64_t swar_upper(uint64_t x)
{
	return (x + (0x80 - 'A') * SWAR_ONES) & ~(x + (0x80 - '[') * SWAR_ONES) &
	       SWAR_HIGH;
}

/* The high bit of each byte of x equal to c, exact up to the first. */
static inline uint64_t swar_eq(uint64_t x, unsigned char c)
{
	uint64_t y = x ^ (c * SWAR_ONES);

	return (y - SWAR_ONES) & ~y & SWAR_HIGH;
}

/* Index of the lowest flagged byte of m (m != 0). */
static inline unsigned swar_first(uint64_t m)
{
	return (unsigned)__builtin_ctzll(m) / 8;
}

/*
 * Eight bytes of x equal to c (c < 0x80), as high bits, exact in every
 * byte for bytes under 0x80 (no borrow runs between bytes, unlike
 * swar_eq()).
 */
static inline uint64_t swar_eq7(uint64_t x7, unsigned char c)
{
	uint64_t y = x7 ^ (c * SWAR_ONES);
	uint64_t low7 = ~SWAR_HIGH;

	return ~(((y & low7) + low7) | y) & SWAR_HIGH;
}

/* The high bits of eight bytes, packed into the low eight bits: the
 * multiplier moves bit 8i + 7 to bit 56 + i and adds nothing else there. */
static inline uint64_t swar_pack(uint64_t m)
{
	return ((m >> 7) * 0x0102040810204080ull) >> 56;
}

/* The high bit of each byte of x7 (bytes under 0x80) from lo to hi. */
static inline uint64_t swar_range7(uint64_t x7, unsigned char lo,
				   unsigned char hi)
{
	return (x7 + (0x80 - lo) * SWAR_ONES) &
	       ~(x7 + (0x80 - hi - 1) * SWAR_ONES) & SWAR_HIGH;
}
#endif

#endif
