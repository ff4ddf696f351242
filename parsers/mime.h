/*
 * mime.h - an email (raw RFC 5322 bytes) to what s48 needs: a fast direct
 * parser for the common well-formed shapes (mime_fast.c), GMime for the rest.
 *
 * Never fails on hostile input: whatever could not be decoded is reported
 * in parse_error and the rest is still filled.  All strings are valid UTF-8
 * (repaired), owned by the struct.  Header-bound strings (subject, names,
 * addresses, ids) never contain CR, LF, NUL or other C0 controls, also
 * after RFC 2047 decoding.
 */
#ifndef S48_MIME_H
#define S48_MIME_H

#include <stddef.h>
#include <time.h>

struct mime_attachment {
	char *filename;          /* RFC 2231 / 2047 decoded, path parts removed;
	                            "attachment-N" when none */
	char *content_type;      /* "image/jpeg" (lower case, no parameters) */
	unsigned char *data;     /* decoded content; NULL when omitted */
	size_t size;             /* decoded size (estimated when omitted) */
	char sha256[65];         /* of data; "" when omitted */
	int omitted;             /* not kept: message over max bytes or limits */
};

struct mime_message {
	char *from_addr;         /* addr-spec, lower-cased; NULL if none */
	char *from_name;         /* display name, decoded; may be NULL */
	int has_return_path;     /* a Return-Path header exists */
	int empty_return_path;   /* Return-Path: <> */
	char *subject;           /* decoded, controls removed, "" if none */
	char *message_id;        /* without <>; NULL if none */
	char *in_reply_to;       /* first msg-id, without <>; NULL if none */
	char **references;       /* msg-ids without <>, in order */
	size_t n_references;
	time_t date;             /* Date header, 0 if none/unparseable */
	char *text;              /* body: text/plain preferred, else HTML as
	                            text; all parts' charsets/encodings decoded;
	                            never NULL ("" when none); "\n" line ends,
	                            no blank lines around; inline text/plain
	                            parts joined by "\n"; format=flowed lines
	                            joined (RFC 3676); a forward without text
	                            of its own (empty, or only a signature as
	                            mime_strip_quotes sees it): the attached
	                            message's text
	                            after a line
	                            "---------- Prosleđena poruka ----------",
	                            "Od: NAME <ADDR>" and "Tema: SUBJECT";
	                            <= MIME_MAX_TEXT */
	int text_from_html;
	/* Automatic mail (SPEC section 3), reason like "Auto-Submitted: auto-replied";
	 * NULL when not automatic.  "our own address" is checked by the caller. */
	const char *auto_reason;
	int has_s48_loop;        /* X-S48-Loop header present (our own mail) */
	struct mime_attachment *att;
	size_t n_att;
	char *parse_error;       /* NULL, or what could not be parsed, e.g.
	                            "multipart without boundary; boundary guessed"
	                            (never contains message content) */
};

/* Limits on hostile structure. */
#define MIME_MAX_DEPTH  16
#define MIME_MAX_PARTS  256
/* Longest body text kept (bytes of UTF-8; cut at a character boundary). */
#define MIME_MAX_TEXT   (1024 * 1024)
/* At most this many References kept (the last ones, nearest the parent). */
#define MIME_MAX_REFERENCES 64

/*
 * Parse raw (len bytes).  truncated: raw holds only the first part of a
 * larger message (the caller fetched <0.N>); parts cut off are listed as
 * omitted attachments when their headers were seen.  max_attachment_bytes
 * bounds the total kept attachment content (the rest omitted).
 * Charsets: a declared one is used (lossy: undefined bytes become U+FFFD);
 * UTF-8, us-ascii, missing or unknown labels take the text as UTF-8 when it
 * is valid, else as windows-1250 (the local default).
 * raw need not be NUL-terminated; NULL with len 0 is allowed.
 * Returns a message (never NULL); free with mime_message_free().
 */
struct mime_message *mime_parse(const unsigned char *raw, size_t len, int truncated,
    size_t max_attachment_bytes);
void mime_message_free(struct mime_message **m);

/*
 * The two paths mime_parse() chooses between, for tests and benchmarks.
 * mime_parse_gmime: always GMime (same contract as mime_parse).
 * mime_parse_fast: the direct parser alone; NULL when it declines the
 * message (anything it is not sure GMime reads the same way: truncated
 * input, unusual structure, encodings or headers).  When it accepts, the
 * result equals mime_parse_gmime's field for field.
 */
struct mime_message *mime_parse_gmime(const unsigned char *raw, size_t len, int truncated,
    size_t max_attachment_bytes);
struct mime_message *mime_parse_fast(const unsigned char *raw, size_t len, int truncated,
    size_t max_attachment_bytes);
/* How many mime_parse() calls the fast path accepted and declined in this
 * process (either pointer may be NULL). */
void mime_fast_stats(unsigned long *accepted, unsigned long *declined);

/* g_mime_init, once per process; idempotent and thread-safe (mime_parse
 * calls it too).  mime_parse may run on several threads at once: it keeps
 * no state of its own between calls. */
void mime_init(void);

/*
 * Remove quoted text and signatures from a reply body (for appends):
 * "> " lines, "On ... wrote:" / "... je napisao/la:" / "-----Original Message-----"
 * and everything after, "-- " signature blocks.  Caller frees.
 */
char *mime_strip_quotes(const char *text);

/* HTML to readable text: tags, scripts, styles dropped, entities decoded,
 * block elements become line breaks.  Caller frees. */
char *mime_html_to_text(const char *html, size_t len);

#endif
