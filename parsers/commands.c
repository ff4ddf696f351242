/*
 * commands.c - citizen SMS commands and staff commands (SPEC section 3).
 *
 * Keywords are compared on the normalised form (norm_text), so STATUS,
 * status, Status, СТАТУС and "stanje" all work; free text (notes, appended
 * text, reports) is handed back as written, only trimmed.
 */
#include "commands.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "normalize.h"
#include "util.h"

#define TICKET_DIGITS_MAX 15

/* Length of a leading "space" at s: ASCII white space, NBSP, BOM,
 * zero-width space; 0 if none. */
static size_t
space_len(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;

	if (len >= 1 && (p[0] == ' ' || (p[0] >= '\t' && p[0] <= '\r')))
		return 1;
	if (len >= 2 && p[0] == 0xC2 && p[1] == 0xA0)
		return 2;
	if (len >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF)
		return 3;
	if (len >= 3 && p[0] == 0xE2 && p[1] == 0x80 && p[2] == 0x8B)
		return 3;
	return 0;
}

/* Length of a trailing "space" ending at s + len; 0 if none. */
static size_t
space_len_back(const char *s, size_t len)
{
	if (len >= 1 && space_len(s + len - 1, 1) == 1)
		return 1;
	if (len >= 2 && space_len(s + len - 2, 2) == 2)
		return 2;
	if (len >= 3 && space_len(s + len - 3, 3) == 3)
		return 3;
	return 0;
}

static void
trim(const char **s, size_t *len)
{
	size_t n;

	while ((n = space_len(*s, *len)) > 0) {
		*s += n;
		*len -= n;
	}
	while ((n = space_len_back(*s, *len)) > 0)
		*len -= n;
}

/* Parse up to TICKET_DIGITS_MAX digits at s; returns digits consumed
 * (0 if none or too many), the value in *n. */
static size_t
parse_ticket(const char *s, size_t len, long *n)
{
	size_t i = 0;
	long v = 0;

	while (i < len && s[i] >= '0' && s[i] <= '9') {
		if (i == TICKET_DIGITS_MAX)
			return 0;
		v = v * 10 + (s[i] - '0');
		i++;
	}
	*n = v;
	return i;
}

static int
all_digits(const char *s, size_t len)
{
	size_t i;

	if (len == 0)
		return 0;
	for (i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

static int
word_is(const char *w, size_t len, const char *lit)
{
	return strlen(lit) == len && memcmp(w, lit, len) == 0;
}

static int
word_in(const char *w, size_t len, const char *const *set)
{
	for (; *set != NULL; set++)
		if (word_is(w, len, *set))
			return 1;
	return 0;
}

static const char *const status_words[] = { "status", "stanje", NULL };
/* may stand between STATUS and the number: "stanje prijave br. 12" */
static const char *const filler_words[] = { "br", "broj", "prijava", "prijave", "za", "n", "no",
	NULL };

/*
 * The normalised message as a STATUS command: 1 and *ticket (0 for a bare
 * STATUS) if it is one, else 0.
 */
static int
match_status(const char *n, long *ticket)
{
	const char *w[16];
	size_t wl[16], nw = 0, pos = 0, len, i, k;
	const char *x;

	while ((x = norm_next_word(n, &pos, &len)) != NULL) {
		if (nw == 16)
			return 0;
		w[nw] = x;
		wl[nw++] = len;
	}
	if (nw == 0)
		return 0;
	/* STATUS12 written together */
	for (k = 0; status_words[k] != NULL; k++) {
		size_t sl = strlen(status_words[k]);

		if (nw == 1 && wl[0] > sl && memcmp(w[0], status_words[k], sl) == 0 &&
		    all_digits(w[0] + sl, wl[0] - sl))
			return parse_ticket(w[0] + sl, wl[0] - sl, ticket) > 0;
	}
	if (!word_in(w[0], wl[0], status_words))
		return 0;
	for (i = 1; i < nw && word_in(w[i], wl[i], filler_words); i++)
		;
	if (i == nw) {
		/* "STATUS" or "status prijave": the sender's latest */
		if (nw > 2)
			return 0;
		*ticket = 0;
		return 1;
	}
	if (i + 1 != nw || !all_digits(w[i], wl[i]))
		return 0;
	return parse_ticket(w[i], wl[i], ticket) > 0;
}

void
cmd_parse_sms(const char *text, struct sms_cmd *out)
{
	char *rep = NULL, *n = NULL;
	const char *s;
	size_t len;
	long ticket = 0;

	memset(out, 0, sizeof(*out));
	out->kind = SMS_CMD_EMPTY;
	if (text == NULL)
		return;
	rep = norm_utf8_repair(text, strlen(text));
	s = rep;
	len = strlen(rep);
	trim(&s, &len);
	n = norm_text(s, len);
	if (n[0] == '\0')
		goto done;              /* nothing to read: help */
	if (strcmp(n, "stop") == 0) {
		out->kind = SMS_CMD_STOP;
		goto done;
	}
	if (strcmp(n, "start") == 0) {
		out->kind = SMS_CMD_START;
		goto done;
	}
	if (match_status(n, &ticket)) {
		out->kind = SMS_CMD_STATUS;
		out->ticket = ticket;
		goto done;
	}
	if (len > 1 && s[0] == '#') {
		const char *p = s + 1;
		size_t rest = len - 1, d, sp;

		while ((sp = space_len(p, rest)) > 0) {
			p += sp;
			rest -= sp;
		}
		d = parse_ticket(p, rest, &ticket);
		if (d > 0 && ticket > 0) {
			p += d;
			rest -= d;
			/* "#12: text", "#12 - text", "#12, text" */
			while (rest > 0 && (space_len(p, rest) > 0 || *p == ':' || *p == '-' ||
			    *p == ',' || *p == '.' || *p == ')')) {
				size_t k = space_len(p, rest);

				k = k ? k : 1;
				p += k;
				rest -= k;
			}
			trim(&p, &rest);
			if (rest > 0) {
				/* "#12 STATUS" is a question too */
				char *tn = norm_text(p, rest);
				int q = word_in(tn, strlen(tn), status_words);

				free(tn);
				if (q)
					rest = 0;
			}
			if (rest == 0) {
				/* "#12" alone asks about ticket 12 */
				out->kind = SMS_CMD_STATUS;
				out->ticket = ticket;
			} else {
				out->kind = SMS_CMD_APPEND;
				out->ticket = ticket;
				out->text = xstrndup(p, rest);
			}
			goto done;
		}
		ticket = 0;
	}
	out->kind = SMS_CMD_TEXT;
	out->text = xstrndup(s, len);
done:
	free(n);
	free(rep);
}

void
sms_cmd_free(struct sms_cmd *c)
{
	if (c == NULL)
		return;
	free(c->text);
	c->text = NULL;
}

/* ---- staff ---- */

enum staff_word { SW_UNKNOWN, SW_STATUS, SW_ASSIGN, SW_NOTE };

static const struct {
	const char *word;       /* normalised, separators removed */
	enum staff_word kind;
	const char *status;
} staff_words[] = {
	{ "inprogress", SW_STATUS, "in_progress" },
	{ "uradu", SW_STATUS, "in_progress" },
	{ "resolved", SW_STATUS, "resolved" },
	{ "resen", SW_STATUS, "resolved" },
	{ "reseno", SW_STATUS, "resolved" },
	{ "resena", SW_STATUS, "resolved" },
	{ "rejected", SW_STATUS, "rejected" },
	{ "odbijen", SW_STATUS, "rejected" },
	{ "odbijeno", SW_STATUS, "rejected" },
	{ "odbijena", SW_STATUS, "rejected" },
	{ "open", SW_STATUS, "open" },
	{ "reopen", SW_STATUS, "open" },
	{ "otvoren", SW_STATUS, "open" },
	{ "otvoreno", SW_STATUS, "open" },
	{ "otvorena", SW_STATUS, "open" },
	{ "assign", SW_ASSIGN, NULL },
	{ "dodeli", SW_ASSIGN, NULL },
	{ "note", SW_NOTE, NULL },
	{ "napomena", SW_NOTE, NULL },
	{ "beleska", SW_NOTE, NULL },
};

static const char usage[] =
    "use #in_progress, #resolved, #rejected or #open [note], #assign DEPT or #note TEXT";

static void
staff_invalid(struct staff_cmd *out, const char *why)
{
	out->kind = STAFF_CMD_INVALID;
	free(out->arg);
	out->arg = xstrdup(why);
}

/*
 * Parse "WORD [rest]" (the text after '#' and any ticket number) into out.
 * s[0..len) is already trimmed at both ends.
 */
static void
parse_staff_word(const char *s, size_t len, struct staff_cmd *out)
{
	size_t wl = 0, i, j, k;
	char *n, *key;
	enum staff_word kind = SW_UNKNOWN;
	const char *status = NULL, *rest;
	size_t restlen;

	/* the word: up to white space or ':' */
	while (wl < len && space_len(s + wl, len - wl) == 0 && s[wl] != ':')
		wl++;
	if (wl == 0) {
		staff_invalid(out, "a command word must follow '#'");
		return;
	}
	n = norm_text(s, wl);
	key = xmalloc(strlen(n) + 1);
	for (i = j = 0; n[i] != '\0'; i++)
		if (n[i] != ' ')
			key[j++] = n[i];
	key[j] = '\0';
	rest = s + wl;
	restlen = len - wl;
	for (k = 0; k < sizeof(staff_words) / sizeof(staff_words[0]); k++)
		if (strcmp(key, staff_words[k].word) == 0) {
			kind = staff_words[k].kind;
			status = staff_words[k].status;
			break;
		}
	if (kind == SW_UNKNOWN && strcmp(key, "u") == 0) {
		/* "#u radu" written with a space */
		const char *r = rest;
		size_t rl = restlen, sp;

		while ((sp = space_len(r, rl)) > 0) {
			r += sp;
			rl -= sp;
		}
		if (rl >= 4 && strncasecmp(r, "radu", 4) == 0 &&
		    (rl == 4 || space_len(r + 4, rl - 4) > 0 || r[4] == ':')) {
			kind = SW_STATUS;
			status = "in_progress";
			rest = r + 4;
			restlen = rl - 4;
		}
	}
	if (kind == SW_UNKNOWN) {
		/* at most 40 bytes of the word, never half a UTF-8 character */
		size_t cut = wl > 40 ? 40 : wl;
		char *why;

		while (cut < wl && cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
			cut--;
		why = xasprintf("unknown command #%.*s: %s", (int)cut, s, usage);

		staff_invalid(out, why);
		free(why);
		goto done;
	}
	/* separators between the word and its argument */
	while (restlen > 0 && (space_len(rest, restlen) > 0 || *rest == ':' || *rest == '-')) {
		size_t sp = space_len(rest, restlen);

		sp = sp ? sp : 1;
		rest += sp;
		restlen -= sp;
	}
	trim(&rest, &restlen);
	switch (kind) {
	case SW_STATUS:
		out->kind = STAFF_CMD_STATUS;
		util_strlcpy(out->status, status, sizeof(out->status));
		out->arg = restlen > 0 ? xstrndup(rest, restlen) : NULL;
		break;
	case SW_ASSIGN:
		if (restlen == 0) {
			staff_invalid(out, "#assign needs a department id, e.g. #assign lighting");
			break;
		}
		for (i = 0; i < restlen && space_len(rest + i, restlen - i) == 0; i++)
			;
		out->kind = STAFF_CMD_ASSIGN;
		out->arg = xstrndup(rest, i);
		break;
	case SW_NOTE:
		if (restlen == 0) {
			staff_invalid(out, "#note needs a text");
			break;
		}
		out->kind = STAFF_CMD_NOTE;
		out->arg = xstrndup(rest, restlen);
		break;
	case SW_UNKNOWN:
		break;
	}
done:
	free(n);
	free(key);
}

void
cmd_parse_staff_email(const char *body, struct staff_cmd *out)
{
	char *rep;
	const char *p, *line = NULL;
	size_t len = 0;

	memset(out, 0, sizeof(*out));
	out->kind = STAFF_CMD_NONE;
	if (body == NULL)
		return;
	rep = norm_utf8_repair(body, strlen(body));
	for (p = rep; *p != '\0';) {
		const char *e = strchr(p, '\n');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		const char *t = p;

		trim(&t, &l);
		if (l > 0) {
			line = t;
			len = l;
			break;
		}
		if (e == NULL)
			break;
		p = e + 1;
	}
	if (line == NULL || line[0] != '#')
		goto done;
	line++;
	len--;
	trim(&line, &len);
	if (len > 0 && line[0] >= '0' && line[0] <= '9') {
		staff_invalid(out, "no ticket number in a reply: the subject names the ticket; "
		    "write e.g. #resolved NOTE");
		goto done;
	}
	parse_staff_word(line, len, out);
done:
	free(rep);
}

void
cmd_parse_staff_sms(const char *text, struct staff_cmd *out)
{
	char *rep;
	const char *s;
	size_t len, d;
	long ticket = 0;

	memset(out, 0, sizeof(*out));
	out->kind = STAFF_CMD_NONE;
	if (text == NULL)
		return;
	rep = norm_utf8_repair(text, strlen(text));
	s = rep;
	len = strlen(rep);
	trim(&s, &len);
	if (len == 0 || s[0] != '#')
		goto done;
	s++;
	len--;
	trim(&s, &len);
	d = parse_ticket(s, len, &ticket);
	if (d == 0 || ticket <= 0) {
		staff_invalid(out, "start with the ticket number: #12 resolved NOTE");
		goto done;
	}
	out->ticket = ticket;
	s += d;
	len -= d;
	if (len > 0 && space_len(s, len) == 0 && s[0] != ':') {
		staff_invalid(out, "start with the ticket number: #12 resolved NOTE");
		goto done;
	}
	while (len > 0 && s[0] == ':') {
		s++;
		len--;
	}
	trim(&s, &len);
	if (len > 0 && s[0] == '#') {       /* "#12 #resolved" */
		s++;
		len--;
		trim(&s, &len);
	}
	if (len == 0) {
		staff_invalid(out, "a status must follow the ticket number: #12 resolved NOTE");
		goto done;
	}
	parse_staff_word(s, len, out);
done:
	free(rep);
}

void
staff_cmd_free(struct staff_cmd *c)
{
	if (c == NULL)
		return;
	free(c->arg);
	c->arg = NULL;
}
