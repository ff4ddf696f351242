/*
 * tls_verify.c - certificate chain and host name verification with a GnuTLS
 * trust list (system CAs + an optional ca_file), used where the TLS library
 * in between does not verify (libetpan with GnuTLS).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "tls_verify.h"
#include "util.h"

#define TLS_MAX_CHAIN 16

int
tls_host_is_ip(const char *host)
{
	unsigned char addr[16];

	if (host == NULL)
		return 0;
	return inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1;
}

int
tls_verify_chain(const struct tls_der *chain, size_t n, const char *host,
    const char *ca_file, char *err, size_t errsz)
{
	gnutls_x509_trust_list_t tl = NULL;
	gnutls_x509_crt_t crts[TLS_MAX_CHAIN];
	gnutls_typed_vdata_st vdata[2];
	gnutls_datum_t out = { NULL, 0 };
	char hostbuf[256];
	char kp[] = GNUTLS_KP_TLS_WWW_SERVER;
	unsigned ncrt = 0, status = 0;
	int r, ret = -1;
	size_t i;

	if (n == 0) {
		snprintf(err, errsz, "the server sent no certificate");
		return -1;
	}
	if (host == NULL || util_strlcpy(hostbuf, host, sizeof(hostbuf)) >= sizeof(hostbuf)) {
		snprintf(err, errsz, "host name too long for verification");
		return -1;
	}
	if (n > TLS_MAX_CHAIN)
		n = TLS_MAX_CHAIN;
	if (gnutls_x509_trust_list_init(&tl, 0) < 0) {
		snprintf(err, errsz, "cannot make a trust list");
		return -1;
	}
	/* no system store is not an error when ca_file is given */
	(void)gnutls_x509_trust_list_add_system_trust(tl, 0, 0);
	if (ca_file != NULL && ca_file[0] != '\0') {
		r = gnutls_x509_trust_list_add_trust_file(tl, ca_file, NULL,
		    GNUTLS_X509_FMT_PEM, 0, 0);
		if (r <= 0) {
			snprintf(err, errsz, "ca_file %s: %s", ca_file,
			    r < 0 ? gnutls_strerror(r) : "no certificate in it");
			goto fail;
		}
	}
	for (i = 0; i < n; i++) {
		gnutls_datum_t d;

		d.data = xmalloc(chain[i].len ? chain[i].len : 1);
		memcpy(d.data, chain[i].data, chain[i].len);
		d.size = (unsigned)chain[i].len;
		if (gnutls_x509_crt_init(&crts[ncrt]) < 0) {
			free(d.data);
			snprintf(err, errsz, "out of memory reading the certificate");
			goto fail;
		}
		r = gnutls_x509_crt_import(crts[ncrt], &d, GNUTLS_X509_FMT_DER);
		free(d.data);
		if (r < 0) {
			gnutls_x509_crt_deinit(crts[ncrt]);
			snprintf(err, errsz, "unreadable certificate from %s: %s", host,
			    gnutls_strerror(r));
			goto fail;
		}
		ncrt++;
	}
	vdata[0].type = GNUTLS_DT_DNS_HOSTNAME;
	vdata[0].data = (unsigned char *)hostbuf;
	vdata[0].size = 0;
	vdata[1].type = GNUTLS_DT_KEY_PURPOSE_OID;
	vdata[1].data = (unsigned char *)kp;
	vdata[1].size = 0;
	r = gnutls_x509_trust_list_verify_crt2(tl, crts, ncrt, vdata, 2, 0, &status, NULL);
	if (r < 0) {
		snprintf(err, errsz, "certificate verification for %s failed: %s", host,
		    gnutls_strerror(r));
		goto fail;
	}
	if (status != 0) {
		/* name the host mismatch plainly; print the rest as GnuTLS words it */
		if ((status & ~(unsigned)(GNUTLS_CERT_INVALID | GNUTLS_CERT_UNEXPECTED_OWNER)) == 0 &&
		    (status & GNUTLS_CERT_UNEXPECTED_OWNER)) {
			snprintf(err, errsz, "certificate is not for host %s", host);
			goto fail;
		}
		if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509,
		    &out, 0) == 0) {
			snprintf(err, errsz, "certificate for %s is not trusted: %s", host,
			    (const char *)out.data);
			gnutls_free(out.data);
		} else {
			snprintf(err, errsz, "certificate for %s is not trusted (status 0x%x)",
			    host, status);
		}
		goto fail;
	}
	ret = 0;
fail:
	for (i = 0; i < ncrt; i++)
		gnutls_x509_crt_deinit(crts[i]);
	if (tl != NULL)
		gnutls_x509_trust_list_deinit(tl, 1);
	return ret;
}
