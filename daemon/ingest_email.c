/*
 * ingest_email.c - what an inbound email means (SPEC section 3): automatic
 * mail is recorded and ignored; a reply to a department notification
 * ("[TAG #N/TOKEN]") from that department is a staff command; a reply of
 * ticket N's reporter ("[TAG #N]" or In-Reply-To/References) is appended;
 * anything else is a new ticket - also when the message could hardly be
 * parsed (no usable From: reporter INGEST_UNKNOWN_REPORTER, no reply).
 */
#include "ingest_p.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "commands.h"
#include "config.h"
#include "log.h"
#include "mime.h"
#include "store.h"
#include "tickets.h"
#include "util.h"

/* The reporter of a ticket made from a message without a usable From
 * address: an address that can never be delivered (RFC 2606 ".invalid"), so
 * no acknowledgement is queued for it. */
#define INGEST_UNKNOWN_REPORTER "unknown@invalid"

/* Reply/forward prefixes ignored when matching subjects (ASCII ones
 * case-insensitively; Cyrillic "Одг" in its usual spellings). */
static const char *const reply_prefixes[] = {
	"re", "odg", "fwd", "fw", "prosl", "aw", "wg", "vs", "sv",
	"\xd0\x9e\xd0\xb4\xd0\xb3",                 /* Одг */
	"\xd0\x9e\xd0\x94\xd0\x93",                 /* ОДГ */
	"\xd0\xbe\xd0\xb4\xd0\xb3",                 /* одг */
};

/* Skip leading "Re: Fwd: Odg[2]: ..." (any number, any case). */
static const char *
strip_prefixes(const char *s)
{
	for (;;) {
		const char *p;
		size_t i, l;
		int hit = 0;

		while (*s == ' ' || *s == '\t')
			s++;
		for (i = 0; i < sizeof(reply_prefixes) / sizeof(reply_prefixes[0]) && !hit; i++) {
			l = strlen(reply_prefixes[i]);
			if (strncasecmp(s, reply_prefixes[i], l) != 0)
				continue;
			p = s + l;
			if (*p == '[') {           /* Re[2]: */
				p++;
				while (isdigit((unsigned char)*p))
					p++;
				if (*p++ != ']')
					continue;
			}
			while (*p == ' ')
				p++;
			if (*p != ':')
				continue;
			s = p + 1;
			hit = 1;
		}
		if (!hit)
			return s;
	}
}

/*
 * "[TAG #N]" or "[TAG #N/TOKEN]" at s (which points at '['): N (> 0) with
 * *end_r just after the ']' and the token (lower-cased hex, "" when absent)
 * in tok (size toksz); 0 when s is not such a tag.
 */
static long
parse_tag(const char *tag, const char *s, char *tok, size_t toksz, const char **end_r)
{
	size_t tl = strlen(tag);
	const char *p = s + 1;
	long n = 0;
	size_t nd = 0, k = 0;

	tok[0] = '\0';
	while (*p == ' ')
		p++;
	if (tl == 0 || strncasecmp(p, tag, tl) != 0)
		return 0;
	p += tl;
	while (*p == ' ')
		p++;
	if (*p++ != '#')
		return 0;
	while (isdigit((unsigned char)*p) && nd < 12) {
		n = n * 10 + (*p++ - '0');
		nd++;
	}
	if (nd == 0 || n <= 0 || isdigit((unsigned char)*p))
		return 0;
	if (*p == '/') {
		p++;
		while (isxdigit((unsigned char)*p) && k + 1 < toksz)
			tok[k++] = (char)tolower((unsigned char)*p++);
		tok[k] = '\0';
		if (k == 0 || isxdigit((unsigned char)*p)) {
			tok[0] = '\0';
			return 0;
		}
	}
	while (*p == ' ')
		p++;
	if (*p != ']') {
		tok[0] = '\0';
		return 0;
	}
	*end_r = p + 1;
	return n;
}

/*
 * Find "[TAG #N]" or "[TAG #N/TOKEN]" in subject.  Returns N (> 0) or 0;
 * token (lower-cased hex, "" when absent) into tok (size toksz).
 */
static long
find_tag(const char *tag, const char *subject, char *tok, size_t toksz)
{
	const char *s = strip_prefixes(subject), *end;
	long n;

	tok[0] = '\0';
	for (s = strchr(s, '['); s != NULL; s = strchr(s + 1, '['))
		if ((n = parse_tag(tag, s, tok, toksz, &end)) > 0)
			return n;
	return 0;
}

const char *
ingest_email_subject(const char *tag, const struct mime_message *m)
{
	const char *subject = m->subject != NULL ? m->subject : "", *s, *end;
	char tok[80];

	/* "Re: [S48 #1] Ne radi rasveta" from someone other than ticket 1's
	 * reporter: ticket N's replies read "Re: [S48 #N] Ne radi rasveta",
	 * not "Re: [S48 #N] Re: [S48 #1] Ne radi rasveta"; a forwarded report
	 * ("Fwd: Psi lutalice u parku") is titled without its prefix too.  A
	 * subject of prefixes only stays as it is. */
	s = strip_prefixes(subject);
	if (*s == '\0')
		return subject;
	if (*s != '[' || parse_tag(tag != NULL ? tag : "S48", s, tok, sizeof(tok), &end) == 0)
		return s;
	while (*end == ' ' || *end == '\t')
		end++;
	return end;
}

/* An addr-spec we can reply to: local@domain, printable, no spaces. */
static int
usable_address(const char *a)
{
	const char *at, *p;

	if (a == NULL || strlen(a) > 254)
		return 0;
	at = strchr(a, '@');
	if (at == NULL || at == a || at[1] == '\0' || strchr(at + 1, '@') != NULL ||
	    strchr(at + 1, '.') == NULL)
		return 0;
	for (p = a; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || *p == '<' || *p == '>' || *p == '(' ||
		    *p == ')' || *p == ',' || *p == ';' || *p == '"' || *p == '\\' ||
		    (unsigned char)*p == 0x7f)
			return 0;
	return 1;
}

/* Why a message is automatic (no ticket, no reply), or NULL. */
static const char *
automatic_reason(const struct s48_config *cfg, const struct mime_message *m,
    const char *sender)
{
	if (m->has_s48_loop)
		return "X-S48-Loop: our own mail";
	if (m->auto_reason != NULL)
		return m->auto_reason;
	if (m->empty_return_path)
		return "empty return path";
	if (sender == NULL)
		return NULL;
	if ((cfg->smtp.from_addr != NULL && strcasecmp(sender, cfg->smtp.from_addr) == 0) ||
	    (cfg->imap.user != NULL && strcasecmp(sender, cfg->imap.user) == 0))
		return "from our own address";
	if (strncasecmp(sender, "mailer-daemon@", 14) == 0 ||
	    strncasecmp(sender, "postmaster@", 11) == 0)
		return "from MAILER-DAEMON/postmaster";
	return NULL;
}

/* First of In-Reply-To, References (newest first) that names a ticket. */
static int
find_by_thread(struct ingest_run *r, const struct mime_message *m, long *id_r,
    const char **error_r)
{
	const char *err = NULL;
	size_t i;
	int rc;

	if (m->in_reply_to != NULL) {
		rc = tickets_find_by_message_id(r->ctx->st, m->in_reply_to, id_r, &err);
		if (rc != TICKETS_ENOENT) {
			*error_r = err;
			return rc;
		}
	}
	for (i = m->n_references; i > 0; i--) {
		if (m->references[i - 1] == NULL)
			continue;
		rc = tickets_find_by_message_id(r->ctx->st, m->references[i - 1], id_r, &err);
		if (rc != TICKETS_ENOENT) {
			*error_r = err;
			return rc;
		}
	}
	return TICKETS_ENOENT;
}

/* "Re: subject" for replies to staff (prefixes not repeated). */
static char *
reply_subject(const char *subject)
{
	return xasprintf("Re: %s", strip_prefixes(subject != NULL ? subject : ""));
}

static char *
trim_dup(const char *s)
{
	const char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	return xstrndup(s, (size_t)(e - s));
}

/* A reply to a department notification.  0, -1. */
static int
staff_email(struct ingest_run *r, const struct ingest_item *it, const struct mime_message *m,
    const char *sender, long id, const char *tok, struct ingest_result *res,
    const char **error_r)
{
	const struct s48_config *cfg = r->ctx->cfg;
	const struct cfg_department *d;
	struct staff_cmd sc;
	struct ticket *t = NULL;
	const char *err = NULL;
	char expect[17], mask[64];
	char *body = NULL, *subj = NULL, *msg = NULL, *note = NULL;
	int rc = 0;

	memset(&sc, 0, sizeof(sc));
	if (cfg->secret == NULL || cfg->secret[0] == '\0') {
		res->outcome = INGEST_IGNORED;
		free(res->note);        /* may hold "parse: ..." (a leak found by fuzz_ingest) */
		res->note = xstrdup("staff token cannot be checked: no secret loaded");
		log_warnx("ingest %s: staff reply for #%ld: no secret loaded", it->source_key, id);
		return 0;
	}
	util_staff_token(cfg->secret, id, expect);
	if (!ingest_ct_equal(tok, expect)) {
		res->outcome = INGEST_IGNORED;
		free(res->note);
		res->note = xasprintf("bad staff token for ticket %ld", id);
		log_info("ingest %s: reply for ticket %ld from %s with a bad token ignored",
		    it->source_key, id, log_mask(sender != NULL ? sender : "?", mask, sizeof(mask)));
		return 0;
	}
	rc = tickets_get(r->ctx->st, id, &t, &err);
	if (rc == -1) {
		*error_r = err;
		return -1;
	}
	if (rc != 0) {
		res->outcome = INGEST_IGNORED;
		free(res->note);
		res->note = xasprintf("staff reply for unknown ticket %ld", id);
		log_info("ingest %s: staff reply for unknown ticket %ld ignored", it->source_key, id);
		return 0;
	}
	res->outcome = INGEST_STAFF;
	res->ticket_id = id;
	d = config_dept(cfg, t->department, NULL);
	subj = reply_subject(m->subject);
	if (sender == NULL || d == NULL || !(ingest_in_list(d->email.v, d->email.n, sender) ||
	    ingest_in_list(d->staff_emails.v, d->staff_emails.n, sender))) {
		free(res->note);
		res->note = xstrdup("staff reply from an address not allowed");
		log_info("ingest %s: staff reply for ticket %ld from %s refused: not an address "
		    "of %s", it->source_key, id, log_mask(sender != NULL ? sender : "?", mask,
		    sizeof(mask)), t->department);
		if (sender != NULL) {
			msg = xasprintf("Vasa poruka nije primenjena na prijavu br. %ld: adresa %s "
			    "nije medju adresama odeljenja \"%s\" kojem prijava pripada.\n\n"
			    "Your message was not applied to ticket %ld: %s is not an address of "
			    "the ticket's department.\n", id, sender, d != NULL ? d->name :
			    t->department, id, sender);
			rc = ingest_queue_email(r, id, sender, "staff_reply", subj, msg,
			    m->message_id, 1, error_r);
		}
		goto done;
	}
	body = mime_strip_quotes(m->text != NULL ? m->text : "");
	cmd_parse_staff_email(body, &sc);
	if (sc.kind == STAFF_CMD_NONE) {
		note = trim_dup(body);
		if (note[0] == '\0') {
			free(res->note);
			res->note = xstrdup("empty staff reply");
			rc = 0;
			goto done;
		}
		sc.kind = STAFF_CMD_NOTE;
		free(sc.arg);
		sc.arg = note;
		note = NULL;
	}
	rc = ingest_apply_staff(r, id, &sc, sender, &err);
	if (rc == -1) {
		*error_r = err;
		goto done;
	}
	if (rc != 0) {
		free(res->note);
		res->note = xasprintf("staff command refused: %s", err);
		log_info("ingest %s: staff command for ticket %ld refused: %s", it->source_key,
		    id, err);
		msg = xasprintf("Komanda nije izvrsena za prijavu br. %ld: %s\n\n"
		    "The command was not applied to ticket %ld: %s\n", id, err, id, err);
		rc = ingest_queue_email(r, id, sender, "staff_reply", subj, msg, m->message_id,
		    1, error_r);
		goto done;
	}
	log_info("ingest %s: staff command for ticket %ld applied (%s)", it->source_key, id,
	    sc.kind == STAFF_CMD_STATUS ? sc.status : sc.kind == STAFF_CMD_ASSIGN ?
	    "assign" : "note");
	rc = 0;
done:
	tickets_free(&t);
	staff_cmd_free(&sc);
	free(body);
	free(subj);
	free(msg);
	free(note);
	return rc < 0 ? -1 : 0;
}

int
ingest_email_decide(struct ingest_run *r, struct ingest_item *it, struct mime_message *m,
    int64_t raw_id, struct ingest_result *res, const char **error_r)
{
	const struct s48_config *cfg = r->ctx->cfg;
	struct tickets_input in;
	const char *sender, *why, *err = NULL;
	char tok[80], mask[64];
	char *text = NULL;
	long id = 0;
	int rc = 0;

	sender = usable_address(m->from_addr) ? m->from_addr : NULL;
	res->sender = xstrdup(m->from_addr != NULL ? m->from_addr : NULL);
	res->sent_at = m->date > 0 ? m->date : 0;
	if (m->parse_error != NULL)
		res->note = xasprintf("parse: %s", m->parse_error);

	if ((why = automatic_reason(cfg, m, sender)) != NULL) {
		res->outcome = INGEST_IGNORED;
		free(res->note);
		res->note = xasprintf("automatic: %s", why);
		log_info("ingest %s: automatic mail from %s ignored (%s)", it->source_key,
		    log_mask(m->from_addr != NULL ? m->from_addr : "<>", mask, sizeof(mask)), why);
		goto done;
	}

	id = find_tag(cfg->ticket_tag != NULL ? cfg->ticket_tag : "S48", m->subject, tok,
	    sizeof(tok));
	if (id > 0 && tok[0] != '\0') {
		rc = staff_email(r, it, m, sender, id, tok, res, error_r);
		goto done;
	}
	if (id <= 0 && (m->in_reply_to != NULL || m->n_references > 0)) {
		rc = find_by_thread(r, m, &id, &err);
		if (rc == -1) {
			*error_r = err;
			goto done;
		}
		if (rc != 0)
			id = 0;
	}
	if (id > 0 && sender != NULL) {
		char *rep = NULL;

		rc = tickets_reporter_of(r->ctx->st, id, &rep, NULL, &err);
		if (rc == -1) {
			*error_r = err;
			goto done;
		}
		if (rc == 0 && strcasecmp(rep, sender) == 0) {
			free(rep);
			text = mime_strip_quotes(m->text != NULL ? m->text : "");
			memset(&in, 0, sizeof(in));
			in.channel = "email";
			in.subject = m->subject;
			in.text = text;
			in.at = it->received_at != 0 ? it->received_at : r->now;
			in.message_id = m->message_id;
			in.raw_id = raw_id;
			in.now = r->now;
			in.att = m->att;
			in.n_att = m->n_att;
			rc = tickets_append(&r->tc, id, &in, &err);
			if (rc != 0) {
				*error_r = err;
				rc = rc == -1 ? -1 : 1;
				goto done;
			}
			res->outcome = INGEST_APPEND;
			res->ticket_id = id;
			goto done;
		}
		free(rep);
		/* Not the reporter (or no such ticket): a new report. */
	}

	memset(&in, 0, sizeof(in));
	in.channel = "email";
	in.reporter = sender != NULL ? sender : INGEST_UNKNOWN_REPORTER;
	in.subject = ingest_email_subject(cfg->ticket_tag, m);
	in.text = ingest_email_text(m);
	in.at = it->received_at != 0 ? it->received_at : r->now;
	in.message_id = m->message_id;
	in.raw_id = raw_id;
	in.now = r->now;
	in.att = m->att;
	in.n_att = m->n_att;
	in.flags = TICKETS_F_AUTO | (it->backlog ? TICKETS_F_BACKLOG : 0) |
	    (sender == NULL ? TICKETS_F_NO_ACK : 0);
	/* routed ahead on the parse thread from this subject and text (NULL:
	 * tickets_create routes them) */
	if (r->cur_dept >= 0 && (size_t)r->cur_dept < cfg->n_depts)
		in.department = cfg->depts[r->cur_dept].id;
	rc = tickets_create(&r->tc, &in, &id, &err);
	if (rc != 0) {
		*error_r = err;
		rc = rc == -1 ? -1 : 1;
		goto done;
	}
	res->outcome = INGEST_TICKET;
	res->ticket_id = id;
	if (sender == NULL) {
		free(res->note);
		res->note = xasprintf("no usable From address%s%s",
		    m->parse_error != NULL ? "; parse: " : "",
		    m->parse_error != NULL ? m->parse_error : "");
	}
done:
	free(text);
	mime_message_free(&m);
	return rc < 0 ? -1 : rc > 0 ? 1 : 0;
}
