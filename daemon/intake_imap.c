/*
 * intake_imap.c - the IMAP intake (see intake_imap.h): libetpan for the
 * protocol, tls_verify for the certificate check libetpan skips, batches in
 * UID order and one command per acknowledgement.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>

#include <libetpan/libetpan.h>

#include "intake_imap.h"
#include "tls_verify.h"
#include "util.h"

/* one listing entry: a message known to be in the mailbox */
struct imap_entry {
	uint32_t uid;
	uint32_t size;
	time_t internaldate;
};

struct imap_intake {
	mailimap *imap;
	char *host;              /* for SNI (libetpan wants char *) */
	char *ca_file;
	char *label;             /* "imap host:port" for messages */
	char *mailbox;
	char *processed;         /* NULL: \Seen mode */
	long max_bytes;
	uint32_t uidvalidity, uidnext;
	int has_move, has_uidplus, has_idle;
	/*
	 * Listing cache: entries[pos..n_entries) are the messages known to be in
	 * the mailbox with UID > list_after, in UID order.  Acknowledged (moved)
	 * and vanished messages are removed; it is refreshed when empty, so new
	 * mail is seen once the known mail has been handed out.
	 */
	struct imap_entry *entries;
	size_t n_entries, pos;
	uint32_t list_after;
};

static char imap_err[1024];
static int imap_timeout_s = 60;

static const char *imap_seterr(const char **error_r, const char *fmt, ...)
    S48_PRINTF(2, 3);

static const char *
imap_seterr(const char **error_r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(imap_err, sizeof(imap_err), fmt, ap);
	va_end(ap);
	if (error_r != NULL)
		*error_r = imap_err;
	return imap_err;
}

void
imap_intake_set_timeout(int seconds)
{
	imap_timeout_s = seconds > 0 ? seconds : 60;
}

static const char *
imap_code_str(int r)
{
	switch (r) {
	case MAILIMAP_ERROR_STREAM: return "connection lost or timed out";
	case MAILIMAP_ERROR_PARSE: return "unreadable server response";
	case MAILIMAP_ERROR_CONNECTION_REFUSED: return "connection refused";
	case MAILIMAP_ERROR_MEMORY: return "out of memory";
	case MAILIMAP_ERROR_FATAL: return "server closed the session (BYE)";
	case MAILIMAP_ERROR_PROTOCOL: return "protocol error (BAD)";
	case MAILIMAP_ERROR_DONT_ACCEPT_CONNECTION: return "server refused the connection";
	case MAILIMAP_ERROR_SSL: return "TLS handshake failed";
	case MAILIMAP_ERROR_STARTTLS: return "STARTTLS refused";
	case MAILIMAP_ERROR_LOGIN: return "login refused";
	case MAILIMAP_ERROR_SELECT: return "SELECT refused";
	case MAILIMAP_ERROR_CREATE: return "CREATE refused";
	case MAILIMAP_ERROR_UID_FETCH: return "UID FETCH refused";
	case MAILIMAP_ERROR_UID_MOVE: return "UID MOVE refused";
	case MAILIMAP_ERROR_UID_COPY: return "UID COPY refused";
	case MAILIMAP_ERROR_UID_STORE: return "UID STORE refused";
	case MAILIMAP_ERROR_EXPUNGE: return "EXPUNGE refused";
	case MAILIMAP_ERROR_LIST: return "LIST refused";
	case MAILIMAP_ERROR_EXTENSION: return "extension command refused";
	case MAILIMAP_ERROR_CAPABILITY: return "CAPABILITY refused";
	case 0: return "refused";
	default: return "IMAP error";
	}
}

/* error with libetpan's code and the server's last response text */
static int
imap_fail(struct imap_intake *ii, const char **error_r, const char *what, int r)
{
	const char *resp = ii->imap != NULL ? ii->imap->imap_response : NULL;
	char clean[300];
	size_t i, j = 0;

	/* the server's text, one line, printable only */
	if (resp != NULL && r != MAILIMAP_ERROR_STREAM && r != MAILIMAP_ERROR_CONNECTION_REFUSED) {
		for (i = 0; resp[i] != '\0' && j + 1 < sizeof(clean); i++)
			clean[j++] = (resp[i] >= 0x20 && resp[i] < 0x7f) ? resp[i] : ' ';
	}
	clean[j] = '\0';
	imap_seterr(error_r, "%s: %s: %s%s%s", ii->label, what, imap_code_str(r),
	    j ? ": " : "", clean);
	return -1;
}

static void
imap_ignore_sigpipe(void)
{
	struct sigaction sa;

	if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL) {
		sa.sa_handler = SIG_IGN;
		sigemptyset(&sa.sa_mask);
		sa.sa_flags = 0;
		sigaction(SIGPIPE, &sa, NULL);
	}
}

/* libetpan's TLS context callback: SNI (never for an address literal) */
static void
imap_tls_callback(struct mailstream_ssl_context *ctx, void *data)
{
	struct imap_intake *ii = data;

	if (!tls_host_is_ip(ii->host))
		mailstream_ssl_set_server_name(ctx, ii->host);
}

/* the peer's chain from the stream, checked before any credential is sent */
static int
imap_verify_peer(struct imap_intake *ii, const char **error_r)
{
	carray *chain;
	struct tls_der der[16];
	char err[512];
	unsigned i, n;
	int r;

	chain = mailstream_get_certificate_chain(ii->imap->imap_stream);
	if (chain == NULL) {
		imap_seterr(error_r, "%s: the server sent no certificate", ii->label);
		return -1;
	}
	n = carray_count(chain);
	if (n > 16)
		n = 16;
	for (i = 0; i < n; i++) {
		MMAPString *s = carray_get(chain, i);

		der[i].data = (const unsigned char *)s->str;
		der[i].len = s->len;
	}
	r = tls_verify_chain(der, n, ii->host, ii->ca_file, err, sizeof(err));
	mailstream_certificate_chain_free(chain);
	if (r != 0) {
		imap_seterr(error_r, "%s: %s", ii->label, err);
		return -1;
	}
	return 0;
}

static int
imap_mailbox_exists(struct imap_intake *ii, const char *name, int *exists_r,
    const char **error_r)
{
	clist *list = NULL;
	int r;

	r = mailimap_list(ii->imap, "", name, &list);
	if (r != MAILIMAP_NO_ERROR)
		return imap_fail(ii, error_r, "LIST", r);
	*exists_r = list != NULL && clist_count(list) > 0;
	if (list != NULL)
		mailimap_list_result_free(list);
	return 0;
}

static void
imap_intake_free(struct imap_intake *ii)
{
	if (ii == NULL)
		return;
	if (ii->imap != NULL)
		mailimap_free(ii->imap);
	free(ii->host);
	free(ii->ca_file);
	free(ii->label);
	free(ii->mailbox);
	free(ii->processed);
	free(ii->entries);
	free(ii);
}

int
imap_intake_connect(const struct cfg_imap *cfg, struct imap_intake **ii_r,
    const char **error_r)
{
	struct imap_intake *ii;
	struct mailimap_capability_data *cap = NULL;
	int port, r, exists = 0;

	*ii_r = NULL;
	if (cfg->host == NULL || cfg->user == NULL || cfg->password == NULL) {
		imap_seterr(error_r, "imap: host, user and password are required");
		return -1;
	}
	port = cfg->port > 0 ? cfg->port : (cfg->tls == CFG_TLS_IMPLICIT ? 993 : 143);
	if (port > 65535) {
		imap_seterr(error_r, "imap: bad port %d", port);
		return -1;
	}
	imap_ignore_sigpipe();
	ii = xcalloc(1, sizeof(*ii));
	ii->host = xstrdup(cfg->host);
	ii->ca_file = cfg->ca_file != NULL && cfg->ca_file[0] ? xstrdup(cfg->ca_file) : NULL;
	ii->label = xasprintf("imap %s:%d", cfg->host, port);
	ii->mailbox = xstrdup(cfg->mailbox != NULL ? cfg->mailbox : "INBOX");
	ii->processed = cfg->processed_mailbox != NULL && cfg->processed_mailbox[0] ?
	    xstrdup(cfg->processed_mailbox) : NULL;
	ii->max_bytes = cfg->max_message_bytes > 0 ? cfg->max_message_bytes : 10485760;
	if (ii->max_bytes > (long)UINT32_MAX - 1)
		ii->max_bytes = (long)UINT32_MAX - 1;
	if (ii->processed != NULL && strcmp(ii->processed, ii->mailbox) == 0) {
		imap_seterr(error_r, "%s: processed_mailbox must differ from mailbox", ii->label);
		goto fail;
	}
	ii->imap = mailimap_new(0, NULL);
	if (ii->imap == NULL) {
		imap_seterr(error_r, "%s: out of memory", ii->label);
		goto fail;
	}
	mailimap_set_timeout(ii->imap, imap_timeout_s);

	switch (cfg->tls) {
	case CFG_TLS_IMPLICIT:
		r = mailimap_ssl_connect_with_callback(ii->imap, ii->host, (uint16_t)port,
		    imap_tls_callback, ii);
		if (r != MAILIMAP_NO_ERROR_AUTHENTICATED && r != MAILIMAP_NO_ERROR_NON_AUTHENTICATED) {
			imap_fail(ii, error_r, "connect (TLS)", r);
			goto fail;
		}
		if (imap_verify_peer(ii, error_r) != 0)
			goto fail;
		break;
	case CFG_TLS_STARTTLS:
		r = mailimap_socket_connect(ii->imap, ii->host, (uint16_t)port);
		if (r != MAILIMAP_NO_ERROR_AUTHENTICATED && r != MAILIMAP_NO_ERROR_NON_AUTHENTICATED) {
			imap_fail(ii, error_r, "connect", r);
			goto fail;
		}
		r = mailimap_socket_starttls_with_callback(ii->imap, imap_tls_callback, ii);
		if (r != MAILIMAP_NO_ERROR) {
			imap_fail(ii, error_r, "STARTTLS", r);
			goto fail;
		}
		if (imap_verify_peer(ii, error_r) != 0)
			goto fail;
		break;
	case CFG_TLS_NONE:
	default:
		r = mailimap_socket_connect(ii->imap, ii->host, (uint16_t)port);
		if (r != MAILIMAP_NO_ERROR_AUTHENTICATED && r != MAILIMAP_NO_ERROR_NON_AUTHENTICATED) {
			imap_fail(ii, error_r, "connect", r);
			goto fail;
		}
		break;
	}

	r = mailimap_login(ii->imap, cfg->user, cfg->password);
	if (r != MAILIMAP_NO_ERROR) {
		char what[200];

		snprintf(what, sizeof(what), "login as %s", cfg->user);
		imap_fail(ii, error_r, what, r == MAILIMAP_ERROR_LOGIN ? 0 : r);
		goto fail;
	}
	/* capabilities change after LOGIN (and after STARTTLS): ask again */
	r = mailimap_capability(ii->imap, &cap);
	if (r != MAILIMAP_NO_ERROR) {
		imap_fail(ii, error_r, "CAPABILITY", r);
		goto fail;
	}
	mailimap_capability_data_free(cap);
	ii->has_move = mailimap_has_extension(ii->imap, "MOVE");
	ii->has_uidplus = mailimap_has_extension(ii->imap, "UIDPLUS");
	ii->has_idle = mailimap_has_idle(ii->imap);

	if (ii->processed != NULL) {
		if (imap_mailbox_exists(ii, ii->processed, &exists, error_r) != 0)
			goto fail;
		if (!exists) {
			r = mailimap_create(ii->imap, ii->processed);
			if (r != MAILIMAP_NO_ERROR) {
				char what[300];

				snprintf(what, sizeof(what), "CREATE %s", ii->processed);
				imap_fail(ii, error_r, what, r);
				goto fail;
			}
			log_info("%s: created mailbox %s", ii->label, ii->processed);
		}
	}
	r = mailimap_select(ii->imap, ii->mailbox);
	if (r != MAILIMAP_NO_ERROR) {
		char what[300];

		snprintf(what, sizeof(what), "SELECT %s", ii->mailbox);
		imap_fail(ii, error_r, what, r);
		goto fail;
	}
	if (ii->imap->imap_selection_info == NULL ||
	    ii->imap->imap_selection_info->sel_perm != MAILIMAP_MAILBOX_READWRITE) {
		imap_seterr(error_r, "%s: mailbox %s is read-only", ii->label, ii->mailbox);
		goto fail;
	}
	ii->uidvalidity = ii->imap->imap_selection_info->sel_uidvalidity;
	ii->uidnext = ii->imap->imap_selection_info->sel_uidnext;
	if (ii->uidvalidity == 0) {
		imap_seterr(error_r, "%s: mailbox %s has no UIDVALIDITY", ii->label, ii->mailbox);
		goto fail;
	}
	log_debug("%s: selected %s uidvalidity %u uidnext %u exists %u move %d uidplus %d idle %d",
	    ii->label, ii->mailbox, ii->uidvalidity, ii->uidnext,
	    ii->imap->imap_selection_info->sel_exists, ii->has_move, ii->has_uidplus,
	    ii->has_idle);
	*ii_r = ii;
	return 0;
fail:
	imap_intake_free(ii);
	return -1;
}

uint32_t
imap_intake_uidvalidity(const struct imap_intake *ii)
{
	return ii->uidvalidity;
}

uint32_t
imap_intake_uidnext(const struct imap_intake *ii)
{
	return ii->uidnext;
}

int
imap_intake_has_move(const struct imap_intake *ii)
{
	return ii->has_move;
}

int
imap_intake_has_idle(const struct imap_intake *ii)
{
	return ii->has_idle;
}

void
imap_intake_disable_move(struct imap_intake *ii)
{
	ii->has_move = 0;
}

static time_t
imap_date_to_time(const struct mailimap_date_time *dt)
{
	struct tm tm;
	time_t t;
	int z, off;

	if (dt == NULL)
		return 0;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = dt->dt_year - 1900;
	tm.tm_mon = dt->dt_month - 1;
	tm.tm_mday = dt->dt_day;
	tm.tm_hour = dt->dt_hour;
	tm.tm_min = dt->dt_min;
	tm.tm_sec = dt->dt_sec;
	t = util_timegm(&tm);
	if (t == (time_t)-1)
		return 0;
	z = dt->dt_zone < 0 ? -dt->dt_zone : dt->dt_zone;   /* +HHMM as a number */
	off = (z / 100) * 3600 + (z % 100) * 60;
	return dt->dt_zone < 0 ? t + off : t - off;
}

/* the static attributes of one FETCH response we care about */
struct imap_att {
	uint32_t uid, size;
	int have_size;
	time_t internaldate;
	const char *body;
	size_t body_len;
	int have_body;
};

static void
imap_att_read(const struct mailimap_msg_att *att, struct imap_att *a)
{
	clistiter *it;

	memset(a, 0, sizeof(*a));
	for (it = clist_begin(att->att_list); it != NULL; it = clist_next(it)) {
		const struct mailimap_msg_att_item *item = clist_content(it);
		const struct mailimap_msg_att_static *st;

		if (item->att_type != MAILIMAP_MSG_ATT_ITEM_STATIC)
			continue;
		st = item->att_data.att_static;
		if (st == NULL)
			continue;
		switch (st->att_type) {
		case MAILIMAP_MSG_ATT_UID:
			a->uid = st->att_data.att_uid;
			break;
		case MAILIMAP_MSG_ATT_RFC822_SIZE:
			a->size = st->att_data.att_rfc822_size;
			a->have_size = 1;
			break;
		case MAILIMAP_MSG_ATT_INTERNALDATE:
			a->internaldate = imap_date_to_time(st->att_data.att_internal_date);
			break;
		case MAILIMAP_MSG_ATT_BODY_SECTION:
			if (st->att_data.att_body_section != NULL) {
				a->body = st->att_data.att_body_section->sec_body_part;
				a->body_len = st->att_data.att_body_section->sec_length;
				a->have_body = 1;
			}
			break;
		default:
			break;
		}
	}
}

static int
imap_entry_cmp(const void *a, const void *b)
{
	const struct imap_entry *x = a, *y = b;

	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

/* UID FETCH after+1:* (UID RFC822.SIZE INTERNALDATE) into the cache */
static int
imap_list(struct imap_intake *ii, uint32_t after_uid, const char **error_r)
{
	struct mailimap_set *set = NULL;
	struct mailimap_fetch_type *ft = NULL;
	clist *res = NULL;
	clistiter *it;
	size_t n = 0, cap;
	int r, ret = -1;

	free(ii->entries);
	ii->entries = NULL;
	ii->n_entries = ii->pos = 0;
	ii->list_after = after_uid;
	if (after_uid == UINT32_MAX)
		return 0;
	/* Dovecot tells a session about new mail at command boundaries: a
	 * NOOP first, so that the listing sees what arrived since */
	r = mailimap_noop(ii->imap);
	if (r != MAILIMAP_NO_ERROR) {
		imap_fail(ii, error_r, "NOOP", r);
		goto fail;
	}
	set = mailimap_set_new_interval(after_uid + 1, 0);    /* 0 is "*" */
	ft = mailimap_fetch_type_new_fetch_att_list_empty();
	if (set == NULL || ft == NULL ||
	    mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_uid()) != 0 ||
	    mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_rfc822_size()) != 0 ||
	    mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_internaldate()) != 0) {
		imap_seterr(error_r, "%s: out of memory", ii->label);
		goto fail;
	}
	r = mailimap_uid_fetch(ii->imap, set, ft, &res);
	if (r != MAILIMAP_NO_ERROR) {
		imap_fail(ii, error_r, "UID FETCH (listing)", r);
		goto fail;
	}
	cap = clist_count(res);
	ii->entries = xmalloc((cap ? cap : 1) * sizeof(*ii->entries));
	for (it = clist_begin(res); it != NULL; it = clist_next(it)) {
		struct imap_att a;

		imap_att_read(clist_content(it), &a);
		/* "N:*" also names the last message when its UID is below N */
		if (a.uid <= after_uid || n >= cap)
			continue;
		ii->entries[n].uid = a.uid;
		ii->entries[n].size = a.size;
		ii->entries[n].internaldate = a.internaldate;
		n++;
	}
	qsort(ii->entries, n, sizeof(*ii->entries), imap_entry_cmp);
	ii->n_entries = n;
	ret = 0;
fail:
	if (res != NULL)
		mailimap_fetch_list_free(res);
	if (ft != NULL)
		mailimap_fetch_type_free(ft);
	if (set != NULL)
		mailimap_set_free(set);
	return ret;
}

/* a set of UIDs as ranges; uids sorted ascending, duplicates allowed */
static struct mailimap_set *
imap_uid_set(const uint32_t *uids, size_t n)
{
	struct mailimap_set *set;
	size_t i = 0, j;

	set = mailimap_set_new_empty();
	if (set == NULL)
		return NULL;
	while (i < n) {
		j = i;
		while (j + 1 < n && (uids[j + 1] == uids[j] || uids[j + 1] == uids[j] + 1))
			j++;
		if (mailimap_set_add_interval(set, uids[i], uids[j]) != 0) {
			mailimap_set_free(set);
			return NULL;
		}
		i = j + 1;
	}
	return set;
}

static int
imap_u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Remove from the cache the UIDs in uids[0..n) (sorted) except those in
 * keep[0..nkeep) (fetched messages, UID order).
 */
static void
imap_cache_remove(struct imap_intake *ii, const uint32_t *uids, size_t n,
    const struct imap_msg *keep, size_t nkeep)
{
	size_t i, k = ii->pos, kk = 0;

	for (i = ii->pos; i < ii->n_entries; i++) {
		uint32_t u = ii->entries[i].uid;
		int gone = bsearch(&u, uids, n, sizeof(*uids), imap_u32_cmp) != NULL;

		while (kk < nkeep && keep[kk].uid < u)
			kk++;
		if (gone && kk < nkeep && keep[kk].uid == u)
			gone = 0;
		if (!gone)
			ii->entries[k++] = ii->entries[i];
	}
	ii->n_entries = k;
}

/* one batch; *asked_r: how many UIDs were asked for (0: nothing left) */
static int
imap_fetch_once(struct imap_intake *ii, uint32_t after_uid, size_t max_batch,
    struct imap_msg **msgs_r, size_t *n_r, size_t *asked_r, const char **error_r)
{
	struct mailimap_set *set = NULL;
	struct mailimap_fetch_type *ft = NULL;
	struct mailimap_section *sec = NULL;
	struct mailimap_fetch_att *fa;
	struct imap_msg *msgs = NULL;
	struct imap_entry *batch;
	uint32_t *uids = NULL;
	clist *res = NULL;
	clistiter *it;
	size_t i, nb = 0, got = 0, bytes = 0;
	int r, ret = -1;

	*msgs_r = NULL;
	*n_r = 0;
	*asked_r = 0;
	/* a listing made for a later cursor cannot serve an earlier one */
	if (after_uid < ii->list_after)
		ii->pos = ii->n_entries;
	else
		ii->list_after = after_uid;
	while (ii->pos < ii->n_entries && ii->entries[ii->pos].uid <= after_uid)
		ii->pos++;
	if (ii->pos >= ii->n_entries && imap_list(ii, after_uid, error_r) != 0)
		return -1;
	if (ii->pos >= ii->n_entries)
		return 0;

	/* the batch: entries[pos .. pos+nb), bounded by count and bytes */
	batch = ii->entries + ii->pos;
	while (ii->pos + nb < ii->n_entries && nb < max_batch) {
		size_t sz = batch[nb].size < (uint32_t)ii->max_bytes ? batch[nb].size :
		    (size_t)ii->max_bytes;

		if (nb > 0 && bytes + sz > IMAP_INTAKE_BATCH_BYTES)
			break;
		bytes += sz;
		nb++;
	}
	*asked_r = nb;
	uids = xmalloc(nb * sizeof(*uids));
	for (i = 0; i < nb; i++)
		uids[i] = batch[i].uid;
	set = imap_uid_set(uids, nb);
	ft = mailimap_fetch_type_new_fetch_att_list_empty();
	sec = mailimap_section_new(NULL);
	if (set == NULL || ft == NULL || sec == NULL) {
		imap_seterr(error_r, "%s: out of memory", ii->label);
		goto fail;
	}
	/* BODY.PEEK[]<0.max>: whole messages up to max, the start of larger ones */
	fa = mailimap_fetch_att_new_body_peek_section_partial(sec, 0, (uint32_t)ii->max_bytes);
	if (fa == NULL) {
		imap_seterr(error_r, "%s: out of memory", ii->label);
		goto fail;
	}
	sec = NULL;
	if (mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_uid()) != 0 ||
	    mailimap_fetch_type_new_fetch_att_list_add(ft, fa) != 0) {
		imap_seterr(error_r, "%s: out of memory", ii->label);
		goto fail;
	}
	r = mailimap_uid_fetch(ii->imap, set, ft, &res);
	if (r != MAILIMAP_NO_ERROR) {
		imap_fail(ii, error_r, "UID FETCH", r);
		goto fail;
	}
	msgs = xcalloc(nb, sizeof(*msgs));
	for (it = clist_begin(res); it != NULL; it = clist_next(it)) {
		struct imap_att a;
		struct imap_entry key, *e;
		size_t k;

		imap_att_read(clist_content(it), &a);
		if (!a.have_body || a.body == NULL)
			continue;
		key.uid = a.uid;
		e = bsearch(&key, batch, nb, sizeof(*batch), imap_entry_cmp);
		if (e == NULL)
			continue;        /* not asked for (unsolicited FETCH) */
		k = (size_t)(e - batch);
		if (msgs[k].raw != NULL)
			continue;
		msgs[k].uid = a.uid;
		msgs[k].len = a.body_len > (size_t)ii->max_bytes ? (size_t)ii->max_bytes : a.body_len;
		msgs[k].raw = xmalloc(msgs[k].len + 1);
		memcpy(msgs[k].raw, a.body, msgs[k].len);
		msgs[k].raw[msgs[k].len] = '\0';
		msgs[k].full_size = e->size;
		msgs[k].truncated = e->size > msgs[k].len;
		msgs[k].internaldate = e->internaldate;
	}
	/* keep UID order; what vanished (moved or expunged by someone else)
	 * leaves the cache too */
	for (i = 0; i < nb; i++) {
		if (msgs[i].raw == NULL)
			continue;
		if (got != i)
			msgs[got] = msgs[i];
		got++;
	}
	if (got < nb) {
		log_debug("%s: %zu of %zu messages vanished before FETCH", ii->label,
		    nb - got, nb);
		imap_cache_remove(ii, uids, nb, msgs, got);
	}
	if (got == 0) {
		free(msgs);
		msgs = NULL;
	}
	*msgs_r = msgs;
	*n_r = got;
	msgs = NULL;
	ret = 0;
fail:
	if (msgs != NULL)
		imap_intake_free_msgs(&msgs, nb);
	if (res != NULL)
		mailimap_fetch_list_free(res);
	if (ft != NULL)
		mailimap_fetch_type_free(ft);
	if (sec != NULL)
		mailimap_section_free(sec);
	if (set != NULL)
		mailimap_set_free(set);
	free(uids);
	return ret;
}

int
imap_intake_fetch(struct imap_intake *ii, uint32_t after_uid, size_t max_batch,
    struct imap_msg **msgs_r, size_t *n_r, const char **error_r)
{
	size_t asked;
	int r;

	*msgs_r = NULL;
	*n_r = 0;
	if (max_batch == 0)
		return 0;
	/* a batch that vanished entirely (moved by a clerk) left the cache:
	 * go on with the next one */
	do {
		r = imap_fetch_once(ii, after_uid, max_batch, msgs_r, n_r, &asked, error_r);
	} while (r == 0 && *n_r == 0 && asked > 0);
	return r;
}

int
imap_intake_ack(struct imap_intake *ii, const uint32_t *uids, size_t n,
    const char **error_r)
{
	struct mailimap_set *set = NULL;
	struct mailimap_store_att_flags *sf = NULL;
	struct mailimap_flag_list *fl = NULL;
	uint32_t *sorted;
	int r, ret = -1;

	if (n == 0)
		return 0;
	sorted = xmalloc(n * sizeof(*sorted));
	memcpy(sorted, uids, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), imap_u32_cmp);
	set = imap_uid_set(sorted, n);
	if (set == NULL) {
		imap_seterr(error_r, "%s: out of memory", ii->label);
		goto fail;
	}
	if (ii->processed != NULL && ii->has_move) {
		r = mailimap_uid_move(ii->imap, set, ii->processed);
		if (r != MAILIMAP_NO_ERROR) {
			imap_fail(ii, error_r, "UID MOVE", r);
			goto fail;
		}
	} else if (ii->processed != NULL) {
		r = mailimap_uid_copy(ii->imap, set, ii->processed);
		if (r != MAILIMAP_NO_ERROR) {
			imap_fail(ii, error_r, "UID COPY", r);
			goto fail;
		}
		fl = mailimap_flag_list_new_empty();
		if (fl == NULL || mailimap_flag_list_add(fl, mailimap_flag_new_deleted()) != 0 ||
		    (sf = mailimap_store_att_flags_new_add_flags_silent(fl)) == NULL) {
			imap_seterr(error_r, "%s: out of memory", ii->label);
			goto fail;
		}
		fl = NULL;
		r = mailimap_uid_store(ii->imap, set, sf);
		if (r != MAILIMAP_NO_ERROR) {
			imap_fail(ii, error_r, "UID STORE \\Deleted", r);
			goto fail;
		}
		if (ii->has_uidplus)
			r = mailimap_uid_expunge(ii->imap, set);
		else
			r = mailimap_expunge(ii->imap);
		if (r != MAILIMAP_NO_ERROR) {
			imap_fail(ii, error_r, "EXPUNGE", r);
			goto fail;
		}
	} else {
		fl = mailimap_flag_list_new_empty();
		if (fl == NULL || mailimap_flag_list_add(fl, mailimap_flag_new_seen()) != 0 ||
		    (sf = mailimap_store_att_flags_new_add_flags_silent(fl)) == NULL) {
			imap_seterr(error_r, "%s: out of memory", ii->label);
			goto fail;
		}
		fl = NULL;
		r = mailimap_uid_store(ii->imap, set, sf);
		if (r != MAILIMAP_NO_ERROR) {
			imap_fail(ii, error_r, "UID STORE \\Seen", r);
			goto fail;
		}
	}
	/* moved messages leave the listing cache (\Seen ones stay: the
	 * caller's after_uid passes them) */
	if (ii->processed != NULL)
		imap_cache_remove(ii, sorted, n, NULL, 0);
	ret = 0;
fail:
	if (fl != NULL)
		mailimap_flag_list_free(fl);
	if (sf != NULL)
		mailimap_store_att_flags_free(sf);
	if (set != NULL)
		mailimap_set_free(set);
	free(sorted);
	return ret;
}

int
imap_intake_idle(struct imap_intake *ii, int timeout_s, const char **error_r)
{
	mailstream *s = ii->imap->imap_stream;
	time_t end = time(NULL) + (timeout_s > 0 ? timeout_s : 0);
	int r, w, news = 0;

	if (!ii->has_idle) {
		while (!s48_stop_requested && time(NULL) < end)
			poll(NULL, 0, 200);
		return 0;
	}
	while (!news && !s48_stop_requested && time(NULL) < end) {
		int data = 0, failed = 0;

		if (mailstream_setup_idle(s) != 0) {
			imap_seterr(error_r, "%s: cannot set up IDLE", ii->label);
			return -1;
		}
		r = mailimap_idle(ii->imap);
		if (r != MAILIMAP_NO_ERROR) {
			mailstream_unsetup_idle(s);
			return imap_fail(ii, error_r, "IDLE", r);
		}
		/* 1 s steps so that a stop request is seen promptly */
		while (!s48_stop_requested && time(NULL) < end) {
			if (s->read_buffer_len > 0) {
				data = 1;
				break;
			}
			w = mailstream_wait_idle(s, 1);
			if (w == MAILSTREAM_IDLE_HASDATA) {
				data = 1;
				break;
			}
			if (w == MAILSTREAM_IDLE_ERROR && errno == EINTR)
				continue;         /* a signal: look at the stop flag */
			if (w == MAILSTREAM_IDLE_ERROR || w == MAILSTREAM_IDLE_CANCELLED) {
				failed = 1;
				break;
			}
		}
		r = mailimap_idle_done(ii->imap);
		mailstream_unsetup_idle(s);
		if (failed) {
			imap_seterr(error_r, "%s: IDLE: connection lost", ii->label);
			return -1;
		}
		if (r != MAILIMAP_NO_ERROR)
			return imap_fail(ii, error_r, "IDLE DONE", r);
		if (data && ii->imap->imap_selection_info != NULL &&
		    (ii->imap->imap_selection_info->sel_has_exists ||
		     ii->imap->imap_selection_info->sel_has_recent))
			news = 1;
	}
	return news;
}

void
imap_intake_free_msgs(struct imap_msg **msgs, size_t n)
{
	size_t i;

	if (msgs == NULL || *msgs == NULL)
		return;
	for (i = 0; i < n; i++)
		free((*msgs)[i].raw);
	free(*msgs);
	*msgs = NULL;
}

void
imap_intake_close(struct imap_intake **iip)
{
	struct imap_intake *ii;

	if (iip == NULL || *iip == NULL)
		return;
	ii = *iip;
	if (ii->imap != NULL && ii->imap->imap_stream != NULL)
		(void)mailimap_logout(ii->imap);
	imap_intake_free(ii);
	*iip = NULL;
}
