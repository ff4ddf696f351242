/*
 * sms_gateway_p.h - private to the SMS gateway files: the profile table
 * and the helpers they share (sms_gateway.c).
 */
#ifndef S48_SMS_GATEWAY_P_H
#define S48_SMS_GATEWAY_P_H

#include <jansson.h>

#include "http_client.h"
#include "sms_gateway.h"
#include "util.h"

struct sms_profile {
	const char *name;
	/* Check cfg for what this profile needs; static error text. */
	int (*check)(const struct cfg_sms *cfg, const char **error_r);
	int (*pull)(struct sms_gateway *gw, const char *cursor, struct sms_in **msgs_r,
	    size_t *n_r, char **cursor_r, int *more_r, const char **error_r);
	/* NULL: nothing to do */
	int (*ack)(struct sms_gateway *gw, const struct sms_in *msgs, size_t n,
	    const char **error_r);
	/* NULL: nothing to reconcile */
	int (*reconcile)(struct sms_gateway *gw, time_t since, struct sms_in **msgs_r,
	    size_t *n_r, const char **error_r);
	int (*send)(struct sms_gateway *gw, const char *to, const char *text,
	    char **reason_r, int *stopped_r);
};

extern const struct sms_profile sms_profile_infobip;
extern const struct sms_profile sms_profile_twilio;
extern const struct sms_profile sms_profile_generic;

struct sms_gateway {
	const struct cfg_sms *cfg;
	const struct sms_profile *prof;
	struct http_client *http;
	int reconcile_wanted;
	/* generic ack mode: the last ack failed / sha256 of the last batch's
	 * ids, so a gateway that does not forget is not pulled in a loop */
	int ack_failed;
	char last_batch[65];
	char err[1024];
};

/* A growing array of messages (at most SMS_GW_MAX_BATCH). */
#define SMS_GW_MAX_BATCH 100000
struct sms_gw_list {
	struct sms_in *v;
	size_t n, cap;
};

/* Format into gw->err and return it (for *error_r). */
const char *sms_gw_error(struct sms_gateway *gw, const char *fmt, ...) S48_PRINTF(2, 3);

/* base_url (without trailing '/') + path; caller frees. */
char *sms_gw_url(const struct sms_gateway *gw, const char *path);

/* http_client_do with cfg->timeout; on -1, *error_r comes from the client. */
int sms_gw_http(struct sms_gateway *gw, struct http_request *req, struct http_response *resp,
    const char **error_r);

/*
 * The JSON answer of a pull: 0 with *root_r when the status is 2xx and the
 * body is JSON, else -1 with *error_r ("HTTP 401 unauthorized ...",
 * "unreadable answer: not JSON ...").
 */
int sms_gw_json_answer(struct sms_gateway *gw, const struct http_response *resp,
    json_t **root_r, const char **error_r);

/*
 * Add the message object obj, reading its fields at the given paths.
 * time_kind: 'i' ISO 8601, 'r' RFC 2822, 'a' any (ISO, Unix s or ms).
 * Returns 0, or -1 when the list is full.
 */
int sms_gw_list_add(struct sms_gw_list *l, json_t *obj, const char *id_path,
    const char *from_path, const char *text_path, const char *time_path, int time_kind);
void sms_gw_list_free(struct sms_gw_list *l);

/* Move *m to the end of l (*m is zeroed).  -1 when l holds SMS_GW_MAX_BATCH. */
int sms_gw_list_push(struct sms_gw_list *l, struct sms_in *m);

/* NOTIFY_* for an HTTP status of a send. */
int sms_gw_send_class(long status);
/* NOTIFY_TEMPFAIL with *reason_r = "what: error" (transport failure). */
int sms_gw_send_transport(const char *error, char **reason_r);

/* A one-line, printable, bounded copy of a gateway's text for reasons. */
char *sms_gw_clean(const char *s, size_t max);

#endif
