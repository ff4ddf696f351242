/*
 * notifier_smtp.c - hand one composed message to the SMTP relay with
 * libcurl and say whether to retry.
 *
 * The server's replies are watched through libcurl's debug callback: the
 * last command sent tells which stage failed (a 5xx to RCPT is the
 * message's fault, a 5xx to EHLO or AUTH is ours), and the last reply
 * line becomes the reason stored on the outbox row.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "http_client.h"
#include "mail_compose.h"
#include "notifier_smtp.h"
#include "util.h"

#define CONNECT_TIMEOUT   10L
#define TOTAL_TIMEOUT     60L     /* plus one second per RATE_FLOOR bytes */
#define RATE_FLOOR        50000L  /* bytes/s a relay is assumed to take at least */
#define LOW_SPEED_BYTES   10L     /* bytes/s below which ... */
#define LOW_SPEED_SECONDS 30L     /* ... for this long, the transfer is dropped */
#define REASON_MAX        200

static CURL *smtp_curl;
static long timeout_connect = CONNECT_TIMEOUT, timeout_total = TOTAL_TIMEOUT,
    timeout_stall = LOW_SPEED_SECONDS;

enum stage { ST_CONNECT, ST_EHLO, ST_STARTTLS, ST_AUTH, ST_MAIL, ST_RCPT, ST_DATA, ST_BODY, ST_QUIT };

struct send_state {
	const char *data;
	size_t len, pos;
	enum stage stage;
	enum stage reply_stage;         /* the stage reply[] answered */
	char reply[REASON_MAX + 1];     /* last server reply line before QUIT */
};

/* ------------------------------------------------------------ callbacks */

static size_t
read_cb(char *dst, size_t size, size_t nmemb, void *userp)
{
	struct send_state *st = userp;
	size_t n = size * nmemb, left = st->len - st->pos;

	if (n > left)
		n = left;
	memcpy(dst, st->data + st->pos, n);
	st->pos += n;
	if (st->pos == st->len && n > 0)
		st->stage = ST_BODY;
	return n;
}

static int
xferinfo_cb(void *userp, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
    curl_off_t ulnow)
{
	(void)userp;
	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return s48_stop_requested ? 1 : 0;
}

static int
starts(const char *p, size_t n, const char *word)
{
	size_t l = strlen(word);

	return n >= l && strncasecmp(p, word, l) == 0;
}

/* Commands out set the stage, replies in are remembered (one line, clean). */
static int
debug_cb(CURL *h, curl_infotype type, char *p, size_t n, void *userp)
{
	struct send_state *st = userp;
	size_t i, o = 0;

	(void)h;
	if (type == CURLINFO_HEADER_OUT) {
		if (starts(p, n, "EHLO") || starts(p, n, "HELO"))
			st->stage = ST_EHLO;
		else if (starts(p, n, "STARTTLS"))
			st->stage = ST_STARTTLS;
		else if (starts(p, n, "AUTH"))
			st->stage = ST_AUTH;
		else if (starts(p, n, "MAIL FROM"))
			st->stage = ST_MAIL;
		else if (starts(p, n, "RCPT TO"))
			st->stage = ST_RCPT;
		else if (starts(p, n, "DATA"))
			st->stage = ST_DATA;
		else if (starts(p, n, "QUIT"))
			st->stage = ST_QUIT;
	} else if (type == CURLINFO_DATA_OUT) {
		/* the message itself (and the final ".") */
		if (st->stage == ST_DATA)
			st->stage = ST_BODY;
	} else if (type == CURLINFO_HEADER_IN) {
		if (st->stage == ST_QUIT)
			return 0;
		for (i = 0; i < n && o < REASON_MAX; i++) {
			unsigned char c = (unsigned char)p[i];
			if (c == '\r' || c == '\n')
				break;
			st->reply[o++] = (c < 0x20 || c >= 0x7f) ? '?' : (char)c;
		}
		st->reply[o] = '\0';
		st->reply_stage = st->stage;
	}
	return 0;
}

/* ------------------------------------------------------------------ send */

static int
handle_get(void)
{
	if (smtp_curl != NULL)
		return 0;
	if (http_global_init() < 0)
		return -1;
	smtp_curl = curl_easy_init();
	return smtp_curl != NULL ? 0 : -1;
}

void
notifier_smtp_set_timeouts(long connect_s, long total_s, long stall_s)
{
	timeout_connect = connect_s > 0 ? connect_s : CONNECT_TIMEOUT;
	timeout_total = total_s > 0 ? total_s : TOTAL_TIMEOUT;
	timeout_stall = stall_s > 0 ? stall_s : LOW_SPEED_SECONDS;
}

void
notifier_smtp_close(void)
{
	if (smtp_curl != NULL) {
		curl_easy_cleanup(smtp_curl);
		smtp_curl = NULL;
	}
}

static int
is_tls_error(CURLcode rc)
{
	switch (rc) {
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_SHUTDOWN_FAILED:
		return 1;
	default:
		return 0;
	}
}

/*
 * A server reply often quotes the recipient ("550 5.1.1 <jovana@example.net>:
 * ..."): keep the first character of each local part, like log_mask(), so
 * the reason can be logged and shown.
 */
char *
notifier_smtp_mask(const char *s)
{
	struct buf b;
	size_t n = strlen(s), i, start = 0;

	buf_init(&b, 4 * n + 16);
	for (i = 0; i < n; i++) {
		size_t j;
		if (s[i] != '@')
			continue;
		j = i;
		while (j > start && strchr(" <>:;,\"'()[]", s[j - 1]) == NULL)
			j--;
		if (j == i)
			continue;
		buf_append(&b, s + start, j + 1 - start);
		buf_appends(&b, "***@");
		start = i + 1;
	}
	buf_append(&b, s + start, n - start);
	return buf_steal(&b, NULL);
}

/*
 * Decide the outcome of a finished curl_easy_perform().  The reply code is
 * taken from the last reply before QUIT: after a failure libcurl closes
 * the connection within the same call, so CURLINFO_RESPONSE_CODE then
 * holds QUIT's 221.
 */
static int
classify(CURLcode rc, const struct send_state *st, const char *errbuf, char **reason_r)
{
	const char *err = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc);
	long code = 0;

	if (st->reply[0] >= '1' && st->reply[0] <= '5' && st->reply[1] >= '0' &&
	    st->reply[1] <= '9' && st->reply[2] >= '0' && st->reply[2] <= '9')
		code = (st->reply[0] - '0') * 100 + (st->reply[1] - '0') * 10 + (st->reply[2] - '0');

	if (rc == CURLE_OK) {
		*reason_r = xstrdup(st->reply[0] != '\0' ? st->reply : "sent");
		return NOTIFY_OK;
	}
	if (rc == CURLE_ABORTED_BY_CALLBACK) {
		*reason_r = xstrdup("interrupted");
		return NOTIFY_TEMPFAIL;
	}
	if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE ||
	    rc == CURLE_SSL_ISSUER_ERROR) {
		*reason_r = xasprintf("TLS certificate verification failed: %s", err);
		return NOTIFY_TEMPFAIL;
	}
	if (rc == CURLE_USE_SSL_FAILED) {
		*reason_r = xstrdup("server does not offer STARTTLS and smtp.tls is \"required\"");
		return NOTIFY_TEMPFAIL;
	}
	if (is_tls_error(rc)) {
		*reason_r = xasprintf("TLS error: %s", err);
		return NOTIFY_TEMPFAIL;
	}
	if (rc == CURLE_LOGIN_DENIED) {
		*reason_r = xasprintf("authentication failed%s%s", st->reply[0] ? ": " : "",
		    st->reply);
		return NOTIFY_TEMPFAIL;
	}
	if (code >= 500 && code <= 599 && st->reply_stage >= ST_MAIL &&
	    st->reply_stage <= ST_BODY) {
		*reason_r = xstrdup(st->reply[0] != '\0' ? st->reply : err);
		return NOTIFY_PERMFAIL;
	}
	if (code >= 400 && code <= 599) {
		*reason_r = xstrdup(st->reply[0] != '\0' ? st->reply : err);
		return NOTIFY_TEMPFAIL;
	}
	if (rc == CURLE_OPERATION_TIMEDOUT)
		*reason_r = xasprintf("timeout: %s", err);
	else
		*reason_r = xasprintf("%s", err);
	return NOTIFY_TEMPFAIL;
}

int
notifier_smtp_send(const struct cfg_smtp *cfg, const char *rcpt, const char *data, size_t len,
    char **reason_r)
{
	struct send_state st;
	struct curl_slist *rcpts = NULL;
	char errbuf[CURL_ERROR_SIZE];
	CURLcode rc;
	char *reason = NULL;
	int ret;

	*reason_r = NULL;
	if (cfg == NULL || !cfg->enabled || cfg->url == NULL) {
		*reason_r = xstrdup("smtp not configured");
		return NOTIFY_PERMFAIL;
	}
	/* libcurl would send CR/LF in an address as part of the command */
	if (!mail_addr_ok(rcpt)) {
		*reason_r = xstrdup("invalid recipient address");
		return NOTIFY_PERMFAIL;
	}
	if (cfg->from_addr == NULL || !mail_addr_ok(cfg->from_addr)) {
		*reason_r = xstrdup("invalid smtp.from address");
		return NOTIFY_TEMPFAIL;
	}
	if (strncasecmp(cfg->url, "smtp://", 7) != 0 && strncasecmp(cfg->url, "smtps://", 8) != 0) {
		*reason_r = xstrdup("smtp.url must be smtp:// or smtps://");
		return NOTIFY_TEMPFAIL;
	}
	if (handle_get() < 0) {
		*reason_r = xstrdup("cannot initialise libcurl");
		return NOTIFY_TEMPFAIL;
	}
	memset(&st, 0, sizeof(st));
	st.data = data;
	st.len = len;
	st.stage = ST_CONNECT;
	errbuf[0] = '\0';
	rcpts = curl_slist_append(NULL, rcpt);
	if (rcpts == NULL) {
		*reason_r = xstrdup("out of memory");
		return NOTIFY_TEMPFAIL;
	}

	/* reset keeps the live connection: a run of sends reuses it */
	curl_easy_reset(smtp_curl);
	curl_easy_setopt(smtp_curl, CURLOPT_URL, cfg->url);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(smtp_curl, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
#else
	curl_easy_setopt(smtp_curl, CURLOPT_PROTOCOLS, (long)(CURLPROTO_SMTP | CURLPROTO_SMTPS));
#endif
	curl_easy_setopt(smtp_curl, CURLOPT_MAIL_FROM, cfg->from_addr);
	curl_easy_setopt(smtp_curl, CURLOPT_MAIL_RCPT, rcpts);
	curl_easy_setopt(smtp_curl, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(smtp_curl, CURLOPT_READFUNCTION, read_cb);
	curl_easy_setopt(smtp_curl, CURLOPT_READDATA, &st);
	curl_easy_setopt(smtp_curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(smtp_curl, CURLOPT_USE_SSL,
	    cfg->tls_required ? (long)CURLUSESSL_ALL : (long)CURLUSESSL_NONE);
	curl_easy_setopt(smtp_curl, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(smtp_curl, CURLOPT_SSL_VERIFYHOST, 2L);
	if (cfg->ca_file != NULL && cfg->ca_file[0] != '\0')
		curl_easy_setopt(smtp_curl, CURLOPT_CAINFO, cfg->ca_file);
	if (cfg->user != NULL && cfg->user[0] != '\0') {
		curl_easy_setopt(smtp_curl, CURLOPT_USERNAME, cfg->user);
		curl_easy_setopt(smtp_curl, CURLOPT_PASSWORD,
		    cfg->password != NULL ? cfg->password : "");
	}
	curl_easy_setopt(smtp_curl, CURLOPT_CONNECTTIMEOUT, timeout_connect);
	/* a 10 MB report with photos must not hit a limit made for text */
	curl_easy_setopt(smtp_curl, CURLOPT_TIMEOUT, timeout_total + (long)(len / RATE_FLOOR));
	curl_easy_setopt(smtp_curl, CURLOPT_LOW_SPEED_LIMIT, LOW_SPEED_BYTES);
	curl_easy_setopt(smtp_curl, CURLOPT_LOW_SPEED_TIME, timeout_stall);
	curl_easy_setopt(smtp_curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(smtp_curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(smtp_curl, CURLOPT_XFERINFOFUNCTION, xferinfo_cb);
	curl_easy_setopt(smtp_curl, CURLOPT_XFERINFODATA, &st);
	curl_easy_setopt(smtp_curl, CURLOPT_ERRORBUFFER, errbuf);
	/* VERBOSE only feeds debug_cb; nothing is printed */
	curl_easy_setopt(smtp_curl, CURLOPT_VERBOSE, 1L);
	curl_easy_setopt(smtp_curl, CURLOPT_DEBUGFUNCTION, debug_cb);
	curl_easy_setopt(smtp_curl, CURLOPT_DEBUGDATA, &st);

	rc = curl_easy_perform(smtp_curl);
	ret = classify(rc, &st, errbuf, &reason);
	*reason_r = notifier_smtp_mask(reason);
	free(reason);
	/* the handle must not keep pointers to this frame */
	curl_easy_setopt(smtp_curl, CURLOPT_MAIL_RCPT, NULL);
	curl_easy_setopt(smtp_curl, CURLOPT_ERRORBUFFER, NULL);
	curl_slist_free_all(rcpts);
	if (ret != NOTIFY_OK && rc != CURLE_OK) {
		/* after a failure the connection state is unknown: start afresh */
		curl_easy_cleanup(smtp_curl);
		smtp_curl = NULL;
	}
	return ret;
}
