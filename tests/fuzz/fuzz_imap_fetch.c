/*
 * fuzz_imap_fetch.c - libFuzzer target for the intake's own UID FETCH
 * response reader (intake_imap.c), fed from memory through a mailstream
 * driver.  The first input byte chooses max_message_bytes (1..256 or 10 MB)
 * so the oversized-literal refusal is explored too; the reader itself
 * aborts if a body is unbounded or not NUL-terminated.
 *
 *   clang-14 -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
 *       -Idaemon -Iparsers -Inotifiers tests/fuzz/fuzz_imap_fetch.c \
 *       daemon/intake_imap.c daemon/tls_verify.c daemon/util.c daemon/log.c \
 *       $(pkg-config --libs libetpan gnutls | tr ' ' '\n' | grep -v '^-specs=') \
 *       -o fuzz_imap_fetch
 *   ./fuzz_imap_fetch -max_len=8192 tests/fuzz/seeds/imap_fetch
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "intake_imap.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	long max_bytes;
	size_t n;

	if (size < 1)
		return 0;
	max_bytes = data[0] == 0 ? 10485760L : (long)data[0];
	(void)imap_intake_parse_fetch(data + 1, size - 1, max_bytes, &n);
	return 0;
}
