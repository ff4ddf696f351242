/*
 * mime_internal.h - what the two MIME paths share (mime.c with GMime,
 * mime_fast.c without): the result accumulator that turns decoded parts into
 * struct mime_message the same way for both, charset conversion, header
 * string cleaning and the automatic-mail rules.  Internal to parsers/.
 */
#ifndef S48_MIME_INTERNAL_H
#define S48_MIME_INTERNAL_H

#include <stddef.h>

#include "mime.h"
#include "util.h"

#define MIME_MAX_ERROR      512
#define MIME_MAX_HEADER_STR 2000
#define MIME_MAX_FILENAME   200
#define MIME_LOCAL_CHARSET  "windows-1250"

/*
 * The parts of a message as they are found, in document order.  Both paths
 * feed it leaf by leaf; mime_acc_finish() builds text, parse_error and the
 * truncation rule.  m is owned by the caller.
 */
struct mime_acc {
	struct mime_message *m;
	struct buf plain;        /* text/plain parts, UTF-8 */
	int n_plain;
	struct buf html;         /* text/html parts, UTF-8 */
	int n_html;
	struct buf fwd;          /* text of attached messages (forwards), UTF-8,
	                            appended to the text by mime_acc_finish */
	struct buf errors;       /* for parse_error */
	size_t att_cap;
	size_t att_bytes;
	size_t max_att_bytes;
	int truncated;
	long last_leaf_att;      /* index of the attachment of the last leaf, or -1 */
	int is_report;
	struct buf tnef_text;    /* body text of a winmail.dat, UTF-8: the text
	                            when the mail's own is empty */
	int in_tnef;             /* decoding one: its files are not decoded again */
};

void mime_acc_init(struct mime_acc *a, struct mime_message *m, int truncated,
    size_t max_attachment_bytes);
/* Add "what" to parse_error once (what never holds message content). */
void mime_acc_note(struct mime_acc *a, const char *what);
/* A text leaf: data[0..len) decoded from its transfer encoding (data is
 * read, not kept); charset as declared or NULL; html selects text/html;
 * flowed: a mime_flowed() value (text/plain only; RFC 3676 soft line
 * breaks joined, space-stuffing undone). */
void mime_acc_text(struct mime_acc *a, const unsigned char *data, size_t len,
    const char *charset, int html, int flowed);
/* Content-Type's format and delsp parameters (either may be NULL) to a
 * flowed mode for mime_acc_text: 0 fixed, 1 format=flowed, 2 with delsp=yes. */
int mime_flowed(const char *format, const char *delsp);
/* An attachment leaf: takes data (xmalloc'ed, len + 1 bytes, may be freed
 * here); fname raw (NULL when none); ctype lower-case "type/subtype". */
void mime_acc_attachment(struct mime_acc *a, unsigned char *data, size_t len,
    const char *fname, const char *ctype);
/* A leaf that is neither text nor attachment (a signature). */
void mime_acc_skip_leaf(struct mime_acc *a);
/* From header results: addr and name as the address parser gave them
 * (either may be NULL). */
void mime_acc_from(struct mime_acc *a, const char *addr, const char *name);
/* Return-Path header value (decoded, unfolded). */
void mime_acc_return_path(struct mime_acc *a, const char *value);
/* Text, parse_error, truncation; frees the accumulator's buffers. */
void mime_acc_finish(struct mime_acc *a);

/* A header lookup: the (decoded, unfolded) value of the first header of
 * that name, NULL if none. */
typedef const char *(*mime_header_fn)(void *ctx, const char *name);
/* SPEC section 3 automatic mail, from headers and m's From/Return-Path. */
const char *mime_auto_reason(mime_header_fn get, void *ctx, const struct mime_message *m,
    int is_report);

/* Header-bound string: valid UTF-8, controls and white space runs to one
 * space, trimmed, bounded.  NULL for NULL (and for "" if null_if_empty). */
char *mime_header_clean(const char *s, int null_if_empty);
/* The raw Subject value raw[0..len) unfolded and RFC 2047 decoded, a B
 * encoded word after a padded one ('=') decoded afresh (mime_fast.c): 0 and
 * *out (caller frees), or -1 (then GMime's decoding stands). */
int mime_decode_subject(const char *raw, size_t len, char **out);
/* Body bytes to valid UTF-8 with mime.h's charset rules (<= max bytes). */
char *mime_text_to_utf8(const char *in, size_t inlen, const char *charset, size_t max);
/*
 * Strict conversion for header words: in[0..inlen) from charset to UTF-8.
 * Returns 0 and *out (caller frees, NUL-terminated), or -1 when the charset
 * is unknown or any byte is not defined in it (nothing allocated).
 */
int mime_iconv_strict(const char *in, size_t inlen, const char *charset, char **out,
    size_t *outlen);
/* Undo CR LF / CR in place. */
void mime_unix_newlines(char *s);

/* mime_types.c: the extension of a content type (".jpg" for
 * "image/jpeg", case-insensitive), NULL when not in the table. */
const char *mime_ext_for_type(const char *ctype);
/* The content type of a file name's extension ("image/jpeg" for
 * "DSC_1.JPG"), NULL when it has none or the table does not know it. */
const char *mime_type_for_name(const char *fname);

/*
 * mime_tnef.c: a winmail.dat (application/ms-tnef) part, data[0..len):
 * its attached files become attachments through mime_acc_attachment (real
 * names, types from PR_ATTACH_MIME_TAG or the extension), its body text goes
 * to a->tnef_text.  Returns 0 when decoded (data not kept: the caller frees
 * it), -1 when it is not a TNEF stream this reads safely (nothing added;
 * the caller keeps the part as an opaque attachment; also when it holds
 * neither a file nor text).  Memory is bounded by
 * a small multiple of len; at most MIME_MAX_PARTS files in all.
 */
int mime_tnef_decode(struct mime_acc *a, const unsigned char *data, size_t len);
/* A part's type or name says it is TNEF (application/ms-tnef,
 * application/vnd.ms-tnef, or a file named winmail.dat / win.dat). */
int mime_is_tnef(const char *ctype, const char *fname);

/* mime_fast.c: the fast path (NULL when it declines); counts. */
struct mime_message *mime_fast_parse(const unsigned char *raw, size_t len, int truncated,
    size_t max_attachment_bytes);

#endif
