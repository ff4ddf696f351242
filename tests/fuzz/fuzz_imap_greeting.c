/*
 * fuzz_imap_greeting.c - libFuzzer target for the greeting cleaner
 * (imap_net_greeting_clean, daemon/imap_net.c): the first line of the input
 * is a server greeting; what the cleaner passes on is then read by
 * libetpan's greeting parser (mailimap_connect) as the intake does, which
 * must not crash (libetpan 1.9.4 dies on some response codes:
 * tests/fuzz/known-libetpan/README).  The cleaner itself is checked: a kept
 * line is the input unchanged, a rewrite is one of its fixed lines.
 *
 *   sh tests/fuzz/run-fuzz.sh 60 fuzz_imap_greeting
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libetpan/libetpan.h>

#include "imap_net.h"
#include "intake_imap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const fzig_rewrites[] = {
	"* OK greeting\r\n", "* PREAUTH greeting\r\n", "* BYE greeting\r\n",
	"* BYE unreadable greeting\r\n",
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *lf = memchr(data, '\n', size);
	size_t len = lf != NULL ? (size_t)(lf - data) + 1 : size, outlen = 0, i;
	char *out = malloc(len + 64);
	mailimap *imap;
	mailstream *s;
	int r;

	if (out == NULL)
		abort();
	r = imap_net_greeting_clean((const char *)data, len, out, len + 64, &outlen);
	if (r < 0)
		abort();
	if (r == 0 && (outlen != len || memcmp(out, data, len) != 0))
		abort();
	if (r == 1) {
		for (i = 0; i < sizeof(fzig_rewrites) / sizeof(fzig_rewrites[0]); i++)
			if (outlen == strlen(fzig_rewrites[i]) &&
			    memcmp(out, fzig_rewrites[i], outlen) == 0)
				break;
		if (i == sizeof(fzig_rewrites) / sizeof(fzig_rewrites[0]))
			abort();
	}
	/* libetpan 1.9.4 leaks the parsed greeting when it is a BYE (a few
	 * dozen bytes per refused connection; measured: RSS grows with each
	 * run of "* BYE x", not of "* OK x"): parsing BYE greetings here would
	 * only fill the fuzzer's memory.  The cleaner's output was checked
	 * above. */
	if (outlen >= 5 && strncasecmp((const char *)out, "* BYE", 5) == 0) {
		free(out);
		return 0;
	}
	imap = mailimap_new(0, NULL);
	s = imap_intake_mem_stream(out, outlen);
	if (imap == NULL || s == NULL)
		abort();
	/* as the intake's stream: end of stream is an error, not "no data yet"
	 * (libetpan would wait forever inside a literal) */
	imap->imap_stream = s;
	if (imap_intake_guard_eof(imap) != 0)
		abort();
	imap->imap_stream = NULL;
	(void)mailimap_connect(imap, s);
	if (imap->imap_stream != NULL) {
		mailstream_close(imap->imap_stream);
		imap->imap_stream = NULL;
	}
	mailimap_free(imap);
	free(out);
	return 0;
}
