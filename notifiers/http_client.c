/* http_client.c - bounded, interruptible HTTP(S) requests with libcurl. */
#include "http_client.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "util.h"

struct http_client {
	CURL *curl;
	char curl_err[CURL_ERROR_SIZE];
	char err[1024];
};

struct sink {
	struct buf b;
	int toobig;
};

static int curl_initialised;

/*
 * Debian's libcurl links libssh2 (SCP/SFTP, which s48 never uses), and
 * curl_global_init() calls libssh2_init(0), which initialises OpenSSL's
 * libcrypto: 2.9 MB of s48d's resident memory, a sixth of it.  libssh2
 * initialises its crypto only in the first libssh2_init() call and not
 * with LIBSSH2_INIT_NO_CRYPTO (1): calling that first leaves libcrypto
 * untouched.  Looked up at run time, so there is nothing to build against
 * and nothing happens with a libcurl without libssh2.
 */
static void
http_skip_ssh_crypto(void)
{
	int (*ssh_init)(int);
	void *sym = dlsym(RTLD_DEFAULT, "libssh2_init");

	if (sym == NULL)
		return;
	memcpy(&ssh_init, &sym, sizeof(ssh_init));
	(void)ssh_init(1);
}

int
http_global_init(void)
{
	if (curl_initialised)
		return 0;
	http_skip_ssh_crypto();
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -1;
	curl_initialised = 1;
	return 0;
}

static size_t
write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct sink *s = userdata;
	size_t n = size * nmemb;

	if (buf_append(&s->b, ptr, n) < 0) {
		s->toobig = 1;
		return 0;       /* CURLE_WRITE_ERROR */
	}
	return n;
}

static int
xferinfo_cb(void *clientp, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
    curl_off_t ulnow)
{
	(void)clientp; (void)dltotal; (void)dlnow; (void)ultotal; (void)ulnow;
	return s48_stop_requested ? 1 : 0;
}

struct http_client *
http_client_new(const char **error_r)
{
	struct http_client *hc;

	if (http_global_init() < 0) {
		*error_r = "curl_global_init failed";
		return NULL;
	}
	hc = xcalloc(1, sizeof(*hc));
	hc->curl = curl_easy_init();
	if (hc->curl == NULL) {
		free(hc);
		*error_r = "curl_easy_init failed";
		return NULL;
	}
	return hc;
}

void
http_client_free(struct http_client **hcp)
{
	struct http_client *hc = *hcp;

	if (hc == NULL)
		return;
	curl_easy_cleanup(hc->curl);
	free(hc);
	*hcp = NULL;
}

void
http_response_clear(struct http_response *resp)
{
	free(resp->body);
	memset(resp, 0, sizeof(*resp));
}

static enum http_error
classify(CURLcode rc, int toobig)
{
	if (toobig)
		return HTTP_ERR_TOOBIG;
	switch (rc) {
	case CURLE_OPERATION_TIMEDOUT:
		return HTTP_ERR_TIMEOUT;
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_GOT_NOTHING:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
		return HTTP_ERR_CONNECT;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_CRL_BADFILE:
		return HTTP_ERR_TLS;
	case CURLE_ABORTED_BY_CALLBACK:
		return HTTP_ERR_INTERRUPTED;
	default:
		return HTTP_ERR_OTHER;
	}
}

/* The URL without user info and query string, for error messages: no
 * credentials or citizen numbers in logs. */
static void
url_for_log(const char *url, char *out, size_t outsz)
{
	const char *host = strstr(url, "://"), *at, *end;
	size_t n, pre = 0;

	if (host != NULL) {
		host += 3;
		end = host + strcspn(host, "/?#");
		at = memchr(host, '@', (size_t)(end - host));
		if (at != NULL) {
			pre = (size_t)(host - url);
			if (pre >= outsz)
				pre = outsz - 1;
			memcpy(out, url, pre);
			url = at + 1;
		}
	}
	n = strcspn(url, "?#");
	if (n >= outsz - pre)
		n = outsz - pre - 1;
	memcpy(out + pre, url, n);
	out[pre + n] = '\0';
}

int
http_client_do(struct http_client *hc, const struct http_request *req,
    struct http_response *resp, const char **error_r)
{
	CURL *c = hc->curl;
	struct curl_slist *hdrs = NULL, *tmp;
	struct sink sink;
	CURLcode rc;
	long timeout = req->timeout > 0 ? req->timeout : 20;
	long ctimeout = timeout < HTTP_CONNECT_TIMEOUT ? timeout : HTTP_CONNECT_TIMEOUT;
	int is_post = req->method != NULL && strcmp(req->method, "POST") == 0;
	char where[256];
	size_t i;

	memset(resp, 0, sizeof(*resp));
	buf_init(&sink.b, req->max_body ? req->max_body : HTTP_MAX_BODY);
	sink.toobig = 0;
	hc->curl_err[0] = '\0';
	url_for_log(req->url, where, sizeof(where));

	if (s48_stop_requested) {
		resp->error = HTTP_ERR_INTERRUPTED;
		snprintf(hc->err, sizeof(hc->err), "interrupted (%s)", where);
		*error_r = hc->err;
		buf_free(&sink.b);
		return -1;
	}

	curl_easy_reset(c);
	for (i = 0; i < req->n_headers; i++) {
		tmp = curl_slist_append(hdrs, req->headers[i]);
		if (tmp == NULL)
			fatalx("out of memory");
		hdrs = tmp;
	}
	/* No "Expect: 100-continue" round trip for small POSTs. */
	if (is_post) {
		tmp = curl_slist_append(hdrs, "Expect:");
		if (tmp == NULL)
			fatalx("out of memory");
		hdrs = tmp;
	}

	curl_easy_setopt(c, CURLOPT_URL, req->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (req->ca_file != NULL && req->ca_file[0] != '\0')
		curl_easy_setopt(c, CURLOPT_CAINFO, req->ca_file);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, ctimeout);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, hc->curl_err);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, xferinfo_cb);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "s48d");
	curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
	if (hdrs != NULL)
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	if (req->basic_user != NULL) {
		curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(c, CURLOPT_USERNAME, req->basic_user);
		curl_easy_setopt(c, CURLOPT_PASSWORD,
		    req->basic_password != NULL ? req->basic_password : "");
	}
	if (is_post) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body != NULL ? req->body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)(req->body != NULL ? req->body_len : 0));
	} else {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	}

	rc = curl_easy_perform(c);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
	curl_slist_free_all(hdrs);

	if (rc != CURLE_OK) {
		resp->error = classify(rc, sink.toobig);
		switch (resp->error) {
		case HTTP_ERR_TIMEOUT:
			snprintf(hc->err, sizeof(hc->err), "timeout after %ld s (%s)", timeout, where);
			break;
		case HTTP_ERR_TOOBIG:
			snprintf(hc->err, sizeof(hc->err), "answer larger than %zu bytes (%s)",
			    sink.b.max, where);
			break;
		case HTTP_ERR_INTERRUPTED:
			snprintf(hc->err, sizeof(hc->err), "interrupted (%s)", where);
			break;
		default:
			snprintf(hc->err, sizeof(hc->err), "%s%s: %.300s (%.255s)",
			    resp->error == HTTP_ERR_TLS ? "TLS: " : "",
			    curl_easy_strerror(rc), hc->curl_err[0] ? hc->curl_err : "-", where);
			break;
		}
		*error_r = hc->err;
		buf_free(&sink.b);
		return -1;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
	resp->body = buf_steal(&sink.b, &resp->len);
	return 0;
}

char *
http_urlencode(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	struct buf b;
	const unsigned char *p;
	char *out;

	buf_init(&b, (strlen(s) * 3) + 1);
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' || *p == '~') {
			buf_appendc(&b, (char)*p);
		} else {
			buf_appendc(&b, '%');
			buf_appendc(&b, hex[*p >> 4]);
			buf_appendc(&b, hex[*p & 15]);
		}
	}
	out = buf_steal(&b, NULL);
	return out;
}

const char *
http_status_text(long status)
{
	switch (status) {
	case 400: return "bad request";
	case 401: return "unauthorized (check the API key / account)";
	case 403: return "forbidden (check the API key / account)";
	case 404: return "not found (check base_url)";
	case 408: return "request timeout";
	case 413: return "payload too large";
	case 429: return "too many requests";
	default: break;
	}
	if (status >= 500)
		return "server error";
	if (status >= 400)
		return "client error";
	if (status >= 300)
		return "redirect (not followed)";
	if (status >= 200)
		return "ok";
	return "unexpected status";
}
