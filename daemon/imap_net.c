/*
 * imap_net.c - TCP connect, GnuTLS handshake with verification, and the
 * libetpan stream driver over them for the IMAP intake (see imap_net.h).
 * libetpan's own TLS connect reads and parses the server's greeting before
 * anyone can look at the certificate; here libetpan gets the stream only
 * once the peer is verified.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <libetpan/libetpan.h>

#include "imap_net.h"
#include "tls_verify.h"
#include "util.h"

/* longest greeting line accepted (Dovecot's is about 150 bytes) */
#define IMAP_NET_MAX_GREETING 16384
#define IMAP_NET_MAX_CHAIN 16

struct imap_net {
	int fd;
	int timeout_ms;
	gnutls_session_t tls;                 /* NULL: plain */
	gnutls_certificate_credentials_t cred;
	int greeting;                         /* 1 until the first line is read */
	int stop_grace_ms;                    /* -1: waits ignore a stop request */
	int64_t stop_seen;                    /* when a wait first saw the flag, or -1 */
	char *pend;                           /* the cleaned greeting and what came with it */
	size_t pend_len, pend_off;
};

static int64_t
imap_net_now_ms(void)
{
	return (int64_t)util_mono_ms();
}

/*
 * wait for events on fd until deadline (ms, imap_net_now_ms clock);
 * 1 ready, 0 timed out, -1 error; EINTR is retried.  With stop_seen (NULL:
 * a stop request is not looked at), IMAP_NET_STOPPED once
 * s48_stop_requested has been seen set for stop_grace_ms: *stop_seen keeps
 * when it was first seen (-1: not set), across the waits of one stream;
 * the flag is looked at every IMAP_NET_STOP_SLICE_MS
 */
#define IMAP_NET_STOPPED (-2)

static int
imap_net_poll(int fd, short events, int64_t deadline, int64_t *stop_seen, int stop_grace_ms)
{
	struct pollfd p;
	int64_t left, now;
	int r;

	for (;;) {
		now = imap_net_now_ms();
		if (stop_seen != NULL) {
			if (!s48_stop_requested)
				*stop_seen = -1;        /* lowered again (a reload's wake) */
			else if (*stop_seen < 0)
				*stop_seen = now;
			if (*stop_seen >= 0 && now - *stop_seen >= stop_grace_ms)
				return IMAP_NET_STOPPED;
		}
		left = deadline - now;
		if (left < 0)
			left = 0;
		if (stop_seen != NULL && left > IMAP_NET_STOP_SLICE_MS)
			left = IMAP_NET_STOP_SLICE_MS;
		p.fd = fd;
		p.events = events;
		p.revents = 0;
		r = poll(&p, 1, (int)left);
		if (r > 0)
			return 1;
		if (r == 0) {
			if (imap_net_now_ms() >= deadline)
				return 0;
			continue;               /* a slice ended: look at the flag */
		}
		if (errno != EINTR)
			return -1;
	}
}

/* the stream's wait for the peer: imap_net_poll as its stop grace says */
static int
imap_net_poll_stream(struct imap_net *n, short events, int64_t deadline)
{
	return imap_net_poll(n->fd, events, deadline, n->stop_grace_ms >= 0 ? &n->stop_seen :
	    NULL, n->stop_grace_ms);
}

/*
 * The name lookup on a thread of its own: getaddrinfo cannot be
 * interrupted, and a DNS server that does not answer holds it for the
 * resolver's timeouts.  A stop request leaves the lookup behind (the
 * thread frees what it holds when it ends).
 */
struct imap_net_lookup {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int refs;                /* the caller and the thread */
	int done, gai_r;
	struct addrinfo hints, *res;
	char *host;
	char port[16];
};

static void
imap_net_lookup_unref(struct imap_net_lookup *l)
{
	int last;

	pthread_mutex_lock(&l->mu);
	last = --l->refs == 0;
	pthread_mutex_unlock(&l->mu);
	if (!last)
		return;
	if (l->res != NULL)
		freeaddrinfo(l->res);
	pthread_cond_destroy(&l->cv);
	pthread_mutex_destroy(&l->mu);
	free(l->host);
	free(l);
}

static void *
imap_net_lookup_main(void *arg)
{
	struct imap_net_lookup *l = arg;
	struct addrinfo *res = NULL;
	sigset_t all;
	int r;

	/* signals stay with the daemon's threads */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	r = getaddrinfo(l->host, l->port, &l->hints, &res);
	pthread_mutex_lock(&l->mu);
	l->gai_r = r;
	l->res = r == 0 ? res : NULL;
	l->done = 1;
	pthread_cond_broadcast(&l->cv);
	pthread_mutex_unlock(&l->mu);
	imap_net_lookup_unref(l);
	return NULL;
}

/* getaddrinfo(host, port), given up within IMAP_NET_STOP_SLICE_MS of a stop
 * request: 0 with *res_r, a getaddrinfo error, or EAI_CANCELED (a stop) */
static int
imap_net_resolve(const char *host, const char *port, const struct addrinfo *hints,
    struct addrinfo **res_r)
{
	struct imap_net_lookup *l = xcalloc(1, sizeof(*l));
	pthread_condattr_t ca;
	pthread_t t;
	int r;

	*res_r = NULL;
	if (s48_stop_requested) {
		free(l);
		return EAI_CANCELED;
	}
	l->refs = 2;
	l->hints = *hints;
	l->host = xstrdup(host);
	snprintf(l->port, sizeof(l->port), "%s", port);
	pthread_mutex_init(&l->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&l->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&t, NULL, imap_net_lookup_main, l) != 0) {
		/* no thread: look it up here, uninterruptible as before */
		l->refs = 1;
		imap_net_lookup_unref(l);
		return getaddrinfo(host, port, hints, res_r);
	}
	pthread_detach(t);
	pthread_mutex_lock(&l->mu);
	while (!l->done && !s48_stop_requested) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += IMAP_NET_STOP_SLICE_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&l->cv, &l->mu, &ts);
	}
	if (l->done) {
		r = l->gai_r;
		*res_r = l->res;
		l->res = NULL;
	} else {
		r = EAI_CANCELED;
	}
	pthread_mutex_unlock(&l->mu);
	imap_net_lookup_unref(l);
	return r;
}

int
imap_net_connect(const char *host, int port, int timeout_s, char *err, size_t errsz)
{
	struct addrinfo hints, *res = NULL, *ai;
	char portstr[16];
	int r, so_err, fd = -1, last = ECONNREFUSED;
	int64_t stop_seen = -1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG;
	snprintf(portstr, sizeof(portstr), "%d", port);
	r = imap_net_resolve(host, portstr, &hints, &res);
	if (r == EAI_CANCELED) {
		snprintf(err, errsz, "stopped");
		errno = ECANCELED;
		return -1;
	}
	if (r != 0) {
		snprintf(err, errsz, "cannot resolve %s: %s", host, gai_strerror(r));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		socklen_t sl = sizeof(so_err);

		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd < 0) {
			last = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno == EINPROGRESS) {
			r = imap_net_poll(fd, POLLOUT, imap_net_now_ms() + (int64_t)timeout_s * 1000,
			    &stop_seen, 0);
			if (r == IMAP_NET_STOPPED) {
				close(fd);
				fd = -1;
				last = ECANCELED;
				break;
			}
			if (r == 1) {
				if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_err, &sl) != 0)
					so_err = errno;
				if (so_err == 0)
					break;
				last = so_err;
			} else {
				last = r == 0 ? ETIMEDOUT : errno;
			}
		} else {
			last = errno;
		}
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		if (last == ECANCELED)
			snprintf(err, errsz, "stopped");
		else if (last == ECONNREFUSED)
			snprintf(err, errsz, "connection refused");
		else if (last == ETIMEDOUT)
			snprintf(err, errsz, "connection timed out");
		else
			snprintf(err, errsz, "cannot connect: %s", strerror(last));
		errno = last;
	}
	return fd;
}

/* ---- reading and writing the connection (plain or TLS) ---- */

/* >0 bytes, -1 on error, timeout or end of stream */
static ssize_t
imap_net_raw_read(struct imap_net *n, void *buf, size_t count)
{
	int64_t deadline = imap_net_now_ms() + n->timeout_ms;
	ssize_t r;

	if (n->fd < 0 || count == 0)
		return -1;
	for (;;) {
		short ev = POLLIN;

		if (n->tls != NULL) {
			r = gnutls_record_recv(n->tls, buf, count);
			if (r > 0)
				return r;
			if (r == 0)
				return -1;           /* close_notify */
			if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) {
				if (gnutls_record_get_direction(n->tls) == 1)
					ev = POLLOUT;
			} else if (r == GNUTLS_E_REHANDSHAKE || gnutls_error_is_fatal((int)r)) {
				/* a renegotiation could bring another certificate */
				return -1;
			} else {
				continue;            /* a warning alert: read on */
			}
		} else {
			r = recv(n->fd, buf, count, 0);
			if (r > 0)
				return r;
			if (r == 0)
				return -1;
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return -1;
		}
		if (imap_net_poll_stream(n, ev, deadline) != 1)
			return -1;
	}
}

/* all of buf, or -1 */
static ssize_t
imap_net_raw_write(struct imap_net *n, const void *buf, size_t count)
{
	int64_t deadline = imap_net_now_ms() + n->timeout_ms;
	const char *p = buf;
	size_t left = count;
	ssize_t r;

	if (n->fd < 0)
		return -1;
	while (left > 0) {
		short ev = POLLOUT;

		if (n->tls != NULL) {
			/* after AGAIN GnuTLS wants the same arguments again */
			r = gnutls_record_send(n->tls, p, left);
			if (r > 0) {
				p += r;
				left -= (size_t)r;
				continue;
			}
			if (r != GNUTLS_E_AGAIN && r != GNUTLS_E_INTERRUPTED)
				return -1;
			if (gnutls_record_get_direction(n->tls) == 0)
				ev = POLLIN;
		} else {
			r = send(n->fd, p, left, MSG_NOSIGNAL);
			if (r > 0) {
				p += r;
				left -= (size_t)r;
				continue;
			}
			if (r < 0 && errno == EINTR)
				continue;
			if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
				return -1;
		}
		if (imap_net_poll_stream(n, ev, deadline) != 1)
			return -1;
	}
	return (ssize_t)count;
}

static const char *const imap_net_status[] = { "OK", "PREAUTH", "BYE" };

int
imap_net_greeting_clean(const char *line, size_t len, char *out, size_t outsz,
    size_t *outlen_r)
{
	const char *p = line, *end = line + len, *w, *code, *close;
	const char *status = NULL;
	size_t i, wl;
	int n;

	*outlen_r = 0;
	if (memchr(line, '[', len) == NULL)
		goto keep;
	/* "*" SP status SP "[" atom (SP atoms)* "]" ... */
	if (p < end && *p == '*')
		p++;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	for (w = p; p < end && ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z')); p++)
		;
	wl = (size_t)(p - w);
	for (i = 0; i < sizeof(imap_net_status) / sizeof(imap_net_status[0]); i++)
		if (wl == strlen(imap_net_status[i]) &&
		    strncasecmp(w, imap_net_status[i], wl) == 0)
			status = imap_net_status[i];
	if (status == NULL || line[0] != '*')
		goto rewrite;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p >= end || *p != '[')
		goto rewrite;          /* the '[' is elsewhere: drop the text */
	code = ++p;
	close = memchr(code, ']', (size_t)(end - code));
	if (close == NULL)
		goto rewrite;
	if (!((close - code >= 10 && strncasecmp(code, "CAPABILITY", 10) == 0 &&
	    (close - code == 10 || code[10] == ' ')) ||
	    (close - code == 5 && strncasecmp(code, "ALERT", 5) == 0)))
		goto rewrite;
	for (p = code; p < close; p++) {
		char c = *p;

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == ' ' || c == '=' || c == '-' || c == '+' || c == '.' || c == '_' ||
		    c == ':' || c == '/'))
			goto rewrite;
	}
keep:
	if (outsz < len)
		return -1;
	memcpy(out, line, len);
	*outlen_r = len;
	return 0;
rewrite:
	if (status != NULL && line[0] == '*')
		n = snprintf(out, outsz, "* %s greeting\r\n", status);
	else
		n = snprintf(out, outsz, "* BYE unreadable greeting\r\n");
	if (n < 0 || (size_t)n >= outsz)
		return -1;
	*outlen_r = (size_t)n;
	return 1;
}

/* read the greeting line, clean it, keep it with what followed in pend */
static int
imap_net_read_greeting(struct imap_net *n)
{
	char *g = xmalloc(IMAP_NET_MAX_GREETING);
	const char *lf = NULL;
	size_t glen = 0, llen, olen;
	ssize_t r;

	while (lf == NULL) {
		if (glen == IMAP_NET_MAX_GREETING)
			goto fail;
		r = imap_net_raw_read(n, g + glen, IMAP_NET_MAX_GREETING - glen);
		if (r < 0)
			goto fail;
		lf = memchr(g + glen, '\n', (size_t)r);
		glen += (size_t)r;
	}
	llen = (size_t)(lf - g) + 1;
	n->pend = xmalloc(llen + 64 + (glen - llen));
	if (imap_net_greeting_clean(g, llen, n->pend, llen + 64, &olen) < 0)
		goto fail;
	if (olen != llen || memcmp(n->pend, g, llen) != 0) {
		char shown[201];
		size_t i;

		for (i = 0; i + 1 < sizeof(shown) && i < llen && g[i] != '\r' && g[i] != '\n'; i++)
			shown[i] = g[i] >= 0x20 && g[i] < 0x7f ? g[i] : '?';
		shown[i] = '\0';
		log_warn("imap: greeting \"%s\" passed on without its response code", shown);
	}
	memcpy(n->pend + olen, g + llen, glen - llen);
	n->pend_len = olen + (glen - llen);
	n->pend_off = 0;
	n->greeting = 0;
	free(g);
	return 0;
fail:
	free(g);
	return -1;
}

/* ---- the libetpan driver ---- */

static ssize_t
imap_net_read(mailstream_low *s, void *buf, size_t count)
{
	struct imap_net *n = s->data;

	if (count == 0)
		return 0;
	if (n->greeting && imap_net_read_greeting(n) != 0)
		return -1;
	if (n->pend_off < n->pend_len) {
		size_t k = n->pend_len - n->pend_off;

		if (k > count)
			k = count;
		memcpy(buf, n->pend + n->pend_off, k);
		n->pend_off += k;
		if (n->pend_off == n->pend_len) {
			free(n->pend);
			n->pend = NULL;
			n->pend_len = n->pend_off = 0;
		}
		return (ssize_t)k;
	}
	return imap_net_raw_read(n, buf, count);
}

static ssize_t
imap_net_write(mailstream_low *s, const void *buf, size_t count)
{
	return imap_net_raw_write(s->data, buf, count);
}

static int
imap_net_close(mailstream_low *s)
{
	struct imap_net *n = s->data;

	if (n->fd < 0)
		return 0;
	/* close_notify, best effort: one try, no wait */
	if (n->tls != NULL)
		(void)gnutls_bye(n->tls, GNUTLS_SHUT_WR);
	close(n->fd);
	n->fd = -1;
	return 0;
}

static int
imap_net_get_fd(mailstream_low *s)
{
	const struct imap_net *n = s->data;

	return n->fd;
}

static void
imap_net_tls_free(struct imap_net *n)
{
	if (n->tls != NULL)
		gnutls_deinit(n->tls);
	n->tls = NULL;
	if (n->cred != NULL)
		gnutls_certificate_free_credentials(n->cred);
	n->cred = NULL;
}

static void
imap_net_free(mailstream_low *s)
{
	struct imap_net *n = s->data;

	if (n != NULL) {
		if (n->fd >= 0)
			close(n->fd);
		imap_net_tls_free(n);
		free(n->pend);
		free(n);
	}
	free(s);
}

static mailstream_low_driver imap_net_driver = {
	imap_net_read, imap_net_write, imap_net_close, imap_net_get_fd, imap_net_free,
	NULL, NULL, NULL, NULL, NULL, NULL,
};

mailstream *
imap_net_open(int fd, int timeout_s)
{
	struct imap_net *n = xcalloc(1, sizeof(*n));
	mailstream_low *low;
	mailstream *st;
	int fl;

	/* waits are done with poll, never by a blocking call */
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || ((fl & O_NONBLOCK) == 0 && fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0)) {
		free(n);
		return NULL;
	}
	n->fd = fd;
	n->timeout_ms = (timeout_s > 0 ? timeout_s : 60) * 1000;
	n->greeting = 1;
	n->stop_grace_ms = -1;
	n->stop_seen = -1;
	if ((low = mailstream_low_new(n, &imap_net_driver)) == NULL) {
		free(n);
		return NULL;
	}
	if ((st = mailstream_new(low, 8192)) == NULL) {
		n->fd = -1;                      /* the caller keeps it */
		mailstream_low_free(low);
	}
	return st;
}

static struct imap_net *
imap_net_of(mailstream *s)
{
	mailstream_low *low = s != NULL ? mailstream_get_low(s) : NULL;

	if (low == NULL || low->driver != &imap_net_driver)
		return NULL;
	return low->data;
}

int
imap_net_is_tls(mailstream *s)
{
	struct imap_net *n = imap_net_of(s);

	return n != NULL && n->tls != NULL;
}

/* the peer's chain as sent, against the trust list and host */
static int
imap_net_verify(gnutls_session_t tls, const char *host, const char *ca_file, char *err,
    size_t errsz)
{
	const gnutls_datum_t *certs;
	struct tls_der der[IMAP_NET_MAX_CHAIN];
	unsigned i, nc = 0;

	if (gnutls_certificate_type_get(tls) != GNUTLS_CRT_X509 ||
	    (certs = gnutls_certificate_get_peers(tls, &nc)) == NULL || nc == 0) {
		snprintf(err, errsz, "the server sent no certificate");
		return -1;
	}
	if (nc > IMAP_NET_MAX_CHAIN)
		nc = IMAP_NET_MAX_CHAIN;
	for (i = 0; i < nc; i++) {
		der[i].data = certs[i].data;
		der[i].len = certs[i].size;
	}
	return tls_verify_chain(der, nc, host, ca_file, err, errsz);
}

int
imap_net_starttls(mailstream *s, const char *host, const char *ca_file, char *err,
    size_t errsz)
{
	struct imap_net *n = imap_net_of(s);
	int64_t deadline;
	int r;

	if (n == NULL || n->fd < 0 || n->tls != NULL) {
		snprintf(err, errsz, "no plain connection to start TLS on");
		return -1;
	}
	if (s->read_buffer_len > 0 || n->pend_off < n->pend_len) {
		snprintf(err, errsz, "the server sent data before the TLS handshake");
		return -1;
	}
	if (gnutls_certificate_allocate_credentials(&n->cred) < 0 ||
	    gnutls_init(&n->tls, GNUTLS_CLIENT | GNUTLS_NONBLOCK) < 0) {
		n->tls = NULL;
		snprintf(err, errsz, "out of memory for TLS");
		goto fail;
	}
	if (gnutls_set_default_priority(n->tls) < 0 ||
	    gnutls_credentials_set(n->tls, GNUTLS_CRD_CERTIFICATE, n->cred) < 0 ||
	    (!tls_host_is_ip(host) &&
	     gnutls_server_name_set(n->tls, GNUTLS_NAME_DNS, host, strlen(host)) < 0)) {
		snprintf(err, errsz, "cannot set up TLS");
		goto fail;
	}
	gnutls_transport_set_int(n->tls, n->fd);
	deadline = imap_net_now_ms() + n->timeout_ms;
	for (;;) {
		r = gnutls_handshake(n->tls);
		if (r == 0)
			break;
		if (gnutls_error_is_fatal(r)) {
			snprintf(err, errsz, "TLS handshake failed: %s", gnutls_strerror(r));
			goto fail;
		}
		r = imap_net_poll_stream(n, gnutls_record_get_direction(n->tls) ? POLLOUT : POLLIN,
		    deadline);
		if (r != 1) {
			snprintf(err, errsz, "TLS handshake %s", r == 0 ? "timed out" :
			    r == IMAP_NET_STOPPED ? "stopped" : "failed");
			goto fail;
		}
	}
	/* nothing the server sent over TLS has been read yet */
	if (imap_net_verify(n->tls, host, ca_file, err, errsz) != 0)
		goto fail;
	return 0;
fail:
	/* no close_notify to a peer that is not trusted */
	imap_net_tls_free(n);
	close(n->fd);
	n->fd = -1;
	return -1;
}

void
imap_net_set_stop_grace(mailstream *s, int grace_ms)
{
	struct imap_net *n = imap_net_of(s);

	if (n != NULL) {
		n->stop_grace_ms = grace_ms < 0 ? -1 : grace_ms;
		n->stop_seen = -1;
	}
}

int
imap_net_wait(mailstream *s, int timeout_ms)
{
	struct imap_net *n = imap_net_of(s);
	struct pollfd p;
	int r;

	if (n == NULL || n->fd < 0)
		return -1;
	if (s->read_buffer_len > 0 || n->pend_off < n->pend_len ||
	    (n->tls != NULL && gnutls_record_check_pending(n->tls) > 0))
		return 1;
	p.fd = n->fd;
	p.events = POLLIN;
	p.revents = 0;
	r = poll(&p, 1, timeout_ms);
	if (r > 0)
		return 1;
	if (r == 0 || errno == EINTR)
		return 0;
	return -1;
}
