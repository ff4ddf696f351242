/*
 * phone.h - phone numbers to E.164 and their kind (SPEC sections 3 and 7).
 */
#ifndef S48_PHONE_H
#define S48_PHONE_H

#include <stddef.h>

enum phone_kind {
	PHONE_INVALID = 0,   /* not a number at all */
	PHONE_MOBILE,        /* can take SMS: a mobile of country_code's plan, or
	                        any other country's number (presumed mobile) */
	PHONE_FIXED,         /* a landline of country_code's plan: no SMS */
	PHONE_SHORTCODE,     /* 3-6 digits: operator/bank short codes */
	PHONE_ALPHA,         /* alphanumeric sender id ("Telenor", "BANKA") */
};

/*
 * Normalise a number as a gateway or a clerk writes it: "064 123 4567",
 * "0641234567", "381641234567", "00381641234567", "+381 (64) 123-4567"
 * -> "+381641234567" for country_code "381".  out gets the E.164 form for
 * MOBILE and FIXED, the digits for SHORTCODE, the text for ALPHA, "" for
 * INVALID.  outsz of 32 is enough.  Serbian plan: mobile = 6x after the
 * country code (60-69), fixed = the rest.
 */
enum phone_kind phone_normalize(const char *in, const char *country_code, char *out,
    size_t outsz);
/* "mobile" "fixed" "shortcode" "alpha" "invalid" */
const char *phone_kind_name(enum phone_kind k);

#endif
