/*
 * fuzz_mime_diff.c - differential libFuzzer target: whenever the fast MIME
 * path (mime_parse_fast) accepts an input, its result must equal the GMime
 * path's (mime_parse_gmime) in every field; abort() names the first field
 * that differs.  Seeded like fuzz_mime (tests/corpus/email) and with
 * tests/fuzz/seeds/mime_diff (generated bench mails and hand-made shapes).
 *
 *   sh tests/fuzz/run-fuzz.sh 600 fuzz_mime_diff
 *
 * The first input byte, when 0xff, is a flag byte as in fuzz_mime: the next
 * byte chooses truncated (bit 0) and a small attachment budget (bit 1).
 * mdiff_first() is also used by tests/unit/test_mime_fast.c.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
mdiff_str(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a != b;
	return strcmp(a, b) != 0;
}

/* The name of the first field in which a and b differ, NULL if none. */
static const char *
mdiff_first(const struct mime_message *a, const struct mime_message *b)
{
	if (mdiff_str(a->from_addr, b->from_addr))
		return "from_addr";
	if (mdiff_str(a->from_name, b->from_name))
		return "from_name";
	if (a->has_return_path != b->has_return_path)
		return "has_return_path";
	if (a->empty_return_path != b->empty_return_path)
		return "empty_return_path";
	if (mdiff_str(a->subject, b->subject))
		return "subject";
	if (mdiff_str(a->message_id, b->message_id))
		return "message_id";
	if (mdiff_str(a->in_reply_to, b->in_reply_to))
		return "in_reply_to";
	if (a->n_references != b->n_references)
		return "n_references";
	for (size_t i = 0; i < a->n_references; i++)
		if (mdiff_str(a->references[i], b->references[i]))
			return "references";
	if (a->date != b->date)
		return "date";
	if (mdiff_str(a->text, b->text))
		return "text";
	if (a->text_from_html != b->text_from_html)
		return "text_from_html";
	if (mdiff_str(a->auto_reason, b->auto_reason))
		return "auto_reason";
	if (a->has_s48_loop != b->has_s48_loop)
		return "has_s48_loop";
	if (mdiff_str(a->parse_error, b->parse_error))
		return "parse_error";
	if (a->n_att != b->n_att)
		return "n_att";
	for (size_t i = 0; i < a->n_att; i++) {
		const struct mime_attachment *x = &a->att[i], *y = &b->att[i];

		if (mdiff_str(x->filename, y->filename))
			return "att.filename";
		if (mdiff_str(x->content_type, y->content_type))
			return "att.content_type";
		if (x->size != y->size)
			return "att.size";
		if (x->omitted != y->omitted)
			return "att.omitted";
		if (strcmp(x->sha256, y->sha256) != 0)
			return "att.sha256";
		if ((x->data == NULL) != (y->data == NULL) ||
		    (x->data != NULL && memcmp(x->data, y->data, x->size) != 0))
			return "att.data";
	}
	return NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mime_message *fast, *slow;
	int truncated = 0;
	size_t budget = 1u << 20;
	const char *diff;

	mime_init();
	if (size > 0 && data[0] == 0xff) {
		if (size > 1) {
			truncated = data[1] & 1;
			budget = (data[1] & 2) ? 64 : budget;
		}
		data += size > 1 ? 2 : 1;
		size -= size > 1 ? 2 : 1;
	}
	fast = mime_parse_fast(data, size, truncated, budget);
	if (fast == NULL)
		return 0;
	slow = mime_parse_gmime(data, size, truncated, budget);
	diff = mdiff_first(fast, slow);
	if (diff != NULL) {
		fprintf(stderr, "fuzz_mime_diff: fast and GMime paths differ in %s\n", diff);
		abort();
	}
	mime_message_free(&fast);
	mime_message_free(&slow);
	return 0;
}
