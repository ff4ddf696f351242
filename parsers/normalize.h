/*
 * normalize.h - Serbian text normalisation (SPEC section 4).
 *
 * Input is UTF-8 that may be invalid; invalid sequences become U+FFFD and
 * never crash.  All returned strings are newly allocated; caller frees.
 */
#ifndef S48_NORMALIZE_H
#define S48_NORMALIZE_H

#include <stddef.h>

/* Replace every invalid UTF-8 sequence (and NUL bytes) by U+FFFD. */
char *norm_utf8_repair(const char *s, size_t len);
/* 1 if s[0..len) is valid UTF-8 without NUL bytes, else 0. */
int norm_utf8_valid(const char *s, size_t len);

/*
 * Matching form: lower case, Cyrillic -> Latin (ђ->dj, ж->z, љ->lj, њ->nj,
 * џ->dz, ћ->c, ч->c, ш->s, ...), diacritics folded (č ć->c, š->s, ž->z,
 * đ->dj, and common Latin accents), every other non-alphanumeric
 * character -> one space, runs of spaces collapsed, no leading/trailing
 * space.  "Пукла ЦЕВ у Улици Đure Đakovića!" -> "pukla cev u ulici djure djakovica".
 * Characters with no Latin form (e.g. Greek, emoji, U+FFFD) act as separators.
 */
char *norm_text(const char *s, size_t len);

/*
 * Transliterate to Latin keeping case and punctuation, folding diacritics:
 * "Ђорђе Čačak ШУМА" -> "Djordje Cacak SUMA" (uppercase digraphs: Љ->Lj,
 * but within an all-caps word LJ).  Used for GSM-7 SMS.  Characters with no
 * Latin form are kept as they are (the SMS layer replaces them).
 */
char *norm_translit(const char *s, size_t len);

/*
 * Iterate words of an already normalised string (as from norm_text):
 * on each call returns the next word start and its length in *len_r, or
 * NULL at the end.  *pos is the iteration state, start with 0.
 */
const char *norm_next_word(const char *normalised, size_t *pos, size_t *len_r);

#endif
