/* test_stopwords.c - built-in stopword lists and language detection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dedup/stopwords.h"
#include "dedup/tokenize.h"
#include "embedded.h"
#include "strip_words.h"

static int setup(void **state)
{
	struct dedup_stopwords *sw;
	struct dedup_error err;

	if (dedup_stopwords_new(&sw, &err) != DEDUP_OK)
		return -1;
	*state = sw;
	return 0;
}

static int teardown(void **state)
{
	dedup_stopwords_free(*state);
	return 0;
}

static uint64_t h(const char *word)
{
	return strip_word_hash(word, strlen(word));
}

/* Language detected for a sentence split by the light word splitter. */
static const char *lang_of(const struct dedup_stopwords *sw, const char *text)
{
	uint64_t hashes[256];
	struct strip_word w;
	size_t pos = 0, n = 0;
	int lang;

	while (n < 256 && strip_next_word(text, strlen(text), &pos, &w))
		hashes[n++] = strip_word_hash(text + w.off, w.len);
	lang = dedup_stopwords_detect_hashes(sw, hashes, n);
	return lang == DEDUP_LANG_NONE ? "none" : dedup_stopwords_code(sw, lang);
}

static void test_languages_present(void **state)
{
	const struct dedup_stopwords *sw = *state;
	static const char *const need[] = {
		"en", "de", "fr", "es", "it", "pt", "nl", "pl", "ru", "tr",
	};
	size_t i;

	assert_true(dedup_stopwords_nlangs(sw) >= 10);
	for (i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		int lang = dedup_stopwords_find(sw, need[i]);

		assert_int_not_equal(lang, DEDUP_LANG_NONE);
		assert_string_equal(dedup_stopwords_code(sw, lang), need[i]);
	}
	assert_int_equal(dedup_stopwords_find(sw, "xx"), DEDUP_LANG_NONE);
	assert_null(dedup_stopwords_code(sw, -1));
	assert_null(dedup_stopwords_code(sw, dedup_stopwords_nlangs(sw)));
}

static void test_lookup(void **state)
{
	const struct dedup_stopwords *sw = *state;
	int en = dedup_stopwords_find(sw, "en");
	int de = dedup_stopwords_find(sw, "de");
	int ru = dedup_stopwords_find(sw, "ru");
	int fr = dedup_stopwords_find(sw, "fr");

	assert_true(dedup_stopwords_is(sw, en, h("the")));
	/* case and typographic apostrophes are folded like the tokenizer */
	assert_true(dedup_stopwords_is(sw, en, h("The")));
	assert_true(dedup_stopwords_is(sw, en, h("DOESN\xe2\x80\x99T")));
	assert_true(dedup_stopwords_is(sw, de, h("und")));
	/* full case folding: sharp s equals "ss" */
	assert_true(dedup_stopwords_is(sw, de, h("DA\xc3\x9f")));
	assert_true(dedup_stopwords_is(sw, ru, h("\xd0\xa7\xd1\x82\xd0\xbe")));
	assert_true(dedup_stopwords_is(sw, fr, h("\xc3\xa9t\xc3\xa9")));
	assert_true(dedup_stopwords_is(sw, DEDUP_LANG_NONE, h("und")));
	/* content words are not stopwords anywhere */
	assert_false(dedup_stopwords_is(sw, DEDUP_LANG_NONE, h("government")));
	assert_false(dedup_stopwords_is(sw, DEDUP_LANG_NONE, h("Regierung")));
	assert_false(dedup_stopwords_is(sw, DEDUP_LANG_NONE, h("harbour")));
	assert_int_equal(dedup_stopwords_langs(sw, h("xylophone")), 0);
	/* "de" is a stopword in several lists */
	assert_true(__builtin_popcount(dedup_stopwords_langs(sw, h("de"))) >= 3);
	assert_false(dedup_stopwords_is(sw, 99, h("the")));
}

static void test_detect(void **state)
{
	const struct dedup_stopwords *sw = *state;

	assert_string_equal(lang_of(sw,
		"The council said that it would not open the bridge before "
		"the end of the year because of the storm."), "en");
	assert_string_equal(lang_of(sw,
		"Der Bahnhof wird nach dem Umbau wieder ge\xc3\xb6" "ffnet, "
		"teilte die Stadt am Montag mit, aber nicht vor dem Sommer."),
		"de");
	assert_string_equal(lang_of(sw,
		"La mairie a annonc\xc3\xa9 que le pont sera ferm\xc3\xa9 "
		"pendant les travaux et qu'il rouvrira avant la fin de "
		"l'ann\xc3\xa9" "e."), "fr");
	assert_string_equal(lang_of(sw,
		"El ayuntamiento dijo que el puente estar\xc3\xa1 cerrado "
		"durante las obras y que se abrir\xc3\xa1 antes del verano."),
		"es");
	assert_string_equal(lang_of(sw,
		"Il comune ha detto che il ponte sar\xc3\xa0 chiuso durante "
		"i lavori e che non riaprir\xc3\xa0 prima della fine "
		"dell'anno."), "it");
	assert_string_equal(lang_of(sw,
		"A c\xc3\xa2mara disse que a ponte vai ficar fechada durante "
		"as obras e que n\xc3\xa3o abre antes do ver\xc3\xa3o."), "pt");
	assert_string_equal(lang_of(sw,
		"De gemeente zegt dat de brug tijdens de werkzaamheden "
		"gesloten blijft en pas na de zomer weer open gaat."), "nl");
	assert_string_equal(lang_of(sw,
		"Miasto poinformowa\xc5\x82o, \xc5\xbc" "e most b\xc4\x99" "dzie "
		"zamkni\xc4\x99ty przez ca\xc5\x82y rok, ale nie d\xc5\x82" "u\xc5"
		"\xbc" "ej ni\xc5\xbc dwa miesi\xc4\x85" "ce."), "pl");
	assert_string_equal(lang_of(sw,
		"\xd0\x92 \xd0\xb3\xd0\xbe\xd1\x80\xd0\xbe\xd0\xb4\xd0\xb5 "
		"\xd1\x81\xd0\xba\xd0\xb0\xd0\xb7\xd0\xb0\xd0\xbb\xd0\xb8, "
		"\xd1\x87\xd1\x82\xd0\xbe \xd0\xbc\xd0\xbe\xd1\x81\xd1\x82 "
		"\xd0\xb1\xd1\x83\xd0\xb4\xd0\xb5\xd1\x82 \xd0\xb7\xd0\xb0"
		"\xd0\xba\xd1\x80\xd1\x8b\xd1\x82 \xd0\xb4\xd0\xbe "
		"\xd0\xbb\xd0\xb5\xd1\x82\xd0\xb0, \xd0\xbd\xd0\xbe "
		"\xd0\xbd\xd0\xb5 \xd0\xb4\xd0\xbe\xd0\xbb\xd1\x8c\xd1\x88"
		"\xd0\xb5."), "ru");
	assert_string_equal(lang_of(sw,
		"Belediye, k\xc3\xb6pr\xc3\xbc" "n\xc3\xbcn yaz\xc4\xb1 kadar "
		"kapal\xc4\xb1 kalaca\xc4\x9f\xc4\xb1n\xc4\xb1 ve "
		"\xc3\xa7ok daha uzun s\xc3\xbcrmeyece\xc4\x9fini "
		"s\xc3\xb6yledi, ama bu da bir tahmin."), "tr");
	/* too few stopwords to tell */
	assert_string_equal(lang_of(sw, "Weather forecast"), "none");
	assert_string_equal(lang_of(sw, ""), "none");
}

/* The tokenizer's form of struct dedup_tokens gives the same answer. */
static void test_detect_tokens(void **state)
{
	const struct dedup_stopwords *sw = *state;
	static const char *const words[] = {
		"wir", "haben", "das", "nicht", "gewusst", "und", "sind",
	};
	struct dedup_token v[7];
	struct dedup_tokens toks;
	size_t i;

	memset(&toks, 0, sizeof(toks));
	for (i = 0; i < 7; i++) {
		v[i].hash = dedup_token_hash(words[i], strlen(words[i]));
		v[i].off = v[i].len = v[i].src = v[i].flags = 0;
	}
	toks.v = v;
	toks.n = 7;
	assert_string_equal(dedup_stopwords_code(sw,
		dedup_stopwords_detect(sw, &toks)), "de");
	toks.n = 0;
	assert_int_equal(dedup_stopwords_detect(sw, &toks), DEDUP_LANG_NONE);
}

/*
 * dedup_stopwords_detect_langs(), which takes the words' languages, agrees
 * with the tally of their hashes on texts of up to 1,000 words (past its
 * chunk of 256) mixing words of one list, of several ("de", "a", "in"),
 * and of none, in proportions that make each language win.
 */
static void test_detect_langs_same(void **state)
{
	static const char *const words[] = {
		"the", "and", "der", "und", "les", "el", "il", "het", "nie",
		"ve", "de", "a", "in", "la", "e", "o", "zebra", "budget",
		"1999",
	};
	const struct dedup_stopwords *sw = *state;
	enum { NW = sizeof(words) / sizeof(words[0]) };
	uint64_t hw[NW], hashes[1000];
	uint32_t langs[1000], rng = 12345;
	int iter;
	size_t i, n;

	for (i = 0; i < NW; i++)
		hw[i] = dedup_token_hash(words[i], strlen(words[i]));
	for (iter = 0; iter < 300; iter++) {
		/* one word of the list favoured in each text */
		size_t fav = (size_t)iter % NW;

		n = (size_t)iter * 7 % 1000;
		for (i = 0; i < n; i++) {
			rng = rng * 1103515245u + 12345u;
			hashes[i] = hw[(rng >> 16) % 4 ? (rng >> 8) % NW : fav];
			langs[i] = dedup_stopwords_langs(sw, hashes[i]);
		}
		assert_int_equal(dedup_stopwords_detect_langs(sw, langs, n),
				 dedup_stopwords_detect_hashes(sw, hashes, n));
	}
}

/*
 * The light splitter of strip_words.c must give the tokenizer's hashes for
 * ordinary words, or stopword lookups would miss in one of the two.
 */
static void test_same_hash_as_tokenizer(void **state)
{
	static const char *const texts[] = {
		"The Council's new budget wasn't approved on Monday.",
		"Der Bürgermeister sagte, dass die Straße gesperrt bleibt.",
		"L'équipe a gagné 3,5 points; c'était prévu.",
		"В городе сказали, что мост будет закрыт до лета.",
		"İstanbul'da köprü yazın kapalı kalacak ve bu doğru.",
		"Don\xe2\x80\x99t stop \xe2\x80\x94 U.S. figures for 2021.",
	};
	struct dedup_tokenizer *tk;
	struct dedup_tokens toks;
	struct dedup_error err;
	size_t i, k;

	(void)state;
	if (dedup_tokenizer_new(&tk, &err))
		fail_msg("%s", err.msg);
	dedup_tokens_init(&toks);
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		const char *t = texts[i];
		struct strip_word w;
		size_t pos = 0;

		assert_int_equal(dedup_tokenize(tk, t, strlen(t), &toks, &err),
				 DEDUP_OK);
		for (k = 0; strip_next_word(t, strlen(t), &pos, &w); k++) {
			if (k >= toks.n)
				fail_msg("'%s': extra word '%.*s'", t,
					 (int)w.len, t + w.off);
			if (toks.v[k].hash != strip_word_hash(t + w.off, w.len))
				fail_msg("'%s': word '%.*s' hashes apart from "
					 "token '%.*s'", t, (int)w.len,
					 t + w.off, (int)toks.v[k].len,
					 toks.text.buf + toks.v[k].off);
		}
		assert_int_equal(k, toks.n);
	}
	dedup_tokens_release(&toks);
	dedup_tokenizer_free(tk);
}

/* Every listed word must already be in folded form, one word per line. */
static void test_lists_are_folded(void **state)
{
	const struct dedup_embedded *e;
	int lists = 0;

	(void)state;
	for (e = dedup_embedded_files; e->name; e++) {
		const char *p = e->data, *end = e->data + e->len;

		if (strncmp(e->name, "stopwords/", 10))
			continue;
		lists++;
		while (p < end) {
			const char *eol = memchr(p, '\n', (size_t)(end - p));
			char folded[512];
			size_t n, len;

			if (!eol)
				eol = end;
			len = (size_t)(eol - p);
			if (len && *p != '#') {
				struct strip_word w;
				size_t pos = 0;

				n = strip_word_fold(p, len, folded,
						    sizeof(folded));
				if (n != len || memcmp(folded, p, len))
					fail_msg("%s: '%.*s' is not folded",
						 e->name, (int)len, p);
				assert_true(strip_next_word(p, len, &pos, &w));
				if (w.off != 0 || w.len != len)
					fail_msg("%s: '%.*s' is not one word",
						 e->name, (int)len, p);
			}
			p = eol + 1;
		}
	}
	assert_true(lists >= 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_languages_present),
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_detect),
		cmocka_unit_test(test_detect_tokens),
		cmocka_unit_test(test_detect_langs_same),
		cmocka_unit_test(test_same_hash_as_tokenizer),
		cmocka_unit_test(test_lists_are_folded),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
