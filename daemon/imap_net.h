/*
 * imap_net.h - the network under the IMAP intake's libetpan session: a TCP
 * connection opened here (connect timeout) and a libetpan stream driver
 * over it, plain or GnuTLS.  The TLS handshake is done here and the peer's
 * chain and host name verified (tls_verify.h) BEFORE the stream hands a
 * byte of the server's to libetpan: libetpan 1.9.4 crashes on some server
 * lines (tests/fuzz/known-libetpan/README), so an unverified peer must not
 * be parsed at all.  The first line a stream delivers (the greeting) is
 * cleaned of response codes libetpan cannot parse safely
 * (imap_net_greeting_clean).
 *
 * Reads and writes wait at most the stream's timeout (EINTR is retried),
 * and, once imap_net_set_stop_grace() is given a grace, no longer than that
 * after s48_stop_requested (util.h) is set,
 * end of stream is an error (-1, never 0: libetpan 1.9.4 would spin on 0
 * inside a literal), a TLS close_notify is an end of stream.
 *
 * Errors: functions taking err write a one-line reason into it (errsz
 * bytes) such as "connection refused", "connection timed out",
 * "TLS handshake failed: ...", "certificate is not for host X" or
 * "certificate for X is not trusted: ..." (from tls_verify_chain).
 */
#ifndef S48_IMAP_NET_H
#define S48_IMAP_NET_H

#include <stddef.h>

struct _mailstream;

/* how often a wait that heeds a stop request looks at s48_stop_requested */
#define IMAP_NET_STOP_SLICE_MS 100

/*
 * A TCP connection to host:port (every address getaddrinfo gives, in
 * order), each attempt bounded by timeout_s seconds, and given up within
 * IMAP_NET_STOP_SLICE_MS of s48_stop_requested being set, also during the
 * name lookup (err "stopped", errno ECANCELED; a lookup given up finishes
 * on its own thread, which frees what it holds).  Returns the
 * connected socket (non-blocking, close-on-exec) or -1 with err.
 */
int imap_net_connect(const char *host, int port, int timeout_s, char *err, size_t errsz);

/*
 * A libetpan stream over the connected socket fd (made non-blocking, and
 * taken over: the stream closes it; on failure, NULL, the caller still owns
 * fd), plain until
 * imap_net_starttls.  timeout_s bounds every wait for the peer.  Close
 * with mailstream_close().
 */
struct _mailstream *imap_net_open(int fd, int timeout_s);

/*
 * TLS on the stream's connection: handshake (SNI host unless an address
 * literal), then the peer's chain verified against the system trust store
 * plus ca_file (NULL: none) and its name against host.  For implicit TLS
 * call it right after imap_net_open; for STARTTLS after the tagged OK to
 * STARTTLS.  Refused when the stream already holds unread bytes (a server,
 * or a man in the middle, that sent more after the OK: they would be read
 * as if they came over TLS).  0, or -1 with err; after -1 the stream is
 * unusable (close it).
 */
int imap_net_starttls(struct _mailstream *s, const char *host, const char *ca_file,
    char *err, size_t errsz);

/*
 * How a stop request ends the waits of s for the peer (reads, writes, the
 * TLS handshake of imap_net_starttls): grace_ms >= 0: a wait fails (as a
 * lost connection; the TLS handshake with err "TLS handshake stopped")
 * once s48_stop_requested has been seen set for grace_ms, looked at every
 * IMAP_NET_STOP_SLICE_MS (a flag lowered again, as a reload's wake does,
 * starts the grace over); -1 (the default of imap_net_open): waits run to
 * the stream's timeout whatever the flag says.  Only the thread using s
 * may call it.  Not an imap_net stream: nothing happens.
 */
void imap_net_set_stop_grace(struct _mailstream *s, int grace_ms);

/* 1 if s is a stream of imap_net_open and TLS is on, else 0. */
int imap_net_is_tls(struct _mailstream *s);

/*
 * Wait up to timeout_ms for something to read on s: 1 when there is
 * (already buffered by libetpan, by TLS, or on the socket, also end of
 * stream), 0 on timeout or when a signal interrupted the wait (errno
 * EINTR), -1 on error or when s is not an imap_net stream.
 */
int imap_net_wait(struct _mailstream *s, int timeout_ms);

/*
 * The greeting line as libetpan may see it.  line[0..len) is one line
 * (with or without its CRLF).  A line without '[' is kept; so is
 * "* OK [CAPABILITY ...]" / "[ALERT]" whose code holds only atoms.  Any
 * other response code (PERMANENTFLAGS, BADCHARSET, unbalanced brackets...)
 * makes the line "* <OK|PREAUTH|BYE> greeting\r\n", and a line whose
 * status is none of those "* BYE unreadable greeting\r\n".  The result
 * goes to out (a kept line as it is, len bytes; a rewrite needs at most
 * 32), *outlen_r its length.  Returns 1 if rewritten, 0 if kept, -1 if out
 * is too small.
 */
int imap_net_greeting_clean(const char *line, size_t len, char *out, size_t outsz,
    size_t *outlen_r);

#endif
