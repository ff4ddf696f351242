/*
 * mime_types.c - content type <-> file name extension, one small table
 * (mime_internal.h).  Unnamed attachments get an extension from their type
 * so a clerk's saved file opens; names from a winmail.dat get a type from
 * their extension.  A fixed table, not /etc/mime.types: the same message
 * must give the same file names on every machine (tests, both MIME paths,
 * a restored backup).
 */
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "mime_internal.h"

static const struct {
	const char *type;        /* lower case */
	const char *ext;         /* with the dot; the first row of a type is
	                            its extension, every row maps ext -> type */
} types[] = {
	{ "image/jpeg", ".jpg" },
	{ "image/jpeg", ".jpeg" },
	{ "image/jpeg", ".jpe" },
	{ "image/pjpeg", ".jpg" },
	{ "image/jpg", ".jpg" },
	{ "image/png", ".png" },
	{ "image/gif", ".gif" },
	{ "image/heic", ".heic" },
	{ "image/heif", ".heif" },
	{ "image/webp", ".webp" },
	{ "image/bmp", ".bmp" },
	{ "image/tiff", ".tif" },
	{ "image/tiff", ".tiff" },
	{ "image/svg+xml", ".svg" },
	{ "application/pdf", ".pdf" },
	{ "text/plain", ".txt" },
	{ "text/html", ".html" },
	{ "text/html", ".htm" },
	{ "text/calendar", ".ics" },
	{ "text/csv", ".csv" },
	{ "text/vcard", ".vcf" },
	{ "text/x-vcard", ".vcf" },
	{ "text/rtf", ".rtf" },
	{ "application/rtf", ".rtf" },
	{ "message/rfc822", ".eml" },
	{ "application/msword", ".doc" },
	{ "application/vnd.openxmlformats-officedocument.wordprocessingml.document", ".docx" },
	{ "application/vnd.ms-excel", ".xls" },
	{ "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".xlsx" },
	{ "application/vnd.oasis.opendocument.text", ".odt" },
	{ "application/vnd.oasis.opendocument.spreadsheet", ".ods" },
	{ "application/zip", ".zip" },
	{ "application/ms-tnef", ".dat" },
	{ "video/mp4", ".mp4" },
	{ "video/quicktime", ".mov" },
	{ "video/3gpp", ".3gp" },
	{ "audio/mpeg", ".mp3" },
	{ "audio/mp4", ".m4a" },
	{ "audio/amr", ".amr" },
	{ "audio/ogg", ".ogg" },
	{ "audio/aac", ".aac" },
};

const char *
mime_ext_for_type(const char *ctype)
{
	if (ctype == NULL)
		return NULL;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcasecmp(types[i].type, ctype) == 0)
			return types[i].ext;
	return NULL;
}

const char *
mime_type_for_name(const char *fname)
{
	const char *dot = fname != NULL ? strrchr(fname, '.') : NULL;

	if (dot == NULL || dot == fname)
		return NULL;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcasecmp(types[i].ext, dot) == 0)
			return types[i].type;
	return NULL;
}
