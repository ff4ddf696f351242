/*
 * intake_imap.h - IMAP intake: fetch new mail from one mailbox in UID order,
 * in batches, and acknowledge it once the caller has committed it (move to
 * processed_mailbox, or set \Seen).  libetpan does the protocol over a
 * stream of imap_net.h: the server certificate chain and host name are
 * verified there (tls_verify.h) before libetpan parses a byte from the
 * server (Debian's libetpan verifies nothing, and its parser crashes on
 * some lines), the greeting's response code is cleaned.
 *
 * Errors: every function returning int gives 0 (or the documented positive
 * value) on success and -1 on failure with *error_r set to a one-line
 * message in a static buffer, valid until the next imap_intake_* call.
 * After a failure of fetch/ack/idle the session is unusable: close it and
 * connect again later (nothing is lost: unacknowledged mail stays put).
 * The user name may appear in messages (it is our account, not a citizen).
 *
 * A session is used by one thread at a time; the error buffer is per thread,
 * so two threads may each drive their own session (imap_pump.h does).
 * SIGPIPE is set to SIG_IGN on first connect if it was SIG_DFL.
 */
#ifndef S48_INTAKE_IMAP_H
#define S48_INTAKE_IMAP_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "config.h"

struct imap_intake;

struct imap_msg {
	uint32_t uid;
	unsigned char *raw;      /* the message bytes (NUL-terminated, NUL not counted) */
	size_t len;              /* bytes in raw */
	size_t full_size;        /* RFC822.SIZE on the server */
	int truncated;           /* 1: only the first max_message_bytes were fetched */
	time_t internaldate;     /* INTERNALDATE (UTC), 0 if the server gave none */
};

/* Most bytes of message data fetched in one batch (at least one message is
 * always fetched, bounded by max_message_bytes). */
#define IMAP_INTAKE_BATCH_BYTES (64u * 1024 * 1024)

/*
 * Connect (cfg->tls: implicit TLS, STARTTLS or none), verify the server's
 * certificate chain (system CAs + cfg->ca_file) and host name right after
 * the TLS handshake, before the server's first TLS byte is parsed (with
 * STARTTLS the greeting and the answer to STARTTLS come before, in the
 * clear, as the protocol has it), send SNI, log in with cfg->user/cfg->password, create
 * cfg->processed_mailbox when missing, SELECT cfg->mailbox read-write, read
 * UIDVALIDITY, UIDNEXT and the MOVE, UIDPLUS and IDLE capabilities.
 * Returns 0 and *ii_r, or -1 (nothing allocated) with *error_r such as
 * "imap 127.0.0.1:993: certificate is not for host 127.0.0.1" or
 * "imap host:143: login as prijave refused: [AUTHENTICATIONFAILED] ...".
 * Until the mailbox is selected every wait (TCP connect, TLS handshake,
 * greeting, LOGIN, SELECT...) gives up within IMAP_NET_STOP_SLICE_MS (0.1 s)
 * of s48_stop_requested being set, from any thread: -1 with "stopped while
 * connecting (...)".  Afterwards a command runs to the timeout; a caller
 * that must not wait aborts it (imap_intake_abort).
 */
int imap_intake_connect(const struct cfg_imap *cfg, struct imap_intake **ii_r,
    const char **error_r);

/* UIDVALIDITY and UIDNEXT of the selected mailbox (as of SELECT). */
uint32_t imap_intake_uidvalidity(const struct imap_intake *ii);
uint32_t imap_intake_uidnext(const struct imap_intake *ii);
/* Capabilities seen after LOGIN: 1 or 0. */
int imap_intake_has_move(const struct imap_intake *ii);
int imap_intake_has_idle(const struct imap_intake *ii);
/* Messages left in the current listing window: 0 means the next fetch
 * lists the mailbox again (NOOP + FETCH of the next window).  Only UIDs
 * above the fetch's after_uid are listed: a caller that passes 0 (not the
 * highest UID it fetched) sees mail whose MOVE is still pending again. */
size_t imap_intake_listed(const struct imap_intake *ii);
/* Round trips spent looking up where a listing window starts (FETCH n
 * (UID), by bisection) since the session began: 0 while every expunge below
 * the window was seen in a response (for tests and debug logs). */
size_t imap_intake_seq_lookups(const struct imap_intake *ii);
/* Messages in the selected mailbox (EXISTS) as of the last command. */
size_t imap_intake_exists(const struct imap_intake *ii);
/* Shut the session's socket down (from another thread) so that a command
 * blocked on a silent server returns with an error; the session is broken. */
void imap_intake_abort(struct imap_intake *ii);

/* Messages in one listing (a window of the mailbox, so that memory does not
 * grow with it): 16 bytes each. */
#define IMAP_INTAKE_LIST_WINDOW 4096

/*
 * The next batch of at most max_batch messages with UID > after_uid, in UID
 * order.  A listing of the next IMAP_INTAKE_LIST_WINDOW (or max_batch if
 * larger) messages above after_uid (FETCH a:b (UID RFC822.SIZE
 * INTERNALDATE) by sequence number, the last window open-ended) is kept
 * between calls and refreshed when used up, then the bodies come in
 * ONE UID FETCH over the batch's UID set as BODY.PEEK[]<0.max_message_bytes>
 * (a larger message: truncated = 1, full_size = RFC822.SIZE).  A batch also
 * stops at IMAP_INTAKE_BATCH_BYTES.  With processed_mailbox the mailbox
 * holds only unprocessed mail: pass after_uid 0; without it pass the last
 * committed UID.  A message expunged meanwhile is left out.
 * Returns 0 with *msgs_r (NULL when *n_r is 0; free with
 * imap_intake_free_msgs), or -1.
 */
int imap_intake_fetch(struct imap_intake *ii, uint32_t after_uid, size_t max_batch,
    struct imap_msg **msgs_r, size_t *n_r, const char **error_r);

/*
 * Acknowledge committed messages in ONE command over the whole UID set
 * (ranges compressed: 1:500): UID MOVE to processed_mailbox when MOVE is
 * offered, else UID COPY + UID STORE +FLAGS.SILENT (\Deleted) + UID EXPUNGE
 * (plain EXPUNGE without UIDPLUS); without processed_mailbox UID STORE
 * +FLAGS.SILENT (\Seen).  uids need not be sorted.  A MOVE or COPY refused
 * with [EXPUNGEISSUED] (another session moved some of the UIDs and this one
 * was not told yet) goes once more after a NOOP.  Returns 0 or -1.
 */
int imap_intake_ack(struct imap_intake *ii, const uint32_t *uids, size_t n,
    const char **error_r);

/*
 * \Seen mode: UID STORE first:last +FLAGS.SILENT (\Seen), one command over
 * the range (UIDs no longer in the mailbox are skipped by the server), for
 * committed mail whose acknowledgement an interrupted poll did not send.
 * first 0 or above last: nothing sent.  Returns 0 or -1 (session broken).
 */
int imap_intake_seen_range(struct imap_intake *ii, uint32_t first, uint32_t last,
    const char **error_r);

/* After a stop request (s48_stop_requested), how long IDLE's commands and
 * LOGOUT wait for a server's answer (counted from when a wait first sees
 * the request): one that does not answer must not hold up the stop. */
#define IMAP_INTAKE_STOP_GRACE_MS 2000

/*
 * Wait up to timeout_s seconds for new mail: IDLE when offered (else just
 * wait).  Returns 1 when the server reported new mail (EXISTS; at once,
 * without IDLE, when an answer since the last listing raised the message
 * count: the server does not announce that mail again), 0 on timeout
 * or when s48_stop_requested was set (noticed within 1 s; the answers to
 * IDLE and DONE are then awaited IMAP_INTAKE_STOP_GRACE_MS at most, else -1),
 * -1 on error.
 */
int imap_intake_idle(struct imap_intake *ii, int timeout_s, const char **error_r);
/* The same with the timeout in milliseconds (the daemon's schedule). */
int imap_intake_idle_ms(struct imap_intake *ii, long long timeout_ms, const char **error_r);

/* Free msgs[0..n) and the array; *msgs becomes NULL. */
void imap_intake_free_msgs(struct imap_msg **msgs, size_t n);

/* LOGOUT (best effort; after a stop request its answer is awaited
 * IMAP_INTAKE_STOP_GRACE_MS at most), close, free; *ii becomes NULL.  NULL
 * is fine. */
void imap_intake_close(struct imap_intake **ii);

/* A UTF-8 mailbox name in IMAP's modified UTF-7 ("Obrađeno" ->
 * "Obra&ARE-eno"), as sent on the wire; NULL if not valid UTF-8.  Caller
 * frees.  (imap_intake_connect applies it to mailbox and processed_mailbox.) */
char *imap_mailbox_utf7(const char *name);

/* For the fuzzer: read a FETCH response to the command tagged "s48f0"
 * from data as imap_intake_fetch does (message literals bounded by
 * max_bytes).  0 on a tagged OK, -1 otherwise; *n_r: messages with a body. */
int imap_intake_parse_fetch(const void *data, size_t len, long max_bytes, size_t *n_r);

struct mailimap;
/* Make end of stream an error on the session's stream (libetpan 1.9.4 spins
 * forever on a connection closed inside a literal); the streams of
 * imap_intake_connect (imap_net.h) do so themselves.  The driver copy this
 * puts in is the stream's own (freed with it; nothing shared between
 * threads).  0, or -1 (no stream, or too many kinds of stream
 * driver).  Public for the fuzzer (tests/fuzz/fuzz_imap_response.c). */
int imap_intake_guard_eof(struct mailimap *imap);
/* CAPABILITY on a libetpan session, as imap_intake_connect sends it after
 * LOGIN, without mailimap_capability() (libetpan 1.9.4 dereferences NULL
 * when the server sent no capability list); the result stays in the
 * session, always with a list (mailimap_has_extension).  MAILIMAP_NO_ERROR
 * or a MAILIMAP_ERROR_* code.  Public for the fuzzer
 * (tests/fuzz/fuzz_imap_response.c). */
int imap_intake_capability(struct mailimap *imap);

/* Network timeout in seconds for connect and every read/write of sessions
 * connected afterwards (default 60). */
void imap_intake_set_timeout(int seconds);

/* For tests: messages per listing window (0: IMAP_INTAKE_LIST_WINDOW), for
 * sessions' next listings. */
void imap_intake_set_list_window(size_t n);

/* For tests: behave as if the server did not offer MOVE (exercises COPY +
 * STORE + UID EXPUNGE). */
void imap_intake_disable_move(struct imap_intake *ii);

/*
 * For the fuzzers and parser tests: a libetpan stream whose "server" sends
 * the len bytes of data (borrowed: must outlive the stream) and then ends;
 * what is written is discarded.  NULL on allocation failure.  Close with
 * mailstream_close().
 */
struct _mailstream;
struct _mailstream *imap_intake_mem_stream(const void *data, size_t len);

#endif
