/*
 * fuzz_gateway_json.c - libFuzzer target for the gateway answer reader:
 * gateway_json_repair must always give valid UTF-8 without NUL, must never
 * break JSON that jansson already accepts, and lookups must not crash.
 *
 *   clang-14 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Idaemon -Iparsers \
 *       tests/fuzz/fuzz_gateway_json.c parsers/gateway_json.c parsers/normalize.c \
 *       daemon/util.c daemon/log.c $(pkg-config --libs jansson gnutls) -lm
 *   ./fuzz_gateway_json -max_len=4096 tests/fuzz/seeds/gateway_json
 *
 * The input is "PATH\nJSON": the first line is a dot path looked up in the result.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway_json.h"
#include "normalize.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *d = (const char *)data, *nl = memchr(d, '\n', size);
	char path[256] = "";
	char *fixed, *err = NULL, *t;
	size_t n, plen;
	json_t *root, *plain;

	if (nl != NULL) {
		plen = (size_t)(nl - d) < sizeof(path) - 1 ? (size_t)(nl - d) : sizeof(path) - 1;
		memcpy(path, d, plen);
		path[plen] = '\0';
		size -= (size_t)(nl - d) + 1;
		d = nl + 1;
	}
	fixed = gateway_json_repair(d, size, &n);
	if (strlen(fixed) != n || !norm_utf8_valid(fixed, n))
		abort();
	free(fixed);
	plain = json_loadb(d, size, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, NULL);
	root = gateway_json_load(d, size, &err);
	/* repair must not break valid JSON (jansson reads a NUL byte outside
	 * strings as the end of input; we count it as garbage) */
	if (plain != NULL && root == NULL && memchr(d, '\0', size) == NULL)
		abort();
	if (root == NULL && err == NULL)
		abort();
	t = gateway_json_path_text(root, path);
	free(t);
	free(err);
	json_decref(root);
	json_decref(plain);
	return 0;
}
