/*
 * fuzz_sig.c - signature decoding (dedup_sig_decode), the format signatures
 * have in an index file.
 *
 * Properties: a decoded signature encodes back to the bytes it was read
 * from but for its weights, each the level nearest it (sig.h), and a
 * distinct-term count past 65,535 (kept as that), so that the bytes of a
 * second decoding encode back exactly; any shorter prefix of them is
 * refused, its term ids ascend, its band winners name its terms, and its
 * Jaccard estimate against itself lies in 0..1. A refusal is DEDUP_EFORMAT (or DEDUP_ENOMEM) and
 * leaves a released signature.
 */
#include <math.h>
#include <string.h>

#include "dedup/sig.h"
#include "fuzz_util.h"

/* Bytes before a signature's MinHash values and terms (src/sig.c). */
#define SIG_HEADER 40

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dedup_buf enc = DEDUP_BUF_INIT;
	struct dedup_sig s, t;
	struct dedup_error err;
	dedup_status st;
	size_t used = 0;
	double j;
	uint32_t i, tw[DEDUP_SIG_MAXTERMS];

	dedup_sig_init(&s);
	dedup_sig_init(&t);
	st = dedup_sig_decode(&s, data, size, &used, &err);
	if (st != DEDUP_OK) {
		FUZZ_CHECK(st == DEDUP_EFORMAT || st == DEDUP_ENOMEM,
			   "status %d: %s", st, err.msg);
		FUZZ_CHECK(!s.blk && !s.nterms && !s.nperm && !s.nband,
			   "refused signature keeps arrays");
		goto out;
	}
	FUZZ_CHECK(used > 0 && used <= size, "used %zu of %zu", used, size);
	/* the compact terms read back alike whichever way */
	dedup_sig_unpack(&s, tw);
	for (i = 0; i < s.nterms; i++) {
		FUZZ_CHECK(!i || dedup_term_id(tw[i - 1]) < dedup_term_id(tw[i]),
			   "terms not ascending");
		FUZZ_CHECK(dedup_sig_tw(&s, i) == tw[i], "term %u: %08x, %08x",
			   i, dedup_sig_tw(&s, i), tw[i]);
		FUZZ_CHECK(dedup_sig_find(&s, dedup_term_id(tw[i])) == i,
			   "term %u found at %u", i,
			   dedup_sig_find(&s, dedup_term_id(tw[i])));
	}
	for (i = 0; i < s.nband; i++)
		FUZZ_CHECK(dedup_sig_band(&s)[i] < s.nterms,
			   "band winner %u of %u terms",
			   dedup_sig_band(&s)[i], s.nterms);

	st = dedup_sig_encode(&s, &enc);
	if (st == DEDUP_ENOMEM)
		goto out;
	FUZZ_CHECK(st == DEDUP_OK, "encode status %d", st);
	FUZZ_CHECK(enc.len == used, "re-encoding has %zu bytes, read %zu",
		   enc.len, used);
	for (i = 0; i < s.nterms; i++) {
		/* term i's word in both: after the header and MinHash values */
		size_t at = SIG_HEADER + 4 * ((size_t)s.nperm + i);

		FUZZ_CHECK((unsigned char)enc.buf[at] ==
					   dedup_weight_round(data[at]) &&
				   !memcmp(enc.buf + at + 1, data + at + 1, 3),
			   "term %u re-encoded as %02x, read %02x", i,
			   (unsigned char)enc.buf[at], data[at]);
	}
	st = dedup_sig_decode(&t, enc.buf, enc.len, NULL, &err);
	FUZZ_CHECK(st == DEDUP_OK, "re-encoding refused: %s", err.msg);
	{
		struct dedup_buf again = DEDUP_BUF_INIT;

		st = dedup_sig_encode(&t, &again);
		FUZZ_CHECK(st != DEDUP_OK || (again.len == enc.len &&
					      !memcmp(again.buf, enc.buf,
						      enc.len)),
			   "second re-encoding differs");
		dedup_buf_release(&again);
	}
	dedup_sig_release(&t);

	st = dedup_sig_decode(&t, data, used - 1, NULL, &err);
	FUZZ_CHECK(st == DEDUP_EFORMAT, "truncated signature accepted (%d)",
		   st);

	j = dedup_sig_jaccard(&s, &s);
	FUZZ_CHECK(!isnan(j) && j >= 0.0 && j <= 1.0, "jaccard %g", j);
out:
	dedup_sig_release(&s);
	dedup_sig_release(&t);
	dedup_buf_release(&enc);
	return 0;
}
