/*
 * sig_int.h - what the tests see of how signatures hold their terms.
 */
#ifndef DEDUP_SIG_INT_H
#define DEDUP_SIG_INT_H

#include "dedup/sig.h"

/*
 * dedup_sig_unpack() with the instructions of at most `isa`: 0 portable,
 * 1 AVX2, 2 AVX-512 VBMI2 (each where the CPU has them; the terms are
 * the same whichever).
 */
void dedup_sig_unpack_isa(const struct dedup_sig *s, uint32_t *tw,
			  unsigned isa);

/*
 * dedup_sig_tw() and dedup_sig_id() portable (isa 0) or with pdep where
 * the CPU has it.
 */
uint32_t dedup_sig_tw_isa(const struct dedup_sig *s, uint32_t i,
			  unsigned isa);
uint32_t dedup_sig_id_isa(const struct dedup_sig *s, uint32_t i,
			  unsigned isa);

#endif
