#!/usr/bin/env python3
"""make_tnef.py - write winmail.dat (TNEF, MS-OXTNEF) test files.

No tool on this system writes TNEF, so this builds the layout directly:
signature 0x223E9F78, a key, then attributes (level byte, id dword, size
dword, data, 16-bit sum of the data bytes), attachments each opened by
attAttachRenddata, their names in attAttachTitle (code page) and in an
attAttachment MAPI block (PR_ATTACH_LONG_FILENAME as PT_UNICODE,
PR_ATTACH_MIME_TAG), message text in attBody and in attMAPIProps PR_BODY,
or only as RTF in attMAPIProps PR_RTF_COMPRESSED (written uncompressed, the
"MELA" form of MS-OXRTFCP, which readers take as Outlook's LZFu).

  make_tnef.py --tnef OUT.dat       the sample stream alone
  make_tnef.py --eml OUT.eml        a mail as Outlook sends it in RTF mode:
                                    empty text/plain, the sample winmail.dat
  make_tnef.py --eml OUT --cut N    the same, the stream cut after N bytes
  make_tnef.py --rtf ...            the RTF-only sample instead: the words
                                    only in PR_RTF_COMPRESSED, one photo
Stdlib only.
"""
import argparse
import base64
import struct
import sys

SIG = 0x223E9F78
# attribute ids: ATT(type, id) = type << 16 | id
ATT_TNEF_VERSION = 0x00089006
ATT_OEM_CODEPAGE = 0x00069007
ATT_MESSAGE_CLASS = 0x00078008
ATT_BODY = 0x0002800C
ATT_MAPI_PROPS = 0x00069003
ATT_RENDDATA = 0x00069002
ATT_ATTACH_TITLE = 0x00018010
ATT_ATTACH_DATA = 0x0006800F
ATT_ATTACHMENT = 0x00069005
PT_STRING8, PT_UNICODE, PT_BINARY, PT_LONG = 0x1E, 0x1F, 0x102, 0x03
PR_BODY, PR_ATTACH_LONG_FILENAME, PR_ATTACH_MIME_TAG = 0x1000, 0x3707, 0x370E
PR_ATTACH_METHOD = 0x3705
PR_RTF_COMPRESSED = 0x1009
RTF_UNCOMPRESSED = 0x414C454D   # "MELA"

# a 1x1 JPEG-ish and PNG header: the bytes only need to survive unchanged
JPEG = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffd9")
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000")


def attr(level, ident, data):
    return (struct.pack("<BII", level, ident, len(data)) + data +
            struct.pack("<H", sum(data) & 0xFFFF))


def pad4(b):
    return b + b"\0" * (-len(b) % 4)


def mapi(props):
    """props: list of (type, id, value) -> a MAPI property block."""
    out = struct.pack("<I", len(props))
    for ptype, pid, value in props:
        out += struct.pack("<I", pid << 16 | ptype)
        if ptype in (PT_STRING8, PT_UNICODE, PT_BINARY):
            if ptype == PT_UNICODE:
                value = value.encode("utf-16-le") + b"\0\0"
            elif ptype == PT_STRING8:
                value = value + b"\0"
            out += struct.pack("<II", 1, len(value)) + pad4(value)
        elif ptype == PT_LONG:
            out += struct.pack("<I", value)
        else:
            raise ValueError(ptype)
    return out


def rtf_mela(rtf):
    """An RTF document (bytes) as an uncompressed PR_RTF_COMPRESSED value:
    COMPSIZE (the bytes after it), RAWSIZE, "MELA", CRC 0, the RTF."""
    return struct.pack("<IIII", len(rtf) + 12, len(rtf), RTF_UNCOMPRESSED, 0) + rtf


def build(files, body=None, body_w=None, codepage=1250, rtf=None):
    """files: list of (unicode name or None, title bytes or None, mime tag or
    None, data).  body: attBody bytes (code page); body_w: PR_BODY text;
    rtf: an RTF document (bytes) for PR_RTF_COMPRESSED."""
    out = struct.pack("<IH", SIG, 0x1234)
    out += attr(1, ATT_TNEF_VERSION, struct.pack("<I", 0x00010000))
    out += attr(1, ATT_OEM_CODEPAGE, struct.pack("<II", codepage, 0))
    out += attr(1, ATT_MESSAGE_CLASS, b"IPM.Microsoft Mail.Note\0")
    if body is not None:
        out += attr(1, ATT_BODY, body)
    props = []
    if body_w is not None:
        props.append((PT_UNICODE, PR_BODY, body_w))
    if rtf is not None:
        props.append((PT_BINARY, PR_RTF_COMPRESSED, rtf_mela(rtf)))
    if props:
        out += attr(1, ATT_MAPI_PROPS, mapi(props))
    for name, title, tag, data in files:
        out += attr(2, ATT_RENDDATA, struct.pack("<HIHHI", 1, 0xFFFFFFFF, 0, 0, 0))
        if title is not None:
            out += attr(2, ATT_ATTACH_TITLE, title + b"\0")
        out += attr(2, ATT_ATTACH_DATA, data)
        props = [(PT_LONG, PR_ATTACH_METHOD, 1)]
        if name is not None:
            props.append((PT_UNICODE, PR_ATTACH_LONG_FILENAME, name))
        if tag is not None:
            props.append((PT_STRING8, PR_ATTACH_MIME_TAG, tag.encode()))
        out += attr(2, ATT_ATTACHMENT, mapi(props))
    return out


def sample():
    return build([("slika ulice č.jpg", b"SLIKA~1.JPG", "image/jpeg", JPEG),
                  (None, b"rupa.png", None, PNG)],
                 body="Rupa na putu u Ulici Maksima Gorkog 12.\r\n".encode("cp1250"),
                 codepage=1250)


# What Outlook in RTF mode writes for a short Serbian mail: code page 1250
# with \'hh escapes, a font table, the generator, \u for a Cyrillic word.
RTF_SAMPLE = (
    b"{\\rtf1\\ansi\\ansicpg1250\\deff0\\deflang2074"
    b"{\\fonttbl{\\f0\\fswiss\\fcharset238 Calibri;}{\\f1\\fnil\\fcharset0 Arial;}}\r\n"
    b"{\\colortbl ;\\red0\\green0\\blue255;}\r\n"
    b"{\\*\\generator Riched20 16.0.5;}\\viewkind4\\uc1 \r\n"
    b"\\pard\\sa200\\sl276\\slmult1\\f0\\fs22 Po\\'9atovani,\\par\r\n"
    b"ne radi uli\\'e8na rasveta u Ulici \\'8earka Zrenjanina 14, ceo blok je u mraku.\\par\r\n"
    b"\\u1061?\\u1074?\\u1072?\\u1083?\\u1072?, Milica \\'d0or\\'f0evi\\'e6\\par\r\n}\r\n\0")


def sample_rtf():
    return build([("svetiljka.jpg", b"SVETIL~1.JPG", "image/jpeg", JPEG)],
                 codepage=1250, rtf=RTF_SAMPLE)


def eml(tnef):
    b64 = base64.encodebytes(tnef).decode()
    return ("From: Petar Petrovic <petar@example.rs>\r\n"
            "To: prijave@grad.example.rs\r\n"
            "Subject: Rupa na putu\r\n"
            "Date: Tue, 24 Nov 2026 10:00:00 +0100\r\n"
            "Message-ID: <tnef-1@example.rs>\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
            "--b1\r\nContent-Type: text/plain; charset=\"us-ascii\"\r\n\r\n\r\n"
            "--b1\r\nContent-Type: application/ms-tnef; name=\"winmail.dat\"\r\n"
            "Content-Transfer-Encoding: base64\r\n"
            "Content-Disposition: attachment; filename=\"winmail.dat\"\r\n\r\n" +
            b64.replace("\n", "\r\n") + "\r\n--b1--\r\n").encode()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tnef")
    ap.add_argument("--eml")
    ap.add_argument("--cut", type=int)
    ap.add_argument("--rtf", action="store_true")
    a = ap.parse_args()
    t = sample_rtf() if a.rtf else sample()
    if a.cut is not None:
        t = t[:a.cut]
    if a.tnef:
        open(a.tnef, "wb").write(t)
    if a.eml:
        open(a.eml, "wb").write(eml(t))
    if not a.tnef and not a.eml:
        sys.stdout.buffer.write(t)


if __name__ == "__main__":
    main()
