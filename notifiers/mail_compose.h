/*
 * mail_compose.h - build an outgoing RFC 5322 / MIME message (CRLF line
 * ends, 7-bit clean) from UTF-8 parts: encoded and folded Subject, strict
 * address and Message-ID checks, quoted-printable text, base64
 * attachments.  No CR, LF, NUL or other control character from any input
 * ever reaches a header.
 */
#ifndef S48_MAIL_COMPOSE_H
#define S48_MAIL_COMPOSE_H

#include <stddef.h>
#include <time.h>

#include "util.h"

struct mail_attachment {
	const char *filename;          /* UTF-8; controls and path separators removed */
	const char *content_type;      /* "type/subtype"; anything else -> application/octet-stream */
	const unsigned char *data;
	size_t size;
};

struct mail_out {
	const char *from;          /* cfg->smtp.from, "Sistem 48 <prijave@example.org>" or a bare address */
	const char *to;            /* one address, bare or "Name <addr>" */
	const char *subject;       /* UTF-8, any content (citizen text!); NULL = "" */
	const char *body;          /* UTF-8 text/plain; NULL = "" */
	const char *message_id;    /* without <> (one surrounding pair is tolerated); stable per outbox row */
	const char *in_reply_to;   /* the same; NULL or "" for none */
	const char *references;    /* ids separated by blanks/commas, bare or in <>; NULL or "" for none;
	                            * more than 20: the first and the 19 newest are kept */
	int auto_replied;          /* Auto-Submitted: auto-replied (citizen replies) else auto-generated */
	const struct mail_attachment *att;
	size_t n_att;
	time_t date;
};

/*
 * Append the whole message to out (which the caller initialised; its max
 * bounds the message size).  Returns 0, or -1 with *error_r (a static
 * string) when an address or id fails validation ("invalid To address",
 * "invalid Message-ID", ...) or the message would exceed out->max.  On
 * error out may hold a partial message: reset it before reuse.
 */
int mail_compose(const struct mail_out *m, struct buf *out, const char **error_r);

/* 1 if s is an addr-spec we accept: dot-atom local part of at most 64
 * octets, '@', an ASCII LDH domain (labels of 1-63, "localhost" allowed;
 * no IP literals, no UTF-8), at most 254 octets in all. */
int mail_addr_ok(const char *s);
/* 1 if s is a msg-id (without <>) we accept: "left@right", each side a
 * dot-atom (RFC 5322 atext and single dots), at most 250 octets.  Callers
 * that store a citizen's Message-ID for In-Reply-To should check it with
 * this first: mail_compose() refuses a message whose ids fail. */
int mail_msgid_ok(const char *s);
/*
 * The addr-spec of "Name <addr>" or of a bare address, lower-cased, if it
 * passes mail_addr_ok(); NULL otherwise.  Caller frees.
 */
char *mail_addr_extract(const char *s);

#endif
