/* gateway_json.c - repair, parse and navigate SMS gateway JSON answers. */
#include "gateway_json.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "normalize.h"
#include "util.h"

/* The value of "\uXXXX" at p (p[0] == '\\'), or -1 if it is not one. */
static long
u_escape(const char *p, const char *end)
{
	long v = 0;
	int i, h;

	if (end - p < 6 || p[0] != '\\' || p[1] != 'u')
		return -1;
	for (i = 2; i < 6; i++) {
		if ((h = util_hexval(p[i])) < 0)
			return -1;
		v = v * 16 + h;
	}
	return v;
}

char *
gateway_json_repair(const char *data, size_t len, size_t *len_r)
{
	char *s;
	size_t n;
	char *p, *end;
	int in_str = 0;
	long u, u2;

	s = norm_utf8_repair(data != NULL ? data : "", data != NULL ? len : 0);
	n = strlen(s);
	/* Escapes jansson refuses are rewritten in place: "\uD800" and
	 * "\u0000" have the same length as "\uFFFD". */
	end = s + n;
	for (p = s; p < end; p++) {
		if (*p == '"') {
			in_str = !in_str;
			continue;
		}
		if (!in_str || *p != '\\')
			continue;
		if (p + 1 >= end)
			break;
		if (p[1] != 'u') {
			p++;                /* skip the escaped character */
			continue;
		}
		u = u_escape(p, end);
		if (u < 0) {
			p++;
			continue;
		}
		if (u >= 0xD800 && u <= 0xDBFF) {
			u2 = u_escape(p + 6, end);
			if (u2 >= 0xDC00 && u2 <= 0xDFFF) {
				p += 11;    /* a valid pair */
				continue;
			}
			memcpy(p, "\\uFFFD", 6);
		} else if ((u >= 0xDC00 && u <= 0xDFFF) || u == 0) {
			memcpy(p, "\\uFFFD", 6);
		}
		p += 5;
	}
	if (len_r != NULL)
		*len_r = n;
	return s;
}

json_t *
gateway_json_load(const char *data, size_t len, char **error_r)
{
	json_error_t jerr;
	json_t *root;
	char *fixed;
	size_t n;

	fixed = gateway_json_repair(data, len, &n);
	root = json_loadb(fixed, n, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	free(fixed);
	if (root == NULL) {
		*error_r = xasprintf("not JSON: line %d column %d: %s", jerr.line, jerr.column,
		    jerr.text);
		return NULL;
	}
	return root;
}

json_t *
gateway_json_path(json_t *root, const char *path)
{
	json_t *cur = root;
	const char *p = path, *dot;
	char key[256], *endp;
	size_t klen;
	unsigned long idx;

	if (path == NULL || *path == '\0')
		return root;
	while (cur != NULL) {
		dot = strchr(p, '.');
		klen = dot != NULL ? (size_t)(dot - p) : strlen(p);
		if (klen == 0 || klen >= sizeof(key))
			return NULL;
		memcpy(key, p, klen);
		key[klen] = '\0';
		if (json_is_object(cur)) {
			cur = json_object_get(cur, key);
		} else if (json_is_array(cur)) {
			if (key[0] < '0' || key[0] > '9')
				return NULL;
			errno = 0;
			idx = strtoul(key, &endp, 10);
			if (*endp != '\0' || errno != 0)
				return NULL;
			cur = json_array_get(cur, idx);
		} else {
			return NULL;
		}
		if (dot == NULL)
			return cur;
		p = dot + 1;
	}
	return NULL;
}

/* The shortest "%g" form that reads back as d. */
static char *
real_text(double d)
{
	char *s;
	int prec;

	for (prec = 15; prec < 17; prec++) {
		s = xasprintf("%.*g", prec, d);
		if (strtod(s, NULL) == d)
			return s;
		free(s);
	}
	return xasprintf("%.17g", d);
}

char *
gateway_json_text(const json_t *v)
{
	double d;

	if (v == NULL)
		return NULL;
	switch (json_typeof(v)) {
	case JSON_STRING:
		return xstrndup(json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		return xasprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
	case JSON_REAL:
		d = json_real_value(v);
		if (d == floor(d) && fabs(d) < 9.0e15)
			return xasprintf("%.0f", d);
		return real_text(d);
	case JSON_TRUE:
		return xstrdup("true");
	case JSON_FALSE:
		return xstrdup("false");
	default:
		return NULL;
	}
}

char *
gateway_json_path_text(json_t *root, const char *path)
{
	return gateway_json_text(gateway_json_path(root, path));
}
