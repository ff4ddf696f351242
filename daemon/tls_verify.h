/*
 * tls_verify.h - verify a TLS peer's certificate chain and host name with
 * GnuTLS, for connections whose library does not (libetpan built with GnuTLS
 * accepts any certificate).
 */
#ifndef S48_TLS_VERIFY_H
#define S48_TLS_VERIFY_H

#include <stddef.h>

struct tls_der {
	const unsigned char *data;  /* one DER certificate */
	size_t len;
};

/*
 * Verify chain (leaf first, as sent by the peer) against the system trust
 * store plus the PEM certificates in ca_file (NULL or "" for none) and check
 * that the leaf is for host (a DNS name or an IP address literal) and usable
 * by a TLS server.
 * Returns 0 when trusted, -1 with a one-line reason in err (size errsz):
 * "certificate for X is not trusted: ...", "certificate is not for host X",
 * "ca_file F: ...".
 */
int tls_verify_chain(const struct tls_der *chain, size_t n, const char *host,
    const char *ca_file, char *err, size_t errsz);

/* 1 if host is an IPv4 or IPv6 address literal (no SNI is sent for those). */
int tls_host_is_ip(const char *host);

#endif
