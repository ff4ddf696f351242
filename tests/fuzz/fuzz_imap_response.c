/*
 * fuzz_imap_response.c - libFuzzer target for libetpan's IMAP response
 * parser, driven as the intake drives it (intake_imap.c): the input is the
 * server's side of a whole session, read from memory through a mailstream
 * driver (what the client writes is dropped).  The client reads the
 * greeting (mailimap_connect), then runs LOGIN, CAPABILITY (through
 * imap_intake_capability, as the intake does), LIST, CREATE,
 * SELECT, a UID FETCH through libetpan's own parser (UID RFC822.SIZE
 * INTERNALDATE BODY.PEEK[]), UID MOVE, UID COPY, UID STORE, UID EXPUNGE,
 * EXPUNGE, NOOP and IDLE/DONE, stopping at the first failure as the intake
 * does (a failed session is closed without LOGOUT).  libetpan numbers its
 * tags 1, 2, 3...  What the intake relies on is checked: a successful
 * SELECT leaves selection info, results are lists or NULL.
 *
 * libetpan comes from Debian, uninstrumented: coverage guidance is only the
 * command reached here, ASan still sees every bad access through its
 * interceptors (memcpy, strlen...) and every bad free.
 *
 *   sh tests/fuzz/run-fuzz.sh 60 fuzz_imap_response
 *   ./build-fuzz/fuzz/fuzz_imap_response -max_len=8192 DIR tests/fuzz/seeds/imap_response
 */
#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include <libetpan/libetpan.h>

#include "intake_imap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fzir_check(int cond)
{
	if (!cond)
		abort();
}

static struct mailimap_set *
fzir_set(void)
{
	struct mailimap_set *set = mailimap_set_new_empty();

	fzir_check(set != NULL);
	fzir_check(mailimap_set_add_interval(set, 1, 500) == 0);
	fzir_check(mailimap_set_add_single(set, 777) == 0);
	return set;
}

static int
fzir_fetch(mailimap *imap)
{
	struct mailimap_fetch_type *ft = mailimap_fetch_type_new_fetch_att_list_empty();
	struct mailimap_set *set = mailimap_set_new_interval(1, 0);
	clist *result = NULL;
	int r;

	fzir_check(ft != NULL && set != NULL);
	fzir_check(mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_uid()) == 0);
	fzir_check(mailimap_fetch_type_new_fetch_att_list_add(ft,
	    mailimap_fetch_att_new_rfc822_size()) == 0);
	fzir_check(mailimap_fetch_type_new_fetch_att_list_add(ft,
	    mailimap_fetch_att_new_internaldate()) == 0);
	fzir_check(mailimap_fetch_type_new_fetch_att_list_add(ft,
	    mailimap_fetch_att_new_body_peek_section(mailimap_section_new(NULL))) == 0);
	r = mailimap_uid_fetch(imap, set, ft, &result);
	if (r == MAILIMAP_NO_ERROR) {
		clistiter *it;

		fzir_check(result != NULL);
		/* walk what the intake would read */
		for (it = clist_begin(result); it != NULL; it = clist_next(it)) {
			struct mailimap_msg_att *ma = clist_content(it);
			clistiter *j;

			fzir_check(ma != NULL && ma->att_list != NULL);
			for (j = clist_begin(ma->att_list); j != NULL; j = clist_next(j)) {
				struct mailimap_msg_att_item *item = clist_content(j);

				if (item->att_type != MAILIMAP_MSG_ATT_ITEM_STATIC)
					continue;
				if (item->att_data.att_static->att_type == MAILIMAP_MSG_ATT_BODY_SECTION) {
					struct mailimap_msg_att_body_section *bs =
					    item->att_data.att_static->att_data.att_body_section;

					/* the intake would copy sec_length bytes */
					if (bs->sec_body_part != NULL && bs->sec_length > 0) {
						char *copy = malloc(bs->sec_length);

						fzir_check(copy != NULL);
						memcpy(copy, bs->sec_body_part, bs->sec_length);
						free(copy);
					}
				}
			}
		}
		mailimap_fetch_list_free(result);
	}
	mailimap_fetch_type_free(ft);
	mailimap_set_free(set);
	return r;
}

static int
fzir_store(mailimap *imap, int deleted)
{
	struct mailimap_flag_list *fl = mailimap_flag_list_new_empty();
	struct mailimap_store_att_flags *sf;
	struct mailimap_set *set = fzir_set();
	int r;

	fzir_check(fl != NULL);
	fzir_check(mailimap_flag_list_add(fl, deleted ? mailimap_flag_new_deleted() :
	    mailimap_flag_new_seen()) == 0);
	sf = mailimap_store_att_flags_new_add_flags_silent(fl);
	fzir_check(sf != NULL);
	r = mailimap_uid_store(imap, set, sf);
	mailimap_store_att_flags_free(sf);
	mailimap_set_free(set);
	return r;
}

/* the session; 0 when every command succeeded */
static int
fzir_session(mailimap *imap)
{
	struct mailimap_set *set;
	clist *list = NULL;
	int r;

	r = mailimap_login(imap, "prijave@example.org", "secret");
	if (r != MAILIMAP_NO_ERROR)
		return r;
	/* the intake's own CAPABILITY (libetpan's alone crashes on a server
	 * that never sends capability data) */
	r = imap_intake_capability(imap);
	if (r != MAILIMAP_NO_ERROR)
		return r;
	fzir_check(imap->imap_connection_info != NULL &&
	    imap->imap_connection_info->imap_capability != NULL);
	(void)mailimap_has_extension(imap, "MOVE");
	(void)mailimap_has_extension(imap, "UIDPLUS");
	(void)mailimap_has_idle(imap);
	r = mailimap_list(imap, "", "Obra&ARE-eno", &list);
	if (r != MAILIMAP_NO_ERROR)
		return r;
	if (list != NULL)
		mailimap_list_result_free(list);
	if ((r = mailimap_create(imap, "Obra&ARE-eno")) != MAILIMAP_NO_ERROR)
		return r;
	r = mailimap_select(imap, "INBOX");
	if (r != MAILIMAP_NO_ERROR)
		return r;
	fzir_check(imap->imap_selection_info != NULL);
	if ((r = fzir_fetch(imap)) != MAILIMAP_NO_ERROR)
		return r;
	set = fzir_set();
	r = mailimap_uid_move(imap, set, "Obra&ARE-eno");
	if (r == MAILIMAP_NO_ERROR)
		r = mailimap_uid_copy(imap, set, "Obra&ARE-eno");
	if (r == MAILIMAP_NO_ERROR)
		r = mailimap_uid_expunge(imap, set);
	mailimap_set_free(set);
	if (r != MAILIMAP_NO_ERROR)
		return r;
	if ((r = fzir_store(imap, 1)) != MAILIMAP_NO_ERROR)
		return r;
	if ((r = mailimap_expunge(imap)) != MAILIMAP_NO_ERROR)
		return r;
	if ((r = fzir_store(imap, 0)) != MAILIMAP_NO_ERROR)
		return r;
	if ((r = mailimap_noop(imap)) != MAILIMAP_NO_ERROR)
		return r;
	if ((r = mailimap_idle(imap)) != MAILIMAP_NO_ERROR)
		return r;
	return mailimap_idle_done(imap);
}

/*
 * Known libetpan 1.9.4 bugs, not s48's (tests/fuzz/known-libetpan/): a
 * response code with a list that does not parse ("[BADCHARSET (",
 * "[PERMANENTFLAGS ((\\Seen)]", "[BADCHARSET ()]"), or any list in a
 * response code of the greeting, makes the parser dereference NULL.
 * Such inputs are skipped so that the rest is fuzzed; 1 when data holds
 * one.
 */
static int
fzir_known_bug(const uint8_t *data, size_t size)
{
	static const char *const codes[] = { "[BADCHARSET", "[PERMANENTFLAGS" };
	const uint8_t *eol = memchr(data, '\n', size);
	const uint8_t *br = memchr(data, '[', eol != NULL ? (size_t)(eol - data) : size);
	size_t i, k, l;

	/* in the greeting even a well formed list crashes it:
	 * "* OK [PERMANENTFLAGS (\\Seen)] x", "* OK [BADCHARSET ()] x" */
	if (br != NULL && memchr(br, '(', (size_t)((eol != NULL ? eol : data + size) - br)) != NULL)
		return 1;
	for (k = 0; k < sizeof(codes) / sizeof(codes[0]); k++) {
		l = strlen(codes[k]);
		for (i = 0; i + l <= size; i++) {
			size_t j = i + l, depth = 0;

			if (strncasecmp((const char *)data + i, codes[k], l) != 0)
				continue;
			/* well formed: " (" no nested "(" until ")" then "]" */
			if (j + 1 >= size || data[j] != ' ' || data[j + 1] != '(')
				return 1;
			for (j += 2; j < size && data[j] != ')'; j++) {
				unsigned char c = data[j];

				/* flags (\\Seen \\* $Label) and charsets (UTF-8) */
				if (c == '\\' && j + 1 < size && (isalnum(data[j + 1]) ||
				    data[j + 1] == '*'))
					continue;
				if (!isalnum(c) && c != ' ' && c != '*' && c != '$' && c != '-' &&
				    c != '_' && c != '.' && c != '+')
					depth++;
			}
			if (depth > 0 || j + 1 >= size || data[j + 1] != ']')
				return 1;
			if (k == 0 && data[i + l + 2] == ')')      /* "[BADCHARSET ()]" */
				return 1;
		}
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	mailstream *s;
	mailimap *imap;
	int r;

#ifndef FZIR_REPLAY_KNOWN
	if (fzir_known_bug(data, size))
		return 0;
#endif
	imap = mailimap_new(0, NULL);
	s = imap_intake_mem_stream(data, size);
	fzir_check(imap != NULL && s != NULL);
	r = mailimap_connect(imap, s);
	if (r == MAILIMAP_NO_ERROR_AUTHENTICATED || r == MAILIMAP_NO_ERROR_NON_AUTHENTICATED) {
		/* as the intake: end of stream is an error from here on */
		fzir_check(imap_intake_guard_eof(imap) == 0);
		(void)fzir_session(imap);
	}
	else
		fzir_check(r != MAILIMAP_NO_ERROR);
	/* as the intake closes a session: no LOGOUT */
	if (imap->imap_stream != NULL) {
		mailstream_close(imap->imap_stream);
		imap->imap_stream = NULL;
	}
	mailimap_free(imap);
	return 0;
}
