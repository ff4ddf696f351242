/*
 * mime_tnef.c - winmail.dat (TNEF, MS-OXTNEF) parts: Outlook in RTF mode
 * wraps a citizen's photos and sometimes the text in one
 * application/ms-tnef part.  libytnef decodes it; its files become the
 * message's attachments and its body text the text when the mail has none
 * (mime_internal.h).
 *
 * libytnef trusts its input in ways a mail server cannot: it allocates an
 * attribute's declared size before reading it (up to 50 MB), leaks the
 * earlier copy when an attribute repeats, reads past a short TNEF version
 * attribute, and prints to stdout on the errors it does see.  So the
 * stream is checked here first as the library will walk it (every
 * attribute's size inside the data, checksums, no repeated attribute that
 * allocates, fixed-size attributes of their size, at most MIME_MAX_PARTS
 * files, MAPI property blocks within the library's own limits) and only a
 * stream that passes is handed to it: the library then allocates at most a
 * small multiple of the part's size and meets no error of its own to print.
 * The text comes from PR_BODY or attBody; when neither has words, from
 * the compressed RTF body (PR_RTF_COMPRESSED, all Outlook sends in RTF
 * mode), decompressed and read by rtf_text.c (libytnef's DecompressRTF
 * trusts the sizes inside the stream).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ytnef.h>

#include "mime_internal.h"
#include "normalize.h"
#include "rtf_text.h"
#include "util.h"

#define TNEF_SIGNATURE 0x223E9F78u

/* Attributes whose libytnef handler allocates (repeating one leaks), by
 * scope: the message, or the current attachment (from its attAttachRenddata
 * on). */
static const uint32_t msg_once[] = {
	attFrom, attBody, attMAPIProps, attOemCodepage, attOriginalMessageClass,
};
static const uint32_t att_once[] = {
	attAttachData, attAttachTitle, attAttachMetaFile, attAttachment,
};

static uint32_t
le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static int
index_of(const uint32_t *set, size_t n, uint32_t id)
{
	for (size_t i = 0; i < n; i++)
		if (set[i] == id)
			return (int)i;
	return -1;
}

static size_t
pad4(size_t n)
{
	return (4 - n % 4) % 4;
}

/*
 * A MAPI property block (attMAPIProps, attAttachment) as libytnef's
 * TNEFFillMapi reads it, with its limits (1 to 1000 properties, 1000 values,
 * named-property names of 1..100 bytes, UTF-16 strings of at most 100000
 * bytes) and its sizes (PT_I2 takes 4 bytes, PT_CURRENCY and PT_APPTIME 4
 * as it reads them), every value inside the block and the block used up
 * exactly: 0 when the library will read it without an error of its own.
 */
static int
mapi_check(const unsigned char *d, size_t size)
{
	size_t pos = 4;
	uint32_t count;

	if (size < 4 || (count = le32(d)) == 0 || count > 1000)
		return -1;
	for (uint32_t i = 0; i < count; i++) {
		uint32_t tag, type, n = 1;
		int mv;

		if (size - pos < 4)
			return -1;
		tag = le32(d + pos);
		pos += 4;
		type = PROP_TYPE(tag);
		if (PROP_ID(tag) >= 0x8000) {
			uint32_t names;

			if (size - pos < 20)
				return -1;
			names = le32(d + pos + 16);
			pos += 20;
			if (names > 1000)
				return -1;
			if (names == 0) {
				if (size - pos < 4)
					return -1;
				pos += 4;       /* the numeric id */
			}
			for (uint32_t k = 0; k < names; k++) {
				uint32_t l;

				if (size - pos < 4)
					return -1;
				l = le32(d + pos);
				pos += 4;
				if (l == 0 || l > 100 || size - pos < l + pad4(l))
					return -1;
				pos += l + pad4(l);
			}
		}
		mv = (type & MV_FLAG) != 0;
		if (mv) {
			type &= ~(uint32_t)MV_FLAG;
			if (size - pos < 4)
				return -1;
			n = le32(d + pos);
			pos += 4;
			if (n == 0 || n > 1000)
				return -1;
		}
		for (uint32_t k = 0; k < n; k++) {
			size_t want;

			switch (type) {
			case PT_BINARY:
			case PT_OBJECT:
			case PT_STRING8:
			case PT_UNICODE:
				if (!mv) {
					if (size - pos < 4)
						return -1;
					pos += 4;       /* the number of values, 1 */
				}
				if (size - pos < 4)
					return -1;
				want = le32(d + pos);
				pos += 4;
				if (type == PT_UNICODE && want > 100000)
					return -1;
				if (size - pos < want || size - pos - want < pad4(want))
					return -1;
				pos += want + pad4(want);
				continue;
			case PT_I2:
			case PT_BOOLEAN:
			case PT_LONG:
			case PT_R4:
			case PT_CURRENCY:
			case PT_APPTIME:
			case PT_ERROR:
				want = 4;
				break;
			case PT_DOUBLE:
			case PT_I8:
			case PT_SYSTIME:
				want = 8;
				break;
			case PT_CLSID:
				want = 16;
				break;
			default:
				return -1;
			}
			if (size - pos < want)
				return -1;
			pos += want;
		}
	}
	return pos == size ? 0 : -1;
}

/* attSentFor: (16-bit length, bytes) name and address pairs filling it. */
static int
sentfor_check(const unsigned char *d, size_t size)
{
	size_t pos = 0;

	while (pos < size) {
		for (int k = 0; k < 2; k++) {
			size_t l;

			if (size - pos < 2)
				return -1;
			l = (size_t)d[pos] | (size_t)d[pos + 1] << 8;
			pos += 2;
			if (size - pos < l)
				return -1;
			pos += l;
		}
	}
	return 0;
}

/* The attribute layer, as libytnef will walk it: 0 when safe to hand over. */
static int
tnef_check(const unsigned char *d, size_t len)
{
	unsigned msg_seen = 0, att_seen = 0;
	size_t pos = 6, n_att = 0;

	if (len < 6 || len > (size_t)INT32_MAX || le32(d) != TNEF_SIGNATURE)
		return -1;
	while (pos < len) {
		uint32_t id, size;
		unsigned sum = 0;
		int k;

		if (len - pos < 9)
			return -1;
		id = le32(d + pos + 1);
		size = le32(d + pos + 5);
		pos += 9;
		if (size == 0 || size > len - pos || len - pos - size < 2)
			return -1;
		for (uint32_t i = 0; i < size; i++)
			sum += d[pos + i];
		if ((sum & 0xffff) != ((unsigned)d[pos + size] | (unsigned)d[pos + size + 1] << 8))
			return -1;
		if (id == attAttachRenddata) {
			if (++n_att > MIME_MAX_PARTS)
				return -1;
			att_seen = 0;
		} else if ((k = index_of(att_once, sizeof(att_once) / sizeof(att_once[0]), id)) >= 0) {
			if (att_seen & (1u << k))
				return -1;
			att_seen |= 1u << k;
		} else if ((k = index_of(msg_once, sizeof(msg_once) / sizeof(msg_once[0]), id)) >= 0) {
			if (msg_seen & (1u << k))
				return -1;
			msg_seen |= 1u << k;
		} else if (id == attTnefVersion && size != 4) {
			return -1;
		}
		if ((id == attMAPIProps || id == attAttachment) && mapi_check(d + pos, size) < 0)
			return -1;
		if ((id == attSentFor && sentfor_check(d + pos, size) < 0) ||
		    (id == attRecipTable && size < 4))
			return -1;
		pos += (size_t)size + 2;
	}
	return 0;
}

/* The iconv name of a Windows code page (attOemCodepage). */
static void
codepage_name(const TNEFStruct *t, char *out, size_t outsz)
{
	uint32_t cp = t->CodePage.size >= 4 ? le32(t->CodePage.data) : 0;

	if (cp == 65001)
		snprintf(out, outsz, "utf-8");
	else if (cp == 20127)
		snprintf(out, outsz, "us-ascii");
	else if (cp >= 28591 && cp <= 28606)
		snprintf(out, outsz, "iso-8859-%u", (unsigned)(cp - 28590));
	else if (cp != 0)
		snprintf(out, outsz, "CP%u", (unsigned)cp);
	else
		out[0] = '\0';
}

/*
 * A string property to UTF-8 (caller frees), NULL when absent or empty.
 * PT_UNICODE values libytnef has already turned into NUL-terminated UTF-8
 * (size still the UTF-16 byte count); PT_STRING8 ones are in the code page.
 */
static char *
prop_string(MAPIProps *p, unsigned id, const char *cs, size_t max)
{
	variableLength *v = MAPIFindProperty(p, PROP_TAG(PT_UNICODE, id));
	char *s;
	size_t l;

	if (v != MAPI_UNDEFINED && v != NULL && v->data != NULL && v->size > 0) {
		l = strnlen((const char *)v->data, (size_t)v->size / 2 * 3);
		if (l > max)
			l = max;
		s = norm_utf8_repair((const char *)v->data, l);
		if (s[0] != '\0')
			return s;
		free(s);
	}
	v = MAPIFindProperty(p, PROP_TAG(PT_STRING8, id));
	if (v != MAPI_UNDEFINED && v != NULL && v->data != NULL && v->size > 0) {
		l = strnlen((const char *)v->data, (size_t)v->size);
		s = mime_text_to_utf8((const char *)v->data, l, cs[0] ? cs : NULL, max);
		if (s[0] != '\0')
			return s;
		free(s);
	}
	return NULL;
}

/*
 * The text of the compressed RTF body (UTF-8, caller frees), NULL when
 * there is none or it has no words; a stream that does not decompress is
 * noted on the message.
 */
static char *
rtf_body(struct mime_acc *a, MAPIProps *p)
{
	variableLength *v = MAPIFindProperty(p, PROP_TAG(PT_BINARY, PR_RTF_COMPRESSED));
	const char *error = NULL;
	char *raw, *text, note[128];
	size_t rawlen;

	if (v == MAPI_UNDEFINED || v == NULL || v->data == NULL || v->size <= 0)
		return NULL;
	if (rtf_decompress(v->data, (size_t)v->size, RTF_MAX_RAW, &raw, &rawlen, &error) < 0) {
		snprintf(note, sizeof(note), "winmail.dat: %s", error);
		mime_acc_note(a, note);
		return NULL;
	}
	text = rtf_to_text(raw, rawlen, MIME_MAX_TEXT);
	free(raw);
	if (text[strspn(text, " \t\r\n")] == '\0')
		xfree(&text);
	return text;
}

/* One attached file of the stream to the accumulator; 0, or -1 if none. */
static int
add_file(struct mime_acc *a, Attachment *at, const char *cs)
{
	const unsigned char *src = at->FileData.data;
	size_t len = at->FileData.size > 0 ? (size_t)at->FileData.size : 0;
	char *name, *tag, ctype[MIME_MAX_HEADER_STR];
	const char *t;
	unsigned char *data;

	if (src == NULL || len == 0) {
		variableLength *v = MAPIFindProperty(&at->MAPI,
		    PROP_TAG(PT_BINARY, PR_ATTACH_DATA_OBJ));

		if (v == MAPI_UNDEFINED || v == NULL || v->data == NULL || v->size <= 0)
			return -1;
		src = v->data;
		len = (size_t)v->size;
	}
	name = prop_string(&at->MAPI, PR_ATTACH_LONG_FILENAME, cs, 4 * MIME_MAX_FILENAME);
	if (name == NULL)
		name = prop_string(&at->MAPI, PR_ATTACH_FILENAME, cs, 4 * MIME_MAX_FILENAME);
	if (name == NULL && at->Title.data != NULL && at->Title.size > 0)
		name = mime_text_to_utf8((const char *)at->Title.data,
		    strnlen((const char *)at->Title.data, (size_t)at->Title.size),
		    cs[0] ? cs : NULL, 4 * MIME_MAX_FILENAME);
	tag = prop_string(&at->MAPI, PR_ATTACH_MIME_TAG, cs, 200);
	t = NULL;
	if (tag != NULL) {
		/* "type/subtype", lower case, parameters dropped */
		size_t l = strcspn(tag, "; \t");
		tag[l] = '\0';
		util_lower_ascii(tag);
		if (strchr(tag, '/') != NULL && strspn(tag,
		    "abcdefghijklmnopqrstuvwxyz0123456789!#$&^_.+-/") == l)
			t = tag;
	}
	if (t == NULL)
		t = mime_type_for_name(name);
	snprintf(ctype, sizeof(ctype), "%s", t != NULL ? t : "application/octet-stream");
	data = xmalloc(len + 1);
	memcpy(data, src, len);
	data[len] = '\0';
	mime_acc_attachment(a, data, len, name, ctype);
	free(tag);
	free(name);
	return 0;
}

int
mime_tnef_decode(struct mime_acc *a, const unsigned char *data, size_t len)
{
	TNEFStruct t;
	char cs[32];
	char *body = NULL;
	size_t n_files = 0;
	int rc = -1;

	if (tnef_check(data, len) < 0)
		return -1;
	memset(&t, 0, sizeof(t));
	TNEFInitialize(&t);
	t.Debug = 0;
	/* the library reads, never writes, the memory it is given */
	if (TNEFParseMemory((BYTE *)(uintptr_t)data, (long)len, &t) != 0)
		goto fail;
	codepage_name(&t, cs, sizeof(cs));

	body = prop_string(&t.MapiProperties, PR_BODY, cs, MIME_MAX_TEXT);
	if (body == NULL && t.body.data != NULL && t.body.size > 0)
		body = mime_text_to_utf8((const char *)t.body.data,
		    strnlen((const char *)t.body.data, (size_t)t.body.size),
		    cs[0] ? cs : NULL, MIME_MAX_TEXT);
	if (body != NULL && body[strspn(body, " \t\r\n")] == '\0')
		xfree(&body);
	if (body == NULL)
		body = rtf_body(a, &t.MapiProperties);
	for (Attachment *at = t.starting_attach.next; at != NULL; at = at->next)
		if (at->FileData.size > 0 || MAPIFindProperty(&at->MAPI,
		    PROP_TAG(PT_BINARY, PR_ATTACH_DATA_OBJ)) != MAPI_UNDEFINED)
			n_files++;
	if (n_files == 0 && body == NULL)
		goto fail;      /* nothing inside: keep the part as it came */
	if (body != NULL) {
		if (a->tnef_text.len > 0)
			(void)buf_appendc(&a->tnef_text, '\n');
		if (buf_appends(&a->tnef_text, body) < 0)
			mime_acc_note(a, "text too long");
	}
	for (Attachment *at = t.starting_attach.next; at != NULL; at = at->next) {
		if (a->m->n_att >= MIME_MAX_PARTS) {
			mime_acc_note(a, "too many attachments in winmail.dat");
			break;
		}
		(void)add_file(a, at, cs);
	}
	rc = 0;
fail:
	free(body);
	TNEFFree(&t);
	/* attributes before the first attachment land in this head, which
	 * TNEFFree does not free */
	TNEFFreeAttachment(&t.starting_attach);
	return rc;
}

int
mime_is_tnef(const char *ctype, const char *fname)
{
	const char *base = fname;

	if (ctype != NULL && (strcasecmp(ctype, "application/ms-tnef") == 0 ||
	    strcasecmp(ctype, "application/vnd.ms-tnef") == 0))
		return 1;
	if (fname == NULL)
		return 0;
	for (const char *p = fname; *p; p++)
		if (*p == '/' || *p == '\\')
			base = p + 1;
	return strcasecmp(base, "winmail.dat") == 0 || strcasecmp(base, "win.dat") == 0;
}
