/* health.c - alerts when a source or sender has failed for an hour, and on recovery. */
#include "health.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "sla.h"
#include "sla_watch.h"
#include "store.h"
#include "util.h"

static const char *const names[HEALTH_N] = { "imap", "sms-gateway", "smtp", "sms-send" };
/* An alert avoids the channel that is down; the recovery notice goes by
 * every channel, the one that works again included (with an escalation
 * list of addresses only, the notice that SMTP works again is the first
 * the operator hears of it). */
static const char *const avoid[HEALTH_N] = { NULL, NULL, "email", "sms" };

const char *
health_part_name(enum health_part part)
{
	return part < HEALTH_N ? names[part] : "unknown";
}

static int
alert(struct store *st, const struct s48_config *cfg, enum health_part part, int recovered,
    time_t since, const char *what, const char **error_r)
{
	char when[32], *subj, *body;
	int r;

	sla_format_local(since, when, sizeof(when));
	if (recovered) {
		subj = xasprintf("Sistem 48: %s radi ponovo", names[part]);
		body = xasprintf("%s ponovo radi (nije radio od %s).\n", names[part], when);
	} else {
		subj = xasprintf("Sistem 48: %s ne radi od %s", names[part], when);
		body = xasprintf("%s ne radi od %s.\nPoslednja greska: %s\n\n"
		    "Poruke se cuvaju i bice obradjene kada veza proradi.\n", names[part], when,
		    what ? what : "-");
	}
	r = sla_watch_notify_escalation(st, cfg, 0, "alert", subj, body,
	    recovered ? NULL : avoid[part], error_r);
	free(subj);
	free(body);
	return r < 0 ? -1 : 0;
}

int
health_report(struct store *st, const struct s48_config *cfg, enum health_part part,
    int ok, const char *what, const char **error_r)
{
	char key_since[64], key_alerted[64], *since_s = NULL, *alerted_s = NULL;
	time_t now = store_now(), since;
	int rc = -1, own_tx = !store_in_transaction(st);

	snprintf(key_since, sizeof(key_since), "health.%s.since", names[part]);
	snprintf(key_alerted, sizeof(key_alerted), "health.%s.alerted", names[part]);
	if (store_state_get(st, key_since, &since_s, error_r) < 0)
		return -1;
	if (ok && since_s == NULL)
		return 0;               /* the common case: healthy and was healthy */
	if (own_tx && store_begin(st, error_r) < 0)
		goto out;
	if (store_state_get(st, key_alerted, &alerted_s, error_r) < 0)
		goto fail;
	since = since_s ? (time_t)strtoll(since_s, NULL, 10) : now;
	if (ok) {
		char when[32];

		sla_format_local(since, when, sizeof(when));
		log_info("%s works again (failing since %s)", names[part], when);
		if (alerted_s != NULL && alert(st, cfg, part, 1, since, NULL, error_r) < 0)
			goto fail;
		if (store_state_del(st, key_since, error_r) < 0 ||
		    store_state_del(st, key_alerted, error_r) < 0)
			goto fail;
	} else {
		/* a failure first seen "after" now: the clock went back since
		 * (s48d logs it); counted from now, else the alert waited for
		 * the clock to reach the old time again, a day for a day's step */
		if (since_s == NULL || since > now) {
			char v[32];

			snprintf(v, sizeof(v), "%lld", (long long)now);
			if (store_state_set(st, key_since, v, error_r) < 0)
				goto fail;
		} else if (alerted_s == NULL && now - since >= HEALTH_ALERT_AFTER) {
			log_warnx("%s has failed for %lld minutes: alerting escalation", names[part],
			    (long long)(now - since) / 60);
			if (alert(st, cfg, part, 0, since, what, error_r) < 0 ||
			    store_state_set(st, key_alerted, "1", error_r) < 0)
				goto fail;
		}
	}
	if (own_tx && store_commit(st, error_r) < 0)
		goto out;
	rc = 0;
	goto out;
fail:
	if (own_tx)
		store_rollback(st);
out:
	free(since_s);
	free(alerted_s);
	return rc;
}
