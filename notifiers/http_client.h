/*
 * http_client.h - a small libcurl HTTP(S) client for the SMS gateways.
 *
 * One struct http_client wraps one CURL easy handle, so keep-alive
 * connections are reused between requests of the same gateway.  Every
 * request verifies TLS peer and host (always), only speaks http/https,
 * never follows redirects, has a connect timeout of 10 s and a total
 * timeout, keeps at most max_body bytes of the answer (more is an error)
 * and gives up promptly when s48_stop_requested (util.h) is set.
 * Not thread-safe: one client per thread.
 */
#ifndef S48_HTTP_CLIENT_H
#define S48_HTTP_CLIENT_H

#include <stddef.h>

#define HTTP_MAX_BODY (8u * 1024 * 1024)   /* default answer limit: 8 MiB */
#define HTTP_CONNECT_TIMEOUT 10            /* seconds */

struct http_client;

struct http_request {
	const char *method;            /* "GET" (default when NULL) or "POST" */
	const char *url;
	const char *const *headers;    /* "Name: value" lines */
	size_t n_headers;
	const char *body;              /* POST body (may be NULL: empty) */
	size_t body_len;
	const char *basic_user;        /* HTTP Basic auth when not NULL */
	const char *basic_password;
	const char *ca_file;           /* extra CA bundle, NULL: the system's */
	long timeout;                  /* total seconds, <= 0: 20 */
	size_t max_body;               /* 0: HTTP_MAX_BODY */
};

/* Why no answer came (http_response.error). */
enum http_error {
	HTTP_ERR_NONE = 0,
	HTTP_ERR_TIMEOUT,              /* connect or total timeout */
	HTTP_ERR_CONNECT,              /* refused, unreachable, DNS */
	HTTP_ERR_TLS,                  /* handshake or certificate verification */
	HTTP_ERR_TOOBIG,               /* answer larger than max_body */
	HTTP_ERR_INTERRUPTED,          /* s48_stop_requested */
	HTTP_ERR_OTHER,
};

struct http_response {
	long status;                   /* HTTP status, 0 when none */
	char *body;                    /* always NUL-terminated when set; owned */
	size_t len;
	enum http_error error;
};

/* A new client; NULL with *error_r (static string) if libcurl fails. */
/* libcurl's global set-up, once (not thread safe: call it before threads
 * start; http_client_new and the SMTP notifier call it too).  It keeps
 * libcurl's libssh2 from initialising OpenSSL (see http_client.c).  0, or
 * -1 when curl_global_init failed. */
int http_global_init(void);

struct http_client *http_client_new(const char **error_r);
void http_client_free(struct http_client **hc);

/*
 * Perform req.  Returns 0 when an answer arrived, whatever its status
 * (resp->status, resp->body), or -1 with resp->error and *error_r: a
 * message such as "timeout after 2 s (http://...)" owned by hc, valid
 * until the next call on hc.  Free the answer with http_response_clear()
 * in both cases.
 */
int http_client_do(struct http_client *hc, const struct http_request *req,
    struct http_response *resp, const char **error_r);
void http_response_clear(struct http_response *resp);

/* Percent-encode everything but RFC 3986 unreserved characters ("+" ->
 * "%2B", " " -> "%20"); caller frees. */
char *http_urlencode(const char *s);

/* Short text for an HTTP status class: "unauthorized", "server error"... */
const char *http_status_text(long status);

#endif
