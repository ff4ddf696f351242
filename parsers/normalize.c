/*
 * normalize.c - Serbian text normalisation (SPEC section 4): UTF-8
 * validation and repair, the matching form used by routing and commands,
 * and Latin transliteration for GSM-7 SMS.
 *
 * Everything is table driven: one pass over the bytes, ASCII through a
 * 256-entry table, other code points through small per-block tables, and
 * a single allocation per call (the output can never be longer than the
 * input, since every non-ASCII code point takes at least two bytes and
 * maps to at most two ASCII letters).
 */
#include "normalize.h"

#include <stdint.h>
#include <string.h>

#include "util.h"

#define REPLACEMENT 0xFFFDu

/*
 * Decode one code point at s[0..len) (len >= 1).  Returns the code point
 * and sets *n to the bytes consumed, or returns -1 for an invalid sequence
 * with *n = the length of its maximal subpart (at least 1), as Unicode's
 * "best practice" for U+FFFD substitution says.  Overlongs, surrogates and
 * code points above U+10FFFF are invalid.  NUL is returned as 0.
 */
static int32_t
utf8_decode(const unsigned char *s, size_t len, size_t *n)
{
	unsigned c = s[0];
	unsigned lo = 0x80, hi = 0xBF;
	size_t need, i;
	uint32_t cp;

	if (c < 0x80) {
		*n = 1;
		return (int32_t)c;
	}
	if (c < 0xC2 || c > 0xF4) {
		*n = 1;
		return -1;
	}
	if (c < 0xE0) {
		need = 1;
		cp = c & 0x1F;
	} else if (c < 0xF0) {
		need = 2;
		cp = c & 0x0F;
		if (c == 0xE0)
			lo = 0xA0;      /* overlong */
		else if (c == 0xED)
			hi = 0x9F;      /* surrogates */
	} else {
		need = 3;
		cp = c & 0x07;
		if (c == 0xF0)
			lo = 0x90;      /* overlong */
		else if (c == 0xF4)
			hi = 0x8F;      /* above U+10FFFF */
	}
	for (i = 1; i <= need; i++) {
		unsigned b;

		if (i >= len) {
			*n = i;
			return -1;
		}
		b = s[i];
		if (b < lo || b > hi) {
			*n = i;
			return -1;
		}
		lo = 0x80;
		hi = 0xBF;
		cp = (cp << 6) | (b & 0x3F);
	}
	*n = need + 1;
	return (int32_t)cp;
}

static size_t
utf8_encode(uint32_t cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

int
norm_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n;

	while (i < len) {
		if (p[i] >= 0x80) {
			if (utf8_decode(p + i, len - i, &n) < 0)
				return 0;
			i += n;
		} else if (p[i] == 0) {
			return 0;
		} else {
			i++;
		}
	}
	return 1;
}

char *
norm_utf8_repair(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	char *out, *o;
	size_t i = 0, n;

	/* each invalid byte (1 byte) may become U+FFFD (3 bytes) */
	if (len > (SIZE_MAX - 1) / 3)
		fatalx("norm_utf8_repair: input too large");
	out = o = xmalloc(len * 3 + 1);
	while (i < len) {
		int32_t cp;

		if (p[i] < 0x80 && p[i] != 0) {
			*o++ = (char)p[i++];
			continue;
		}
		cp = utf8_decode(p + i, len - i, &n);
		if (cp <= 0) {
			o += utf8_encode(REPLACEMENT, o);
		} else {
			memcpy(o, p + i, n);
			o += n;
		}
		i += n;
	}
	*o = '\0';
	return xrealloc(out, (size_t)(o - out) + 1);
}

/*
 * Latin forms.  An entry is the ASCII form with the case of the source
 * letter ("A" upper, "a" lower, "Dj"/"dj" digraphs), "" for a character
 * that disappears (hard/soft sign, combining marks), NULL for no Latin form.
 */

/* U+00C0 .. U+024F: Latin-1 Supplement letters, Latin Extended-A and -B */
static const char *const latin_tab[0x250 - 0xC0] = {
	/* C0 */ "A", "A", "A", "A", "A", "A", "Ae", "C",
	/* C8 */ "E", "E", "E", "E", "I", "I", "I", "I",
	/* D0 */ "Dj", "N", "O", "O", "O", "O", "O", NULL,
	/* D8 */ "O", "U", "U", "U", "U", "Y", "Th", "ss",
	/* E0 */ "a", "a", "a", "a", "a", "a", "ae", "c",
	/* E8 */ "e", "e", "e", "e", "i", "i", "i", "i",
	/* F0 */ "dj", "n", "o", "o", "o", "o", "o", NULL,
	/* F8 */ "o", "u", "u", "u", "u", "y", "th", "y",
	/* 100 */ "A", "a", "A", "a", "A", "a", "C", "c",
	/* 108 */ "C", "c", "C", "c", "C", "c", "D", "d",
	/* 110 */ "Dj", "dj", "E", "e", "E", "e", "E", "e",
	/* 118 */ "E", "e", "E", "e", "G", "g", "G", "g",
	/* 120 */ "G", "g", "G", "g", "H", "h", "H", "h",
	/* 128 */ "I", "i", "I", "i", "I", "i", "I", "i",
	/* 130 */ "I", "i", "Ij", "ij", "J", "j", "K", "k",
	/* 138 */ "k", "L", "l", "L", "l", "L", "l", "L",
	/* 140 */ "l", "L", "l", "N", "n", "N", "n", "N",
	/* 148 */ "n", "n", "N", "n", "O", "o", "O", "o",
	/* 150 */ "O", "o", "Oe", "oe", "R", "r", "R", "r",
	/* 158 */ "R", "r", "S", "s", "S", "s", "S", "s",
	/* 160 */ "S", "s", "T", "t", "T", "t", "T", "t",
	/* 168 */ "U", "u", "U", "u", "U", "u", "U", "u",
	/* 170 */ "U", "u", "U", "u", "W", "w", "Y", "y",
	/* 178 */ "Y", "Z", "z", "Z", "z", "Z", "z", "s",
	/* 180 */ "b", "B", "B", "b", NULL, NULL, "O", "C",
	/* 188 */ "c", "D", "D", "D", "d", NULL, "E", NULL,
	/* 190 */ "E", "F", "f", "G", NULL, "hv", "I", "I",
	/* 198 */ "K", "k", "l", NULL, NULL, "N", "n", "O",
	/* 1A0 */ "O", "o", NULL, NULL, "P", "p", NULL, NULL,
	/* 1A8 */ NULL, NULL, NULL, "t", "T", "t", "T", "U",
	/* 1B0 */ "u", NULL, "V", "Y", "y", "Z", "z", NULL,
	/* 1B8 */ NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	/* 1C0 */ NULL, NULL, NULL, NULL, "DZ", "Dz", "dz", "LJ",
	/* 1C8 */ "Lj", "lj", "NJ", "Nj", "nj", "A", "a", "I",
	/* 1D0 */ "i", "O", "o", "U", "u", "U", "u", "U",
	/* 1D8 */ "u", "U", "u", "U", "u", NULL, "A", "a",
	/* 1E0 */ "A", "a", "Ae", "ae", "G", "g", "G", "g",
	/* 1E8 */ "K", "k", "O", "o", "O", "o", NULL, NULL,
	/* 1F0 */ "j", "DZ", "Dz", "dz", "G", "g", NULL, NULL,
	/* 1F8 */ "N", "n", "A", "a", "Ae", "ae", "O", "o",
	/* 200 */ "A", "a", "A", "a", "E", "e", "E", "e",
	/* 208 */ "I", "i", "I", "i", "O", "o", "O", "o",
	/* 210 */ "R", "r", "R", "r", "U", "u", "U", "u",
	/* 218 */ "S", "s", "T", "t", NULL, NULL, "H", "h",
	/* 220 */ NULL, NULL, NULL, NULL, "Z", "z", "A", "a",
	/* 228 */ "E", "e", "O", "o", "O", "o", "O", "o",
	/* 230 */ "O", "o", "Y", "y", NULL, NULL, NULL, NULL,
	/* 238 */ NULL, NULL, "A", "C", "c", "L", "T", "s",
	/* 240 */ "z", NULL, NULL, "B", "U", NULL, "E", "e",
	/* 248 */ "J", "j", NULL, NULL, "R", "r", "Y", "y",
};

/* U+0400 .. U+045F: Serbian (and the rest of basic) Cyrillic */
static const char *const cyr_tab[0x60] = {
	/* 400 */ "E", "E", "Dj", "G", "E", "Dz", "I", "I",
	/* 408 */ "J", "Lj", "Nj", "C", "K", "I", "U", "Dz",
	/* 410 */ "A", "B", "V", "G", "D", "E", "Z", "Z",
	/* 418 */ "I", "J", "K", "L", "M", "N", "O", "P",
	/* 420 */ "R", "S", "T", "U", "F", "H", "C", "C",
	/* 428 */ "S", "Sc", "", "Y", "", "E", "Ju", "Ja",
	/* 430 */ "a", "b", "v", "g", "d", "e", "z", "z",
	/* 438 */ "i", "j", "k", "l", "m", "n", "o", "p",
	/* 440 */ "r", "s", "t", "u", "f", "h", "c", "c",
	/* 448 */ "s", "sc", "", "y", "", "e", "ju", "ja",
	/* 450 */ "e", "e", "dj", "g", "e", "dz", "i", "i",
	/* 458 */ "j", "lj", "nj", "c", "k", "i", "u", "dz",
};

/* ASCII in the matching form: lower-case letter or digit, 0 = separator
 * (bytes >= 0x80 are 0 too, so a run of letters stops at them) */
static const unsigned char ascii_match[256] = {
	['0'] = '0', ['1'] = '1', ['2'] = '2', ['3'] = '3', ['4'] = '4',
	['5'] = '5', ['6'] = '6', ['7'] = '7', ['8'] = '8', ['9'] = '9',
	['A'] = 'a', ['B'] = 'b', ['C'] = 'c', ['D'] = 'd', ['E'] = 'e',
	['F'] = 'f', ['G'] = 'g', ['H'] = 'h', ['I'] = 'i', ['J'] = 'j',
	['K'] = 'k', ['L'] = 'l', ['M'] = 'm', ['N'] = 'n', ['O'] = 'o',
	['P'] = 'p', ['Q'] = 'q', ['R'] = 'r', ['S'] = 's', ['T'] = 't',
	['U'] = 'u', ['V'] = 'v', ['W'] = 'w', ['X'] = 'x', ['Y'] = 'y',
	['Z'] = 'z',
	['a'] = 'a', ['b'] = 'b', ['c'] = 'c', ['d'] = 'd', ['e'] = 'e',
	['f'] = 'f', ['g'] = 'g', ['h'] = 'h', ['i'] = 'i', ['j'] = 'j',
	['k'] = 'k', ['l'] = 'l', ['m'] = 'm', ['n'] = 'n', ['o'] = 'o',
	['p'] = 'p', ['q'] = 'q', ['r'] = 'r', ['s'] = 's', ['t'] = 't',
	['u'] = 'u', ['v'] = 'v', ['w'] = 'w', ['x'] = 'x', ['y'] = 'y',
	['z'] = 'z',
};

/* Code points that vanish inside a word: combining marks, soft hyphen,
 * zero-width characters, the byte order mark. */
static int
is_ignorable(uint32_t cp)
{
	return (cp >= 0x300 && cp <= 0x36F) || cp == 0xAD ||
	    (cp >= 0x200B && cp <= 0x200D) || cp == 0x2060 || cp == 0xFEFF;
}

static const char up_letter[26][2] = {
	"A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "K", "L", "M",
	"N", "O", "P", "Q", "R", "S", "T", "U", "V", "W", "X", "Y", "Z",
};
static const char lo_letter[26][2] = {
	"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m",
	"n", "o", "p", "q", "r", "s", "t", "u", "v", "w", "x", "y", "z",
};

static const char digit_str[10][2] = {
	"0", "1", "2", "3", "4", "5", "6", "7", "8", "9",
};

/* k-th code point of a block described as runs "<letter><pairs>..." of
 * upper/lower pairs (single-digit pair counts). */
static const char *
pair_run(uint32_t k, const char *runs)
{
	uint32_t pair = k / 2;

	for (; runs[0] != '\0'; runs += 2) {
		uint32_t cnt = (uint32_t)(runs[1] - '0');

		if (pair < cnt) {
			int l = runs[0] - 'a';

			return (k & 1) ? lo_letter[l] : up_letter[l];
		}
		pair -= cnt;
	}
	return NULL;
}

/* Latin form of a non-ASCII code point (see the tables), or NULL. */
static const char *
latin_form(uint32_t cp)
{
	if (cp >= 0xC0 && cp < 0x250)
		return latin_tab[cp - 0xC0];
	if (cp >= 0x400 && cp < 0x460)
		return cyr_tab[cp - 0x400];
	if (is_ignorable(cp))
		return "";
	/* Latin Extended Additional (U+1E00..U+1EF9): accented letters in
	 * upper/lower pairs, even = upper; runs of pairs per base letter. */
	if (cp >= 0x1E00 && cp < 0x1E96)
		return pair_run(cp - 0x1E00, "a1b3c1d5e5f1g1h5i2k3l4m3n4o4p2r4s5t4u5v2w5x2y1z3");
	if (cp >= 0x1EA0 && cp < 0x1EFA)
		return pair_run(cp - 0x1EA0, "a9a3e8i2o9o3u7y4");
	/* fullwidth forms, as some phone keyboards produce them */
	if (cp >= 0xFF10 && cp <= 0xFF19)
		return digit_str[cp - 0xFF10];
	if (cp >= 0xFF21 && cp <= 0xFF3A)
		return up_letter[cp - 0xFF21];
	if (cp >= 0xFF41 && cp <= 0xFF5A)
		return lo_letter[cp - 0xFF41];
	return NULL;
}

char *
norm_text(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	char *out, *o;
	size_t i = 0, n;
	int space = 1;      /* the last output is a separator (or nothing yet) */

	/* o never passes out + i: every byte read yields at most one byte */
	out = o = xmalloc(len + 1);
	while (i < len) {
		unsigned c = p[i];
		const char *f;

		if (ascii_match[c] != 0) {
			/* a run of ASCII letters and digits */
			do
				*o++ = (char)ascii_match[p[i++]];
			while (i < len && ascii_match[p[i]] != 0);
			space = 0;
			continue;
		}
		if (c < 0x80) {
			unsigned char m = ascii_match[c];

			/* without branches: a letter or digit is written, a
			 * separator only as the first space of a run */
			*o = m != 0 ? (char)m : ' ';
			o += (m != 0) | !space;
			space = m == 0;
			i++;
			continue;
		}
		if (c >= 0xC2 && c < 0xE0 && i + 1 < len && (p[i + 1] & 0xC0) == 0x80) {
			/* two bytes: Latin-1, Latin Extended, Cyrillic */
			f = latin_form(((uint32_t)(c & 0x1F) << 6) | (p[i + 1] & 0x3F));
			i += 2;
		} else {
			int32_t cp = utf8_decode(p + i, len - i, &n);

			i += n;
			f = cp > 0 ? latin_form((uint32_t)cp) : NULL;
		}
		if (f == NULL) {
			*o = ' ';
			o += !space;
			space = 1;
			continue;
		}
		for (; *f != '\0'; f++) {
			*o++ = (char)ascii_match[(unsigned char)*f];
			space = 0;
		}
	}
	if (o > out && o[-1] == ' ')
		o--;
	*o = '\0';
	return out;
}

static int
is_upper_latin(const char *f)
{
	return f != NULL && f[0] >= 'A' && f[0] <= 'Z';
}

static int
is_lower_latin(const char *f)
{
	return f != NULL && f[0] >= 'a' && f[0] <= 'z';
}

/* Latin form of the code point at s[i..len), or NULL; *n its length. */
static const char *
form_at(const unsigned char *s, size_t i, size_t len, size_t *n, uint32_t *cp_r)
{
	int32_t cp;

	if (i >= len) {
		*n = 0;
		*cp_r = 0;
		return NULL;
	}
	cp = utf8_decode(s + i, len - i, n);
	*cp_r = cp < 0 ? REPLACEMENT : (uint32_t)cp;
	if (cp >= 'A' && cp <= 'Z')
		return up_letter[cp - 'A'];
	if (cp >= 'a' && cp <= 'z')
		return lo_letter[cp - 'a'];
	if (cp < 0x80)
		return NULL;
	return latin_form((uint32_t)cp);
}

char *
norm_translit(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	char *out, *o;
	size_t i = 0, n;
	const char *prev = NULL;     /* Latin form of the previous letter */

	/* worst case: every byte invalid, each becoming U+FFFD (3 bytes);
	 * valid sequences never grow (2 bytes give at most 2 letters) */
	if (len > (SIZE_MAX - 1) / 3)
		fatalx("norm_translit: input too large");
	out = o = xmalloc(len * 3 + 1);
	while (i < len) {
		uint32_t cp;
		const char *f;

		if (p[i] != 0 && p[i] < 0x80) {
			/* ASCII is copied; letters are remembered for digraphs */
			unsigned char c = p[i++];

			*o++ = (char)c;
			if (c >= 'A' && c <= 'Z')
				prev = up_letter[c - 'A'];
			else if (c >= 'a' && c <= 'z')
				prev = lo_letter[c - 'a'];
			else
				prev = NULL;
			continue;
		}
		f = form_at(p, i, len, &n, &cp);
		i += n;
		if (f == NULL) {
			if (cp == 0)
				cp = REPLACEMENT;
			o += utf8_encode(cp, o);
			prev = NULL;
			continue;
		}
		if (f[0] != '\0' && f[1] != '\0' && is_upper_latin(f) &&
		    f[1] >= 'a' && f[1] <= 'z') {
			/* an upper-case digraph (Lj, Nj, Dz, Dj): LJ inside
			 * an all-caps word, Lj otherwise */
			size_t n2;
			uint32_t cp2;
			const char *next = form_at(p, i, len, &n2, &cp2);
			int caps;

			if (is_upper_latin(next))
				caps = 1;
			else if (is_lower_latin(next))
				caps = 0;
			else
				caps = is_upper_latin(prev);
			*o++ = f[0];
			*o++ = caps ? (char)(f[1] - 'a' + 'A') : f[1];
		} else {
			size_t fl = strlen(f);

			memcpy(o, f, fl);
			o += fl;
		}
		if (f[0] != '\0')
			prev = f;
	}
	*o = '\0';
	return xrealloc(out, (size_t)(o - out) + 1);
}

const char *
norm_next_word(const char *normalised, size_t *pos, size_t *len_r)
{
	const char *s = normalised + *pos;
	const char *e;

	while (*s == ' ')
		s++;
	if (*s == '\0') {
		*pos = (size_t)(s - normalised);
		*len_r = 0;
		return NULL;
	}
	e = s;
	while (*e != '\0' && *e != ' ')
		e++;
	*len_r = (size_t)(e - s);
	*pos = (size_t)(e - normalised);
	return s;
}
