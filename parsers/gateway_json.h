/*
 * gateway_json.h - reading SMS gateway answers (JSON) robustly.
 *
 * A gateway answer may carry a message whose bytes are not UTF-8, or a
 * "\u0000" or lone surrogate escape; jansson refuses all of these, which
 * would make the whole batch unreadable.  gateway_json_load() repairs them
 * first (U+FFFD, via norm_utf8_repair) so one bad message costs nothing.
 */
#ifndef S48_GATEWAY_JSON_H
#define S48_GATEWAY_JSON_H

#include <stddef.h>

#include <jansson.h>

/*
 * Repair data for jansson: invalid UTF-8 and NUL bytes -> U+FFFD,
 * "\u0000" and unpaired surrogate escapes inside strings -> "\uFFFD".
 * Returns a new NUL-terminated string (length in *len_r if not NULL);
 * caller frees.
 */
char *gateway_json_repair(const char *data, size_t len, size_t *len_r);

/*
 * Parse a gateway answer (after gateway_json_repair).  Returns a new
 * reference (json_decref it), or NULL with *error_r: an allocated message
 * ("line 1 column 3: ...") the caller frees.
 */
json_t *gateway_json_load(const char *data, size_t len, char **error_r);

/*
 * Dot-path lookup: "data.messages", "meta.next", "results.0.id" (a number
 * indexes an array).  "" or NULL is root itself.  Returns a borrowed
 * reference (lives as long as root) or NULL when any step is missing.
 */
json_t *gateway_json_path(json_t *root, const char *path);

/*
 * A scalar as text: strings as they are, integers in decimal, reals in
 * decimal (integral ones without ".0"), true/false as "true"/"false".
 * NULL for null, objects, arrays and a NULL value.  Caller frees.
 */
char *gateway_json_text(const json_t *v);

/* gateway_json_text(gateway_json_path(root, path)). */
char *gateway_json_path_text(json_t *root, const char *path);

#endif
