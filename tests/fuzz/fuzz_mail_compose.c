/*
 * fuzz_mail_compose.c - libFuzzer target for mail_compose: hostile
 * subject, body, file name, content type and display name must never
 * produce a header the composer did not write, a bare CR or LF, an 8-bit
 * byte, a header line over 78 columns or an encoded word over 75.
 *
 *   clang-14 -fsanitize=fuzzer,address,undefined -std=c11 -D_GNU_SOURCE \
 *       -Idaemon -Inotifiers tests/fuzz/fuzz_mail_compose.c \
 *       notifiers/mail_compose.c daemon/util.c daemon/log.c \
 *       $(pkg-config --libs gnutls) -o fuzz_mail_compose
 *   ./fuzz_mail_compose -max_len=4096 tests/fuzz/seeds/mail_compose
 *
 * Input: fields separated by NUL bytes, in the order subject, body,
 * file name, content type, To display name; missing ones are NULL.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail_compose.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const allowed_headers[] = {
	"Date", "From", "To", "Subject", "Message-ID", "In-Reply-To", "References",
	"Auto-Submitted", "X-S48-Loop", "MIME-Version", "Content-Type",
	"Content-Transfer-Encoding", "Content-Disposition",
};

static int
header_allowed(const char *line, size_t n)
{
	size_t i, l;

	for (i = 0; i < sizeof(allowed_headers) / sizeof(allowed_headers[0]); i++) {
		l = strlen(allowed_headers[i]);
		if (n > l && memcmp(line, allowed_headers[i], l) == 0 && line[l] == ':')
			return 1;
	}
	return 0;
}

/* the message's invariants; abort() on any violation */
static void
check(const char *m, size_t len)
{
	size_t i, start = 0, subjects = 0, tos = 0;
	int in_headers = 1;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)m[i];
		if (c == 0 || c >= 0x80)
			abort();
		if (c == '\r' && (i + 1 >= len || m[i + 1] != '\n'))
			abort();
		if (c != '\n')
			continue;
		if (i == 0 || m[i - 1] != '\r')
			abort();
		{
			size_t l = i - 1 - start;
			const char *line = m + start;
			if (l > 78)
				abort();
			if (l == 0)
				in_headers = 0;
			else if (in_headers && line[0] != ' ' && line[0] != '\t') {
				if (!header_allowed(line, l))
					abort();
				if (strncmp(line, "Subject:", 8) == 0)
					subjects++;
				if (strncmp(line, "To:", 3) == 0)
					tos++;
			}
		}
		start = i + 1;
	}
	if (start != len || subjects != 1 || tos != 1)
		abort();
	/* RFC 2047: an encoded word is at most 75 characters */
	{
		const char *p = m, *e;
		while ((p = strstr(p, "=?UTF-8?Q?")) != NULL) {
			e = strstr(p + 10, "?=");
			if (e == NULL || e + 2 - p > 75)
				abort();
			p = e + 2;
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = xmalloc(size + 1), *field[5] = { NULL, NULL, NULL, NULL, NULL };
	struct mail_attachment att;
	struct mail_out m;
	struct buf b;
	const char *err;
	char *to = NULL, *p;
	size_t nf = 0;
	int rc;

	memcpy(copy, data, size);
	copy[size] = '\0';
	p = copy;
	while (nf < 5 && p <= copy + size) {
		field[nf++] = p;
		p += strlen(p) + 1;
	}
	memset(&m, 0, sizeof(m));
	m.from = "Sistem 48 <prijave@example.org>";
	if (field[4] != NULL) {
		to = xasprintf("%s <jovana@example.net>", field[4]);
		m.to = to;
	} else
		m.to = "jovana@example.net";
	m.subject = field[0];
	m.body = field[1];
	m.message_id = "s48.1@example.org";
	m.in_reply_to = "orig@example.net";
	m.references = "root@example.net orig@example.net";
	m.date = 1795514400;
	if (field[2] != NULL) {
		att.filename = field[2];
		att.content_type = field[3];
		att.data = data;
		att.size = size;
		m.att = &att;
		m.n_att = 1;
	}
	buf_init(&b, 1 << 20);
	rc = mail_compose(&m, &b, &err);
	if (rc == 0)
		check(b.data, b.len);
	else if (field[4] == NULL)
		abort();        /* only a fuzzed To can make it refuse */
	buf_free(&b);
	free(to);
	free(copy);
	return 0;
}
