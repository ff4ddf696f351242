/* sms_gateway.c - the SMS gateway interface: profile choice and shared helpers. */
#include "sms_gateway_p.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway_json.h"

static const struct sms_profile *const profiles[] = {
	&sms_profile_infobip,
	&sms_profile_twilio,
	&sms_profile_generic,
};

struct sms_gateway *
sms_gateway_new(const struct cfg_sms *cfg, const char **error_r)
{
	const struct sms_profile *prof = NULL;
	struct sms_gateway *gw;
	size_t i;

	if (cfg == NULL || cfg->profile == NULL) {
		*error_r = "sms.profile is not set";
		return NULL;
	}
	for (i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++) {
		if (strcmp(profiles[i]->name, cfg->profile) == 0)
			prof = profiles[i];
	}
	if (prof == NULL) {
		*error_r = "unknown sms.profile (infobip, twilio or generic)";
		return NULL;
	}
	if (prof->check(cfg, error_r) < 0)
		return NULL;
	gw = xcalloc(1, sizeof(*gw));
	gw->cfg = cfg;
	gw->prof = prof;
	gw->http = http_client_new(error_r);
	if (gw->http == NULL) {
		free(gw);
		return NULL;
	}
	return gw;
}

void
sms_gateway_free(struct sms_gateway **gwp)
{
	struct sms_gateway *gw = *gwp;

	if (gw == NULL)
		return;
	http_client_free(&gw->http);
	free(gw);
	*gwp = NULL;
}

const char *
sms_gateway_profile(const struct sms_gateway *gw)
{
	return gw->prof->name;
}

int
sms_gateway_pull(struct sms_gateway *gw, const char *cursor, struct sms_in **msgs_r,
    size_t *n_r, char **cursor_r, int *more_r, const char **error_r)
{
	*msgs_r = NULL;
	*n_r = 0;
	*cursor_r = NULL;
	*more_r = 0;
	return gw->prof->pull(gw, cursor, msgs_r, n_r, cursor_r, more_r, error_r);
}

int
sms_gateway_ack(struct sms_gateway *gw, const struct sms_in *msgs, size_t n,
    const char **error_r)
{
	if (gw->prof->ack == NULL || n == 0)
		return 0;
	return gw->prof->ack(gw, msgs, n, error_r);
}

int
sms_gateway_reconcile(struct sms_gateway *gw, time_t since, struct sms_in **msgs_r,
    size_t *n_r, const char **error_r)
{
	*msgs_r = NULL;
	*n_r = 0;
	if (gw->prof->reconcile == NULL)
		return 0;
	if (gw->prof->reconcile(gw, since, msgs_r, n_r, error_r) < 0)
		return -1;
	gw->reconcile_wanted = 0;
	return 0;
}

int
sms_gateway_reconcile_wanted(const struct sms_gateway *gw)
{
	return gw->reconcile_wanted;
}

void
sms_gateway_not_stored(struct sms_gateway *gw)
{
	if (gw->prof->reconcile != NULL)
		gw->reconcile_wanted = 1;
	/* generic ack mode: that batch comes again, and that is no sign of
	 * a gateway that does not forget (more_r stays 1 for it) */
	gw->last_batch[0] = '\0';
}

int
sms_gateway_send(struct sms_gateway *gw, const char *to, const char *text,
    char **reason_r, int *stopped_r)
{
	int dummy;

	if (stopped_r == NULL)
		stopped_r = &dummy;
	*stopped_r = 0;
	*reason_r = NULL;
	if (to == NULL || to[0] == '\0') {
		*reason_r = xstrdup("no recipient");
		return NOTIFY_PERMFAIL;
	}
	return gw->prof->send(gw, to, text != NULL ? text : "", reason_r, stopped_r);
}

void
sms_in_free(struct sms_in **msgsp, size_t n)
{
	struct sms_in *msgs = *msgsp;
	size_t i;

	if (msgs == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(msgs[i].id);
		free(msgs[i].from);
		free(msgs[i].text);
		free(msgs[i].raw);
	}
	free(msgs);
	*msgsp = NULL;
}

/* ---- shared helpers (sms_gateway_p.h) ---- */

const char *
sms_gw_error(struct sms_gateway *gw, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(gw->err, sizeof(gw->err), fmt, ap);
	va_end(ap);
	return gw->err;
}

char *
sms_gw_url(const struct sms_gateway *gw, const char *path)
{
	const char *base = gw->cfg->base_url != NULL ? gw->cfg->base_url : "";
	size_t n = strlen(base);

	while (n > 0 && base[n - 1] == '/')
		n--;
	return xasprintf("%.*s%s", (int)n, base, path);
}

int
sms_gw_http(struct sms_gateway *gw, struct http_request *req, struct http_response *resp,
    const char **error_r)
{
	req->timeout = gw->cfg->timeout > 0 ? gw->cfg->timeout : 20;
	return http_client_do(gw->http, req, resp, error_r);
}

int
sms_gw_json_answer(struct sms_gateway *gw, const struct http_response *resp,
    json_t **root_r, const char **error_r)
{
	char *jerr = NULL;

	*root_r = NULL;
	if (resp->status < 200 || resp->status > 299) {
		*error_r = sms_gw_error(gw, "%s: HTTP %ld %s", gw->prof->name, resp->status,
		    http_status_text(resp->status));
		return -1;
	}
	*root_r = gateway_json_load(resp->body, resp->len, &jerr);
	if (*root_r == NULL) {
		*error_r = sms_gw_error(gw, "%s: unreadable answer (%zu bytes): %s",
		    gw->prof->name, resp->len, jerr);
		free(jerr);
		return -1;
	}
	return 0;
}

static int
all_digits(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return 0;
	}
	return 1;
}

static time_t
parse_time(json_t *v, int kind)
{
	const char *s;
	double d;
	time_t t = -1;

	if (v == NULL)
		return 0;
	if (json_is_number(v) && kind == 'a') {
		d = json_number_value(v);
		if (d > 1e11)
			d /= 1000;
		return d > 0 ? (time_t)d : 0;
	}
	if (!json_is_string(v))
		return 0;
	s = json_string_value(v);
	if (kind == 'r') {
		t = util_parse_rfc2822(s);
		if (t == (time_t)-1)
			t = util_parse_iso8601(s);
	} else {
		t = util_parse_iso8601(s);
		if (t == (time_t)-1 && kind == 'a' && all_digits(s) && strlen(s) < 16) {
			d = strtod(s, NULL);
			if (d > 1e11)
				d /= 1000;
			t = (time_t)d;
		}
	}
	return t == (time_t)-1 ? 0 : t;
}

int
sms_gw_list_add(struct sms_gw_list *l, json_t *obj, const char *id_path,
    const char *from_path, const char *text_path, const char *time_path, int time_kind)
{
	struct sms_in m;
	char hex[65];
	char *raw;

	if (l->n >= SMS_GW_MAX_BATCH)
		return -1;
	raw = json_dumps(obj, JSON_COMPACT | JSON_ENCODE_ANY);
	if (raw == NULL)
		fatalx("out of memory");
	memset(&m, 0, sizeof(m));
	m.raw_len = strlen(raw);
	m.raw = xstrndup(raw, m.raw_len);
	free(raw);
	m.id = gateway_json_path_text(obj, id_path);
	if (m.id == NULL || m.id[0] == '\0') {
		free(m.id);
		util_sha256_hex(m.raw, m.raw_len, hex);
		m.id = xasprintf("sha256:%s", hex);
	}
	m.from = gateway_json_path_text(obj, from_path);
	if (m.from == NULL)
		m.from = xstrdup("");
	m.text = gateway_json_path_text(obj, text_path);
	if (m.text == NULL)
		m.text = xstrdup("");
	m.received_at = parse_time(gateway_json_path(obj, time_path), time_kind);
	return sms_gw_list_push(l, &m);
}

int
sms_gw_list_push(struct sms_gw_list *l, struct sms_in *m)
{
	if (l->n >= SMS_GW_MAX_BATCH)
		return -1;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n++] = *m;
	memset(m, 0, sizeof(*m));
	return 0;
}

void
sms_gw_list_free(struct sms_gw_list *l)
{
	sms_in_free(&l->v, l->n);
	l->n = l->cap = 0;
}

int
sms_gw_send_class(long status)
{
	if (status >= 200 && status <= 299)
		return NOTIFY_OK;
	if (status == 408 || status == 429 || status >= 500 || status < 200)
		return NOTIFY_TEMPFAIL;
	if (status >= 400)
		return NOTIFY_PERMFAIL;
	return NOTIFY_TEMPFAIL;         /* 3xx: redirects are not followed */
}

int
sms_gw_send_transport(const char *error, char **reason_r)
{
	*reason_r = xstrdup(error);
	return NOTIFY_TEMPFAIL;
}

char *
sms_gw_clean(const char *s, size_t max)
{
	char *out;
	size_t i, j, n;

	if (s == NULL)
		return xstrdup("");
	n = strlen(s);
	if (n > max)
		n = max;
	out = xstrndup(s, n);
	for (i = 0; out[i] != '\0'; i++) {
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
			out[i] = ' ';
	}
	/* never end with half a UTF-8 sequence */
	j = i;
	while (j > 0 && ((unsigned char)out[j - 1] & 0xC0) == 0x80)
		j--;
	if (j > 0 && ((unsigned char)out[j - 1] & 0x80) != 0) {
		unsigned char lead = (unsigned char)out[j - 1];
		size_t want = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;

		if (i - (j - 1) < want)
			out[j - 1] = '\0';
	}
	return out;
}
