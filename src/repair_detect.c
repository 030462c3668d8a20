/*
 * repair_detect.c - fast guess of the 8-bit code page of non-UTF-8 text.
 *
 * ICU's charset detection tries 27 recognizers with n-gram tables per
 * language over the whole text: about a millisecond for a 4 KB article,
 * more than the rest of the repair stage for that file. Yet the 8-bit code
 * pages news arrives in are a small, known set, and one histogram of the
 * bytes 0x80..0xFF tells them apart: a naive Bayes choice among small
 * language models, each a distribution over the characters the upper half
 * of one code page decodes to.
 *
 * A model is a language's non-ASCII letters in order of frequency (weights
 * falling geometrically with the rank, capitals lower), the punctuation
 * every language uses (curly quotes, dashes, guillemets, the euro sign),
 * and small weights for the rest: foreign letters, symbols, and least of
 * all C1 controls and undefined bytes. Normalized over what the language
 * writes (not over what the code page holds), a character weighs the same
 * in every code page that has it, so the log-likelihoods of the histogram
 * under different (language, code page) models compare fairly; a factor
 * for the share of high bytes among letters weighs scripts against each
 * other. Czech bytes read as Windows-1252 are letters too (è ø ì ù), but
 * no Windows-1252 language uses them together; Russian read as KOI8-R is
 * Cyrillic too, but with capitals and rare letters where the common ones
 * should be.
 *
 * The guess is refused (NULL: the caller asks ICU) when the bytes look like
 * a multibyte East Asian encoding, or when the best model explains the
 * high bytes poorly (random bytes, encodings we have no model for).
 */
#include <math.h>
#include <pthread.h>
#include <string.h>

#include <unicode/uchar.h>
#include <unicode/ucnv.h>
#include <unicode/utf8.h>

#include "repair_int.h"

/* Code pages with a model; ICU converter names (also what ucsdet says). */
static const char *const det_cp[] = {
	"windows-1252", "windows-1250", "ISO-8859-2", "windows-1251",
	"KOI8-R",       "ISO-8859-5",   "windows-1253", "ISO-8859-7",
	"windows-1254", "windows-1257", "windows-1255", "ISO-8859-8",
	"windows-1256", "ISO-8859-6",
};
#define NDCP (sizeof(det_cp) / sizeof(det_cp[0]))

/* Bit masks of det_cp[] indices. */
#define M(i) (1u << (i))
#define LATIN1 M(0)
#define LATIN2 (M(1) | M(2))
#define CYR (M(3) | M(4) | M(5))
#define GREEK (M(6) | M(7))
#define TURKISH M(8)
#define BALTIC M(9)
#define HEBREW (M(10) | M(11))
#define ARABIC (M(12) | M(13))
#define ALL (M(NDCP) - 1)

/*
 * Languages: the code pages they are written in and their letters beyond
 * ASCII, lower case, most frequent first (rough ranks from general
 * knowledge of each language, not from any corpus). English has none: its
 * high bytes are punctuation, which differs between code pages too.
 */
static const struct lang {
	unsigned cps;
	const char *letters;
} langs[] = {
	{ ALL, "" }, /* English: its text can be in any of them */
	{ LATIN1, "éèàçêâîôûëïüœùæÿ" },                    /* French */
	{ LATIN1, "üäößé" },                              /* German */
	{ LATIN1, "óíáéñúü¿¡" },                          /* Spanish */
	{ LATIN1, "ãçéáíóõêâúôà" },                       /* Portuguese */
	{ LATIN1, "àèéùòìíóú" },                          /* Italian */
	{ LATIN1, "ëéïèöü" },                             /* Dutch */
	{ LATIN1, "äåöé" },                               /* Swedish, Finnish */
	{ LATIN1, "åøæé" },                               /* Danish, Norwegian */
	{ LATIN1, "áðíéóúþæöý" },                         /* Icelandic */
	{ LATIN1, "àèéóíòçúï·" },                         /* Catalan */
	{ LATIN2, "łęąóżśćńź" },                          /* Polish */
	{ LATIN2, "íáéýěčřžšůúňťď" },                     /* Czech */
	{ LATIN2, "áíéýčžšôúľňäťďĺŕ" },                   /* Slovak */
	{ LATIN2, "éáőöóüíúű" },                          /* Hungarian */
	{ LATIN2, "čšžćđ" },                              /* Croatian, Slovene */
	{ LATIN2, "ăîâşţ" },                              /* Romanian */
	{ TURKISH, "ışğüçöiâî" },                         /* Turkish */
	{ BALTIC, "ėšųįūžčęą" },                          /* Lithuanian */
	{ BALTIC, "āēīūšžčņļķģ" },                        /* Latvian */
	{ BALTIC, "äõüöšž" },                             /* Estonian */
	{ CYR, "оеаинтсрвлкмдпуяыьгзбчйхжшюцщэфъё" },     /* Russian */
	{ CYR, "оанівтеросклдмупяизьгбчхцйжєїшюфщґ" },    /* Ukrainian */
	{ CYR, "аоеинтрсвлкдпмзгяъбчуйщжшхцюфь" },        /* Bulgarian */
	{ CYR, "аиоенрстјувкдлмпзгбчшцћђжњљхфџ" },        /* Serbian */
	{ GREEK, "αοιετνσκρπμυηλάίέόςγδήύθώχφβωξζψϊ" },   /* Greek */
	{ HEBREW, "יוהלארמבתשנעדקכפחםצסגןזטךףץ" },         /* Hebrew */
	{ ARABIC, "اليمنوربتعهةفدكقسحجشصأطإخذزثضظغءآىئؤ" }, /* Arabic */
};
#define NLANG (sizeof(langs) / sizeof(langs[0]))

/* Punctuation and signs any language's text holds in its upper half. */
static const char common_punct[] =
	"’“”‘„«»–—…•€\u00A0\u00AD°·§©®™´×‚‹›£";
/* Signs seen now and then. */
static const char rare_signs[] = "¥¢±²³½¼¾ºª¦¬¨¯¸µ¶†‡‰¹¤";

#define W_RANK 0.85   /* weight of a letter: W_RANK^rank */
#define W_UPPER 0.15  /* capitals, relative to their small letter */
#define W_PUNCT 0.5
#define W_FOREIGN 0.005 /* a letter the language does not use */
#define W_SIGN 0.05
#define W_SYMBOL 0.002
#define W_INVALID 0.00001 /* C1 control, undefined byte */

/*
 * Share of high bytes among the letters and high bytes of a text: a few in
 * English, some in other Latin-script languages, most in other scripts
 * (URLs, names and numbers stay ASCII). Without it, one `½` in an English
 * article (Cyrillic `Н` in ISO-8859-5) is as good a Russian text as an
 * English one.
 */
#define HIGH_ENGLISH 0.005
#define HIGH_LATIN 0.03
#define HIGH_OTHER 0.7
#define NONLATIN (CYR | GREEK | HEBREW | ARABIC)

/*
 * The best model does not explain the text when its mean log-likelihood
 * per high byte is below this, or when less than half of the high bytes
 * are its language's letters or common punctuation: ask ICU. (Asking ICU
 * also when two code pages scored close was tried: on the accuracy set of
 * bench/RESULTS.md, ICU was wrong more often than the closer guess.)
 */
#define MIN_MEAN_LOGP -8.0

struct model {
	unsigned cp;            /* index in det_cp[] */
	double log_high, log_ascii; /* of a high byte, of an ASCII letter */
	float logp[128];        /* byte 0x80+i */
	unsigned char good[128]; /* 1: a letter of the language or punctuation */
};

static struct {
	uint32_t dec[NDCP][128]; /* byte 0x80+i -> code point, 0: undefined */
	struct model models[NLANG * 3 + NDCP];
	unsigned nmodels;
	bool ok;
} D;

static pthread_once_t det_once = PTHREAD_ONCE_INIT;

static bool in_list(const char *s, uint32_t c)
{
	int32_t i = 0, n = (int32_t)strlen(s);
	UChar32 l;

	while (i < n) {
		U8_NEXT(s, i, n, l);
		if ((uint32_t)l == c)
			return true;
	}
	return false;
}

/*
 * Sum of the weights of everything the language writes: its letters in
 * both cases and the common punctuation. Normalizing by this rather than
 * over the code page's upper half keeps the probability of a character
 * the same in every code page that has it, so that code pages decoding
 * the text alike score alike.
 */
static double lang_mass(const char *letters)
{
	int32_t i = 0, n = (int32_t)strlen(letters), rank = 0;
	UChar32 l;
	double sum = 0;

	while (i < n) {
		U8_NEXT(letters, i, n, l);
		(void)l;
		sum += pow(W_RANK, rank++) * (1 + W_UPPER);
	}
	n = (int32_t)strlen(common_punct);
	for (i = 0; i < n;) {
		U8_NEXT(common_punct, i, n, l);
		sum += W_PUNCT;
	}
	return sum;
}

/* Weight of code point c in the language whose letters are `letters`. */
static double weight(uint32_t c, const char *letters, bool *good)
{
	int32_t i = 0, n = (int32_t)strlen(letters), rank = 0;
	uint32_t lc = (uint32_t)u_tolower((UChar32)c), l;

	*good = false;
	while (i < n) {
		U8_NEXT(letters, i, n, l);
		if (l == c || l == lc) {
			*good = true;
			return pow(W_RANK, rank) * (l == c ? 1.0 : W_UPPER);
		}
		rank++;
	}
	if (in_list(common_punct, c)) {
		*good = true;
		return W_PUNCT;
	}
	if (in_list(rare_signs, c))
		return W_SIGN;
	if (!c || u_iscntrl((UChar32)c))
		return W_INVALID;
	if (u_isalpha((UChar32)c))
		return W_FOREIGN;
	return W_SYMBOL;
}

static void build_models(void)
{
	unsigned p, b, l;
	int err;

	for (p = 0; p < NDCP; p++)
		if (repair_high_bytes(det_cp[p], D.dec[p], &err))
			return; /* D.ok stays false: ICU decides */
	for (l = 0; l < NLANG; l++) {
		for (p = 0; p < NDCP; p++) {
			struct model *m;
			double sum = lang_mass(langs[l].letters), q;
			bool good;

			if (!(langs[l].cps & M(p)))
				continue;
			m = &D.models[D.nmodels++];
			m->cp = p;
			q = !*langs[l].letters		? HIGH_ENGLISH
			    : langs[l].cps & NONLATIN ? HIGH_OTHER
						      : HIGH_LATIN;
			m->log_high = log(q);
			m->log_ascii = log(1 - q);
			for (b = 0; b < 128; b++) {
				double w = weight(D.dec[p][b],
						  langs[l].letters, &good);

				m->good[b] = good;
				m->logp[b] = (float)log(w / sum);
			}
		}
	}
	D.ok = true;
}

/*
 * East Asian double-byte encodings (Shift_JIS, EUC-*, GBK/GB18030, Big5)
 * put high bytes in pairs whose second byte is 0x40..0xFE; 8-bit text
 * soon has a high byte before a space or a line end. Also true of the
 * 4-byte GB18030 sequences (digits in second and fourth place).
 */
static bool looks_multibyte(const unsigned char *s, size_t len,
			    size_t nhigh)
{
	size_t i, pairs = 0, broken = 0;

	if (nhigh * 4 < len)
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] < 0x80)
			continue;
		if (i + 1 < len && (s[i + 1] >= 0x40 ||
				    (s[i + 1] >= 0x30 && s[i + 1] <= 0x39))) {
			pairs++;
			i++;
		} else {
			broken++;
		}
	}
	return broken * 50 <= pairs;
}

const char *repair_detect_8bit(const char *in, size_t len)
{
	const unsigned char *s = (const unsigned char *)in;
	uint32_t h[256] = { 0 };
	double best = -HUGE_VAL, best_uni = 0, good = 0;
	unsigned present[128], np = 0, i, k, bm = 0;
	size_t j, nhigh = 0, nascii = 0;

	pthread_once(&det_once, build_models);
	if (!D.ok)
		return NULL;
	for (j = 0; j < len; j++)
		h[s[j]]++;
	for (i = 0; i < 26; i++)
		nascii += h['A' + i] + h['a' + i];
	for (i = 0; i < 128; i++)
		if (h[0x80 + i]) {
			present[np++] = i;
			nhigh += h[0x80 + i];
		}
	if (!nhigh || looks_multibyte(s, len, nhigh))
		return NULL;
	for (k = 0; k < D.nmodels; k++) {
		const struct model *m = &D.models[k];
		double uni = 0, sc;

		for (i = 0; i < np; i++)
			uni += h[0x80 + present[i]] *
			       (double)m->logp[present[i]];
		sc = uni + (double)nhigh * m->log_high +
		     (double)nascii * m->log_ascii;
		if (sc > best) { /* on ties the first: English, Windows-1252 */
			best = sc;
			best_uni = uni;
			bm = k;
		}
	}
	for (i = 0; i < np; i++)
		if (D.models[bm].good[present[i]])
			good += h[0x80 + present[i]];
	if (best_uni / (double)nhigh < MIN_MEAN_LOGP ||
	    good * 2 < (double)nhigh)
		return NULL;
	return det_cp[D.models[bm].cp];
}
