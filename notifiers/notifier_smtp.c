/*
 * notifier_smtp.c - hand composed messages to the SMTP relay with libcurl
 * and say whether to retry.
 *
 * Messages go through one curl multi handle: up to `conns` of them are in
 * flight at once, each on a connection of its own, and the connections are
 * kept between messages (the multi handle's cache), so a run of outbox rows
 * pays for EHLO (and TLS, AUTH) once per connection and overlaps the round
 * trips of MAIL, RCPT, DATA and the message.
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

enum stage { ST_CONNECT, ST_EHLO, ST_STARTTLS, ST_AUTH, ST_MAIL, ST_RCPT, ST_DATA, ST_BODY, ST_QUIT };

struct send_state {
	const char *data;
	size_t len, pos;
	enum stage stage;
	enum stage reply_stage;         /* the stage reply[] answered */
	char reply[REASON_MAX + 1];     /* last server reply line before QUIT */
};

/* One message in flight (busy) or a handle kept for the next one. */
struct slot {
	CURL *h;                        /* NULL until needed and after a failure */
	struct curl_slist *rcpts;
	void *tag;
	int busy;
	struct send_state st;
	char errbuf[CURL_ERROR_SIZE];
};

static CURLM *smtp_multi;
static int multi_conns;                 /* the limits smtp_multi has, 0: none yet */
static struct slot slots[NOTIFIER_SMTP_CONNS_MAX];
static int n_busy;
static int reset_due;                   /* a message failed: start afresh when idle */
static long timeout_connect = CONNECT_TIMEOUT, timeout_total = TOTAL_TIMEOUT,
    timeout_stall = LOW_SPEED_SECONDS;

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
		else if (starts(p, n, "QUIT") && st->stage != ST_CONNECT)
			st->stage = ST_QUIT;    /* before our first command: another connection's */
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

/* The multi handle, created on first use; its limits follow conns. */
static int
multi_get(int conns)
{
	if (smtp_multi == NULL) {
		if (http_global_init() < 0)
			return -1;
		smtp_multi = curl_multi_init();
		if (smtp_multi == NULL)
			return -1;
		multi_conns = 0;
	}
	if (conns != multi_conns) {
		/* one message per connection (SMTP has no multiplexing); as many kept */
		curl_multi_setopt(smtp_multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)conns);
		curl_multi_setopt(smtp_multi, CURLMOPT_MAXCONNECTS, (long)conns);
		multi_conns = conns;
	}
	return 0;
}

void
notifier_smtp_set_timeouts(long connect_s, long total_s, long stall_s)
{
	timeout_connect = connect_s > 0 ? connect_s : CONNECT_TIMEOUT;
	timeout_total = total_s > 0 ? total_s : TOTAL_TIMEOUT;
	timeout_stall = stall_s > 0 ? stall_s : LOW_SPEED_SECONDS;
}

/* The message of slot is over (finished or abandoned): its handle leaves the multi. */
static void
slot_release(struct slot *sl, int keep_handle)
{
	curl_multi_remove_handle(smtp_multi, sl->h);
	/* the handle must not keep pointers to the slot's message */
	curl_easy_setopt(sl->h, CURLOPT_MAIL_RCPT, NULL);
	curl_easy_setopt(sl->h, CURLOPT_ERRORBUFFER, NULL);
	if (!keep_handle) {
		curl_easy_cleanup(sl->h);
		sl->h = NULL;
	}
	curl_slist_free_all(sl->rcpts);
	sl->rcpts = NULL;
	sl->tag = NULL;
	sl->busy = 0;
	n_busy--;
}

/*
 * After a failure in a transaction (MAIL FROM or later) libcurl may keep
 * the connection in the multi handle's cache and close it at the start of
 * a later message, whose debug output and error buffer would then tell of
 * the old one: every connection is closed once no message is in flight,
 * and none starts before.  A connection that failed earlier (connect,
 * greeting, EHLO, STARTTLS, AUTH) never got into the cache.
 */
static void
reset_if_idle(void)
{
	if (reset_due && n_busy == 0) {
		notifier_smtp_close();
	}
}

void
notifier_smtp_close(void)
{
	size_t i;

	for (i = 0; i < NOTIFIER_SMTP_CONNS_MAX; i++) {
		struct slot *sl = &slots[i];

		if (sl->busy)
			slot_release(sl, 0);
		if (sl->h != NULL) {
			curl_easy_cleanup(sl->h);
			sl->h = NULL;
		}
	}
	/* closes the kept connections (QUIT) */
	if (smtp_multi != NULL) {
		curl_multi_cleanup(smtp_multi);
		smtp_multi = NULL;
	}
	reset_due = 0;
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

/* The checks made before a message is handed to libcurl: NOTIFY_OK to go on. */
static int
precheck(const struct cfg_smtp *cfg, const char *rcpt, char **reason_r)
{
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
	return NOTIFY_OK;
}

/* Every option of one message, set anew (a reloaded config takes effect). */
static void
slot_setup(struct slot *sl, const struct cfg_smtp *cfg, size_t len)
{
	CURL *h = sl->h;

	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, cfg->url);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
#else
	curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_SMTP | CURLPROTO_SMTPS));
#endif
	curl_easy_setopt(h, CURLOPT_PRIVATE, sl);
	curl_easy_setopt(h, CURLOPT_MAIL_FROM, cfg->from_addr);
	curl_easy_setopt(h, CURLOPT_MAIL_RCPT, sl->rcpts);
	curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
	curl_easy_setopt(h, CURLOPT_READDATA, &sl->st);
	curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
	/* libcurl's smallest: its buffers (SMTP: the upload buffer and twice it
	 * for dot-stuffing) are allocated for each message and freed after it;
	 * at the default 64 kB they cross malloc's trim threshold every time */
	curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE, 16384L);
	curl_easy_setopt(h, CURLOPT_USE_SSL,
	    cfg->tls_required ? (long)CURLUSESSL_ALL : (long)CURLUSESSL_NONE);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (cfg->ca_file != NULL && cfg->ca_file[0] != '\0')
		curl_easy_setopt(h, CURLOPT_CAINFO, cfg->ca_file);
	if (cfg->user != NULL && cfg->user[0] != '\0') {
		curl_easy_setopt(h, CURLOPT_USERNAME, cfg->user);
		curl_easy_setopt(h, CURLOPT_PASSWORD,
		    cfg->password != NULL ? cfg->password : "");
	}
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, timeout_connect);
	/* a 10 MB report with photos must not hit a limit made for text */
	curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout_total + (long)(len / RATE_FLOOR));
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, LOW_SPEED_BYTES);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, timeout_stall);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, xferinfo_cb);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, &sl->st);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, sl->errbuf);
	/* VERBOSE only feeds debug_cb; nothing is printed */
	curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);
	curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, debug_cb);
	curl_easy_setopt(h, CURLOPT_DEBUGDATA, &sl->st);
}

int
notifier_smtp_in_flight(void)
{
	return n_busy;
}

int
notifier_smtp_ready(int conns)
{
	int i;

	if (conns < 1)
		conns = 1;
	if (conns > NOTIFIER_SMTP_CONNS_MAX)
		conns = NOTIFIER_SMTP_CONNS_MAX;
	if (reset_due)
		return 0;
	for (i = 0; i < conns; i++)
		if (!slots[i].busy)
			return 1;
	return 0;
}

int
notifier_smtp_start(const struct cfg_smtp *cfg, int conns, const char *rcpt, const char *data,
    size_t len, void *tag, int *result_r, char **reason_r)
{
	struct slot *sl = NULL;
	int i;

	*reason_r = NULL;
	if ((*result_r = precheck(cfg, rcpt, reason_r)) != NOTIFY_OK)
		return 0;
	if (conns < 1)
		conns = 1;
	if (conns > NOTIFIER_SMTP_CONNS_MAX)
		conns = NOTIFIER_SMTP_CONNS_MAX;
	for (i = 0; i < conns && sl == NULL && !reset_due; i++)
		if (!slots[i].busy)
			sl = &slots[i];
	if (sl == NULL) {
		*result_r = NOTIFY_TEMPFAIL;
		*reason_r = xstrdup("all SMTP connections busy");
		return 0;
	}
	if (multi_get(conns) < 0 || (sl->h == NULL && (sl->h = curl_easy_init()) == NULL)) {
		*result_r = NOTIFY_TEMPFAIL;
		*reason_r = xstrdup("cannot initialise libcurl");
		return 0;
	}
	sl->rcpts = curl_slist_append(NULL, rcpt);
	if (sl->rcpts == NULL) {
		*result_r = NOTIFY_TEMPFAIL;
		*reason_r = xstrdup("out of memory");
		return 0;
	}
	memset(&sl->st, 0, sizeof(sl->st));
	sl->st.data = data;
	sl->st.len = len;
	sl->st.stage = ST_CONNECT;
	sl->errbuf[0] = '\0';
	sl->tag = tag;
	slot_setup(sl, cfg, len);
	if (curl_multi_add_handle(smtp_multi, sl->h) != CURLM_OK) {
		curl_slist_free_all(sl->rcpts);
		sl->rcpts = NULL;
		*result_r = NOTIFY_TEMPFAIL;
		*reason_r = xstrdup("cannot start the SMTP transfer");
		return 0;
	}
	sl->busy = 1;
	n_busy++;
	return 1;
}

int
notifier_smtp_wait(void **tag_r, int *result_r, char **reason_r, int *before_mail_r)
{
	int running;

	*tag_r = NULL;
	*reason_r = NULL;
	if (before_mail_r != NULL)
		*before_mail_r = 0;
	if (n_busy == 0)
		return 0;
	for (;;) {
		CURLMsg *m;
		int left;

		(void)curl_multi_perform(smtp_multi, &running);
		while ((m = curl_multi_info_read(smtp_multi, &left)) != NULL) {
			struct slot *sl = NULL;
			char *reason = NULL;
			int before_mail;

			if (m->msg != CURLMSG_DONE)
				continue;
			(void)curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&sl);
			if (sl == NULL || !sl->busy)
				continue;
			*result_r = classify(m->data.result, &sl->st, sl->errbuf, &reason);
			*reason_r = notifier_smtp_mask(reason);
			free(reason);
			*tag_r = sl->tag;
			before_mail = *result_r != NOTIFY_OK && sl->st.stage < ST_MAIL &&
			    sl->st.reply_stage < ST_MAIL;
			if (before_mail_r != NULL)
				*before_mail_r = before_mail;
			/* a connection that failed before MAIL is closed already; the
			 * others stay (a relay's refusal of one more keeps them) */
			if (m->data.result != CURLE_OK && !before_mail)
				reset_due = 1;
			slot_release(sl, m->data.result == CURLE_OK);
			reset_if_idle();
			return 1;
		}
		/* short, so that a stop reaches xferinfo_cb soon */
		(void)curl_multi_poll(smtp_multi, NULL, 0, 100, NULL);
	}
}

int
notifier_smtp_send(const struct cfg_smtp *cfg, const char *rcpt, const char *data, size_t len,
    char **reason_r)
{
	void *tag;
	int res;

	if (n_busy > 0) {
		*reason_r = xstrdup("SMTP messages already in flight");
		return NOTIFY_TEMPFAIL;
	}
	if (notifier_smtp_start(cfg, 1, rcpt, data, len, &res, &res, reason_r) == 0)
		return res;
	(void)notifier_smtp_wait(&tag, &res, reason_r, NULL);
	return res;
}
