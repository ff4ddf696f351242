/* gateway_generic.c - the "generic" SMS profile: any JSON gateway described
 * by URLs, a header template and dot paths (cfg_sms.generic). */
#include "sms_gateway_p.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway_json.h"

/* The path in the config, or the SPEC's example name when not set. */
static const char *
gpath(const char *p, const char *dflt)
{
	return p != NULL && p[0] != '\0' ? p : dflt;
}

static int
set(const char *s)
{
	return s != NULL && s[0] != '\0';
}

/* s with every "{name}" replaced by val; caller frees. */
static char *
replace(const char *s, const char *name, const char *val)
{
	struct buf b;
	const char *p, *hit;
	size_t nlen = strlen(name);

	buf_init(&b, SIZE_MAX / 2);
	for (p = s; (hit = strstr(p, name)) != NULL; p = hit + nlen) {
		buf_append(&b, p, (size_t)(hit - p));
		buf_appends(&b, val);
	}
	buf_appends(&b, p);
	return buf_steal(&b, NULL);
}

static int
generic_check(const struct cfg_sms *cfg, const char **error_r)
{
	const struct cfg_sms_generic *g = &cfg->generic;

	if (!set(g->pull_url) && !set(g->send_url)) {
		*error_r = "generic: neither sms.generic.pull_url nor send_url is set";
		return -1;
	}
	if (set(g->auth_header)) {
		if (strchr(g->auth_header, ':') == NULL ||
		    strpbrk(g->auth_header, "\r\n") != NULL) {
			*error_r = "generic: sms.generic.auth_header must be one \"Name: value\" line";
			return -1;
		}
		if (strstr(g->auth_header, "{key}") != NULL) {
			if (cfg->api_key == NULL || cfg->api_key[0] == '\0') {
				*error_r = "generic: auth_header uses {key} but the API key is not loaded";
				return -1;
			}
			if (strpbrk(cfg->api_key, "\r\n") != NULL) {
				*error_r = "generic: the API key contains a line break";
				return -1;
			}
		}
	}
	return 0;
}

/* The auth header line (or NULL when none); caller frees. */
static char *
auth_line(const struct sms_gateway *gw)
{
	const struct cfg_sms *cfg = gw->cfg;

	if (!set(cfg->generic.auth_header))
		return NULL;
	return replace(cfg->generic.auth_header, "{key}", cfg->api_key ? cfg->api_key : "");
}

static int
generic_pull(struct sms_gateway *gw, const char *cursor, struct sms_in **msgs_r, size_t *n_r,
    char **cursor_r, int *more_r, const char **error_r)
{
	const struct cfg_sms_generic *g = &gw->cfg->generic;
	struct http_request req = { 0 };
	struct http_response resp = { 0 };
	struct sms_gw_list l = { 0 };
	const char *hdrs[2];
	json_t *root = NULL, *arr, *m;
	char *auth, *enc, *url, *next = NULL;
	size_t i, nh = 0;
	int rc = -1;

	if (!set(g->pull_url)) {
		*error_r = sms_gw_error(gw, "generic: sms.generic.pull_url is not set");
		return -1;
	}
	auth = auth_line(gw);
	enc = http_urlencode(cursor != NULL ? cursor : "");
	{
		/* {batch}: sms.batch, so a gateway that takes a limit hands a
		 * large backlog out in parts, not in one answer over the
		 * response bound */
		char nb[24], *u = replace(g->pull_url, "{cursor}", enc);

		snprintf(nb, sizeof(nb), "%d", gw->cfg->batch > 0 ? gw->cfg->batch : 100);
		url = replace(u, "{batch}", nb);
		free(u);
	}
	hdrs[nh++] = "Accept: application/json";
	if (auth != NULL)
		hdrs[nh++] = auth;
	req.method = "GET";
	req.url = url;
	req.headers = hdrs;
	req.n_headers = nh;
	if (sms_gw_http(gw, &req, &resp, error_r) < 0)
		goto fail;
	if (sms_gw_json_answer(gw, &resp, &root, error_r) < 0)
		goto fail;
	arr = gateway_json_path(root, gpath(g->messages_path, "messages"));
	/* a missing array is more likely a wrong messages_path than an empty
	 * inbox: say so on every poll rather than read nothing for ever */
	if (arr == NULL || (!json_is_array(arr) && !json_is_null(arr))) {
		*error_r = sms_gw_error(gw, "generic: no array at \"%s\" in the answer",
		    gpath(g->messages_path, "messages"));
		goto fail;
	}
	json_array_foreach(arr, i, m) {
		if (!json_is_object(m))
			continue;
		if (sms_gw_list_add(&l, m, gpath(g->id_path, "id"), gpath(g->from_path, "from"),
		    gpath(g->text_path, "text"), gpath(g->time_path, "received"), 'a') < 0) {
			*error_r = sms_gw_error(gw, "generic: more than %d messages in one answer",
			    SMS_GW_MAX_BATCH);
			goto fail;
		}
	}
	if (set(g->cursor_path)) {
		next = gateway_json_path_text(root, g->cursor_path);
		if (next != NULL && next[0] == '\0')
			xfree(&next);
		/* more only when the gateway moved the cursor forward */
		*more_r = l.n > 0 && next != NULL && (cursor == NULL || strcmp(next, cursor) != 0);
		if (next == NULL && cursor != NULL)
			next = xstrdup(cursor);
	} else if (set(g->ack_url) && l.n > 0) {
		/* ack mode: pull again after the ack, unless the ack failed or
		 * the gateway handed out the very same batch again */
		char hex[65];
		struct buf ids;

		buf_init(&ids, SIZE_MAX / 2);
		for (i = 0; i < l.n; i++) {
			buf_appends(&ids, l.v[i].id);
			buf_appendc(&ids, '\n');
		}
		util_sha256_hex(ids.data, ids.len, hex);
		buf_free(&ids);
		*more_r = !gw->ack_failed && strcmp(hex, gw->last_batch) != 0;
		memcpy(gw->last_batch, hex, sizeof(hex));
	}
	*cursor_r = next;
	next = NULL;
	*msgs_r = l.v;
	*n_r = l.n;
	l.v = NULL;
	l.n = 0;
	rc = 0;
fail:
	sms_gw_list_free(&l);
	json_decref(root);
	http_response_clear(&resp);
	free(next);
	free(auth);
	free(enc);
	free(url);
	return rc;
}

/* POST a JSON body to url with the configured auth header; 0 or -1
 * (transport error, *error_r).  resp: the caller clears it. */
static int
generic_post_json(struct sms_gateway *gw, const char *url, const char *body,
    struct http_response *resp, const char **error_r)
{
	struct http_request req = { 0 };
	const char *hdrs[3];
	char *auth = auth_line(gw);
	size_t nh = 0;
	int r;

	hdrs[nh++] = "Content-Type: application/json";
	hdrs[nh++] = "Accept: application/json";
	if (auth != NULL)
		hdrs[nh++] = auth;
	req.method = "POST";
	req.url = url;
	req.headers = hdrs;
	req.n_headers = nh;
	req.body = body;
	req.body_len = strlen(body);
	r = sms_gw_http(gw, &req, resp, error_r);
	free(auth);
	return r;
}

static int
generic_ack(struct sms_gateway *gw, const struct sms_in *msgs, size_t n, const char **error_r)
{
	const struct cfg_sms_generic *g = &gw->cfg->generic;
	struct http_response resp = { 0 };
	json_t *ids, *body;
	char *jbody;
	size_t i;
	int rc = -1;

	if (!set(g->ack_url))
		return 0;
	ids = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(ids, json_string(msgs[i].id));
	body = json_pack("{s:o}", "ids", ids);
	jbody = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	if (jbody == NULL)
		fatalx("out of memory");
	if (generic_post_json(gw, g->ack_url, jbody, &resp, error_r) < 0)
		goto fail;
	if (resp.status < 200 || resp.status > 299) {
		*error_r = sms_gw_error(gw, "generic: ack: HTTP %ld %s", resp.status,
		    http_status_text(resp.status));
		goto fail;
	}
	rc = 0;
fail:
	gw->ack_failed = rc < 0;
	http_response_clear(&resp);
	free(jbody);
	return rc;
}

/* JSON string literal for s; caller frees.  NULL when s is not UTF-8. */
static char *
json_literal(const char *s)
{
	json_t *v = json_string(s);
	char *out;

	if (v == NULL)
		return NULL;
	out = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
	json_decref(v);
	if (out == NULL)
		fatalx("out of memory");
	return out;
}

/*
 * send_body with {to} and {text} replaced in ONE pass, so a "{text}" inside
 * the citizen-facing text is never expanded again.
 */
static char *
send_body(const char *tmpl, const char *to, const char *text)
{
	struct buf b;
	const char *p = tmpl;

	buf_init(&b, SIZE_MAX / 2);
	while (*p != '\0') {
		if (strncmp(p, "{to}", 4) == 0) {
			buf_appends(&b, to);
			p += 4;
		} else if (strncmp(p, "{text}", 6) == 0) {
			buf_appends(&b, text);
			p += 6;
		} else {
			buf_appendc(&b, *p++);
		}
	}
	return buf_steal(&b, NULL);
}

static int
generic_send(struct sms_gateway *gw, const char *to, const char *text, char **reason_r,
    int *stopped_r)
{
	const struct cfg_sms_generic *g = &gw->cfg->generic;
	struct http_response resp = { 0 };
	const char *error = NULL;
	char *jto = NULL, *jtext = NULL, *body = NULL;
	int rc;

	(void)stopped_r;
	if (!set(g->send_url)) {
		*reason_r = xstrdup("generic: sms.generic.send_url is not set");
		return NOTIFY_PERMFAIL;
	}
	jto = json_literal(to);
	jtext = json_literal(text);
	if (jto == NULL || jtext == NULL) {
		*reason_r = xstrdup("generic: text or number is not valid UTF-8");
		rc = NOTIFY_PERMFAIL;
		goto out;
	}
	body = send_body(set(g->send_body) ? g->send_body : "{\"to\": {to}, \"text\": {text}}",
	    jto, jtext);
	if (generic_post_json(gw, g->send_url, body, &resp, &error) < 0) {
		rc = sms_gw_send_transport(error, reason_r);
		goto out;
	}
	rc = sms_gw_send_class(resp.status);
	if (rc == NOTIFY_OK) {
		*reason_r = xasprintf("generic HTTP %ld", resp.status);
	} else {
		char *c = sms_gw_clean(resp.body, 120);

		*reason_r = xasprintf("generic: HTTP %ld %s%s%s", resp.status,
		    http_status_text(resp.status), c[0] ? ": " : "", c);
		free(c);
	}
out:
	http_response_clear(&resp);
	free(jto);
	free(jtext);
	free(body);
	return rc;
}

const struct sms_profile sms_profile_generic = {
	.name = "generic",
	.check = generic_check,
	.pull = generic_pull,
	.ack = generic_ack,
	.reconcile = NULL,
	.send = generic_send,
};
