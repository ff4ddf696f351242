/*
 * rtf_text.h - the text of Outlook's compressed RTF (MAPI PR_RTF_COMPRESSED
 * in a winmail.dat): a bounded decompressor for MS-OXRTFCP (LZFu / MELA)
 * and an RTF-to-plain-text converter that also reads Outlook's
 * encapsulated HTML (\fromhtml1, MS-OXRTFEX).  Nothing here trusts a size
 * inside its input: output is capped by the caller's max.
 */
#ifndef S48_RTF_TEXT_H
#define S48_RTF_TEXT_H

#include <stddef.h>

/* Cap on decompressed RTF kept from one stream. */
#define RTF_MAX_RAW (1024 * 1024)

#define RTF_COMPRESSED   0x75465a4cu   /* "LZFu" */
#define RTF_UNCOMPRESSED 0x414c454du   /* "MELA" */

/*
 * Decompress a PR_RTF_COMPRESSED value in[0..len).  The header's COMPSIZE
 * is capped to the bytes present and RAWSIZE is ignored for compressed
 * streams (the output is what the stream decodes to, ending at the end
 * reference or the input's end); the CRC (MS-OXRTFCP 3.1.3.2, over the
 * bytes after the header) must match for compressed streams.  At most max
 * bytes are produced; a longer result is cut at max.
 * Returns 0 (whole), 1 (cut at max), or -1 with *error_r set to a static
 * message (bad header, magic, CRC, a reference to a dictionary position
 * never written, a reference cut by the input's end).  On 0/1 *out_r is
 * malloc'd, NUL-terminated (not counted in *outlen_r), caller frees;
 * on -1 *out_r is NULL.
 */
int rtf_decompress(const unsigned char *in, size_t len, size_t max,
    char **out_r, size_t *outlen_r, const char **error_r);

/* MS-OXRTFCP's CRC-32 variant (initial 0, no final xor) of p[0..n). */
unsigned rtf_crc(const unsigned char *p, size_t n);

/*
 * The plain text of RTF in[0..len), valid UTF-8 of at most max bytes,
 * malloc'd, never NULL (empty when nothing was text).  Skips non-text
 * destinations (font/color tables, stylesheet, info, pictures, objects,
 * \*\ destinations), \par \line -> newline, \tab -> tab, \'hh in the
 * document's or the current font's code page, \uN with \ucN fallback
 * skipping, \binN data skipped.  Encapsulated HTML (\fromhtml1): the text
 * outside \*\htmltag groups and outside \htmlrtf..\htmlrtf0, with line
 * breaks from the <br>, </p>, </div> tags.  Malformed input gives what
 * could be decoded.
 */
char *rtf_to_text(const char *in, size_t len, size_t max);

/* 1 when the RTF encapsulates HTML (\fromhtml1 in its first 1 kB), else 0. */
int rtf_is_html(const char *in, size_t len);

#endif
