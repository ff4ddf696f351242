/*
 * test_intake_imap.c - the IMAP intake against a private Dovecot
 * (tests/lib/dovecot.sh) on 127.0.0.1: batches in UID order, MOVE and
 * COPY+EXPUNGE acknowledgement, \Seen mode, partial fetch of large mail,
 * IDLE, certificate and host name checks for implicit TLS and STARTTLS,
 * wrong password, a dead or stopped server.
 * Run from the repository root (or with S48_TOP set).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <libetpan/libetpan.h>

#include "intake_imap.h"
#include "util.h"

#include "dovecot_test.h"
#include "net_test.h"

static int
group_setup(void **state)
{
	(void)state;
	return dt_setup("/tmp/s48imap.XXXXXX");
}

static void
dovecot_stop(void)
{
	if (dt_stop() != 0)
		fprintf(stderr, "# dovecot stop failed\n");
}

static int
group_teardown(void **state)
{
	(void)state;
	dt_watchdog_stop();
	dovecot_stop();
	return dt_teardown();
}

/* imap_intake_connect(c) that must succeed */
static struct imap_intake *
connect_ok(const struct cfg_imap *c)
{
	struct imap_intake *ii = NULL;
	const char *err = NULL;

	if (imap_intake_connect(c, &ii, &err) != 0)
		fail_msg("connect %s: %s", c->mailbox, err);
	return ii;
}

/* acknowledge the n messages of *msgs, then free them */
static void
ack_all(struct imap_intake *ii, struct imap_msg **msgs, size_t n)
{
	uint32_t uids[64];
	const char *err = NULL;
	size_t j;

	assert_true(n <= sizeof(uids) / sizeof(uids[0]));
	for (j = 0; j < n; j++)
		uids[j] = (*msgs)[j].uid;
	assert_int_equal(imap_intake_ack(ii, uids, n, &err), 0);
	imap_intake_free_msgs(msgs, n);
}

/* ---- a helper session (libetpan directly) to append and inspect ---- */

static mailimap *
helper_open(void)
{
	mailimap *m = mailimap_new(0, NULL);
	int r;

	assert_non_null(m);
	mailimap_set_timeout(m, 10);
	r = mailimap_socket_connect(m, "127.0.0.1", (uint16_t)dt_dc.port);
	assert_true(r == MAILIMAP_NO_ERROR_NON_AUTHENTICATED || r == MAILIMAP_NO_ERROR_AUTHENTICATED);
	assert_int_equal(mailimap_login(m, dt_dc.user, dt_dc.pass), MAILIMAP_NO_ERROR);
	return m;
}

static void
helper_close(mailimap *m)
{
	mailimap_logout(m);
	mailimap_free(m);
}

static void
helper_create(mailimap *m, const char *mb)
{
	assert_int_equal(mailimap_create(m, mb), MAILIMAP_NO_ERROR);
}

/* a CRLF message "Subject: <subject>" with a body of about body_len bytes */
static char *
make_msg(const char *subject, size_t body_len, size_t *len_r)
{
	struct buf b;
	size_t n;

	buf_init(&b, 64u << 20);
	assert_int_equal(buf_appendf(&b, "From: Jovana <jovana@example.org>\r\n"
	    "To: prijave@example.org\r\nSubject: %s\r\n"
	    "Message-ID: <%s@test.example>\r\n\r\n", subject, subject), 0);
	for (n = 0; n < body_len; n += 50)
		assert_int_equal(buf_appends(&b, "Curi voda iz cevi u ulici Kralja Petra broj 7.\r\n"), 0);
	return buf_steal(&b, len_r);
}

static void
helper_append(mailimap *m, const char *mb, const char *subject, size_t body_len,
    struct mailimap_date_time *dt)
{
	size_t len;
	char *msg = make_msg(subject, body_len, &len);

	assert_int_equal(mailimap_append(m, mb, NULL, dt, msg, len), MAILIMAP_NO_ERROR);
	free(msg);
}

/* mailbox mb created with n messages "PREFIX-1".."PREFIX-n" of about
 * body_len bytes each */
static void
helper_fill(mailimap *m, const char *mb, const char *prefix, int n, size_t body_len)
{
	char subj[64];
	int i;

	helper_create(m, mb);
	for (i = 1; i <= n; i++) {
		snprintf(subj, sizeof(subj), "%s-%d", prefix, i);
		helper_append(m, mb, subj, body_len, NULL);
	}
}

/* messages in mb (and how many carry \Seen) */
static uint32_t
helper_count(mailimap *m, const char *mb, uint32_t *seen_r)
{
	struct mailimap_set *set;
	struct mailimap_fetch_type *ft;
	clist *res = NULL;
	clistiter *it, *jt;
	uint32_t n;

	assert_int_equal(mailimap_examine(m, mb), MAILIMAP_NO_ERROR);
	n = m->imap_selection_info->sel_exists;
	if (seen_r == NULL)
		return n;
	*seen_r = 0;
	if (n == 0)
		return 0;
	set = mailimap_set_new_interval(1, 0);
	ft = mailimap_fetch_type_new_fetch_att_list_empty();
	mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_flags());
	assert_int_equal(mailimap_fetch(m, set, ft, &res), MAILIMAP_NO_ERROR);
	for (it = clist_begin(res); it != NULL; it = clist_next(it)) {
		struct mailimap_msg_att *att = clist_content(it);

		for (jt = clist_begin(att->att_list); jt != NULL; jt = clist_next(jt)) {
			struct mailimap_msg_att_item *item = clist_content(jt);
			clistiter *kt;

			if (item->att_type != MAILIMAP_MSG_ATT_ITEM_DYNAMIC ||
			    item->att_data.att_dyn->att_list == NULL)
				continue;
			for (kt = clist_begin(item->att_data.att_dyn->att_list); kt != NULL;
			    kt = clist_next(kt)) {
				struct mailimap_flag_fetch *ff = clist_content(kt);

				if (ff->fl_type == MAILIMAP_FLAG_FETCH_OTHER &&
				    ff->fl_flag->fl_type == MAILIMAP_FLAG_SEEN)
					(*seen_r)++;
			}
		}
	}
	mailimap_fetch_list_free(res);
	mailimap_fetch_type_free(ft);
	mailimap_set_free(set);
	return n;
}

static int
helper_exists(mailimap *m, const char *mb)
{
	clist *list = NULL;
	int n;

	assert_int_equal(mailimap_list(m, "", mb, &list), MAILIMAP_NO_ERROR);
	n = list != NULL ? clist_count(list) : 0;
	if (list != NULL)
		mailimap_list_result_free(list);
	return n;
}

static int
subject_is(const struct imap_msg *m, const char *subject)
{
	char want[128];

	snprintf(want, sizeof(want), "\r\nSubject: %s\r\n", subject);
	return strstr((const char *)m->raw, want) != NULL;
}

/* ---- tests ---- */

/* batches come in UID order; ack moves them; processed_mailbox is created */
static void
test_fetch_batches_and_move(void **state)
{
	struct cfg_imap c;
	struct imap_intake *ii = NULL;
	struct imap_msg *msgs = NULL;
	size_t n, total = 0, k;
	const char *err = NULL;
	uint32_t last = 0;
	mailimap *h = helper_open();
	char subj[64];
	struct mailimap_date_time *dt;
	int i;

	(void)state;
	helper_create(h, "T1");
	for (i = 1; i <= 25; i++) {
		snprintf(subj, sizeof(subj), "prijava-%02d", i);
		/* INTERNALDATE 2026-11-24 10:00:00 +0100 = 09:00 UTC, + i minutes */
		dt = mailimap_date_time_new(24, 11, 2026, 10, i, 0, 100);
		helper_append(h, "T1", subj, 600, dt);
		mailimap_date_time_free(dt);
	}
	assert_int_equal(helper_exists(h, "T1done"), 0);

	dt_cfg_plain(&c, "T1", "T1done");
	ii = connect_ok(&c);
	assert_int_equal(helper_exists(h, "T1done"), 1);
	assert_true(imap_intake_uidvalidity(ii) > 0);
	assert_int_equal(imap_intake_uidnext(ii), 26);
	assert_true(imap_intake_has_move(ii));
	assert_true(imap_intake_has_idle(ii));

	for (k = 0; k < 3; k++) {
		size_t j;

		assert_int_equal(imap_intake_fetch(ii, 0, 10, &msgs, &n, &err), 0);
		assert_int_equal(n, k < 2 ? 10 : 5);
		for (j = 0; j < n; j++) {
			assert_true(msgs[j].uid > last);
			last = msgs[j].uid;
			total++;
			snprintf(subj, sizeof(subj), "prijava-%02zu", total);
			assert_true(subject_is(&msgs[j], subj));
			assert_int_equal(msgs[j].truncated, 0);
			assert_int_equal(msgs[j].full_size, msgs[j].len);
			assert_int_equal(msgs[j].raw[msgs[j].len], '\0');
			assert_int_equal((long)msgs[j].internaldate,
			    (long)(1795510800 + (long)total * 60));
		}
		/* not acknowledged: the same batch again */
		if (k == 0) {
			struct imap_msg *again = NULL;
			size_t n2;

			assert_int_equal(imap_intake_fetch(ii, 0, 10, &again, &n2, &err), 0);
			assert_int_equal(n2, n);
			assert_int_equal(again[0].uid, msgs[0].uid);
			assert_int_equal(again[n2 - 1].uid, msgs[n - 1].uid);
			imap_intake_free_msgs(&again, n2);
			assert_null(again);
		}
		ack_all(ii, &msgs, n);
	}
	assert_int_equal(total, 25);
	assert_int_equal(imap_intake_fetch(ii, 0, 10, &msgs, &n, &err), 0);
	assert_int_equal(n, 0);
	assert_null(msgs);
	assert_int_equal(helper_count(h, "T1", NULL), 0);
	assert_int_equal(helper_count(h, "T1done", NULL), 25);

	/* new mail after the listing was used up is seen */
	helper_append(h, "T1", "prijava-26", 100, NULL);
	assert_int_equal(imap_intake_fetch(ii, 0, 10, &msgs, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_true(subject_is(&msgs[0], "prijava-26"));
	assert_int_equal(msgs[0].uid, 26);
	imap_intake_free_msgs(&msgs, n);
	imap_intake_close(&ii);
	assert_null(ii);
	helper_close(h);
}

/* without MOVE: COPY + STORE \Deleted + UID EXPUNGE; an existing processed
 * mailbox is used as it is; messages another client moved are skipped */
static void
test_ack_copy_expunge(void **state)
{
	struct cfg_imap c;
	struct imap_intake *ii = NULL;
	struct imap_msg *msgs = NULL;
	size_t n;
	const char *err = NULL;
	uint32_t uids[16];
	mailimap *h = helper_open();

	(void)state;
	helper_fill(h, "T2", "copy", 8, 200);
	helper_create(h, "T2done");
	dt_cfg_plain(&c, "T2", "T2done");
	ii = connect_ok(&c);
	imap_intake_disable_move(ii);
	assert_int_equal(imap_intake_fetch(ii, 0, 3, &msgs, &n, &err), 0);
	assert_int_equal(n, 3);
	ack_all(ii, &msgs, n);
	assert_int_equal(helper_count(h, "T2", NULL), 5);
	assert_int_equal(helper_count(h, "T2done", NULL), 3);

	/* a clerk moves messages 4 and 5 away behind our back */
	{
		struct mailimap_set *set = mailimap_set_new_interval(4, 5);

		assert_int_equal(mailimap_select(h, "T2"), MAILIMAP_NO_ERROR);
		assert_int_equal(mailimap_uid_move(h, set, "T2done"), MAILIMAP_NO_ERROR);
		mailimap_set_free(set);
	}
	assert_int_equal(imap_intake_fetch(ii, 0, 2, &msgs, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_true(subject_is(&msgs[0], "copy-6"));
	assert_true(subject_is(&msgs[1], "copy-7"));
	uids[0] = msgs[1].uid;      /* out of order on purpose */
	uids[1] = msgs[0].uid;
	assert_int_equal(imap_intake_ack(ii, uids, 2, &err), 0);
	imap_intake_free_msgs(&msgs, n);
	assert_int_equal(imap_intake_fetch(ii, 0, 10, &msgs, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_true(subject_is(&msgs[0], "copy-8"));
	imap_intake_free_msgs(&msgs, n);
	assert_int_equal(helper_count(h, "T2", NULL), 1);
	assert_int_equal(helper_count(h, "T2done", NULL), 7);
	imap_intake_close(&ii);
	helper_close(h);
}

/* without processed_mailbox: \Seen is set, after_uid moves on, mail stays */
static void
test_seen_mode(void **state)
{
	struct cfg_imap c;
	struct imap_intake *ii = NULL;
	struct imap_msg *msgs = NULL;
	size_t n;
	const char *err = NULL;
	uint32_t seen, cursor;
	mailimap *h = helper_open();

	(void)state;
	helper_fill(h, "T3", "seen", 6, 100);
	dt_cfg_plain(&c, "T3", NULL);
	ii = connect_ok(&c);
	assert_int_equal(imap_intake_fetch(ii, 0, 4, &msgs, &n, &err), 0);
	assert_int_equal(n, 4);
	cursor = msgs[n - 1].uid;
	ack_all(ii, &msgs, n);
	assert_int_equal(helper_count(h, "T3", &seen), 6);
	assert_int_equal(seen, 4);

	assert_int_equal(imap_intake_fetch(ii, cursor, 4, &msgs, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_true(subject_is(&msgs[0], "seen-5"));
	assert_true(msgs[0].uid > cursor);
	imap_intake_free_msgs(&msgs, n);
	/* a cursor past the end: nothing, although "N:*" names the last one */
	assert_int_equal(imap_intake_fetch(ii, 6, 4, &msgs, &n, &err), 0);
	assert_int_equal(n, 0);
	/* a lower cursor again (e.g. a new session's): served correctly */
	assert_int_equal(imap_intake_fetch(ii, 2, 10, &msgs, &n, &err), 0);
	assert_int_equal(n, 4);
	assert_int_equal(msgs[0].uid, 3);
	imap_intake_free_msgs(&msgs, n);
	imap_intake_close(&ii);
	/* a new session with the same cursor */
	ii = connect_ok(&c);
	assert_int_equal(imap_intake_fetch(ii, 5, 10, &msgs, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_true(subject_is(&msgs[0], "seen-6"));
	imap_intake_free_msgs(&msgs, n);
	imap_intake_close(&ii);
	helper_close(h);
}

/* expunge the messages lo..hi (UIDs) of mb from another session */
static void
helper_expunge(mailimap *m, const char *mb, uint32_t lo, uint32_t hi)
{
	struct mailimap_set *set = mailimap_set_new_interval(lo, hi);
	struct mailimap_flag_list *fl = mailimap_flag_list_new_empty();
	struct mailimap_store_att_flags *sf;

	assert_int_equal(mailimap_select(m, mb), MAILIMAP_NO_ERROR);
	assert_int_equal(mailimap_flag_list_add(fl, mailimap_flag_new_deleted()), 0);
	sf = mailimap_store_att_flags_new_add_flags_silent(fl);
	assert_int_equal(mailimap_uid_store(m, set, sf), MAILIMAP_NO_ERROR);
	assert_int_equal(mailimap_expunge(m), MAILIMAP_NO_ERROR);
	mailimap_store_att_flags_free(sf);
	mailimap_set_free(set);
}

struct window_case {
	const char *mb, *done;   /* done NULL: \Seen mode */
	size_t batch;
};

/*
 * The listing comes in windows (7 here): the cache never holds more, and
 * every message comes exactly once in UID order while another session
 * expunges mail below the cursor (the window's start moves: found again)
 * and above it, and new mail arrives.
 */
/*
 * A listing window is a whole number of batches: 40 messages fetched 3 at a
 * time through windows of 7 come as 13 batches of 3 and one of 1, not
 * 3, 3, 1, 3, 3, 1, ... (a short batch at the end of every window).
 */
static void
test_list_window_whole_batches(void **state)
{
	struct cfg_imap c;
	struct imap_intake *ii = NULL;
	struct imap_msg *msgs = NULL;
	const char *err = NULL;
	uint32_t after = 0;
	size_t n, batches = 0, total = 0;
	mailimap *h = helper_open();

	(void)state;
	imap_intake_set_list_window(7);
	helper_fill(h, "W4", "w", 40, 50);
	dt_cfg_plain(&c, "W4", NULL);
	ii = connect_ok(&c);
	for (;;) {
		assert_int_equal(imap_intake_fetch(ii, after, 3, &msgs, &n, &err), 0);
		if (n == 0)
			break;
		total += n;
		if (n != 3 && total != 40)
			fail_msg("batch %zu: %zu messages, %zu so far", batches + 1, n, total);
		after = msgs[n - 1].uid;
		ack_all(ii, &msgs, n);
		batches++;
		assert_true(batches < 100);
	}
	assert_int_equal(total, 40);
	assert_int_equal(batches, 14);
	imap_intake_close(&ii);
	helper_close(h);
	imap_intake_set_list_window(0);
}

static void
test_list_windows(void **state)
{
	static const struct window_case cases[] = {
		{ "W1", "W1done", 5 },
		{ "W2", NULL, 3 },
		{ "W3", NULL, 10 },        /* batches larger than the window */
	};
	size_t ci;

	(void)state;
	imap_intake_set_list_window(7);
	for (ci = 0; ci < sizeof(cases) / sizeof(cases[0]); ci++) {
		const struct window_case *wc = &cases[ci];
		struct cfg_imap c;
		struct imap_intake *ii = NULL;
		struct imap_msg *msgs = NULL;
		const char *err = NULL;
		char subj[64], mb[16], done[16];
		int got[60];
		uint32_t after = 0;
		size_t n, j, batches = 0;
		mailimap *h = helper_open();
		int i;

		util_strlcpy(mb, wc->mb, sizeof(mb));
		util_strlcpy(done, wc->done != NULL ? wc->done : "", sizeof(done));
		memset(got, 0, sizeof(got));
		/* UIDs 1..40, subjects w-1..w-40 */
		helper_fill(h, mb, "w", 40, 50);
		dt_cfg_plain(&c, mb, wc->done != NULL ? done : NULL);
		ii = connect_ok(&c);
		for (;;) {
			assert_int_equal(imap_intake_fetch(ii, after, wc->batch, &msgs, &n, &err), 0);
			if (n == 0)
				break;
			/* the window, rounded up to whole batches */
			if (imap_intake_listed(ii) > (7 + wc->batch - 1) / wc->batch * wc->batch)
				fail_msg("%s: %zu messages listed", mb, imap_intake_listed(ii));
			for (j = 0; j < n; j++) {
				int k = -1;

				assert_true(msgs[j].uid > after);
				after = msgs[j].uid;
				if (sscanf(strstr((char *)msgs[j].raw, "Subject: w-") + 11, "%d", &k) != 1 ||
				    k < 1 || k >= 60)
					fail_msg("%s: unexpected message", mb);
				got[k]++;
			}
			ack_all(ii, &msgs, n);
			batches++;
			if (batches == 2) {
				/* below the cursor (\Seen mode: the window start moves;
				 * moved mail is gone already) and above it */
				if (wc->done == NULL)
					helper_expunge(h, mb, 2, 4);
				helper_expunge(h, mb, 30, 31);
				for (i = 41; i <= 43; i++) {
					snprintf(subj, sizeof(subj), "w-%d", i);
					helper_append(h, mb, subj, 50, NULL);
				}
			}
			assert_true(batches < 100);
		}
		for (i = 1; i <= 43; i++) {
			/* 30 and 31 went before a window reached them */
			int want = i == 30 || i == 31 ? 0 : 1;

			if (got[i] != want)
				fail_msg("%s: w-%d came %d times", mb, i, got[i]);
		}
		/* every expunge below the cursor (ours, the helper's) came
		 * in a response: no window's start was looked up again */
		if (imap_intake_seq_lookups(ii) != 0)
			fail_msg("%s: %zu bisection round trips", mb, imap_intake_seq_lookups(ii));
		imap_intake_close(&ii);
		if (wc->done != NULL)
			assert_int_equal(helper_count(h, mb, NULL), 0);
		helper_close(h);
	}
	imap_intake_set_list_window(0);
}

/*
 * Expunges below the cursor that the session did not see as EXPUNGE lines
 * (libetpan reads the answers to IDLE) leave the next window's start too
 * high: the message before it is above the cursor, and the start is looked
 * up again by bisection.  Every message still comes exactly once.
 */
static void
test_list_start_found_again(void **state)
{
	struct cfg_imap c;
	struct imap_intake *ii = NULL;
	struct imap_msg *msgs = NULL;
	const char *err = NULL;
	uint32_t after = 0;
	size_t n, j, batches = 0;
	int got[21], k, i;
	mailimap *h = helper_open();

	(void)state;
	memset(got, 0, sizeof(got));
	imap_intake_set_list_window(9);
	helper_fill(h, "W5", "w", 20, 50);
	dt_cfg_plain(&c, "W5", NULL);
	ii = connect_ok(&c);
	for (;;) {
		assert_int_equal(imap_intake_fetch(ii, after, 3, &msgs, &n, &err), 0);
		if (n == 0)
			break;
		for (j = 0; j < n; j++) {
			assert_true(msgs[j].uid > after);
			after = msgs[j].uid;
			k = -1;
			if (sscanf(strstr((char *)msgs[j].raw, "Subject: w-") + 11, "%d", &k) != 1 ||
			    k < 1 || k > 20)
				fail_msg("unexpected message");
			got[k]++;
		}
		ack_all(ii, &msgs, n);
		if (++batches == 3) {
			/* the first window (1..9) is done: 2..4 go while this
			 * session idles */
			assert_int_equal(after, 9);
			helper_expunge(h, "W5", 2, 4);
			if (imap_intake_idle_ms(ii, 300, &err) < 0)
				fail_msg("idle: %s", err);
		}
		assert_true(batches < 20);
	}
	for (i = 1; i <= 20; i++)
		if (got[i] != 1)
			fail_msg("w-%d came %d times", i, got[i]);
	if (imap_intake_seq_lookups(ii) == 0)
		fail_msg("the window's start was not looked up again");
	imap_intake_close(&ii);
	helper_close(h);
	imap_intake_set_list_window(0);
}

/* over max_message_bytes: the first N bytes, truncated, full size kept */
static void
test_large_partial(void **state)
{
	struct cfg_imap c;
	struct imap_intake *ii = NULL;
	struct imap_msg *msgs = NULL;
	size_t n, big_len, small_len;
	const char *err = NULL;
	mailimap *h = helper_open();
	char *big, *small;

	(void)state;
	helper_create(h, "T4");
	big = make_msg("big", 20000, &big_len);
	small = make_msg("small", 100, &small_len);
	assert_int_equal(mailimap_append(h, "T4", NULL, NULL, big, big_len), MAILIMAP_NO_ERROR);
	{
		/* " 4-Mar-2026 23:59:58 -0730" = 2026-03-05 07:29:58 UTC */
		struct mailimap_date_time *dt = mailimap_date_time_new(4, 3, 2026, 23, 59, 58, -730);

		assert_int_equal(mailimap_append(h, "T4", NULL, dt, small, small_len),
		    MAILIMAP_NO_ERROR);
		mailimap_date_time_free(dt);
	}
	dt_cfg_plain(&c, "T4", "T4done");
	c.max_message_bytes = 4096;
	ii = connect_ok(&c);
	assert_int_equal(imap_intake_fetch(ii, 0, 10, &msgs, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(msgs[0].truncated, 1);
	assert_int_equal(msgs[0].len, 4096);
	assert_int_equal(msgs[0].full_size, big_len);
	assert_memory_equal(msgs[0].raw, big, 4096);
	assert_int_equal(msgs[1].truncated, 0);
	assert_int_equal(msgs[1].len, small_len);
	assert_int_equal(msgs[1].full_size, small_len);
	assert_memory_equal(msgs[1].raw, small, small_len);
	assert_int_equal((long)msgs[1].internaldate, 1772695798L);
	imap_intake_free_msgs(&msgs, n);
	imap_intake_close(&ii);
	free(big);
	free(small);
	helper_close(h);
}

static void
deliver_file(const char *mailbox, const char *subject)
{
	char path[256], cmd[700];
	size_t len;
	char *msg = make_msg(subject, 300, &len);
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.eml", dt_dc.dir, subject);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(msg, 1, len, f), len);
	fclose(f);
	free(msg);
	snprintf(cmd, sizeof(cmd), "DOVECOT_MAILBOX=%s sh %s/tests/lib/dovecot.sh deliver %s %s %s",
	    mailbox, dt_top(), dt_dc.dir, dt_dc.user, path);
	assert_int_equal(system(cmd), 0);
}

/* a child that delivers subject to mailbox a second from now */
static pid_t
deliver_later(const char *mailbox, const char *subject)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		usleep(1000000);
		deliver_file(mailbox, subject);
		_exit(0);
	}
	return pid;
}

static void
on_alarm(int sig)
{
	(void)sig;
	s48_stop_requested = 1;
}

static void
on_wake(int sig)
{
	(void)sig;
}

/*
 * IDLE's timeout is whole even when a signal cuts a wait short: started
 * 0.9 s into a second and woken by a signal 0.2 s later, a 2 s IDLE used to
 * end at the second boundary after 1.2 s (it counted time() seconds).
 */
static void
test_idle_timeout(void **state)
{
	struct cfg_imap c;
	struct imap_intake *ii = NULL;
	struct imap_msg *msgs = NULL;
	struct sigaction sa, old;
	struct itimerval it;
	struct timespec now;
	size_t n;
	const char *err = NULL;
	mailimap *h = helper_open();
	double t0, el;
	int round;

	(void)state;
	helper_create(h, "T9");
	helper_close(h);
	dt_cfg_plain(&c, "T9", "T9done");
	ii = connect_ok(&c);
	assert_int_equal(imap_intake_fetch(ii, 0, 10, &msgs, &n, &err), 0);
	assert_int_equal(n, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_wake;        /* no SA_RESTART: the wait ends with EINTR */
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGALRM, &sa, &old), 0);
	for (round = 0; round < 2; round++) {
		/* 0.9 s into a second of the wall clock */
		clock_gettime(CLOCK_REALTIME, &now);
		usleep((useconds_t)((1900000000L - now.tv_nsec) % 1000000000L / 1000));
		memset(&it, 0, sizeof(it));
		it.it_value.tv_usec = 200 * 1000;
		assert_int_equal(setitimer(ITIMER_REAL, &it, NULL), 0);
		t0 = nt_now();
		assert_int_equal(imap_intake_idle(ii, 2, &err), 0);
		el = nt_now() - t0;
		print_message("# a 2 s IDLE woken after 0.2 s took %.2f s\n", el);
		assert_true(el >= 1.95 && el < 4.0);
	}
	assert_int_equal(sigaction(SIGALRM, &old, NULL), 0);
	imap_intake_close(&ii);
}

/* IDLE: wakes within 2 s of a delivery, times out, honours a stop request */
static void
test_idle(void **state)
{
	struct cfg_imap c;
	struct imap_intake *ii = NULL;
	struct imap_msg *msgs = NULL;
	size_t n;
	const char *err = NULL;
	mailimap *h = helper_open();
	double t0, t1, delivered;
	pid_t pid;
	int st, r;

	(void)state;
	helper_create(h, "T5");
	helper_close(h);
	dt_cfg_plain(&c, "T5", "T5done");
	ii = connect_ok(&c);
	assert_int_equal(imap_intake_fetch(ii, 0, 10, &msgs, &n, &err), 0);
	assert_int_equal(n, 0);

	/* nothing arrives: timeout */
	t0 = nt_now();
	assert_int_equal(imap_intake_idle(ii, 2, &err), 0);
	t1 = nt_now();
	assert_true(t1 - t0 >= 1.5 && t1 - t0 < 4.0);

	/* a delivery 1 s into the IDLE */
	t0 = nt_now();
	pid = deliver_later("T5", "idle-1");
	r = imap_intake_idle(ii, 20, &err);
	t1 = nt_now();
	nt_wait_exit(pid, 0);
	if (r != 1)
		fail_msg("idle returned %d: %s", r, r < 0 ? err : "");
	delivered = t0 + 1.0;
	if (t1 - delivered > 2.5)
		fail_msg("IDLE woke %.2f s after the delivery", t1 - delivered);
	assert_int_equal(imap_intake_fetch(ii, 0, 10, &msgs, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_true(subject_is(&msgs[0], "idle-1"));
	imap_intake_free_msgs(&msgs, n);

	/* the same over implicit TLS (data may wait in the TLS layer) */
	{
		struct cfg_imap ct;
		struct imap_intake *it = NULL;
		char host[] = "localhost";

		dt_cfg_plain(&ct, "T5", "T5done");
		ct.host = host;
		ct.tls = CFG_TLS_IMPLICIT;
		ct.port = dt_dc.imaps_port;
		ct.ca_file = dt_dc.ca;
		it = connect_ok(&ct);
		t0 = nt_now();
		pid = deliver_later("T5", "idle-2");
		r = imap_intake_idle(it, 20, &err);
		t1 = nt_now();
		assert_int_equal(waitpid(pid, &st, 0), pid);
		if (r != 1)
			fail_msg("idle (TLS) returned %d: %s", r, r < 0 ? err : "");
		if (t1 - (t0 + 1.0) > 2.5)
			fail_msg("IDLE (TLS) woke %.2f s after the delivery", t1 - t0 - 1.0);
		assert_int_equal(imap_intake_fetch(it, 0, 10, &msgs, &n, &err), 0);
		assert_int_equal(n, 2);
		assert_true(subject_is(&msgs[1], "idle-2"));
		imap_intake_free_msgs(&msgs, n);
		imap_intake_close(&it);
	}

	/* the plain session: idle-1 is done with; the next listing (after a
	 * NOOP) shows idle-2, so its next IDLE has no news to report */
	assert_int_equal(imap_intake_fetch(ii, 0, 10, &msgs, &n, &err), 0);
	assert_int_equal(n, 1);
	ack_all(ii, &msgs, n);
	assert_int_equal(imap_intake_fetch(ii, 0, 10, &msgs, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_true(subject_is(&msgs[0], "idle-2"));
	imap_intake_free_msgs(&msgs, n);

	/* a stop request ends a long IDLE within about a second */
	signal(SIGALRM, on_alarm);
	alarm(1);
	t0 = nt_now();
	assert_int_equal(imap_intake_idle(ii, 60, &err), 0);
	t1 = nt_now();
	assert_true(s48_stop_requested);
	assert_true(t1 - t0 < 3.0);
	s48_stop_requested = 0;
	/* the session is still usable */
	assert_int_equal(imap_intake_fetch(ii, 0, 10, &msgs, &n, &err), 0);
	assert_int_equal(n, 1);
	imap_intake_free_msgs(&msgs, n);
	imap_intake_close(&ii);
}

/*
 * Mail that arrives after the listing came back empty and is announced in
 * the answer to the acknowledgement (the server's EXISTS comes with the
 * next command's answer, here a UID STORE \Seen or a UID MOVE): IDLE must
 * report it at once.  libetpan clears its EXISTS flag when IDLE starts and
 * the server has told this session already, so before the fix the mail
 * waited for the IDLE timeout (poll_interval, a minute by default).
 */
static void
test_idle_news_in_ack(void **state)
{
	static char *const modes[][2] = { { "T20", NULL }, { "T21", "T21done" } };
	size_t k;

	(void)state;
	for (k = 0; k < 2; k++) {
		struct cfg_imap c;
		struct imap_intake *ii;
		struct imap_msg *msgs = NULL;
		size_t n;
		const char *err = NULL;
		mailimap *h = helper_open();
		double t0, t1;
		int r;

		helper_fill(h, modes[k][0], "news", 1, 100);
		dt_cfg_plain(&c, modes[k][0], modes[k][1]);
		ii = connect_ok(&c);
		assert_int_equal(imap_intake_fetch(ii, 0, 10, &msgs, &n, &err), 0);
		assert_int_equal(n, 1);
		/* the listing is over: another delivery, then the ack */
		helper_append(h, modes[k][0], "news-late", 100, NULL);
		ack_all(ii, &msgs, n);
		t0 = nt_now();
		r = imap_intake_idle(ii, 3, &err);
		t1 = nt_now();
		if (r != 1 || t1 - t0 > 1.0)
			fail_msg("%s: idle returned %d after %.2f s (want 1 at once)",
			    modes[k][1] ? "MOVE" : "\\Seen", r, t1 - t0);
		/* and the next fetch has it; then there is no news left */
		assert_int_equal(imap_intake_fetch(ii, modes[k][1] ? 0 : 1, 10, &msgs, &n, &err), 0);
		assert_int_equal(n, 1);
		assert_true(subject_is(&msgs[0], "news-late"));
		imap_intake_free_msgs(&msgs, n);
		t0 = nt_now();
		assert_int_equal(imap_intake_idle(ii, 1, &err), 0);
		assert_true(nt_now() - t0 >= 0.8);
		imap_intake_close(&ii);
		helper_close(h);
	}
}

static int
count_logins(void)
{
	char path[256], *log = NULL, *p;
	const char *err;
	size_t len;
	int n = 0;

	snprintf(path, sizeof(path), "%s/dovecot.log", dt_dc.dir);
	if (util_read_file(path, 64u << 20, &log, &len, &err) != 0)
		return -1;
	for (p = log; (p = strstr(p, "Login: user=<")) != NULL; p++)
		n++;
	free(log);
	return n;
}

struct tls_case {
	const char *name;
	enum cfg_tls tls;
	const char *host;
	int ca;               /* 0 none, 1 the server's, 2 an unrelated one, 3 missing */
	int ok;
	const char *error_has;
};

/* implicit TLS and STARTTLS: refused before LOGIN unless trusted and named */
static void
test_tls(void **state)
{
	static const struct tls_case cases[] = {
		{ "imaps, no ca_file", CFG_TLS_IMPLICIT, "localhost", 0, 0, "not trusted" },
		{ "imaps, ca_file", CFG_TLS_IMPLICIT, "localhost", 1, 1, NULL },
		{ "imaps, wrong name", CFG_TLS_IMPLICIT, "127.0.0.1", 1, 0, "not for host 127.0.0.1" },
		{ "imaps, other CA", CFG_TLS_IMPLICIT, "localhost", 2, 0, "not trusted" },
		{ "starttls, no ca_file", CFG_TLS_STARTTLS, "localhost", 0, 0, "not trusted" },
		{ "starttls, ca_file", CFG_TLS_STARTTLS, "localhost", 1, 1, NULL },
		{ "starttls, wrong name", CFG_TLS_STARTTLS, "127.0.0.1", 1, 0, "not for host 127.0.0.1" },
		{ "starttls, other CA", CFG_TLS_STARTTLS, "localhost", 2, 0, "not trusted" },
		{ "imaps, missing ca_file", CFG_TLS_IMPLICIT, "localhost", 3, 0, "ca_file /nonexistent/ca.pem" },
	};
	static char missing[] = "/nonexistent/ca.pem";
	size_t i;

	(void)state;
	{
		mailimap *h = helper_open();

		helper_fill(h, "T6", "tls", 1, 100);
		helper_close(h);
	}
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct tls_case *tc = &cases[i];
		struct cfg_imap c;
		struct imap_intake *ii = NULL;
		struct imap_msg *msgs = NULL;
		const char *err = NULL;
		char host[64];
		size_t n;
		int before, after, r;

		dt_cfg_plain(&c, "T6", NULL);
		util_strlcpy(host, tc->host, sizeof(host));
		c.host = host;
		c.tls = tc->tls;
		c.port = tc->tls == CFG_TLS_IMPLICIT ? dt_dc.imaps_port : dt_dc.port;
		c.ca_file = tc->ca == 1 ? dt_dc.ca : tc->ca == 2 ? dt_dc.ca_wrong :
		    tc->ca == 3 ? missing : NULL;
		before = count_logins();
		r = imap_intake_connect(&c, &ii, &err);
		if (tc->ok) {
			if (r != 0)
				fail_msg("%s: %s", tc->name, err);
			assert_int_equal(imap_intake_fetch(ii, 0, 10, &msgs, &n, &err), 0);
			assert_int_equal(n, 1);
			assert_true(subject_is(&msgs[0], "tls-1"));
			imap_intake_free_msgs(&msgs, n);
			imap_intake_close(&ii);
		} else {
			assert_int_equal(r, -1);
			assert_null(ii);
			assert_non_null(err);
			if (strstr(err, tc->error_has) == NULL)
				fail_msg("%s: error \"%s\" lacks \"%s\"", tc->name, err, tc->error_has);
			/* Dovecot logs a login asynchronously: give it a moment */
			usleep(200000);
			after = count_logins();
			if (after != before)
				fail_msg("%s: credentials were sent (%d logins)", tc->name, after - before);
		}
	}
}

/* wrong password: a clear error */
static void
test_wrong_password(void **state)
{
	struct cfg_imap c;
	struct imap_intake *ii = NULL;
	const char *err = NULL;
	char bad[] = "not-the-password";

	(void)state;
	dt_cfg_plain(&c, "INBOX", NULL);
	c.password = bad;
	assert_int_equal(imap_intake_connect(&c, &ii, &err), -1);
	assert_null(ii);
	if (strstr(err, "login as prijave: refused: Authentication failed") == NULL)
		fail_msg("unclear error: %s", err);
	/* the next login is not delayed by an auth penalty */
	dt_cfg_plain(&c, "INBOX", NULL);
	{
		double t0 = nt_now();

		if (imap_intake_connect(&c, &ii, &err) != 0)
			fail_msg("connect: %s", err);
		assert_true(nt_now() - t0 < 2.0);
		imap_intake_close(&ii);
	}
	/* a mailbox that does not exist */
	{
		char mb[] = "NoSuchBox";

		dt_cfg_plain(&c, mb, NULL);
		assert_int_equal(imap_intake_connect(&c, &ii, &err), -1);
		assert_non_null(strstr(err, "SELECT NoSuchBox"));
	}
}


/* mailbox names go out in modified UTF-7 */
static void
test_mailbox_utf7(void **state)
{
	static const struct { const char *in, *out; } cases[] = {
		{ "INBOX", "INBOX" },
		{ "Obrađeno", "Obra&ARE-eno" },
		{ "Обрађено", "&BB4EMQRABDAEUgQ1BD0EPg-" },
		{ "~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-" },   /* RFC 3501 */
		{ "a&b", "a&-b" },
		{ "😀x", "&2D3eAA-x" },
		{ "Prijave/Obrađene ✓", "Prijave/Obra&ARE-ene &JxM-" },
		{ "", "" },
		{ "bad\xff", NULL },
		{ "bad\xc3", NULL },
		{ "overlong\xc0\xaf", NULL },
		{ "surrogate\xed\xa0\x80", NULL },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = imap_mailbox_utf7(cases[i].in);

		if (cases[i].out == NULL) {
			if (got != NULL)
				fail_msg("case %zu: \"%s\" for invalid UTF-8", i, got);
		} else {
			if (got == NULL || strcmp(got, cases[i].out) != 0)
				fail_msg("case %zu: got \"%s\", want \"%s\"", i, got ? got : "(null)",
				    cases[i].out);
		}
		free(got);
	}
}

/* a Serbian processed_mailbox name is created and used */
static void
test_utf8_processed_mailbox(void **state)
{
	struct cfg_imap c;
	struct imap_intake *ii = NULL;
	struct imap_msg *msgs = NULL;
	const char *err = NULL;
	size_t n;
	char processed[] = "Prijave obrađene";
	mailimap *h = helper_open();

	(void)state;
	helper_fill(h, "T8", "utf7", 1, 100);
	dt_cfg_plain(&c, "T8", processed);
	ii = connect_ok(&c);
	assert_int_equal(helper_exists(h, "Prijave obra&ARE-ene"), 1);
	assert_int_equal(imap_intake_fetch(ii, 0, 10, &msgs, &n, &err), 0);
	assert_int_equal(n, 1);
	ack_all(ii, &msgs, n);
	imap_intake_close(&ii);
	assert_int_equal(helper_count(h, "Prijave obra&ARE-ene", NULL), 1);
	assert_int_equal(helper_count(h, "T8", NULL), 0);
	helper_close(h);
}

/* the FETCH reader on fixed inputs (what the fuzzer found included) */
static void
test_parse_fetch_table(void **state)
{
	static const struct {
		const char *in;
		long max;
		int r;
		size_t n;
	} cases[] = {
		{ "* 1 FETCH (UID 5 BODY[]<0> {5}\r\nhello)\r\ns48f0 OK done\r\n", 100, 0, 1 },
		{ "* 1 FETCH (UID 5 BODY[]<0> \"abc\")\r\ns48f0 OK done\r\n", 100, 0, 1 },
		/* a quoted body longer than asked for is refused like a literal */
		{ "* 1 FETCH (BODY[]<0> \"abc\" UID 9)\r\ns48f0 OK done\r\n", 1, -1, 0 },
		{ "* 1 FETCH (UID 5 BODY[]<0> {5}\r\nhello)\r\ns48f0 OK done\r\n", 4, -1, 0 },
		/* the stream ends mid-line, or with nothing: an error, not a loop */
		{ "* 1 FETCH (UID 5 RFC8", 100, -1, 0 },
		{ "* 1 FETCH (UID 5 BODY[]<0> {5}\r\nhel", 100, -1, 0 },
		{ "", 100, -1, 0 },
		{ "* 1 FETCH (UID 5 BODY[]<0> {5}\r\nhello)\r\n", 100, -1, 1 },
		/* other untagged data with literals, unknown attributes */
		{ "* OK [ALERT] {3}\r\nabc\r\n* 2 FETCH (MODSEQ (7) X-A (\"q\" {2}\r\nzz) UID 6 "
		  "BODY[] {2}\r\nhi)\r\ns48f0 OK\r\n", 100, 0, 1 },
		{ "* 1 FETCH (UID 5 BODY[]<0> NIL)\r\ns48f0 OK\r\n", 100, 0, 0 },
		{ "s48f0 NO [SERVERBUG] oops\r\n", 100, -1, 0 },
		{ "* BYE going away\r\n", 100, -1, 0 },
		{ "* 1 FETCH (UID 99999999999 BODY[] {1}\r\nx)\r\ns48f0 OK\r\n", 100, -1, 0 },
	};
	size_t i, n;
	int r;

	(void)state;
	signal(SIGALRM, SIG_DFL);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		alarm(10);     /* a loop would end the run, not hang it */
		r = imap_intake_parse_fetch(cases[i].in, strlen(cases[i].in), cases[i].max, &n);
		alarm(0);
		if (r != cases[i].r || n != cases[i].n)
			fail_msg("case %zu: r %d n %zu, want r %d n %zu", i, r, n, cases[i].r,
			    cases[i].n);
	}
}

/* ---- a scripted server for FETCH responses Dovecot would not send ---- */

static void
fake_send(int fd, const char *fmt, ...)
{
	char out[4096];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, sizeof(out), fmt, ap);
	va_end(ap);
	if (n > 0 && write(fd, out, (size_t)n) != n)
		_exit(1);
}

/* cmd starts with the literal prefix p */
#define FAKE_IS(cmd, p) (strncmp((cmd), (p), sizeof(p) - 1) == 0)
/* what s48 asks for with each message (intake_imap.c) */
#define FAKE_BODY_ITEMS "(UID INTERNALDATE BODY.PEEK[]<0."

/* the literal of UID 7 looks like more FETCH responses: it must stay data */
static const char fake_body7[] = "A\r\n* 9 FETCH (UID 9 BODY[]<0> {3}\r\nbad)\r\nB";

/*
 * Scenario 4, a listing window of 2 over UIDs 5, 7, 9 (sequence 1..3): only
 * these commands are answered, anything else is BAD.  The first window
 * comes with an unsolicited FETCH of message 3 (UID, no size): left out.
 */
static int
fake_windows(int fd, const char *tag, const char *cmd)
{
	static const char items[] = " (UID RFC822.SIZE)";

	if (strncmp(cmd, "FETCH 1:2", 9) == 0 && strcmp(cmd + 9, items) == 0) {
		fake_send(fd, "* 1 FETCH (UID 5 RFC822.SIZE 5)\r\n"
		    "* 2 FETCH (UID 7 RFC822.SIZE 3)\r\n"
		    "* 3 FETCH (UID 9 FLAGS (\\Seen))\r\n%s OK listed\r\n", tag);
	} else if (strncmp(cmd, "FETCH 2:*", 9) == 0 && strcmp(cmd + 9, items) == 0) {
		fake_send(fd, "* 2 FETCH (UID 7 RFC822.SIZE 3)\r\n"
		    "* 3 FETCH (UID 9 RFC822.SIZE 4)\r\n"
		    "%s OK listed\r\n", tag);
	} else if (FAKE_IS(cmd, "UID FETCH 5,7 " FAKE_BODY_ITEMS)) {
		fake_send(fd, "* 1 FETCH (UID 5 INTERNALDATE \"01-Jan-2026 00:00:00 +0000\" "
		    "BODY[]<0> {5}\r\nhello)\r\n"
		    "* 2 FETCH (UID 7 INTERNALDATE \"01-Jan-2026 00:00:00 +0000\" "
		    "BODY[]<0> {3}\r\nabc)\r\n%s OK fetched\r\n", tag);
	} else if (FAKE_IS(cmd, "UID FETCH 9 " FAKE_BODY_ITEMS)) {
		fake_send(fd, "* 3 FETCH (UID 9 INTERNALDATE \"01-Jan-2026 00:00:00 +0000\" "
		    "BODY[]<0> {4}\r\nwxyz)\r\n%s OK fetched\r\n", tag);
	} else if (strstr(cmd, "FETCH") != NULL) {
		fake_send(fd, "%s BAD unexpected %s\r\n", tag, cmd);
	} else {
		return 0;
	}
	return 1;
}

static void
fake_server(int lfd, int scenario)
{
	char line[1024], tag[64];
	int fd = accept(lfd, NULL, NULL);

	if (fd < 0)
		_exit(1);
	fake_send(fd, "* OK [CAPABILITY IMAP4rev1 IDLE MOVE UIDPLUS] fake ready\r\n");
	while (nt_readline(nt_fd_read1, &fd, line, sizeof(line)) == 0) {
		char *sp = strchr(line, ' ');
		const char *cmd;

		if (sp == NULL)
			break;
		*sp = '\0';
		util_strlcpy(tag, line, sizeof(tag));
		cmd = sp + 1;
		if (scenario == 4 && fake_windows(fd, tag, cmd))
			continue;
		if (strncasecmp(cmd, "LOGIN", 5) == 0) {
			fake_send(fd, "%s OK logged in\r\n", tag);
		} else if (strncasecmp(cmd, "CAPABILITY", 10) == 0) {
			fake_send(fd, "* CAPABILITY IMAP4rev1 IDLE MOVE UIDPLUS\r\n%s OK done\r\n", tag);
		} else if (strncasecmp(cmd, "SELECT", 6) == 0) {
			fake_send(fd, "* 3 EXISTS\r\n* 0 RECENT\r\n* OK [UIDVALIDITY 7] v\r\n"
			    "* OK [UIDNEXT 10] n\r\n%s OK [READ-WRITE] selected\r\n", tag);
		} else if (strncasecmp(cmd, "NOOP", 4) == 0) {
			fake_send(fd, "* 3 EXISTS\r\n%s OK noop\r\n", tag);
		} else if (strstr(cmd, "FETCH") != NULL && strstr(cmd, "RFC822.SIZE")) {
			/* the listing (FETCH 1:* by sequence number) */
			/* out of order, attributes in any order, unsolicited data
			 * (an INTERNALDATE not asked for here: the message's own
			 * FETCH gives the one that counts) */
			fake_send(fd, "* 3 FETCH (UID 9 RFC822.SIZE 3)\r\n"
			    "* 1 FETCH (RFC822.SIZE 5 UID 5 INTERNALDATE \"01-Jan-2000 00:00:00 +0000\" FLAGS (\\Seen))\r\n"
			    "* 2 FETCH (UID 7 RFC822.SIZE %zu)\r\n"
			    "* 2 FETCH (FLAGS (\\Flagged))\r\n* 4 EXISTS\r\n%s OK listed\r\n",
			    sizeof(fake_body7) - 1, tag);
		} else if (strncasecmp(cmd, "UID FETCH", 9) == 0) {
			if (!FAKE_IS(cmd, "UID FETCH 5,7,9 " FAKE_BODY_ITEMS)) {
				fake_send(fd, "%s BAD unexpected %s\r\n", tag, cmd);
				continue;
			}
			if (scenario == 3) {
				sleep(30);         /* a server that hangs */
				_exit(0);
			}
			if (scenario == 2) {
				fake_send(fd, "* 1 FETCH (UID 5 BODY[]<0> {200000}\r\n");
				continue;          /* and say nothing more */
			}
			fake_send(fd, "* 1 FETCH (FLAGS (\\Seen) UID 5 INTERNALDATE "
			    "\" 2-Jan-2026 00:00:00 +0000\" BODY[]<0> {5}\r\nhello)\r\n"
			    "* 1 FETCH (FLAGS (\\Seen \\Answered))\r\n"
			    "* 2 FETCH (UID 7 BODY[]<0> {%zu}\r\n%s INTERNALDATE "
			    "\"03-Jan-2026 00:00:00 +0000\")\r\n"
			    "* 3 FETCH (BODY[]<0> \"abc\" UID 9 INTERNALDATE \"01-Jan-2026 00:00:00 +0000\")\r\n"
			    "* 5 FETCH (UID 99 BODY[]<0> {2}\r\nzz)\r\n"
			    "%s OK fetched\r\n", sizeof(fake_body7) - 1, fake_body7, tag);
		} else if (strncasecmp(cmd, "LOGOUT", 6) == 0) {
			fake_send(fd, "* BYE bye\r\n%s OK bye\r\n", tag);
			break;
		} else {
			fake_send(fd, "%s BAD what\r\n", tag);
		}
	}
	close(fd);
	_exit(0);
}

/* c := a config for the scripted server, started for scenario (*pid_r) */
static void
fake_start(int scenario, struct cfg_imap *c, pid_t *pid_r)
{
	int port, s = nt_listen(&port);

	*pid_r = fork();
	assert_true(*pid_r >= 0);
	if (*pid_r == 0)
		fake_server(s, scenario);
	close(s);
	dt_cfg_plain(c, "INBOX", NULL);
	c->port = port;
}

/* FETCH responses in odd shapes: order, unsolicited data, quoted bodies,
 * message bytes that look like protocol, a UID not asked for */
static void
test_fetch_odd_responses(void **state)
{
	struct cfg_imap c;
	struct imap_intake *ii = NULL;
	struct imap_msg *msgs = NULL;
	const char *err = NULL;
	size_t n;
	pid_t pid;

	(void)state;
	fake_start(1, &c, &pid);
	ii = connect_ok(&c);
	assert_int_equal(imap_intake_uidvalidity(ii), 7);
	if (imap_intake_fetch(ii, 0, 10, &msgs, &n, &err) != 0)
		fail_msg("fetch: %s", err);
	assert_int_equal(n, 3);
	assert_int_equal(msgs[0].uid, 5);
	assert_int_equal(msgs[0].len, 5);
	assert_memory_equal(msgs[0].raw, "hello", 5);
	assert_int_equal((long)msgs[0].internaldate, 1767312000L);
	assert_int_equal(msgs[1].uid, 7);
	assert_int_equal(msgs[1].len, sizeof(fake_body7) - 1);
	assert_memory_equal(msgs[1].raw, fake_body7, sizeof(fake_body7) - 1);
	assert_int_equal(msgs[1].truncated, 0);
	assert_int_equal((long)msgs[1].internaldate, 1767398400L);
	assert_int_equal(msgs[2].uid, 9);
	assert_int_equal(msgs[2].len, 3);
	assert_string_equal((const char *)msgs[2].raw, "abc");
	assert_int_equal((long)msgs[2].internaldate, 1767225600L);
	imap_intake_free_msgs(&msgs, n);
	imap_intake_close(&ii);
	nt_wait_exit(pid, 0);
}

/* listing windows by sequence number: "1:2", then "2:*" whose first
 * message is the one before the window (checked against the cursor); an
 * unsolicited FETCH outside the window does not enter the listing */
static void
test_fetch_windows_scripted(void **state)
{
	struct cfg_imap c;
	struct imap_intake *ii = NULL;
	struct imap_msg *msgs = NULL;
	const char *err = NULL;
	size_t n;
	pid_t pid;

	(void)state;
	imap_intake_set_list_window(2);
	fake_start(4, &c, &pid);
	ii = connect_ok(&c);
	if (imap_intake_fetch(ii, 0, 2, &msgs, &n, &err) != 0)
		fail_msg("fetch: %s", err);
	assert_int_equal(n, 2);
	assert_int_equal(msgs[0].uid, 5);
	assert_int_equal(msgs[1].uid, 7);
	assert_string_equal((const char *)msgs[1].raw, "abc");
	assert_int_equal(imap_intake_listed(ii), 2);
	imap_intake_free_msgs(&msgs, n);
	if (imap_intake_fetch(ii, 7, 2, &msgs, &n, &err) != 0)
		fail_msg("fetch 2: %s", err);
	assert_int_equal(n, 1);
	assert_int_equal(msgs[0].uid, 9);
	assert_int_equal(msgs[0].full_size, 4);
	assert_string_equal((const char *)msgs[0].raw, "wxyz");
	imap_intake_free_msgs(&msgs, n);
	imap_intake_close(&ii);
	imap_intake_set_list_window(0);
	nt_wait_exit(pid, 0);
}

/* a literal larger than what was asked for is refused, not allocated */
static void
test_fetch_oversized_literal(void **state)
{
	struct cfg_imap c;
	struct imap_intake *ii = NULL;
	struct imap_msg *msgs = NULL;
	const char *err = NULL;
	size_t n;
	int st;
	pid_t pid;

	(void)state;
	fake_start(2, &c, &pid);
	c.max_message_bytes = 1000;
	ii = connect_ok(&c);
	assert_int_equal(imap_intake_fetch(ii, 0, 10, &msgs, &n, &err), -1);
	assert_null(msgs);
	assert_non_null(strstr(err, "unreadable response"));
	/* the session is done with: no more commands, a prompt close */
	assert_int_equal(imap_intake_fetch(ii, 0, 10, &msgs, &n, &err), -1);
	assert_non_null(strstr(err, "reconnect"));
	{
		double t0 = nt_now();

		imap_intake_close(&ii);
		assert_true(nt_now() - t0 < 1.0);
	}
	kill(pid, SIGTERM);
	assert_int_equal(waitpid(pid, &st, 0), pid);
}

/* a server that hangs mid-session: the fetch times out, the close does
 * not wait again for a LOGOUT answer */
static void
test_hung_server(void **state)
{
	struct cfg_imap c;
	struct imap_intake *ii = NULL;
	struct imap_msg *msgs = NULL;
	const char *err = NULL;
	size_t n;
	int st;
	pid_t pid;
	double t0;

	(void)state;
	fake_start(3, &c, &pid);
	imap_intake_set_timeout(2);
	ii = connect_ok(&c);
	t0 = nt_now();
	assert_int_equal(imap_intake_fetch(ii, 0, 10, &msgs, &n, &err), -1);
	assert_true(nt_now() - t0 >= 1.5 && nt_now() - t0 < 5.0);
	assert_non_null(strstr(err, "timed out"));
	t0 = nt_now();
	imap_intake_close(&ii);
	assert_true(nt_now() - t0 < 1.0);
	imap_intake_set_timeout(60);
	kill(pid, SIGTERM);
	assert_int_equal(waitpid(pid, &st, 0), pid);
}

/* a server that accepts and says nothing: an error after the timeout */
static void
test_silent_server(void **state)
{
	struct cfg_imap c;
	struct imap_intake *ii = NULL;
	const char *err = NULL;
	double t0;
	int s, port;

	(void)state;
	s = nt_listen(&port);
	dt_cfg_plain(&c, "INBOX", NULL);
	c.port = port;
	imap_intake_set_timeout(2);
	t0 = nt_now();
	assert_int_equal(imap_intake_connect(&c, &ii, &err), -1);
	assert_true(nt_now() - t0 < 3.5);
	assert_non_null(err);
	/* implicit TLS: the handshake times out too */
	c.tls = CFG_TLS_IMPLICIT;
	t0 = nt_now();
	assert_int_equal(imap_intake_connect(&c, &ii, &err), -1);
	assert_true(nt_now() - t0 < 3.5);
	imap_intake_set_timeout(60);
	close(s);
}

/* the server goes away: errors, not hangs (runs last: it stops Dovecot) */
static void
test_server_stopped(void **state)
{
	struct cfg_imap c;
	struct imap_intake *ii = NULL;
	struct imap_msg *msgs = NULL;
	const char *err = NULL;
	uint32_t uid = 1;
	size_t n;
	double t0;
	mailimap *h = helper_open();

	(void)state;
	helper_fill(h, "T7", "stop", 1, 100);
	helper_close(h);
	dt_cfg_plain(&c, "T7", "T7done");
	imap_intake_set_timeout(5);
	ii = connect_ok(&c);
	dovecot_stop();
	t0 = nt_now();
	assert_int_equal(imap_intake_fetch(ii, 0, 10, &msgs, &n, &err), -1);
	assert_true(nt_now() - t0 < 6.0);
	assert_non_null(strstr(err, "imap 127.0.0.1:"));
	assert_int_equal(imap_intake_ack(ii, &uid, 1, &err), -1);
	assert_non_null(strstr(err, "reconnect"));
	assert_int_equal(imap_intake_idle(ii, 5, &err), -1);
	imap_intake_close(&ii);
	assert_null(ii);
	t0 = nt_now();
	assert_int_equal(imap_intake_connect(&c, &ii, &err), -1);
	assert_non_null(strstr(err, "connection refused"));
	assert_true(nt_now() - t0 < 6.0);
	imap_intake_set_timeout(60);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fetch_batches_and_move),
		cmocka_unit_test(test_ack_copy_expunge),
		cmocka_unit_test(test_list_start_found_again),
		cmocka_unit_test(test_seen_mode),
		cmocka_unit_test(test_large_partial),
		cmocka_unit_test(test_list_windows),
		cmocka_unit_test(test_list_window_whole_batches),
		cmocka_unit_test(test_idle),
		cmocka_unit_test(test_idle_timeout),
		cmocka_unit_test(test_idle_news_in_ack),
		cmocka_unit_test(test_tls),
		cmocka_unit_test(test_wrong_password),
		cmocka_unit_test(test_mailbox_utf7),
		cmocka_unit_test(test_utf8_processed_mailbox),
		cmocka_unit_test(test_parse_fetch_table),
		cmocka_unit_test(test_fetch_odd_responses),
		cmocka_unit_test(test_fetch_windows_scripted),
		cmocka_unit_test(test_fetch_oversized_literal),
		cmocka_unit_test(test_hung_server),
		cmocka_unit_test(test_silent_server),
		cmocka_unit_test(test_server_stopped),
	};

	log_init("test_intake_imap", LOG_LEVEL_WARN, 0);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
