/*
 * phone.c - phone numbers as gateways and clerks write them, to E.164, and
 * whether they can take an SMS (SPEC sections 3 and 7).
 *
 * Accepted punctuation: spaces, '-', '.', '/', '(', ')', a leading '+'.
 * "(0)" after a country code ("+381 (0)64 ...") is the national trunk
 * prefix written by habit and is dropped for the configured country.
 */
#include "phone.h"

#include <string.h>

#include "util.h"

#define E164_MAX 15     /* digits, country code included */
#define E164_MIN 8

static void
set_out(char *out, size_t outsz, const char *s)
{
	if (out != NULL && outsz > 0)
		util_strlcpy(out, s, outsz);
}

static int
is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

static int
is_punct(unsigned char c)
{
	return c == '-' || c == '.' || c == '/' || c == '(' || c == ')' || is_space(c);
}

enum phone_kind
phone_normalize(const char *in, const char *country_code, char *out, size_t outsz)
{
	char digits[64], e164[E164_MAX + 2];
	size_t nd = 0, len, i, cclen;
	const char *s, *cc = country_code && country_code[0] ? country_code : "381";
	int plus = 0, letters = 0, junk = 0;
	char *nsn;

	set_out(out, outsz, "");
	if (in == NULL)
		return PHONE_INVALID;
	s = in;
	while (is_space((unsigned char)*s))
		s++;
	len = strlen(s);
	while (len > 0 && is_space((unsigned char)s[len - 1]))
		len--;
	if (len == 0)
		return PHONE_INVALID;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= '0' && c <= '9') {
			if (nd < sizeof(digits) - 1)
				digits[nd] = (char)c;
			nd++;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80) {
			letters = 1;
		} else if (c == '+' && nd == 0 && !plus) {
			plus = 1;
		} else if (!is_punct(c)) {
			junk = 1;
		}
	}
	if (letters) {
		/* an alphanumeric sender id: kept as written, controls dropped */
		char id[64];
		size_t o = 0;

		for (i = 0; i < len && o < sizeof(id) - 1; i++)
			if ((unsigned char)s[i] >= 0x20 && s[i] != 0x7f)
				id[o++] = s[i];
		id[o] = '\0';
		set_out(out, outsz, id);
		return PHONE_ALPHA;
	}
	if (junk || nd == 0 || nd >= sizeof(digits))
		return PHONE_INVALID;
	digits[nd] = '\0';

	/* short codes never start with the trunk prefix 0 ("064123" is a
	 * mistyped mobile, not a short code) */
	if (!plus && nd >= 3 && nd <= 6 && digits[0] != '0') {
		set_out(out, outsz, digits);
		return PHONE_SHORTCODE;
	}
	if (plus)
		nsn = digits;
	else if (digits[0] == '0' && digits[1] == '0')
		nsn = digits + 2;              /* international prefix */
	else if (digits[0] == '0') {
		/* national: our country code + the number without the trunk 0 */
		if (strlen(cc) + nd - 1 > E164_MAX)
			return PHONE_INVALID;
		memmove(digits + strlen(cc), digits + 1, nd);   /* moves the NUL */
		memcpy(digits, cc, strlen(cc));
		nsn = digits;
	} else
		nsn = digits;                  /* international written without '+' */

	/* nsn now holds country code + national number */
	cclen = strlen(cc);
	if (strncmp(nsn, cc, cclen) == 0 && nsn[cclen] == '0') {
		/* "+381 (0)64...": drop the trunk prefix */
		memmove(nsn + cclen, nsn + cclen + 1, strlen(nsn + cclen));
	}
	len = strlen(nsn);
	if (len < E164_MIN || len > E164_MAX || nsn[0] == '0')
		return PHONE_INVALID;
	e164[0] = '+';
	memcpy(e164 + 1, nsn, len + 1);
	if (strncmp(nsn, cc, cclen) == 0 && strcmp(cc, "381") == 0) {
		const char *nat = nsn + cclen;
		size_t natlen = strlen(nat);

		/* Serbian plan: 6x mobiles of 8-9 digits, fixed lines of 7-9 */
		if (natlen < 6 || natlen > 10)
			return PHONE_INVALID;
		set_out(out, outsz, e164);
		return nat[0] == '6' ? PHONE_MOBILE : PHONE_FIXED;
	}
	set_out(out, outsz, e164);
	return PHONE_MOBILE;
}

const char *
phone_kind_name(enum phone_kind k)
{
	switch (k) {
	case PHONE_MOBILE:
		return "mobile";
	case PHONE_FIXED:
		return "fixed";
	case PHONE_SHORTCODE:
		return "shortcode";
	case PHONE_ALPHA:
		return "alpha";
	case PHONE_INVALID:
		break;
	}
	return "invalid";
}
