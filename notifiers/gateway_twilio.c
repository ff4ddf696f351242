/* gateway_twilio.c - the "twilio" SMS profile: the non-destructive
 * Messages.json list read newest first down to a high-water mark, and
 * form-encoded sending. */
#include "sms_gateway_p.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway_json.h"
#include "log.h"

/* At most this many sids are remembered for the mark's second: more only
 * means duplicates, which ingestion drops. */
#define TWILIO_MAX_MARK_SIDS 1000
#define TWILIO_ERR_UNSUBSCRIBED 21610

/* A high-water mark: the newest date_created seen and the sids at it. */
struct mark {
	long long t;           /* -1: none */
	json_t *sids;          /* array of strings (owned) */
};

static int
twilio_check(const struct cfg_sms *cfg, const char **error_r)
{
	if (cfg->base_url == NULL || cfg->base_url[0] == '\0') {
		*error_r = "twilio: sms.base_url is not set";
		return -1;
	}
	if (cfg->account == NULL || cfg->account[0] == '\0') {
		*error_r = "twilio: sms.account (the Account SID) is not set";
		return -1;
	}
	if (cfg->number == NULL || cfg->number[0] == '\0') {
		*error_r = "twilio: sms.number is not set";
		return -1;
	}
	if (cfg->api_key == NULL || cfg->api_key[0] == '\0') {
		*error_r = "twilio: the auth token (api_key_file) is not loaded";
		return -1;
	}
	return 0;
}

static void
mark_init(struct mark *m)
{
	m->t = -1;
	m->sids = json_array();
}

static void
mark_load(struct mark *m, json_t *obj)
{
	json_t *t = json_object_get(obj, "t"), *sids = json_object_get(obj, "sids"), *s;
	size_t i;

	mark_init(m);
	if (!json_is_integer(t))
		return;
	m->t = json_integer_value(t);
	json_array_foreach(sids, i, s) {
		if (json_is_string(s) && json_array_size(m->sids) < TWILIO_MAX_MARK_SIDS)
			json_array_append(m->sids, s);
	}
}

static json_t *
mark_json(const struct mark *m)
{
	return json_pack("{s:I, s:O}", "t", (json_int_t)m->t, "sids", m->sids);
}

static int
mark_has(const struct mark *m, const char *sid)
{
	json_t *s;
	size_t i;

	json_array_foreach(m->sids, i, s) {
		if (strcmp(json_string_value(s), sid) == 0)
			return 1;
	}
	return 0;
}

/* Take message (t, sid) into the mark when it is at least as new. */
static void
mark_see(struct mark *m, long long t, const char *sid)
{
	if (t > m->t) {
		m->t = t;
		json_array_clear(m->sids);
	}
	if (t == m->t && !mark_has(m, sid) && json_array_size(m->sids) < TWILIO_MAX_MARK_SIDS)
		json_array_append_new(m->sids, json_string(sid));
}

static void
mark_free(struct mark *m)
{
	json_decref(m->sids);
	m->sids = NULL;
}

/* next_page_uri must stay on base_url: credentials go with it. */
static int
relative_uri_ok(const char *u)
{
	return u[0] == '/' && u[1] != '/' && strpbrk(u, "\r\n \\") == NULL &&
	    strncmp(u, "/2010-04-01/Accounts/", 21) == 0;
}

/* An answer to a stored next_page_uri that says the page is gone (404,
 * 400 for a token it does not take, 410) rather than that we may not
 * read (401, 403) or must wait (429, 5xx). */
static int
page_refused(long status)
{
	return status == 400 || status == 404 || status == 410;
}

static int
twilio_pull(struct sms_gateway *gw, const char *cursor, struct sms_in **msgs_r, size_t *n_r,
    char **cursor_r, int *more_r, const char **error_r)
{
	const struct cfg_sms *cfg = gw->cfg;
	struct http_request req = { 0 };
	struct http_response resp = { 0 };
	struct sms_gw_list l = { 0 };
	struct mark old, top;
	const char *hdrs[] = { "Accept: application/json" };
	json_t *state = NULL, *root = NULL, *list, *m, *nextv, *out;
	char *url = NULL, *acct = NULL, *num = NULL, *path = NULL, *next = NULL, *jerr = NULL;
	const char *sid, *dir, *date;
	long long t;
	size_t i;
	int reached = 0, restarted = 0, rc = -1;

	mark_init(&old);
	mark_init(&top);
	/* A cursor that is not ours is ignored: the list is read from the
	 * top again and ingestion drops what it already has. */
	if (cursor != NULL && cursor[0] != '\0')
		state = gateway_json_load(cursor, strlen(cursor), &jerr);
	free(jerr);
	jerr = NULL;
	if (json_is_object(state)) {
		mark_free(&old);
		mark_load(&old, json_object_get(state, "mark"));
		nextv = json_object_get(state, "next");
		if (json_is_string(nextv) && relative_uri_ok(json_string_value(nextv))) {
			next = xstrdup(json_string_value(nextv));
			mark_free(&top);
			mark_load(&top, json_object_get(state, "top"));
			restarted = json_is_true(json_object_get(state, "restarted"));
		}
	}

again:
	if (next != NULL) {
		url = sms_gw_url(gw, next);
	} else {
		acct = http_urlencode(cfg->account);
		num = http_urlencode(cfg->number);
		path = xasprintf("/2010-04-01/Accounts/%s/Messages.json?To=%s&PageSize=%d", acct,
		    num, cfg->batch > 0 ? cfg->batch : 100);
		url = sms_gw_url(gw, path);
	}
	req.method = "GET";
	req.url = url;
	req.headers = hdrs;
	req.n_headers = 1;
	req.basic_user = cfg->account;
	req.basic_password = cfg->api_key;
	if (sms_gw_http(gw, &req, &resp, error_r) < 0)
		goto fail;
	if (next != NULL && page_refused(resp.status) && !restarted) {
		/* the page a poll stopped at is not served any more (an
		 * expired PageToken): read from the top down to the old mark
		 * again; what was read already comes again as duplicates */
		log_warnx("twilio: the next page of the list was refused (HTTP %ld): "
		    "reading the list from the top again", resp.status);
		http_response_clear(&resp);
		free(url);
		url = NULL;
		xfree(&next);
		mark_free(&top);
		mark_init(&top);
		restarted = 1;  /* once per poll: a gateway that refuses every
				 * second page is an error, not a loop */
		goto again;
	}
	if (sms_gw_json_answer(gw, &resp, &root, error_r) < 0)
		goto fail;
	list = json_object_get(root, "messages");
	if (!json_is_array(list)) {
		*error_r = sms_gw_error(gw, "twilio: answer without a \"messages\" array");
		goto fail;
	}
	json_array_foreach(list, i, m) {
		if (!json_is_object(m))
			continue;
		sid = json_string_value(json_object_get(m, "sid"));
		date = json_string_value(json_object_get(m, "date_created"));
		dir = json_string_value(json_object_get(m, "direction"));
		/* our own messages neither count for the mark nor end the
		 * scan: the list goes by when a message was sent, and one of
		 * ours may be sent long after it was created (queued) */
		if (sid == NULL || dir == NULL || strcmp(dir, "inbound") != 0)
			continue;
		t = -1;
		if (date != NULL) {
			t = util_parse_rfc2822(date);
			if (t < 0)
				t = util_parse_iso8601(date);
		}
		/* no readable date_created (t -1): taken with the time we
		 * receive it (received_at 0), neither the mark's nor the end
		 * of the scan, so the messages after it are read; a later poll
		 * may hand it out again (ingestion drops the duplicate) */
		if (t >= 0)
			mark_see(&top, t, sid);
		if (t >= 0 && old.t >= 0) {
			if (t < old.t) {
				reached = 1;    /* newest first: the rest was seen */
				break;
			}
			if (t == old.t && mark_has(&old, sid))
				continue;
		}
		if (sms_gw_list_add(&l, m, "sid", "from", "body", "date_created", 'r') < 0) {
			*error_r = sms_gw_error(gw, "twilio: more than %d messages in one page",
			    SMS_GW_MAX_BATCH);
			goto fail;
		}
	}
	nextv = json_object_get(root, "next_page_uri");
	if (!reached && json_is_string(nextv) && json_string_value(nextv)[0] != '\0') {
		if (!relative_uri_ok(json_string_value(nextv))) {
			*error_r = sms_gw_error(gw, "twilio: next_page_uri is not a path of this "
			    "account's API");
			goto fail;
		}
		/* more pages before the mark: keep the old mark, remember the page */
		out = json_pack("{s:o, s:s, s:o, s:b}", "mark", mark_json(&old), "next",
		    json_string_value(nextv), "top", mark_json(&top), "restarted", restarted);
		*more_r = 1;
	} else {
		/* the poll is complete: its newest message is the new mark */
		out = json_pack("{s:o}", "mark", mark_json(top.t >= 0 ? &top : &old));
		*more_r = 0;
	}
	if (out == NULL)
		fatalx("twilio: cannot build the cursor");
	*cursor_r = json_dumps(out, JSON_COMPACT);
	json_decref(out);
	if (*cursor_r == NULL)
		fatalx("out of memory");
	*msgs_r = l.v;
	*n_r = l.n;
	l.v = NULL;
	l.n = 0;
	rc = 0;
fail:
	sms_gw_list_free(&l);
	json_decref(root);
	json_decref(state);
	http_response_clear(&resp);
	mark_free(&old);
	mark_free(&top);
	free(url);
	free(acct);
	free(num);
	free(path);
	free(next);
	return rc;
}

static int
twilio_send(struct sms_gateway *gw, const char *to, const char *text, char **reason_r,
    int *stopped_r)
{
	const struct cfg_sms *cfg = gw->cfg;
	struct http_request req = { 0 };
	struct http_response resp = { 0 };
	const char *hdrs[] = { "Accept: application/json",
	    "Content-Type: application/x-www-form-urlencoded" };
	const char *error = NULL;
	char *acct, *path, *url, *eto, *efrom, *ebody, *form, *jerr = NULL;
	char *code = NULL, *msg = NULL, *sid = NULL, *cm;
	json_t *root = NULL;
	int rc;

	acct = http_urlencode(cfg->account);
	path = xasprintf("/2010-04-01/Accounts/%s/Messages.json", acct);
	url = sms_gw_url(gw, path);
	eto = http_urlencode(to);
	efrom = http_urlencode(cfg->number);
	ebody = http_urlencode(text);
	form = xasprintf("To=%s&From=%s&Body=%s", eto, efrom, ebody);
	req.method = "POST";
	req.url = url;
	req.headers = hdrs;
	req.n_headers = 2;
	req.body = form;
	req.body_len = strlen(form);
	req.basic_user = cfg->account;
	req.basic_password = cfg->api_key;
	if (sms_gw_http(gw, &req, &resp, &error) < 0) {
		rc = sms_gw_send_transport(error, reason_r);
		goto out;
	}
	rc = sms_gw_send_class(resp.status);
	root = gateway_json_load(resp.body, resp.len, &jerr);
	if (root != NULL) {
		code = gateway_json_path_text(root, "code");
		msg = gateway_json_path_text(root, "message");
		sid = gateway_json_path_text(root, "sid");
	}
	if (rc == NOTIFY_OK && (sid == NULL || sid[0] == '\0')) {
		/* accepted or not?  Trying again risks a duplicate SMS, not
		 * trying risks a lost one: the citizen would rather get two. */
		*reason_r = xasprintf("twilio: HTTP %ld but an unreadable answer", resp.status);
		rc = NOTIFY_TEMPFAIL;
		goto out;
	}
	if (rc == NOTIFY_OK) {
		cm = sms_gw_clean(sid, 80);
		*reason_r = xasprintf("twilio HTTP %ld%s%s", resp.status, cm[0] ? " " : "", cm);
		free(cm);
		goto out;
	}
	if (code != NULL && atol(code) == TWILIO_ERR_UNSUBSCRIBED) {
		*stopped_r = 1;
		rc = NOTIFY_PERMFAIL;
	}
	cm = sms_gw_clean(msg ? msg : "", 160);
	*reason_r = xasprintf("twilio: HTTP %ld %s%s%s%s%s", resp.status,
	    http_status_text(resp.status), code ? ": error " : "", code ? code : "",
	    cm[0] ? ": " : "", cm);
	free(cm);
out:
	json_decref(root);
	http_response_clear(&resp);
	free(jerr);
	free(code);
	free(msg);
	free(sid);
	free(acct);
	free(path);
	free(url);
	free(eto);
	free(efrom);
	free(ebody);
	free(form);
	return rc;
}

const struct sms_profile sms_profile_twilio = {
	.name = "twilio",
	.check = twilio_check,
	.pull = twilio_pull,
	.ack = NULL,
	.reconcile = NULL,
	.send = twilio_send,
};
