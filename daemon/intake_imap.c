/*
 * intake_imap.c - the IMAP intake (see intake_imap.h): libetpan for the
 * protocol over imap_net's stream (TCP, and TLS verified before libetpan
 * reads a byte), batches in UID order and one command per acknowledgement.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <unistd.h>
#include <sys/socket.h>

#include <libetpan/libetpan.h>

#include "imap_net.h"
#include "intake_imap.h"
#include "util.h"

/* one listing entry: a message known to be in the mailbox */
struct imap_entry {
	uint32_t uid;
	uint32_t size;
};

struct imap_intake {
	mailimap *imap;
	char *host;              /* for SNI (libetpan wants char *) */
	char *ca_file;
	char *label;             /* "imap host:port" for messages */
	char *mailbox;
	char *processed;         /* NULL: \Seen mode */
	long max_bytes;
	uint32_t uidvalidity, uidnext;
	int has_move, has_uidplus, has_idle;
	/*
	 * Listing cache: entries[pos..n_entries) are the messages known to be in
	 * the mailbox with UID > list_after, in UID order.  Acknowledged (moved)
	 * and vanished messages are removed; it is refreshed when empty, so new
	 * mail is seen once the known mail has been handed out.
	 */
	struct imap_entry *entries;
	size_t n_entries, pos;
	uint32_t list_after;
	/* the listing is made in windows of list_window messages by sequence
	 * number; next_seq: where the next window probably starts (0: unknown),
	 * checked each time (the message before it must be at or below the
	 * cursor) */
	uint32_t next_seq;
	size_t seq_lookups;      /* FETCH n (UID) round trips of the bisection */
	MMAPString *line;        /* FETCH response lines */
	int broken;              /* a command failed: no more commands, no LOGOUT */
	/* an EXISTS raised the message count after the last listing's NOOP
	 * (in the answer to a FETCH, MOVE or STORE): new mail this session
	 * was told about, which IDLE would not announce again */
	int news;
	/* the last command was refused with [EXPUNGEISSUED]: some of its
	 * messages were expunged by another session, which this one has not
	 * been told yet (RFC 5530) */
	int expunge_issued;
};

/* per thread: the pump fetches on one session while another acknowledges */
static _Thread_local char imap_err[1024];
static int imap_timeout_s = 60;
static size_t imap_list_window = IMAP_INTAKE_LIST_WINDOW;

static const char *imap_seterr(const char **error_r, const char *fmt, ...)
    S48_PRINTF(2, 3);

static const char *
imap_seterr(const char **error_r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(imap_err, sizeof(imap_err), fmt, ap);
	va_end(ap);
	if (error_r != NULL)
		*error_r = imap_err;
	return imap_err;
}

void
imap_intake_set_timeout(int seconds)
{
	imap_timeout_s = seconds > 0 ? seconds : 60;
}

void
imap_intake_set_list_window(size_t n)
{
	imap_list_window = n > 0 ? n : IMAP_INTAKE_LIST_WINDOW;
}

static const char *
imap_code_str(int r)
{
	switch (r) {
	case MAILIMAP_ERROR_STREAM: return "connection lost or timed out";
	case MAILIMAP_ERROR_PARSE: return "unreadable server response";
	case MAILIMAP_ERROR_CONNECTION_REFUSED: return "connection refused";
	case MAILIMAP_ERROR_MEMORY: return "out of memory";
	case MAILIMAP_ERROR_FATAL: return "server closed the session (BYE)";
	case MAILIMAP_ERROR_PROTOCOL: return "protocol error (BAD)";
	case MAILIMAP_ERROR_DONT_ACCEPT_CONNECTION: return "server refused the connection";
	case MAILIMAP_ERROR_SSL: return "TLS handshake failed";
	case MAILIMAP_ERROR_STARTTLS: return "STARTTLS refused";
	case MAILIMAP_ERROR_LOGIN: return "login refused";
	case MAILIMAP_ERROR_SELECT: return "SELECT refused";
	case MAILIMAP_ERROR_CREATE: return "CREATE refused";
	case MAILIMAP_ERROR_UID_FETCH: return "UID FETCH refused";
	case MAILIMAP_ERROR_UID_MOVE: return "UID MOVE refused";
	case MAILIMAP_ERROR_UID_COPY: return "UID COPY refused";
	case MAILIMAP_ERROR_UID_STORE: return "UID STORE refused";
	case MAILIMAP_ERROR_EXPUNGE: return "EXPUNGE refused";
	case MAILIMAP_ERROR_LIST: return "LIST refused";
	case MAILIMAP_ERROR_EXTENSION: return "extension command refused";
	case MAILIMAP_ERROR_CAPABILITY: return "CAPABILITY refused";
	case 0: return "refused";
	default: return "IMAP error";
	}
}

/* error with libetpan's code and the server's last response text */
static int
imap_fail(struct imap_intake *ii, const char **error_r, const char *what, int r)
{
	const char *resp = ii->imap != NULL ? ii->imap->imap_response : NULL;
	char clean[300];
	size_t i, j = 0;

	/* the server's text, one line, printable only */
	if (resp != NULL && r != MAILIMAP_ERROR_STREAM && r != MAILIMAP_ERROR_CONNECTION_REFUSED) {
		for (i = 0; resp[i] != '\0' && j + 1 < sizeof(clean); i++)
			clean[j++] = (resp[i] >= 0x20 && resp[i] < 0x7f) ? resp[i] : ' ';
	}
	clean[j] = '\0';
	imap_seterr(error_r, "%s: %s: %s%s%s", ii->label, what, imap_code_str(r),
	    j ? ": " : "", clean);
	return -1;
}

static void
imap_ignore_sigpipe(void)
{
	struct sigaction sa;

	if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL) {
		sa.sa_handler = SIG_IGN;
		sigemptyset(&sa.sa_mask);
		sa.sa_flags = 0;
		sigaction(SIGPIPE, &sa, NULL);
	}
}

static int
imap_mailbox_exists(struct imap_intake *ii, const char *name, int *exists_r,
    const char **error_r)
{
	clist *list = NULL;
	int r;

	r = mailimap_list(ii->imap, "", name, &list);
	if (r != MAILIMAP_NO_ERROR)
		return imap_fail(ii, error_r, "LIST", r);
	*exists_r = list != NULL && clist_count(list) > 0;
	if (list != NULL)
		mailimap_list_result_free(list);
	return 0;
}

static const char imap_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

/* flush UTF-16 units u[0..n) as modified base64 between '&' and '-' */
static void
imap_utf7_run(struct buf *b, const uint16_t *u, size_t n)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t i;

	buf_appendc(b, '&');
	for (i = 0; i < n; i++) {
		acc = (acc << 16) | u[i];
		bits += 16;
		while (bits >= 6) {
			bits -= 6;
			buf_appendc(b, imap_b64[(acc >> bits) & 0x3f]);
		}
	}
	if (bits > 0)
		buf_appendc(b, imap_b64[(acc << (6 - bits)) & 0x3f]);
	buf_appendc(b, '-');
}

/*
 * A UTF-8 mailbox name in IMAP's modified UTF-7 (RFC 3501 5.1.3):
 * "Obrađeno" -> "Obra&ARE-eno".  NULL if name is not valid UTF-8.
 * Caller frees.
 */
char *
imap_mailbox_utf7(const char *name)
{
	const unsigned char *p = (const unsigned char *)name;
	size_t len = strlen(name), nu = 0;
	uint16_t *u = xmalloc((len + 1) * 2 * sizeof(*u));
	struct buf b;

	buf_init(&b, 16 + len * 4);
	while (*p != '\0') {
		uint32_t c;
		int k, i;

		if (*p >= 0x20 && *p < 0x7f) {
			if (nu > 0) {
				imap_utf7_run(&b, u, nu);
				nu = 0;
			}
			if (*p == '&')
				buf_appends(&b, "&-");
			else
				buf_appendc(&b, (char)*p);
			p++;
			continue;
		}
		if (*p < 0x80) {
			c = *p;
			k = 0;
		} else if ((*p & 0xe0) == 0xc0) {
			c = *p & 0x1f;
			k = 1;
		} else if ((*p & 0xf0) == 0xe0) {
			c = *p & 0x0f;
			k = 2;
		} else if ((*p & 0xf8) == 0xf0) {
			c = *p & 0x07;
			k = 3;
		} else {
			goto bad;
		}
		for (i = 1; i <= k; i++) {
			if ((p[i] & 0xc0) != 0x80)
				goto bad;
			c = (c << 6) | (p[i] & 0x3f);
		}
		if ((k == 1 && c < 0x80) || (k == 2 && c < 0x800) || (k == 3 && c < 0x10000) ||
		    c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			goto bad;
		p += k + 1;
		if (c >= 0x10000) {
			c -= 0x10000;
			u[nu++] = (uint16_t)(0xd800 | (c >> 10));
			u[nu++] = (uint16_t)(0xdc00 | (c & 0x3ff));
		} else {
			u[nu++] = (uint16_t)c;
		}
	}
	if (nu > 0)
		imap_utf7_run(&b, u, nu);
	free(u);
	return buf_steal(&b, NULL);
bad:
	free(u);
	buf_free(&b);
	return NULL;
}

static void
imap_intake_free(struct imap_intake *ii)
{
	if (ii == NULL)
		return;
	if (ii->imap != NULL) {
		/* mailimap_free() would send LOGOUT and wait for the answer, also
		 * to a server that failed verification or stopped answering */
		if (ii->imap->imap_stream != NULL) {
			mailstream_close(ii->imap->imap_stream);
			ii->imap->imap_stream = NULL;
		}
		mailimap_free(ii->imap);
	}
	free(ii->host);
	free(ii->ca_file);
	free(ii->label);
	free(ii->mailbox);
	free(ii->processed);
	free(ii->entries);
	if (ii->line != NULL)
		mmap_string_free(ii->line);
	free(ii);
}

int
imap_intake_connect(const struct cfg_imap *cfg, struct imap_intake **ii_r,
    const char **error_r)
{
	struct imap_intake *ii;
	mailstream *st;
	char nerr[512];
	int port, r, fd, exists = 0, on_net = 0;

	*ii_r = NULL;
	if (cfg->host == NULL || cfg->user == NULL || cfg->password == NULL) {
		imap_seterr(error_r, "imap: host, user and password are required");
		return -1;
	}
	port = cfg->port > 0 ? cfg->port : (cfg->tls == CFG_TLS_IMPLICIT ? 993 : 143);
	if (port > 65535) {
		imap_seterr(error_r, "imap: bad port %d", port);
		return -1;
	}
	imap_ignore_sigpipe();
	ii = xcalloc(1, sizeof(*ii));
	ii->host = xstrdup(cfg->host);
	ii->ca_file = cfg->ca_file != NULL && cfg->ca_file[0] ? xstrdup(cfg->ca_file) : NULL;
	ii->label = xasprintf("imap %s:%d", cfg->host, port);
	/* on the wire, mailbox names are modified UTF-7 */
	ii->mailbox = imap_mailbox_utf7(cfg->mailbox != NULL ? cfg->mailbox : "INBOX");
	if (cfg->processed_mailbox != NULL && cfg->processed_mailbox[0] != '\0') {
		ii->processed = imap_mailbox_utf7(cfg->processed_mailbox);
		if (ii->processed == NULL) {
			imap_seterr(error_r, "%s: processed_mailbox is not UTF-8", ii->label);
			goto fail;
		}
	}
	if (ii->mailbox == NULL) {
		imap_seterr(error_r, "%s: mailbox is not UTF-8", ii->label);
		goto fail;
	}
	ii->max_bytes = cfg->max_message_bytes > 0 ? cfg->max_message_bytes : 10485760;
	if (ii->max_bytes > (long)UINT32_MAX - 1)
		ii->max_bytes = (long)UINT32_MAX - 1;
	if (ii->processed != NULL && strcmp(ii->processed, ii->mailbox) == 0) {
		imap_seterr(error_r, "%s: processed_mailbox must differ from mailbox", ii->label);
		goto fail;
	}
	ii->imap = mailimap_new(0, NULL);
	if (ii->imap == NULL) {
		imap_seterr(error_r, "%s: out of memory", ii->label);
		goto fail;
	}
	mailimap_set_timeout(ii->imap, imap_timeout_s);
	ii->line = mmap_string_new("");
	if (ii->line == NULL) {
		imap_seterr(error_r, "%s: out of memory", ii->label);
		goto fail;
	}

	/*
	 * The connection, and TLS with the peer verified, are made by imap_net
	 * before libetpan parses a byte: libetpan 1.9.4 crashes on some server
	 * lines (tests/fuzz/known-libetpan/README), so an unverified peer must
	 * not reach its parser.  With STARTTLS the greeting and the answer to
	 * STARTTLS come before TLS by the protocol's design, from whoever is on
	 * the path; the greeting's response code is cleaned by imap_net, and
	 * LOGIN is only sent once the peer is verified.  The stream turns end of
	 * stream into an error itself (what imap_intake_guard_eof does for
	 * libetpan's own drivers).
	 *
	 * Until the mailbox is selected, a stop request (SIGTERM) ends every
	 * wait at once: a server that accepts but does not answer (greeting,
	 * TLS handshake, LOGIN, SELECT) must not hold up a stop for the
	 * timeout, and nothing is lost by giving up a login.
	 */
	on_net = 1;
	fd = imap_net_connect(ii->host, port, imap_timeout_s, nerr, sizeof(nerr));
	if (fd < 0) {
		imap_seterr(error_r, "%s: connect%s: %s", ii->label,
		    cfg->tls == CFG_TLS_IMPLICIT ? " (TLS)" : "", nerr);
		goto fail;
	}
	if ((st = imap_net_open(fd, imap_timeout_s)) == NULL) {
		close(fd);
		imap_seterr(error_r, "%s: out of memory", ii->label);
		goto fail;
	}
	imap_net_set_stop_grace(st, 0);
	if (cfg->tls == CFG_TLS_IMPLICIT &&
	    imap_net_starttls(st, ii->host, ii->ca_file, nerr, sizeof(nerr)) != 0) {
		mailstream_close(st);
		imap_seterr(error_r, "%s: %s", ii->label, nerr);
		goto fail;
	}
	/* the session owns the stream from here, also when this fails */
	r = mailimap_connect(ii->imap, st);
	if (r != MAILIMAP_NO_ERROR_AUTHENTICATED && r != MAILIMAP_NO_ERROR_NON_AUTHENTICATED) {
		imap_fail(ii, error_r, cfg->tls == CFG_TLS_IMPLICIT ? "connect (TLS)" : "connect", r);
		goto fail;
	}
	if (cfg->tls == CFG_TLS_STARTTLS) {
		r = mailimap_starttls(ii->imap);
		if (r != MAILIMAP_NO_ERROR) {
			imap_fail(ii, error_r, "STARTTLS", r);
			goto fail;
		}
		if (imap_net_starttls(ii->imap->imap_stream, ii->host, ii->ca_file, nerr,
		    sizeof(nerr)) != 0) {
			imap_seterr(error_r, "%s: %s", ii->label, nerr);
			goto fail;
		}
	}

	r = mailimap_login(ii->imap, cfg->user, cfg->password);
	if (r != MAILIMAP_NO_ERROR) {
		char what[200];

		snprintf(what, sizeof(what), "login as %s", cfg->user);
		imap_fail(ii, error_r, what, r == MAILIMAP_ERROR_LOGIN ? 0 : r);
		goto fail;
	}
	/* capabilities change after LOGIN (and after STARTTLS): ask again */
	r = imap_intake_capability(ii->imap);
	if (r != MAILIMAP_NO_ERROR) {
		imap_fail(ii, error_r, "CAPABILITY", r);
		goto fail;
	}
	ii->has_move = mailimap_has_extension(ii->imap, "MOVE");
	ii->has_uidplus = mailimap_has_extension(ii->imap, "UIDPLUS");
	ii->has_idle = mailimap_has_idle(ii->imap);

	if (ii->processed != NULL) {
		if (imap_mailbox_exists(ii, ii->processed, &exists, error_r) != 0)
			goto fail;
		if (!exists) {
			r = mailimap_create(ii->imap, ii->processed);
			if (r != MAILIMAP_NO_ERROR) {
				char what[300];

				snprintf(what, sizeof(what), "CREATE %s", ii->processed);
				imap_fail(ii, error_r, what, r);
				goto fail;
			}
			log_info("%s: created mailbox %s", ii->label, ii->processed);
		}
	}
	r = mailimap_select(ii->imap, ii->mailbox);
	if (r != MAILIMAP_NO_ERROR) {
		char what[300];

		snprintf(what, sizeof(what), "SELECT %s", ii->mailbox);
		imap_fail(ii, error_r, what, r);
		goto fail;
	}
	if (ii->imap->imap_selection_info == NULL ||
	    ii->imap->imap_selection_info->sel_perm != MAILIMAP_MAILBOX_READWRITE) {
		imap_seterr(error_r, "%s: mailbox %s is read-only", ii->label, ii->mailbox);
		goto fail;
	}
	ii->uidvalidity = ii->imap->imap_selection_info->sel_uidvalidity;
	ii->uidnext = ii->imap->imap_selection_info->sel_uidnext;
	if (ii->uidvalidity == 0) {
		imap_seterr(error_r, "%s: mailbox %s has no UIDVALIDITY", ii->label, ii->mailbox);
		goto fail;
	}
	log_debug("%s: selected %s uidvalidity %u uidnext %u exists %u move %d uidplus %d idle %d",
	    ii->label, ii->mailbox, ii->uidvalidity, ii->uidnext,
	    ii->imap->imap_selection_info->sel_exists, ii->has_move, ii->has_uidplus,
	    ii->has_idle);
	/* from here on a command in flight is given time to finish (the
	 * caller aborts it: imap_intake_abort, imap_pump.h) */
	imap_net_set_stop_grace(ii->imap->imap_stream, -1);
	*ii_r = ii;
	return 0;
fail:
	if (on_net && s48_stop_requested) {
		char why[sizeof(imap_err)];

		snprintf(why, sizeof(why), "%s", imap_err);
		imap_seterr(error_r, "stopped while connecting (%s)", why);
	}
	imap_intake_free(ii);
	return -1;
}

uint32_t
imap_intake_uidvalidity(const struct imap_intake *ii)
{
	return ii->uidvalidity;
}

uint32_t
imap_intake_uidnext(const struct imap_intake *ii)
{
	return ii->uidnext;
}

int
imap_intake_has_move(const struct imap_intake *ii)
{
	return ii->has_move;
}

int
imap_intake_has_idle(const struct imap_intake *ii)
{
	return ii->has_idle;
}

size_t
imap_intake_exists(const struct imap_intake *ii)
{
	return ii->imap != NULL && ii->imap->imap_selection_info != NULL ?
	    ii->imap->imap_selection_info->sel_exists : 0;
}

size_t
imap_intake_seq_lookups(const struct imap_intake *ii)
{
	return ii->seq_lookups;
}

size_t
imap_intake_listed(const struct imap_intake *ii)
{
	return ii->pos < ii->n_entries ? ii->n_entries - ii->pos : 0;
}

void
imap_intake_abort(struct imap_intake *ii)
{
	mailstream_low *low;
	int fd;

	if (ii == NULL || ii->imap == NULL || ii->imap->imap_stream == NULL)
		return;
	low = mailstream_get_low(ii->imap->imap_stream);
	fd = low != NULL ? mailstream_low_get_fd(low) : -1;
	if (fd >= 0)
		shutdown(fd, SHUT_RDWR);
}

void
imap_intake_disable_move(struct imap_intake *ii)
{
	ii->has_move = 0;
}

/* ---- FETCH responses, read here ----
 * libetpan's generic response parser costs about 35,000 instructions per
 * fetched message (half the time of a batch); these two commands are sent
 * and read directly on libetpan's stream, which understands only what we
 * ask for: UID, RFC822.SIZE, INTERNALDATE, BODY[]<0>.  Anything else in the
 * response (FLAGS, other untagged data, literals) is skipped.  Message
 * bytes are read straight into their final buffer.
 */

#define IMAP_MAX_LINE (1024 * 1024)

struct imap_fetched {
	uint32_t seq;            /* the message sequence number */
	uint32_t uid;
	uint32_t size;
	time_t internaldate;
	unsigned char *body;     /* owned; a callback may take it (set NULL) */
	size_t body_len;
	int have_body;
};

typedef void imap_fetch_cb(struct imap_intake *ii, struct imap_fetched *f, void *ctx);

struct imap_rd {
	struct imap_intake *ii;
	const char *p, *end;     /* the unread part of the current line */
};

static int
rd_line(struct imap_rd *rd)
{
	MMAPString *l = rd->ii->line;

	/* libetpan returns what it has at end of stream, "" forever after:
	 * a line without its LF is a lost connection */
	if (mailstream_read_line(rd->ii->imap->imap_stream, l) == NULL)
		return -1;
	if (l->len == 0 || l->str[l->len - 1] != '\n' || l->len > IMAP_MAX_LINE)
		return -1;
	l->str[--l->len] = '\0';
	if (l->len > 0 && l->str[l->len - 1] == '\r')
		l->str[--l->len] = '\0';
	rd->p = l->str;
	rd->end = l->str + l->len;
	return 0;
}

/* n literal bytes into dst (NULL: discard), then the line that goes on */
static int
rd_literal(struct imap_rd *rd, size_t n, unsigned char *dst)
{
	char tmp[16384];
	ssize_t r;

	while (n > 0) {
		size_t want = dst != NULL ? n : (n < sizeof(tmp) ? n : sizeof(tmp));

		r = mailstream_read(rd->ii->imap->imap_stream, dst != NULL ? (void *)dst : tmp, want);
		if (r <= 0)
			return -1;
		if (dst != NULL)
			dst += r;
		n -= (size_t)r;
	}
	return rd_line(rd);
}

static void
rd_sp(struct imap_rd *rd)
{
	while (rd->p < rd->end && *rd->p == ' ')
		rd->p++;
}

static int
rd_number(struct imap_rd *rd, uint32_t *n_r)
{
	uint64_t v = 0;
	const char *s = rd->p;

	while (rd->p < rd->end && *rd->p >= '0' && *rd->p <= '9') {
		v = v * 10 + (uint64_t)(*rd->p - '0');
		if (v > UINT32_MAX)
			return -1;
		rd->p++;
	}
	if (rd->p == s)
		return -1;
	*n_r = (uint32_t)v;
	return 0;
}

/* "{n}" ending the line: 1 and *n_r; 0 if not a literal; -1 if bad */
static int
rd_is_literal(struct imap_rd *rd, size_t *n_r)
{
	uint32_t n;
	const char *save = rd->p;

	if (rd->p >= rd->end || *rd->p != '{')
		return 0;
	rd->p++;
	if (rd_number(rd, &n) != 0)
		goto bad;
	if (rd->p < rd->end && *rd->p == '+')
		rd->p++;
	if (rd->p + 1 != rd->end || *rd->p != '}')
		goto bad;
	rd->p++;
	*n_r = n;
	return 1;
bad:
	rd->p = save;
	return -1;
}

/* a quoted string into out (at most outsz - 1 bytes kept) */
static int
rd_quoted(struct imap_rd *rd, char *out, size_t outsz)
{
	size_t k = 0;

	if (rd->p >= rd->end || *rd->p != '"')
		return -1;
	for (rd->p++; rd->p < rd->end && *rd->p != '"'; rd->p++) {
		if (*rd->p == '\\' && rd->p + 1 < rd->end)
			rd->p++;
		if (out != NULL && k + 1 < outsz)
			out[k++] = *rd->p;
	}
	if (rd->p >= rd->end)
		return -1;
	rd->p++;
	if (out != NULL)
		out[k] = '\0';
	return 0;
}

/* skip one value: number, atom, NIL, quoted, literal or (list) */
static int
rd_skip_value(struct imap_rd *rd)
{
	int depth = 0;
	size_t n;

	do {
		rd_sp(rd);
		if (rd->p >= rd->end)
			return -1;
		switch (*rd->p) {
		case '(':
			depth++;
			rd->p++;
			continue;
		case ')':
			if (depth == 0)
				return -1;
			depth--;
			rd->p++;
			continue;
		case '"':
			if (rd_quoted(rd, NULL, 0) != 0)
				return -1;
			continue;
		case '{':
			if (rd_is_literal(rd, &n) != 1 || rd_literal(rd, n, NULL) != 0)
				return -1;
			continue;
		default:
			while (rd->p < rd->end && *rd->p != ' ' && *rd->p != '(' &&
			    *rd->p != ')')
				rd->p++;
			continue;
		}
	} while (depth > 0);
	return 0;
}

static const char imap_months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

/* n digits at *s (spaces before allowed when lead_sp) -> value; -1 if bad */
static int
imap_digits(const char **s, int n, int lead_sp)
{
	int v = 0, k = 0;

	while (lead_sp && **s == ' ')
		(*s)++, k++;
	for (; k < n; k++, (*s)++) {
		if (**s < '0' || **s > '9')
			return -1;
		v = v * 10 + (**s - '0');
	}
	return v;
}

/* INTERNALDATE "24-Nov-2026 10:01:00 +0100" (day may be " 4") -> UTC;
 * 0 if unreadable */
static time_t
imap_parse_internaldate(const char *s)
{
	struct tm tm;
	const char *m;
	int d, y, hh, mm, ss, z;
	time_t t;
	char sign;

	if (s[0] != ' ' && s[1] == '-')
		d = imap_digits(&s, 1, 0);
	else
		d = imap_digits(&s, 2, 1);
	if (d < 1 || *s++ != '-' || strlen(s) < 4)
		return 0;
	for (m = imap_months; *m != '\0'; m += 3)
		if (strncasecmp(m, s, 3) == 0)
			break;
	if (*m == '\0' || s[3] != '-')
		return 0;
	s += 4;
	y = imap_digits(&s, 4, 0);
	if (y < 0 || *s++ != ' ')
		return 0;
	hh = imap_digits(&s, 2, 0);
	if (hh < 0 || *s++ != ':')
		return 0;
	mm = imap_digits(&s, 2, 0);
	if (mm < 0 || *s++ != ':')
		return 0;
	ss = imap_digits(&s, 2, 0);
	if (ss < 0 || *s++ != ' ')
		return 0;
	sign = *s++;
	z = imap_digits(&s, 4, 0);
	if ((sign != '+' && sign != '-') || z < 0)
		return 0;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = (int)(m - imap_months) / 3;
	tm.tm_mday = d;
	tm.tm_hour = hh;
	tm.tm_min = mm;
	tm.tm_sec = ss;
	t = util_timegm(&tm);
	if (t == (time_t)-1)
		return 0;
	z = (z / 100) * 3600 + (z % 100) * 60;
	return sign == '-' ? t + z : t - z;
}

/* the attributes of "* N FETCH (...)", rd->p just after the '(' */
static int
rd_fetch_atts(struct imap_rd *rd, struct imap_fetched *f)
{
	char name[64], date[64];
	size_t k, n;
	int lit;

	for (;;) {
		rd_sp(rd);
		if (rd->p >= rd->end)
			return -1;
		if (*rd->p == ')') {
			rd->p++;
			return 0;
		}
		for (k = 0; rd->p < rd->end && *rd->p != ' ' && k + 1 < sizeof(name); k++)
			name[k] = *rd->p++;
		name[k] = '\0';
		rd_sp(rd);
		if (strcasecmp(name, "UID") == 0) {
			if (rd_number(rd, &f->uid) != 0)
				return -1;
		} else if (strcasecmp(name, "RFC822.SIZE") == 0) {
			if (rd_number(rd, &f->size) != 0)
				return -1;
		} else if (strcasecmp(name, "INTERNALDATE") == 0) {
			if (rd_quoted(rd, date, sizeof(date)) != 0)
				return -1;
			f->internaldate = imap_parse_internaldate(date);
		} else if (strncasecmp(name, "BODY[", 5) == 0) {
			if (f->have_body)
				return -1;
			lit = rd_is_literal(rd, &n);
			if (lit < 0)
				return -1;
			if (lit == 1) {
				/* we asked for at most max_bytes */
				if (n > (size_t)rd->ii->max_bytes)
					return -1;
				f->body = xmalloc(n + 1);
				f->body_len = n;
				f->body[n] = '\0';
				f->have_body = 1;
				if (rd_literal(rd, n, f->body) != 0)
					return -1;
			} else if (rd->end - rd->p >= 3 && strncasecmp(rd->p, "NIL", 3) == 0) {
				rd->p += 3;
			} else {
				/* a quoted body fits in the rest of the line */
				size_t room = (size_t)(rd->end - rd->p) + 1;
				char *q = xmalloc(room);

				if (rd_quoted(rd, q, room) != 0 ||
				    strlen(q) > (size_t)rd->ii->max_bytes) {
					free(q);
					return -1;
				}
				f->body_len = strlen(q);
				f->body = (unsigned char *)q;
				f->have_body = 1;
			}
		} else if (rd_skip_value(rd) != 0) {
			return -1;
		}
	}
}

static _Thread_local unsigned imap_tagno;

/* "* n EXISTS" and "* n EXPUNGE" seen while reading a response: rest is
 * what follows the number.  An expunge below the next listing window
 * (this session's MOVE, or another session's reported at a command
 * boundary) moves the window's start down by one, so that it need not be
 * looked up again by bisection. */
static void
imap_note_count(struct imap_intake *ii, uint32_t n, const char *rest, size_t len)
{
	struct mailimap_selection_info *si = ii->imap->imap_selection_info;

	if (len == 7 && strncasecmp(rest, " EXISTS", 7) == 0) {
		if (n > si->sel_exists)
			ii->news = 1;
		si->sel_exists = n;
		si->sel_has_exists = 1;
	} else if (len == 8 && strncasecmp(rest, " EXPUNGE", 8) == 0) {
		if (si->sel_exists > 0)
			si->sel_exists--;
		if (ii->next_seq > n && ii->next_seq > 1)
			ii->next_seq--;
	}
}

/*
 * Read the response to the command tagged tag (what: its name in error
 * messages), calling cb (if not NULL) for every FETCH response that carries
 * a UID; EXISTS and EXPUNGE keep the message count.  0 on a tagged OK.
 * Used for FETCH and for the commands whose answer may be thousands of
 * EXPUNGE lines (MOVE, EXPUNGE, NOOP), which libetpan would turn into a
 * list of allocations.
 */
static int
imap_fetch_read(struct imap_intake *ii, const char *what, const char *tag, imap_fetch_cb *cb,
    void *ctx, const char **error_r)
{
	struct imap_rd rd;
	struct imap_fetched f;
	size_t tl = strlen(tag);

	memset(&f, 0, sizeof(f));
	rd.ii = ii;
	for (;;) {
		uint32_t seq = 0;
		size_t n;
		int lit, have_seq;

		if (rd_line(&rd) != 0)
			goto lost;
		if ((size_t)(rd.end - rd.p) > tl && strncmp(rd.p, tag, tl) == 0 &&
		    rd.p[tl] == ' ') {
			rd.p += tl + 1;
			if (rd.end - rd.p >= 2 && strncasecmp(rd.p, "OK", 2) == 0)
				return 0;
			ii->expunge_issued = rd.end - rd.p >= 18 &&
			    strncasecmp(rd.p, "NO [EXPUNGEISSUED]", 18) == 0;
			imap_seterr(error_r, "%s: %s refused: %.200s", ii->label, what, rd.p);
			return -1;
		}
		if (rd.end - rd.p >= 5 && strncasecmp(rd.p, "* BYE", 5) == 0) {
			imap_seterr(error_r, "%s: %s: server said %.200s", ii->label, what, rd.p);
			return -1;
		}
		if (rd.end - rd.p >= 2 && rd.p[0] == '*' && rd.p[1] == ' ') {
			rd.p += 2;
			have_seq = rd_number(&rd, &seq) == 0;
			if (have_seq && rd.end - rd.p >= 8 && strncasecmp(rd.p, " FETCH (", 8) == 0) {
				rd.p += 8;
				memset(&f, 0, sizeof(f));
				f.seq = seq;
				if (rd_fetch_atts(&rd, &f) != 0)
					goto parse;
				if (f.uid != 0 && cb != NULL)
					cb(ii, &f, ctx);
				free(f.body);
				f.body = NULL;
				continue;
			}
			/* the message count, as libetpan keeps it for its own
			 * commands: the listing's windows go by it */
			if (have_seq && ii->imap != NULL && ii->imap->imap_selection_info != NULL)
				imap_note_count(ii, seq, rd.p, (size_t)(rd.end - rd.p));
		}
		/* other data (EXISTS, EXPUNGE, OK ...): skip, with any literals */
		for (;;) {
			const char *brace = memrchr(rd.p, '{', (size_t)(rd.end - rd.p));

			if (brace == NULL)
				break;
			rd.p = brace;
			lit = rd_is_literal(&rd, &n);
			if (lit != 1)
				break;
			if (rd_literal(&rd, n, NULL) != 0)
				goto lost;
		}
	}
lost:
	free(f.body);
	imap_seterr(error_r, "%s: %s: connection lost or timed out", ii->label, what);
	return -1;
parse:
	free(f.body);
	imap_seterr(error_r, "%s: %s: unreadable response", ii->label, what);
	return -1;
}

/* send "TAG <args>" (what: the command's name in error messages) and read
 * its response as imap_fetch_read does */
static int
imap_command(struct imap_intake *ii, const char *what, const char *args, imap_fetch_cb *cb,
    void *ctx, const char **error_r)
{
	mailstream *s = ii->imap->imap_stream;
	char tag[32], *cmd;
	int bad;

	snprintf(tag, sizeof(tag), "s48f%u", ++imap_tagno);
	cmd = xasprintf("%s %s\r\n", tag, args);
	bad = mailstream_write(s, cmd, strlen(cmd)) < 0 || mailstream_flush(s) != 0;
	free(cmd);
	if (bad) {
		imap_seterr(error_r, "%s: %s: connection lost", ii->label, what);
		return -1;
	}
	return imap_fetch_read(ii, what, tag, cb, ctx, error_r);
}

/* "TAG UID FETCH <set> <items>" (by_uid 0: "TAG FETCH", set of sequence
 * numbers) */
static int
imap_fetch_raw(struct imap_intake *ii, int by_uid, const char *set, const char *items,
    imap_fetch_cb *cb, void *ctx, const char **error_r)
{
	char *args = xasprintf("%sFETCH %s %s", by_uid ? "UID " : "", set, items);
	int r;

	r = imap_command(ii, by_uid ? "UID FETCH" : "FETCH", args, cb, ctx, error_r);
	free(args);
	return r;
}

/* A stream driver like the session's own, whose read turns end of stream
 * into an error.  libetpan (1.9.4) reads a literal ({n} in LIST, SELECT,
 * FETCH...) until it has n bytes and takes a read of 0 bytes for "nothing
 * yet": a server closing the connection inside a literal made it spin at
 * 100% CPU forever.  One per stream, owned by it: its free puts the
 * original driver back and frees this copy (no table shared between
 * threads). */
struct imap_eof_driver {
	mailstream_low_driver drv;      /* first: what the stream points to */
	mailstream_low_driver *orig;
};

static ssize_t
imap_eof_read(mailstream_low *s, void *buf, size_t n)
{
	const struct imap_eof_driver *d = (const struct imap_eof_driver *)(void *)s->driver;
	ssize_t r = d->orig->mailstream_read(s, buf, n);

	return r == 0 && n > 0 ? -1 : r;
}

static void
imap_eof_free(mailstream_low *s)
{
	struct imap_eof_driver *d = (struct imap_eof_driver *)(void *)s->driver;

	s->driver = d->orig;
	free(d);
	s->driver->mailstream_free(s);
}

int
imap_intake_guard_eof(struct mailimap *imap)
{
	mailstream_low *low;
	struct imap_eof_driver *d;

	if (imap->imap_stream == NULL || (low = mailstream_get_low(imap->imap_stream)) == NULL)
		return -1;
	if (low->driver->mailstream_read == imap_eof_read)
		return 0;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return -1;
	d->orig = low->driver;
	d->drv = *low->driver;
	d->drv.mailstream_read = imap_eof_read;
	d->drv.mailstream_free = imap_eof_free;
	low->driver = &d->drv;
	return 0;
}

int
imap_intake_capability(struct mailimap *imap)
{
	struct mailimap_response *resp = NULL;
	struct mailimap_connection_info *ci = imap->imap_connection_info;
	int r, ok;

	/* Not mailimap_capability(): libetpan 1.9.4 copies the stored list
	 * after the tagged OK without looking, and a server that never sent
	 * one, or sent "[CAPABILITY]" or a bare "* CAPABILITY" (data without
	 * a list), made it read NULL.  The command is sent here and the
	 * response parsed (and stored) by libetpan as usual. */
	if (ci == NULL || imap->imap_stream == NULL)
		return MAILIMAP_ERROR_STREAM;
	r = mailimap_send_current_tag(imap);
	if (r != MAILIMAP_NO_ERROR)
		return r;
	if (mailstream_write(imap->imap_stream, "CAPABILITY\r\n", 12) != 12 ||
	    mailstream_flush(imap->imap_stream) == -1)
		return MAILIMAP_ERROR_STREAM;
	if (mailimap_read_line(imap) == NULL)
		return MAILIMAP_ERROR_STREAM;
	r = mailimap_parse_response(imap, &resp);
	if (r != MAILIMAP_NO_ERROR)
		return r;
	ok = resp->rsp_resp_done != NULL &&
	    resp->rsp_resp_done->rsp_type == MAILIMAP_RESP_DONE_TYPE_TAGGED &&
	    resp->rsp_resp_done->rsp_data.rsp_tagged->rsp_cond_state->rsp_type ==
	    MAILIMAP_RESP_COND_STATE_OK;
	mailimap_response_free(resp);
	if (!ok)
		return MAILIMAP_ERROR_CAPABILITY;
	/* callers then ask mailimap_has_extension(), which reads the list */
	ci = imap->imap_connection_info;
	if (ci != NULL && ci->imap_capability != NULL && ci->imap_capability->cap_list == NULL &&
	    (ci->imap_capability->cap_list = clist_new()) == NULL)
		return MAILIMAP_ERROR_MEMORY;
	if (ci != NULL && ci->imap_capability == NULL) {
		clist *empty = clist_new();

		if (empty == NULL)
			return MAILIMAP_ERROR_MEMORY;
		if ((ci->imap_capability = mailimap_capability_data_new(empty)) == NULL) {
			clist_free(empty);
			return MAILIMAP_ERROR_MEMORY;
		}
	}
	return MAILIMAP_NO_ERROR;
}

/* ---- the reader on a buffer, for the fuzzer ---- */

struct imap_mem {
	const unsigned char *p;
	size_t left;
};

static ssize_t
imap_mem_read(mailstream_low *s, void *buf, size_t n)
{
	struct imap_mem *m = s->data;

	if (n > m->left)
		n = m->left;
	memcpy(buf, m->p, n);
	m->p += n;
	m->left -= n;
	return (ssize_t)n;
}

static ssize_t
imap_mem_write(mailstream_low *s, const void *buf, size_t n)
{
	(void)s;
	(void)buf;
	return (ssize_t)n;
}

static int
imap_mem_close(mailstream_low *s)
{
	(void)s;
	return 0;
}

static int
imap_mem_fd(mailstream_low *s)
{
	(void)s;
	return -1;
}

static void
imap_mem_free(mailstream_low *s)
{
	free(s->data);
	free(s);
}

static mailstream_low_driver imap_mem_driver = {
	imap_mem_read, imap_mem_write, imap_mem_close, imap_mem_fd, imap_mem_free,
	NULL, NULL, NULL, NULL, NULL, NULL,
};

mailstream *
imap_intake_mem_stream(const void *data, size_t len)
{
	struct imap_mem *mem = xmalloc(sizeof(*mem));
	mailstream_low *low;
	mailstream *st;

	mem->p = data;
	mem->left = len;
	if ((low = mailstream_low_new(mem, &imap_mem_driver)) == NULL) {
		free(mem);
		return NULL;
	}
	if ((st = mailstream_new(low, 8192)) == NULL)
		mailstream_low_free(low);        /* frees mem too */
	return st;
}

struct imap_parse_ctx {
	size_t n;
	long max_bytes;
};

static void
imap_parse_cb(struct imap_intake *ii, struct imap_fetched *f, void *ctx)
{
	struct imap_parse_ctx *pc = ctx;

	(void)ii;
	if (f->have_body) {
		/* what callers rely on: bounded and NUL-terminated */
		if (f->body_len > (size_t)pc->max_bytes || f->body[f->body_len] != '\0')
			abort();
		pc->n++;
	}
}

int
imap_intake_parse_fetch(const void *data, size_t len, long max_bytes, size_t *n_r)
{
	struct imap_intake ii;
	struct imap_parse_ctx pc;
	const char *err;
	int r = -1;

	memset(&ii, 0, sizeof(ii));
	pc.n = 0;
	pc.max_bytes = max_bytes;
	*n_r = 0;
	ii.label = xstrdup("imap fuzz");
	ii.max_bytes = max_bytes;
	ii.line = mmap_string_new("");
	ii.imap = mailimap_new(0, NULL);
	if (ii.line == NULL || ii.imap == NULL)
		goto fail;
	if ((ii.imap->imap_stream = imap_intake_mem_stream(data, len)) == NULL)
		goto fail;
	r = imap_fetch_read(&ii, "UID FETCH", "s48f0", imap_parse_cb, &pc, &err);
	*n_r = pc.n;
fail:
	if (ii.imap != NULL) {
		if (ii.imap->imap_stream != NULL) {
			mailstream_close(ii.imap->imap_stream);
			ii.imap->imap_stream = NULL;
		}
		mailimap_free(ii.imap);
	}
	if (ii.line != NULL)
		mmap_string_free(ii.line);
	free(ii.label);
	return r;
}

static int
imap_entry_cmp(const void *a, const void *b)
{
	const struct imap_entry *x = a, *y = b;

	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

struct imap_list_ctx {
	uint32_t after_uid;
	size_t cap;
	uint32_t lo_seq, hi_seq; /* the window asked for: other (unsolicited)
				  * FETCH responses are left out */
	uint32_t check_seq;      /* 0, or a message whose UID must be <= after_uid */
	int check_failed;
	uint32_t max_seq;        /* the highest sequence number seen */
};

static void
imap_list_cb(struct imap_intake *ii, struct imap_fetched *f, void *ctx)
{
	struct imap_list_ctx *lc = ctx;

	if (f->seq < lc->lo_seq || f->seq > lc->hi_seq)
		return;
	if (f->seq > lc->max_seq)
		lc->max_seq = f->seq;
	if (lc->check_seq != 0 && f->seq == lc->check_seq && f->uid > lc->after_uid)
		lc->check_failed = 1;
	/* "N:*" also names the last message when its UID is below N */
	if (f->uid <= lc->after_uid)
		return;
	if (ii->n_entries == lc->cap) {
		lc->cap = lc->cap ? lc->cap * 2 : 256;
		ii->entries = xrealloc(ii->entries, lc->cap * sizeof(*ii->entries));
	}
	ii->entries[ii->n_entries].uid = f->uid;
	ii->entries[ii->n_entries].size = f->size;
	ii->n_entries++;
}

struct imap_uid_ctx {
	uint32_t seq, uid;
};

static void
imap_uid_cb(struct imap_intake *ii, struct imap_fetched *f, void *ctx)
{
	struct imap_uid_ctx *uc = ctx;

	(void)ii;
	if (f->seq == uc->seq)
		uc->uid = f->uid;
}

/* the sequence number of the first message with UID > after_uid (exists + 1
 * when there is none), by bisection with FETCH n (UID) */
static int
imap_find_seq(struct imap_intake *ii, uint32_t after_uid, uint32_t exists, uint32_t *seq_r,
    const char **error_r)
{
	uint32_t lo = 1, hi = exists + 1;
	struct imap_uid_ctx uc;
	char set[16];

	while (lo < hi) {
		uc.seq = lo + (hi - lo) / 2;
		uc.uid = 0;
		snprintf(set, sizeof(set), "%u", uc.seq);
		ii->seq_lookups++;
		if (imap_fetch_raw(ii, 0, set, "(UID)", imap_uid_cb, &uc, error_r) != 0)
			return -1;
		if (uc.uid == 0) {
			imap_seterr(error_r, "%s: FETCH %u (UID): no UID in the answer", ii->label,
			    uc.seq);
			return -1;
		}
		if (uc.uid > after_uid)
			hi = uc.seq;
		else
			lo = uc.seq + 1;
	}
	*seq_r = lo;
	return 0;
}

/*
 * The next listing of messages with UID > after_uid into the cache, at
 * most about imap_list_window (or want) of them: FETCH a:b (UID
 * RFC822.SIZE) by sequence numbers, so that memory does not grow with the
 * mailbox.  INTERNALDATE comes with the message itself (imap_fetch_once):
 * asked for here, it cost Dovecot a stat() of every maildir file (24 ms per
 * 4,096 mails), while the FETCH of the message had it for 6 ms, and the
 * listing is the part of a poll nothing else overlaps.  The window is
 * rounded up to whole batches of want, so a full mailbox is not fetched
 * with a short batch (4,096 = 4 x 1,000 + 96) at the end of every window.  The window starts at the first message above the
 * cursor; the message just before it is fetched too and must be at or
 * below the cursor (else the start is looked up again by bisection).  The
 * last window is open ("a:*"), so mail the message count does not show
 * yet is listed too.
 */
static int
imap_list(struct imap_intake *ii, uint32_t after_uid, size_t want, const char **error_r)
{
	struct imap_list_ctx lc;
	uint32_t exists, s, e;
	size_t window = want > imap_list_window ? want : imap_list_window;
	char set[32];
	size_t i;
	int searched = 0;

	free(ii->entries);
	ii->entries = NULL;
	ii->n_entries = ii->pos = 0;
	ii->list_after = after_uid;
	if (after_uid == UINT32_MAX)
		return 0;
	/* Dovecot tells a session about new mail at command boundaries: a
	 * NOOP first, so that the listing sees what arrived since */
	if (imap_command(ii, "NOOP", "NOOP", NULL, NULL, error_r) != 0)
		return -1;
	ii->news = 0;           /* this listing sees what the NOOP announced */
	if (want > 0 && window % want != 0 && window < UINT32_MAX / 4)
		window += want - window % want;
	if (window > UINT32_MAX / 2)
		window = UINT32_MAX / 2;
	exists = ii->imap->imap_selection_info != NULL ?
	    ii->imap->imap_selection_info->sel_exists : 0;
	if (exists == 0)
		return 0;
	s = after_uid == 0 ? 1 : ii->next_seq;
	if (s == 0 || s > exists + 1) {
		if (imap_find_seq(ii, after_uid, exists, &s, error_r) != 0)
			return -1;
		searched = 1;
	}
	for (;;) {
		memset(&lc, 0, sizeof(lc));
		lc.after_uid = after_uid;
		lc.check_seq = s > 1 ? s - 1 : 0;
		lc.lo_seq = s > 1 ? s - 1 : 1;
		e = exists - s + 1 > window ? s + (uint32_t)window - 1 : exists;
		lc.hi_seq = e >= exists ? UINT32_MAX : e;
		if (e >= exists)
			snprintf(set, sizeof(set), "%u:*", lc.lo_seq);
		else
			snprintf(set, sizeof(set), "%u:%u", lc.lo_seq, e);
		if (imap_fetch_raw(ii, 0, set, "(UID RFC822.SIZE)", imap_list_cb,
		    &lc, error_r) != 0)
			return -1;
		if (lc.check_failed) {
			/* mail before the window is above the cursor: another
			 * client expunged some, or the cursor went back */
			free(ii->entries);
			ii->entries = NULL;
			ii->n_entries = 0;
			if (searched) {
				imap_seterr(error_r, "%s: the mailbox changed while it was listed",
				    ii->label);
				return -1;
			}
			if (imap_find_seq(ii, after_uid, exists, &s, error_r) != 0)
				return -1;
			searched = 1;
			continue;
		}
		ii->next_seq = lc.max_seq + 1;
		/* a window all at or below the cursor: the next one */
		if (ii->n_entries == 0 && e < exists) {
			s = e + 1;
			continue;
		}
		break;
	}
	/* servers answer in UID order; sort only if this one did not */
	for (i = 1; i < ii->n_entries; i++)
		if (ii->entries[i - 1].uid >= ii->entries[i].uid)
			break;
	if (i < ii->n_entries) {
		size_t k = 0;

		qsort(ii->entries, ii->n_entries, sizeof(*ii->entries), imap_entry_cmp);
		for (i = 0; i < ii->n_entries; i++)
			if (k == 0 || ii->entries[k - 1].uid != ii->entries[i].uid)
				ii->entries[k++] = ii->entries[i];
		ii->n_entries = k;
	}
	return 0;
}

/* "1:5,7,9:12" for sorted uids (duplicates allowed) */
static char *
imap_uid_set_str(const uint32_t *uids, size_t n)
{
	struct buf b;
	size_t i = 0, j;

	/* at most "4294967295:4294967295," per UID */
	buf_init(&b, 32 + n * 22);
	while (i < n) {
		j = i;
		while (j + 1 < n && (uids[j + 1] == uids[j] || uids[j + 1] == uids[j] + 1))
			j++;
		if (i > 0)
			buf_appendc(&b, ',');
		if (j > i)
			buf_appendf(&b, "%u:%u", uids[i], uids[j]);
		else
			buf_appendf(&b, "%u", uids[i]);
		i = j + 1;
	}
	return buf_steal(&b, NULL);
}

static int
imap_u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Remove from the cache the UIDs in uids[0..n) (sorted) except those in
 * keep[0..nkeep) (fetched messages, UID order).
 */
static void
imap_cache_remove(struct imap_intake *ii, const uint32_t *uids, size_t n,
    const struct imap_msg *keep, size_t nkeep)
{
	size_t i, k = ii->pos, kk = 0;

	for (i = ii->pos; i < ii->n_entries; i++) {
		uint32_t u = ii->entries[i].uid;
		int gone = bsearch(&u, uids, n, sizeof(*uids), imap_u32_cmp) != NULL;

		while (kk < nkeep && keep[kk].uid < u)
			kk++;
		if (gone && kk < nkeep && keep[kk].uid == u)
			gone = 0;
		if (!gone)
			ii->entries[k++] = ii->entries[i];
	}
	ii->n_entries = k;
}

struct imap_body_ctx {
	struct imap_entry *batch;
	size_t nb;
	struct imap_msg *msgs;
};

static void
imap_body_cb(struct imap_intake *ii, struct imap_fetched *f, void *ctx)
{
	struct imap_body_ctx *bc = ctx;
	struct imap_entry key, *e;
	struct imap_msg *m;

	(void)ii;
	if (!f->have_body)
		return;
	key.uid = f->uid;
	e = bsearch(&key, bc->batch, bc->nb, sizeof(*bc->batch), imap_entry_cmp);
	if (e == NULL)
		return;          /* not asked for (unsolicited FETCH) */
	m = &bc->msgs[e - bc->batch];
	if (m->raw != NULL)
		return;
	m->uid = f->uid;
	m->raw = f->body;
	m->len = f->body_len;
	f->body = NULL;
	m->full_size = e->size > m->len ? e->size : m->len;
	m->truncated = e->size > m->len;
	m->internaldate = f->internaldate;
}

/* one batch; *asked_r: how many UIDs were asked for (0: nothing left) */
static int
imap_fetch_once(struct imap_intake *ii, uint32_t after_uid, size_t max_batch,
    struct imap_msg **msgs_r, size_t *n_r, size_t *asked_r, const char **error_r)
{
	struct imap_body_ctx bc;
	struct imap_msg *msgs = NULL;
	struct imap_entry *batch;
	uint32_t *uids = NULL;
	char *set = NULL, items[64];
	size_t i, nb = 0, got = 0, bytes = 0;
	int ret = -1;

	*msgs_r = NULL;
	*n_r = 0;
	*asked_r = 0;
	/* a listing made for a later cursor cannot serve an earlier one */
	if (after_uid < ii->list_after)
		ii->pos = ii->n_entries;
	else
		ii->list_after = after_uid;
	while (ii->pos < ii->n_entries && ii->entries[ii->pos].uid <= after_uid)
		ii->pos++;
	if (ii->pos >= ii->n_entries && imap_list(ii, after_uid, max_batch, error_r) != 0)
		return -1;
	if (ii->pos >= ii->n_entries)
		return 0;

	/* the batch: entries[pos .. pos+nb), bounded by count and bytes */
	batch = ii->entries + ii->pos;
	while (ii->pos + nb < ii->n_entries && nb < max_batch) {
		size_t sz = batch[nb].size < (uint32_t)ii->max_bytes ? batch[nb].size :
		    (size_t)ii->max_bytes;

		if (nb > 0 && bytes + sz > IMAP_INTAKE_BATCH_BYTES)
			break;
		bytes += sz;
		nb++;
	}
	*asked_r = nb;
	uids = xmalloc(nb * sizeof(*uids));
	for (i = 0; i < nb; i++)
		uids[i] = batch[i].uid;
	set = imap_uid_set_str(uids, nb);
	/* BODY.PEEK[]<0.max>: whole messages up to max, the start of larger ones */
	snprintf(items, sizeof(items), "(UID INTERNALDATE BODY.PEEK[]<0.%ld>)", ii->max_bytes);
	msgs = xcalloc(nb, sizeof(*msgs));
	bc.batch = batch;
	bc.nb = nb;
	bc.msgs = msgs;
	if (imap_fetch_raw(ii, 1, set, items, imap_body_cb, &bc, error_r) != 0)
		goto fail;
	/* keep UID order; what vanished (moved or expunged by someone else)
	 * leaves the cache too */
	for (i = 0; i < nb; i++) {
		if (msgs[i].raw == NULL)
			continue;
		if (got != i)
			msgs[got] = msgs[i];
		got++;
	}
	if (got < nb) {
		log_debug("%s: %zu of %zu messages vanished before FETCH", ii->label,
		    nb - got, nb);
		imap_cache_remove(ii, uids, nb, msgs, got);
	}
	if (got == 0) {
		free(msgs);
		msgs = NULL;
	}
	*msgs_r = msgs;
	*n_r = got;
	msgs = NULL;
	ret = 0;
fail:
	if (msgs != NULL)
		imap_intake_free_msgs(&msgs, nb);
	free(set);
	free(uids);
	return ret;
}

int
imap_intake_fetch(struct imap_intake *ii, uint32_t after_uid, size_t max_batch,
    struct imap_msg **msgs_r, size_t *n_r, const char **error_r)
{
	size_t asked;
	int r;

	*msgs_r = NULL;
	*n_r = 0;
	if (ii->broken) {
		imap_seterr(error_r, "%s: session failed before; reconnect", ii->label);
		return -1;
	}
	if (max_batch == 0)
		return 0;
	/* a batch that vanished entirely (moved by a clerk) left the cache:
	 * go on with the next one */
	do {
		r = imap_fetch_once(ii, after_uid, max_batch, msgs_r, n_r, &asked, error_r);
	} while (r == 0 && *n_r == 0 && asked > 0);
	if (r != 0)
		ii->broken = 1;
	return r;
}

/* a mailbox name (modified UTF-7, so 7-bit) as an IMAP quoted string */
static char *
imap_quoted(const char *name)
{
	struct buf b;
	const char *p;

	buf_init(&b, 2 * strlen(name) + 3);
	buf_appendc(&b, '"');
	for (p = name; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			buf_appendc(&b, '\\');
		buf_appendc(&b, *p);
	}
	buf_appendc(&b, '"');
	return buf_steal(&b, NULL);
}

/*
 * An acknowledging command (args), and once more after a NOOP when the
 * server refused it with [EXPUNGEISSUED]: another session moved some of
 * the messages (the pump's second session, whose answer was lost before
 * the UIDs came back to this one) and this session had not been told;
 * the NOOP brings the EXPUNGEs, and the command goes again over the UIDs
 * still there (a UID set may name UIDs that are gone).  0 or -1.
 */
static int
imap_ack_command(struct imap_intake *ii, const char *what, const char *args,
    const char **error_r)
{
	ii->expunge_issued = 0;
	if (imap_command(ii, what, args, NULL, NULL, error_r) == 0)
		return 0;
	if (!ii->expunge_issued)
		return -1;
	log_info("%s: %s: some messages were moved by another session; again after NOOP",
	    ii->label, what);
	if (imap_command(ii, "NOOP", "NOOP", NULL, NULL, error_r) != 0)
		return -1;
	return imap_command(ii, what, args, NULL, NULL, error_r);
}

int
imap_intake_ack(struct imap_intake *ii, const uint32_t *uids, size_t n,
    const char **error_r)
{
	char *set = NULL, *mbox = NULL, *args = NULL;
	uint32_t *sorted;
	int ret = -1;

	if (ii->broken) {
		imap_seterr(error_r, "%s: session failed before; reconnect", ii->label);
		return -1;
	}
	if (n == 0)
		return 0;
	sorted = xmalloc(n * sizeof(*sorted));
	memcpy(sorted, uids, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), imap_u32_cmp);
	set = imap_uid_set_str(sorted, n);
	/* sent and read by hand (imap_command): the answer to a MOVE or
	 * EXPUNGE is one EXPUNGE line per message, which libetpan would keep
	 * as a list of allocations */
	if (ii->processed != NULL && ii->has_move) {
		mbox = imap_quoted(ii->processed);
		args = xasprintf("UID MOVE %s %s", set, mbox);
		if (imap_ack_command(ii, "UID MOVE", args, error_r) != 0)
			goto fail;
	} else if (ii->processed != NULL) {
		mbox = imap_quoted(ii->processed);
		args = xasprintf("UID COPY %s %s", set, mbox);
		if (imap_ack_command(ii, "UID COPY", args, error_r) != 0)
			goto fail;
		free(args);
		args = xasprintf("UID STORE %s +FLAGS.SILENT (\\Deleted)", set);
		if (imap_command(ii, "UID STORE \\Deleted", args, NULL, NULL, error_r) != 0)
			goto fail;
		free(args);
		if (ii->has_uidplus)
			args = xasprintf("UID EXPUNGE %s", set);
		else
			args = xstrdup("EXPUNGE");
		if (imap_command(ii, "EXPUNGE", args, NULL, NULL, error_r) != 0)
			goto fail;
	} else {
		args = xasprintf("UID STORE %s +FLAGS.SILENT (\\Seen)", set);
		if (imap_command(ii, "UID STORE \\Seen", args, NULL, NULL, error_r) != 0)
			goto fail;
	}
	/* moved messages leave the listing cache (\Seen ones stay: the
	 * caller's after_uid passes them); their EXPUNGE lines moved the next
	 * window's start (imap_note_count) */
	if (ii->processed != NULL)
		imap_cache_remove(ii, sorted, n, NULL, 0);
	ret = 0;
fail:
	free(args);
	free(mbox);
	free(set);
	free(sorted);
	if (ret != 0)
		ii->broken = 1;
	return ret;
}

int
imap_intake_seen_range(struct imap_intake *ii, uint32_t first, uint32_t last,
    const char **error_r)
{
	char *args;
	int r;

	if (ii->broken) {
		imap_seterr(error_r, "%s: session failed before; reconnect", ii->label);
		return -1;
	}
	if (first == 0 || first > last)
		return 0;
	args = xasprintf("UID STORE %u:%u +FLAGS.SILENT (\\Seen)", first, last);
	r = imap_command(ii, "UID STORE \\Seen", args, NULL, NULL, error_r);
	free(args);
	if (r != 0)
		ii->broken = 1;
	return r;
}

static int
imap_idle(struct imap_intake *ii, long long timeout_ms, const char **error_r)
{
	mailstream *s = ii->imap->imap_stream;
	/* a monotonic clock in ms: whole seconds of time() would end the wait
	 * up to a second early once a wake-up shifted the steps */
	long long end = util_mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	int r, w, news = 0;

	if (!ii->has_idle) {
		while (!s48_stop_requested && util_mono_ms() < end)
			poll(NULL, 0, 200);
		return 0;
	}
	while (!news && !s48_stop_requested && util_mono_ms() < end) {
		int data = 0, failed = 0;

		r = mailimap_idle(ii->imap);
		if (r != MAILIMAP_NO_ERROR)
			return imap_fail(ii, error_r, "IDLE", r);
		/* 1 s steps so that a stop request is seen promptly; what the
		 * stream or TLS holds already counts as data */
		while (!s48_stop_requested && util_mono_ms() < end) {
			long long left = end - util_mono_ms();

			w = imap_net_wait(s, left < 1000 ? (int)left : 1000);
			if (w == 1) {
				data = 1;
				break;
			}
			if (w < 0) {
				failed = 1;
				break;
			}
		}
		r = mailimap_idle_done(ii->imap);
		if (failed) {
			imap_seterr(error_r, "%s: IDLE: connection lost", ii->label);
			return -1;
		}
		if (r != MAILIMAP_NO_ERROR)
			return imap_fail(ii, error_r, "IDLE DONE", r);
		if (data && ii->imap->imap_selection_info != NULL &&
		    (ii->imap->imap_selection_info->sel_has_exists ||
		     ii->imap->imap_selection_info->sel_has_recent))
			news = 1;
	}
	return news;
}

int
imap_intake_idle(struct imap_intake *ii, int timeout_s, const char **error_r)
{
	return imap_intake_idle_ms(ii, timeout_s * 1000LL, error_r);
}

int
imap_intake_idle_ms(struct imap_intake *ii, long long timeout_ms, const char **error_r)
{
	int r;

	if (ii->broken) {
		imap_seterr(error_r, "%s: session failed before; reconnect", ii->label);
		return -1;
	}
	/* new mail announced since the last listing: IDLE would not
	 * report it again */
	if (ii->news && !s48_stop_requested) {
		ii->news = 0;
		return 1;
	}
	/* IDLE is ended by a stop request: the server then has
	 * IMAP_INTAKE_STOP_GRACE_MS to answer (to IDLE, to DONE) */
	imap_net_set_stop_grace(ii->imap->imap_stream, IMAP_INTAKE_STOP_GRACE_MS);
	r = imap_idle(ii, timeout_ms, error_r);
	if (r < 0)
		ii->broken = 1;
	else
		imap_net_set_stop_grace(ii->imap->imap_stream, -1);
	return r;
}

void
imap_intake_free_msgs(struct imap_msg **msgs, size_t n)
{
	size_t i;

	if (msgs == NULL || *msgs == NULL)
		return;
	for (i = 0; i < n; i++)
		free((*msgs)[i].raw);
	free(*msgs);
	*msgs = NULL;
}

void
imap_intake_close(struct imap_intake **iip)
{
	struct imap_intake *ii;

	if (iip == NULL || *iip == NULL)
		return;
	ii = *iip;
	/* a failed session may hang or be gone: no LOGOUT to wait for; a
	 * stop request leaves the server IMAP_INTAKE_STOP_GRACE_MS to answer */
	if (!ii->broken && ii->imap != NULL && ii->imap->imap_stream != NULL) {
		imap_net_set_stop_grace(ii->imap->imap_stream, IMAP_INTAKE_STOP_GRACE_MS);
		(void)mailimap_logout(ii->imap);
	}
	imap_intake_free(ii);
	*iip = NULL;
}
