/* test_http_global.c - libcurl's global set-up (http_global_init) leaves
 * OpenSSL alone: Debian's libcurl links libssh2, whose init touched 1.2 MB
 * of libcrypto's code (2.9 MB resident in all) in every s48d. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "http_client.h"

/* resident kB of this process's mappings of a file whose name contains
 * name; -1 when none is mapped */
static long
mapped_rss_kb(const char *name)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	long kb = -1;
	int in = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		unsigned long a, b;
		long v;

		/* "7f..-7f.. r-xp ... /path" opens a mapping; field
		 * lines ("Rss:", "Anonymous:") do not parse as a range */
		if (sscanf(line, "%lx-%lx ", &a, &b) == 2) {
			in = strstr(line, name) != NULL;
			continue;
		}
		if (in && sscanf(line, "Rss: %ld kB", &v) == 1)
			kb = (kb < 0 ? 0 : kb) + v;
	}
	fclose(f);
	return kb;
}

static void
test_no_openssl_init(void **state)
{
	long before, after;
	CURL *c;

	(void)state;
	before = mapped_rss_kb("libcrypto.so");
	if (before < 0)
		skip();         /* this libcurl does not bring OpenSSL along */
	assert_int_equal(http_global_init(), 0);
	assert_int_equal(http_global_init(), 0);        /* once only */
	after = mapped_rss_kb("libcrypto.so");
	/* libssh2's crypto init ran OpenSSL's: +1,400 kB here */
	if (after - before >= 256)
		fail_msg("libcrypto grew from %ld to %ld kB resident", before, after);
	/* and libcurl works */
	c = curl_easy_init();
	assert_non_null(c);
	assert_int_equal(curl_easy_setopt(c, CURLOPT_URL, "smtp://127.0.0.1:1"), CURLE_OK);
	curl_easy_cleanup(c);
	curl_global_cleanup();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_openssl_init),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
