/*
 * fuzz_mime.c - libFuzzer target for mime_parse (and, on its result,
 * mime_strip_quotes), seeded with tests/corpus/email.
 *
 *   clang-14 -fsanitize=fuzzer,address,undefined ... tests/fuzz/fuzz_mime.c \
 *       parsers/mime.c parsers/html_text.c parsers/quote_strip.c \
 *       parsers/normalize.c daemon/util.c daemon/log.c $(pkg-config --libs gmime-3.0 gnutls)
 *   mkdir -p build-fuzz/mime && ./fuzz_mime -max_len=65536 \
 *       -dict=tests/fuzz/fuzz_mime.dict build-fuzz/mime tests/corpus/email
 * (libFuzzer writes new inputs into the FIRST directory: never name the
 * corpus first.)
 *
 * The first input byte chooses the flags (truncated, attachment budget) so
 * both code paths are explored.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mime_message *m;
	int truncated = 0;
	size_t budget = 1u << 20;
	char *s;

	mime_init();
	if (size > 0 && data[0] == 0xff) {
		/* a flag byte that a real message never starts with */
		if (size > 1) {
			truncated = data[1] & 1;
			budget = (data[1] & 2) ? 64 : 0;
		}
		data += size > 1 ? 2 : 1;
		size -= size > 1 ? 2 : 1;
	}
	m = mime_parse(data, size, truncated, budget);
	if (m->subject == NULL || m->text == NULL)
		abort();
	for (const char *p = m->subject; *p; p++)
		if ((unsigned char)*p < 0x20)
			abort();
	s = mime_strip_quotes(m->text);
	free(s);
	s = mime_html_to_text((const char *)data, size);
	free(s);
	mime_message_free(&m);
	return 0;
}
