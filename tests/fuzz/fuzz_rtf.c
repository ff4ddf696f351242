/*
 * fuzz_rtf.c - libFuzzer target for Outlook's compressed RTF body
 * (parsers/rtf_text.c): the MS-OXRTFCP decompressor and the RTF-to-text
 * reader, checking what mime_tnef.c relies on, not just the absence of
 * crashes.  The first byte picks the input's form, the second a cap:
 *   0  a whole PR_RTF_COMPRESSED value (header, CRC and all)
 *   1  RTF text
 *   2  LZFu content: the header with a matching CRC is made here, so the
 *      fuzzer reaches the decoder behind the CRC check
 * Invariants: output within the cap, NUL-terminated, a result cut by a
 * smaller cap is a prefix of the uncut one, the text is valid UTF-8.
 *
 *   sh tests/fuzz/run-fuzz.sh 300 fuzz_rtf       (seeds: tests/fuzz/seeds/rtf)
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "normalize.h"
#include "rtf_text.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int cond)
{
	if (!cond)
		abort();
}

static void
text_checks(const char *rtf, size_t len, size_t cap)
{
	char *full = rtf_to_text(rtf, len, 1 << 20);
	char *cut = rtf_to_text(rtf, len, cap);
	size_t fl = strlen(full), cl = strlen(cut);

	check(norm_utf8_valid(full, fl));
	check(norm_utf8_valid(cut, cl));
	check(cl <= cap);
	check(cl <= fl && memcmp(cut, full, cl) == 0);
	free(full);
	free(cut);
}

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static void
decompress_checks(const unsigned char *in, size_t len, size_t cap)
{
	char *out = NULL, *cut = NULL;
	size_t outlen = 0, cutlen = 0;
	const char *err = NULL;
	int rc = rtf_decompress(in, len, RTF_MAX_RAW, &out, &outlen, &err);
	int rc2 = rtf_decompress(in, len, cap, &cut, &cutlen, &err);

	check(rc >= -1 && rc <= 1);
	if (rc < 0) {
		/* a cut run may stop before the error */
		check(out == NULL && outlen == 0 && err != NULL);
		check(rc2 < 0 ? cut == NULL : cutlen == cap);
		free(cut);
		return;
	}
	check(outlen <= RTF_MAX_RAW && out[outlen] == '\0');
	check(rc2 >= 0 && cutlen <= cap && cut[cutlen] == '\0');
	check(cutlen <= outlen && memcmp(cut, out, cutlen) == 0);
	check(rc2 == 1 || cutlen == outlen);
	text_checks(out, outlen, cap);
	free(out);
	free(cut);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t cap;

	if (size < 2)
		return 0;
	cap = (size_t)data[1] * 3;
	switch (data[0] % 3) {
	case 0:
		decompress_checks(data + 2, size - 2, cap);
		break;
	case 1:
		text_checks((const char *)data + 2, size - 2, cap);
		break;
	default: {
		size_t n = size - 2;
		unsigned char *s = xmalloc(n + 16);

		put32(s, (uint32_t)(n + 12));
		put32(s + 4, (uint32_t)n);
		put32(s + 8, RTF_COMPRESSED);
		memcpy(s + 16, data + 2, n);
		put32(s + 12, rtf_crc(s + 16, n));
		decompress_checks(s, n + 16, cap);
		free(s);
		break;
	}
	}
	return 0;
}
