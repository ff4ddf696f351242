/* gateway_infobip.c - the "infobip" SMS profile: destructive inbox pull,
 * inbox log reconciliation, /sms/2/text/advanced sending. */
#include "sms_gateway_p.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway_json.h"
#include "log.h"

#define INFOBIP_LOG_PAGE      1000      /* the log's largest page */
#define INFOBIP_LOG_PAGES_MAX 100       /* 100,000 messages: more than 48 h of any city */

static int
infobip_check(const struct cfg_sms *cfg, const char **error_r)
{
	if (cfg->base_url == NULL || cfg->base_url[0] == '\0') {
		*error_r = "infobip: sms.base_url is not set";
		return -1;
	}
	if (cfg->api_key == NULL || cfg->api_key[0] == '\0') {
		*error_r = "infobip: the API key is not loaded";
		return -1;
	}
	if (strpbrk(cfg->api_key, "\r\n") != NULL) {
		*error_r = "infobip: the API key contains a line break";
		return -1;
	}
	return 0;
}

/* GET url with the App key; the results array into l. */
static int
infobip_get(struct sms_gateway *gw, const char *url, struct sms_gw_list *l, int *more_r,
    const char **error_r)
{
	struct http_request req = { 0 };
	struct http_response resp = { 0 };
	char *auth = xasprintf("Authorization: App %s", gw->cfg->api_key);
	const char *hdrs[] = { auth, "Accept: application/json" };
	json_t *root = NULL, *results, *m, *pending;
	size_t i;
	int rc = -1;

	req.method = "GET";
	req.url = url;
	req.headers = hdrs;
	req.n_headers = 2;
	if (sms_gw_http(gw, &req, &resp, error_r) < 0) {
		/* the gateway may have dequeued messages whose answer was lost */
		if (resp.error != HTTP_ERR_CONNECT && resp.error != HTTP_ERR_TLS)
			gw->reconcile_wanted = 1;
		goto fail;
	}
	if (sms_gw_json_answer(gw, &resp, &root, error_r) < 0) {
		if (resp.status >= 500 || (resp.status >= 200 && resp.status <= 299))
			gw->reconcile_wanted = 1;
		goto fail;
	}
	results = json_object_get(root, "results");
	if (!json_is_array(results)) {
		*error_r = sms_gw_error(gw, "infobip: answer without a \"results\" array");
		gw->reconcile_wanted = 1;
		goto fail;
	}
	json_array_foreach(results, i, m) {
		if (!json_is_object(m))
			continue;
		if (sms_gw_list_add(l, m, "messageId", "from", "text", "receivedAt", 'i') < 0) {
			*error_r = sms_gw_error(gw, "infobip: more than %d messages in one answer",
			    SMS_GW_MAX_BATCH);
			gw->reconcile_wanted = 1;
			goto fail;
		}
	}
	pending = json_object_get(root, "pendingMessageCount");
	if (more_r != NULL)
		*more_r = json_is_number(pending) && json_number_value(pending) > 0;
	rc = 0;
fail:
	json_decref(root);
	http_response_clear(&resp);
	free(auth);
	return rc;
}

static int
infobip_pull(struct sms_gateway *gw, const char *cursor, struct sms_in **msgs_r, size_t *n_r,
    char **cursor_r, int *more_r, const char **error_r)
{
	struct sms_gw_list l = { 0 };
	char path[64];
	char *url;
	int rc;

	(void)cursor;
	*cursor_r = NULL;
	snprintf(path, sizeof(path), "/sms/1/inbox/reports?limit=%d",
	    gw->cfg->batch > 0 ? gw->cfg->batch : 100);
	url = sms_gw_url(gw, path);
	rc = infobip_get(gw, url, &l, more_r, error_r);
	free(url);
	if (rc < 0) {
		sms_gw_list_free(&l);
		return -1;
	}
	*msgs_r = l.v;
	*n_r = l.n;
	return 0;
}

/* t as Infobip writes times, URL-encoded; caller frees. */
static char *
infobip_time_param(time_t t)
{
	struct tm tm;
	char iso[64];

	gmtime_r(&t, &tm);
	strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%S.000+0000", &tm);
	return http_urlencode(iso);
}

static void
reverse(struct sms_in *v, size_t n)
{
	size_t i;

	for (i = 0; i < n / 2; i++) {
		struct sms_in t = v[i];

		v[i] = v[n - 1 - i];
		v[n - 1 - i] = t;
	}
}

/*
 * The log answers with the newest `limit` messages (at most 1000) of the
 * window receivedSince..receivedUntil: read it in pages, each ending one
 * second after the oldest message of the one before (a message in that
 * second comes twice rather than not at all; repeats are dropped by id).
 */
static int
infobip_reconcile(struct sms_gateway *gw, time_t since, struct sms_in **msgs_r, size_t *n_r,
    const char **error_r)
{
	struct sms_gw_list l = { 0 }, page = { 0 };
	time_t until = 0, oldest;
	char *s_enc, *u_enc, *path, *url;
	size_t i, j, prev = 0;          /* l.v[prev..] came from the page before */
	int rc = 0, pages = 0;

	if (since < 0)
		since = 0;
	s_enc = infobip_time_param(since);
	for (;;) {
		u_enc = until > 0 ? infobip_time_param(until) : NULL;
		path = xasprintf("/sms/1/inbox/logs?receivedSince=%s%s%s&limit=%d", s_enc,
		    u_enc != NULL ? "&receivedUntil=" : "", u_enc != NULL ? u_enc : "",
		    INFOBIP_LOG_PAGE);
		url = sms_gw_url(gw, path);
		rc = infobip_get(gw, url, &page, NULL, error_r);
		free(url);
		free(path);
		free(u_enc);
		if (rc < 0)
			break;
		pages++;
		oldest = 0;
		j = l.n;
		for (i = 0; i < page.n; i++) {
			struct sms_in *m = &page.v[i];
			size_t k;
			int seen = 0;

			if (m->received_at > 0 && (oldest == 0 || m->received_at < oldest))
				oldest = m->received_at;
			/* only the second the pages share can repeat */
			for (k = prev; until > 0 && m->received_at >= until - 1 && k < j && !seen; k++)
				seen = strcmp(l.v[k].id, m->id) == 0;
			if (!seen)
				(void)sms_gw_list_push(&l, m);  /* full: l.n stops the paging */
		}
		prev = j;
		sms_gw_list_free(&page);
		if (i < INFOBIP_LOG_PAGE)
			break;          /* a short page: the window is read */
		if (oldest == 0 || oldest <= since || (until > 0 && oldest + 1 >= until) ||
		    pages >= INFOBIP_LOG_PAGES_MAX || l.n >= SMS_GW_MAX_BATCH) {
			/* a full page within one second (or without times): no way further */
			log_warnx("infobip: reconciliation stopped after %d pages of the log "
			    "(%zu messages): older messages of the window were not read", pages, l.n);
			break;
		}
		until = oldest + 1;
	}
	free(s_enc);
	if (rc < 0) {
		sms_gw_list_free(&page);
		sms_gw_list_free(&l);
		return -1;
	}
	/* oldest first, as they arrived; within one second the log's order */
	reverse(l.v, l.n);
	for (i = 0; i < l.n; i = j) {
		for (j = i + 1; j < l.n && l.v[j].received_at == l.v[i].received_at; j++)
			;
		reverse(l.v + i, j - i);
	}
	*msgs_r = l.v;
	*n_r = l.n;
	return 0;
}

/* Infobip wants international numbers without '+'. */
static const char *
no_plus(const char *n)
{
	return n[0] == '+' ? n + 1 : n;
}

/* requestError.serviceException.text of an error answer, or "". */
static char *
infobip_error_text(const struct http_response *resp)
{
	json_t *root;
	char *jerr = NULL, *t = NULL, *clean;

	root = gateway_json_load(resp->body, resp->len, &jerr);
	free(jerr);
	if (root != NULL) {
		t = gateway_json_path_text(root, "requestError.serviceException.text");
		json_decref(root);
	}
	clean = sms_gw_clean(t != NULL ? t : "", 160);
	free(t);
	return clean;
}

static int
infobip_send(struct sms_gateway *gw, const char *to, const char *text, char **reason_r,
    int *stopped_r)
{
	struct http_request req = { 0 };
	struct http_response resp = { 0 };
	char *auth = xasprintf("Authorization: App %s", gw->cfg->api_key);
	const char *hdrs[] = { auth, "Content-Type: application/json", "Accept: application/json" };
	const char *error = NULL;
	json_t *body, *root = NULL, *st;
	char *jbody = NULL, *url = NULL, *group = NULL, *name = NULL, *desc = NULL, *id = NULL;
	char *etext, *jerr = NULL;
	int rc;

	(void)stopped_r;
	body = json_pack("{s:[{s:[{s:s}], s:s}]}", "messages",
	    "destinations", "to", no_plus(to), "text", text);
	/* without our number Infobip uses the account's default sender */
	if (body != NULL && gw->cfg->number != NULL && gw->cfg->number[0] != '\0')
		json_object_set_new(json_array_get(json_object_get(body, "messages"), 0), "from",
		    json_string(no_plus(gw->cfg->number)));
	if (body == NULL) {
		/* json_pack refuses invalid UTF-8: the text was not prepared */
		*reason_r = xstrdup("infobip: text or number is not valid UTF-8");
		rc = NOTIFY_PERMFAIL;
		goto out;
	}
	jbody = json_dumps(body, JSON_COMPACT);
	if (jbody == NULL)
		fatalx("out of memory");
	url = sms_gw_url(gw, "/sms/2/text/advanced");
	req.method = "POST";
	req.url = url;
	req.headers = hdrs;
	req.n_headers = 3;
	req.body = jbody;
	req.body_len = strlen(jbody);
	if (sms_gw_http(gw, &req, &resp, &error) < 0) {
		rc = sms_gw_send_transport(error, reason_r);
		goto out;
	}
	rc = sms_gw_send_class(resp.status);
	if (rc != NOTIFY_OK) {
		etext = infobip_error_text(&resp);
		*reason_r = xasprintf("infobip: HTTP %ld %s%s%s", resp.status,
		    http_status_text(resp.status), etext[0] ? ": " : "", etext);
		free(etext);
		goto out;
	}
	root = gateway_json_load(resp.body, resp.len, &jerr);
	st = gateway_json_path(root, "messages.0.status");
	if (root == NULL || !json_is_object(st)) {
		*reason_r = xasprintf("infobip: unreadable answer to a send%s%s",
		    jerr ? ": " : "", jerr ? jerr : "");
		rc = NOTIFY_TEMPFAIL;
		goto out;
	}
	group = gateway_json_path_text(st, "groupName");
	name = gateway_json_path_text(st, "name");
	desc = gateway_json_path_text(st, "description");
	id = gateway_json_path_text(root, "messages.0.messageId");
	if (group != NULL && (strcmp(group, "REJECTED") == 0 ||
	    strcmp(group, "UNDELIVERABLE") == 0)) {
		char *cn = sms_gw_clean(name ? name : "", 80);
		char *cd = sms_gw_clean(desc ? desc : "", 160);

		*reason_r = xasprintf("infobip: %s%s%s%s%s", group, cn[0] ? ": " : "", cn,
		    cd[0] ? ": " : "", cd);
		free(cn);
		free(cd);
		rc = NOTIFY_PERMFAIL;
		goto out;
	}
	{
		char *ci = sms_gw_clean(id ? id : "", 80);

		*reason_r = xasprintf("infobip %s%s%s", group ? group : "accepted",
		    ci[0] ? " " : "", ci);
		free(ci);
	}
	rc = NOTIFY_OK;
out:
	free(jerr);
	free(group);
	free(name);
	free(desc);
	free(id);
	json_decref(root);
	json_decref(body);
	http_response_clear(&resp);
	free(jbody);
	free(url);
	free(auth);
	return rc;
}

const struct sms_profile sms_profile_infobip = {
	.name = "infobip",
	.check = infobip_check,
	.pull = infobip_pull,
	.ack = NULL,
	.reconcile = infobip_reconcile,
	.send = infobip_send,
};
