#!/usr/bin/env python3
"""make-corpus.py - writes the email corpus (NN-name.eml) and EXPECTED.tsv.

The .eml files are committed; this script documents how each was built
(charsets, transfer encodings, line endings) and can regenerate them
byte-for-byte: python3 tests/corpus/email/make-corpus.py
Standard library only.  Ticket numbers follow file order: the first
message whose outcome is "ticket" becomes #1, and so on.
"""
import base64
import os
import quopri
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
US = "prijave@grad.example.rs"
TO = "To: Sistem 48 <%s>\n" % US

files = []      # (name, bytes, crlf)
expected = []   # (name, outcome, dept, substring)


def b64(data, width=76):
    s = base64.b64encode(data).decode()
    return "\n".join(s[i:i + width] for i in range(0, len(s), width)) + "\n"


def qp(data):
    return quopri.encodestring(data).decode("ascii")


def ew(text, charset="UTF-8", enc="B"):
    raw = text.encode(charset)
    if enc == "B":
        return "=?%s?B?%s?=" % (charset, base64.b64encode(raw).decode())
    out = ""
    for c in raw:
        ch = chr(c)
        if ch == " ":
            out += "_"
        elif ch.isalnum() and c < 128:
            out += ch
        else:
            out += "=%02X" % c
    return "=?%s?Q?%s?=" % (charset, out)


def hdr(frm, subject, date, msgid, extra=""):
    h = ""
    if frm is not None:
        h += "From: %s\n" % frm
    h += TO
    h += "Subject: %s\n" % subject
    h += "Date: %s\n" % date
    h += "Message-ID: <%s>\n" % msgid
    h += "MIME-Version: 1.0\n"
    h += extra
    return h


def add(name, data, outcome, dept, sub, crlf=False):
    if isinstance(data, str):
        data = data.encode("utf-8")
    if crlf:
        data = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    files.append((name, data))
    expected.append((name, outcome, dept, sub))


def text_msg(frm, subject, date, msgid, body, charset="UTF-8", cte="8bit",
             extra="", ctype="text/plain"):
    raw = body.encode(charset or "utf-8") if isinstance(body, str) else body
    if cte == "base64":
        enc = b64(raw)
    elif cte == "quoted-printable":
        enc = qp(raw)
    else:
        enc = raw
    h = hdr(frm, subject, date, msgid, extra)
    cs = "; charset=%s" % charset if charset else ""
    h += "Content-Type: %s%s\nContent-Transfer-Encoding: %s\n\n" % (ctype, cs, cte)
    out = h.encode("utf-8")
    out += enc.encode("ascii") if isinstance(enc, str) else enc
    if not out.endswith(b"\n"):
        out += b"\n"
    return out


JOVANA = "Jovana Petrović <Jovana.Petrovic@Example.RS>"
J_FROM = "=?UTF-8?Q?Jovana_Petrovi=C4=87?= <Jovana.Petrovic@Example.RS>"

# 01 Latin with diacritics, UTF-8 8bit, CRLF
add("01-latin-diacritics-water.eml", text_msg(
    J_FROM, ew("Pukla cev u Njegoševoj ulici", enc="Q"),
    "Tue, 24 Nov 2026 09:12:00 +0100", "c01.jovana@example.rs",
    "Poštovani,\n\nna ćošku Njegoševe i Knez Miloševe pukla je cev, voda curi\n"
    "već dva sata i pravi se bara na trotoaru.\n\nJovana Petrović\n"),
    "ticket", "water", "ćošku", crlf=True)

# 02 Latin without diacritics, us-ascii 7bit
add("02-latin-ascii-lighting.eml", text_msg(
    "Dragan Nikolic <dragan.nikolic@mail.example.com>",
    "Ne radi rasveta u Cara Dusana", "Tue, 24 Nov 2026 09:30:00 +0100",
    "c02.dragan@mail.example.com",
    "Dobar dan,\nu ulici Cara Dusana kod broja 15 ne radi ulicna rasveta,\n"
    "bandera je mracna vec nedelju dana.\nPozdrav, Dragan\n",
    charset="us-ascii", cte="7bit"),
    "ticket", "lighting", "bandera je mracna")

# 03 Cyrillic, UTF-8 quoted-printable, B-encoded subject
add("03-cyrillic-utf8-qp-waste.eml", text_msg(
    "=?UTF-8?B?%s?= <milan.jovanovic@posta.example.rs>" %
    base64.b64encode("Милан Јовановић".encode()).decode(),
    ew("Смеће у улици Браће Југовића"), "Tue, 24 Nov 2026 10:01:00 +0100",
    "c03.milan@posta.example.rs",
    "Поштовани,\nконтејнер у улици Браће Југовића није испражњен две недеље,\n"
    "смеће је свуда по тротоару.\nМилан\n", cte="quoted-printable"),
    "ticket", "waste", "улици Браће Југовића")

# 04 windows-1250 quoted-printable, CRLF
add("04-windows-1250-qp-roads.eml", text_msg(
    "Zoran Đorđević <zoran.djordjevic@example.net>",
    ew("Udarna rupa kod škole", "windows-1250", "Q"),
    "Tue, 24 Nov 2026 10:20:00 +0100", "c04.zoran@example.net",
    "Na raskrsnici kod škole „Vuk Karadžić“ je velika udarna rupa,\n"
    "oštećen je asfalt i automobili je zaobilaze preko pešačkog prelaza.\n",
    charset="windows-1250", cte="quoted-printable"),
    "ticket", "roads", "oštećen je asfalt", crlf=True)

# 05 iso-8859-2 base64
add("05-iso-8859-2-base64-greenery.eml", text_msg(
    "Ana Kovač <ana.kovac@example.org>", ew("Palo drvo u parku", "ISO-8859-2", "Q"),
    "Tue, 24 Nov 2026 11:00:00 +0100", "c05.ana@example.org",
    "Juče je u parku na Dunavskom keju palo drvo preko staze,\n"
    "grane blokiraju prolaz do igrališta. Molim da se ukloni.\n",
    charset="iso-8859-2", cte="base64"),
    "ticket", "greenery", "Juče je u parku")

# 06 windows-1251 Cyrillic, 8bit
add("06-windows-1251-animals.eml", text_msg(
    "=?windows-1251?B?%s?= <nenad.ilic@example.rs>" %
    base64.b64encode("Ненад Илић".encode("cp1251")).decode(),
    ew("Пси луталице код пијаце", "windows-1251", "B"),
    "Tue, 24 Nov 2026 11:30:00 +0100", "c06.nenad@example.rs",
    "Чопор паса луталица напада пролазнике код зелене пијаце.\n"
    "Јуче је ујела дете. Хитно!\n", charset="windows-1251", cte="8bit"),
    "ticket", "animals", "паса луталица")

# 07 koi8-r base64 (only letters KOI8-R has)
add("07-koi8-r-water.eml", text_msg(
    "Sergej Popov <sergej.popov@example.ru>", ew("Нема воде", "KOI8-R", "B"),
    "Tue, 24 Nov 2026 12:00:00 +0100", "c07.sergej@example.ru",
    "Нема воде у згради на Булевару од седам сати, славине су суве.\n",
    charset="koi8-r", cte="base64"),
    "ticket", "water", "воде у згради")

# 08 iso-8859-5 quoted-printable (has Ђ Ћ Ј Љ Њ Џ)
add("08-iso-8859-5-qp-roads.eml", text_msg(
    "Petar Marković <petar.markovic@example.rs>",
    ew("Оштећен тротоар", "ISO-8859-5", "Q"),
    "Tue, 24 Nov 2026 12:30:00 +0100", "c08.petar@example.rs",
    "Тротоар у Његошевој улици је оштећен, плоче су поломљене и\n"
    "људи се саплићу. Ђаци туда иду у школу.\n",
    charset="iso-8859-5", cte="quoted-printable"),
    "ticket", "roads", "Његошевој")

# 09 explicit us-ascii
add("09-us-ascii-lighting.eml", text_msg(
    "milica@example.com", "Sijalica ne radi", "Tue, 24 Nov 2026 13:00:00 +0100",
    "c09.milica@example.com",
    "Pregorela sijalica na banderi ispred zgrade Bulevar oslobodjenja 40.\n",
    charset="us-ascii", cte="7bit"),
    "ticket", "lighting", "Bulevar oslobodjenja 40")

# 10 UTF-8 without charset parameter
add("10-no-charset-utf8-waste.eml", text_msg(
    "Ivana Ristić <ivana.ristic@example.rs>", ew("Odvoz smeća"),
    "Tue, 24 Nov 2026 13:30:00 +0100", "c10.ivana@example.rs",
    "Smeće nije odneto iz Ulice Žarka Zrenjanina već deset dana.\n",
    charset=None, cte="8bit"),
    "ticket", "waste", "Žarka Zrenjanina")

# 11 unlabelled 8-bit windows-1250 body (š is 0x9a only in windows-1250)
add("11-unlabelled-cp1250-greenery.eml", text_msg(
    "Bora Stanković <bora@example.rs>", "Kosenje trave u parku",
    "Tue, 24 Nov 2026 14:00:00 +0100", "c11.bora@example.rs",
    "Trava u parku kod Doma zdravlja je visoka pola metra, potrebno košenje.\n"
    "Deca ne mogu da se igraju, a na ćošku je i žbunje zaraslo.\n".encode("cp1250"),
    charset=None, cte="8bit"),
    "ticket", "greenery", "potrebno košenje")

# 12 Subject B-encoded
add("12-subject-b-water.eml", text_msg(
    "Goran Lukić <goran.lukic@example.rs>", ew("Voda curi iz hidranta na Limanu"),
    "Tue, 24 Nov 2026 14:30:00 +0100", "c12.goran@example.rs",
    "Iz hidranta na Limanu 3 kod fontane šiklja voda od jutros.\n"),
    "ticket", "water", "hidranta na Limanu 3")

# 13 Subject Q-encoded, split over words, a character split between words
add("13-subject-q-split-roads.eml", text_msg(
    "Ljiljana Babić <ljiljana.babic@example.rs>",
    "=?UTF-8?Q?Veliko_ulegnu=C4=87e_kolovoza_u_?=\n =?UTF-8?Q?ulici_Ma=C5?= =?UTF-8?Q?=A1e_Vitezovi=C4=87a?=",
    "Tue, 24 Nov 2026 15:00:00 +0100", "c13.ljiljana@example.rs",
    "Kolovoz se ulegnuo oko šahta, auto mi je udarilo u ivicu.\n"),
    "ticket", "roads", "ulegnuo oko šahta")

# 14 Subject that decodes to CR LF: header injection attempt
add("14-subject-crlf-injection-lighting.eml", text_msg(
    "Napadac <napadac@example.com>",
    "=?UTF-8?Q?Lampa_ne_radi=0D=0ABcc:_zrtva@example.com=0D=0A=0D=0Atekst?=",
    "Tue, 24 Nov 2026 15:30:00 +0100", "c14.napadac@example.com",
    "Lampa u prolazu kod broja 7 ne svetli.\n"),
    "ticket", "lighting", "u prolazu kod broja 7")

# 15 HTML only with script/style full of other departments' words
HTML15 = """<!DOCTYPE html>
<html><head><title>voda cev hidrant</title>
<style>p { color: red } /* voda voda kanalizacija */</style>
<script type="text/javascript">var voda = "cev hidrant slivnik kanalizacija";</script>
</head>
<body><!-- vodovod cevi hidrant -->
<p>Po&scaron;tovani,</p><p>Kontejner kod zgrade je prepun, sme&#263;e se razbacuje
po&nbsp;ulici &amp; parkingu.</p><div>Hvala<br>Vesna</div>
<script>document.write("voda cev")</script>
</body></html>
"""
add("15-html-only-script-waste.eml", text_msg(
    "Vesna Tomić <vesna.tomic@example.rs>", "Prepun kontejner",
    "Tue, 24 Nov 2026 16:00:00 +0100", "c15.vesna@example.rs", HTML15,
    cte="quoted-printable", ctype="text/html"),
    "ticket", "waste", "smeće se razbacuje")


def multipart(headers, subtype, parts, boundary, preamble="This is a multi-part message in MIME format.\n"):
    out = headers.encode("utf-8")
    out += ("Content-Type: multipart/%s; boundary=\"%s\"\n\n" % (subtype, boundary)).encode()
    out += preamble.encode()
    for p in parts:
        out += ("\n--%s\n" % boundary).encode()
        out += p
    out += ("\n--%s--\n" % boundary).encode()
    return out


def part(ctype, body, cte="8bit", extra=""):
    h = "Content-Type: %s\nContent-Transfer-Encoding: %s\n%s\n" % (ctype, cte, extra)
    if isinstance(body, str):
        body = body.encode("utf-8")
    if cte == "base64":
        body = b64(body).encode()
    elif cte == "quoted-printable":
        body = qp(body).encode()
    return h.encode() + body.rstrip(b"\n")


JPEG = bytes([0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10]) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + \
    bytes(random.Random(17).randrange(256) for _ in range(700)) + bytes([0xFF, 0xD9])
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n" + \
    b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(random.Random(5).randrange(256) for _ in range(300))

# 16 multipart/alternative: plain preferred over html
add("16-alternative-roads.eml", multipart(
    hdr("Nikola Savić <nikola.savic@example.rs>", "Rupa u asfaltu ispred pošte",
        "Tue, 24 Nov 2026 16:30:00 +0100", "c16.nikola@example.rs"),
    "alternative", [
        part("text/plain; charset=UTF-8",
             "Velika rupa u asfaltu ispred pošte u Zmaj Jovinoj.\n", "quoted-printable"),
        part("text/html; charset=UTF-8",
             "<html><body><p>Velika rupa u <b>asfaltu</b> ispred po&scaron;te (HTML verzija).</p></body></html>",
             "quoted-printable"),
    ], "----=_alt_16"),
    "ticket", "roads", "ispred pošte u Zmaj Jovinoj")

# 17 JPEG attachment, CRLF
add("17-attachment-jpeg-lighting.eml", multipart(
    hdr("Stefan Ilić <stefan.ilic@example.com>", "Oborena bandera",
        "Tue, 24 Nov 2026 17:00:00 +0100", "c17.stefan@example.com"),
    "mixed", [
        part("text/plain; charset=UTF-8",
             "Kamion je oborio banderu u Futoškoj ulici, žice vise. Šaljem sliku.\n"),
        part("image/jpeg; name=\"IMG_2041.jpg\"", JPEG, "base64",
             "Content-Disposition: attachment; filename=\"IMG_2041.jpg\"\n"),
    ], "b17-mixed"),
    "ticket", "lighting", "oborio banderu u Futoškoj", crlf=True)

# 18 PDF attachment, RFC 2231 filename with č/ž
add("18-attachment-pdf-rfc2231-greenery.eml", multipart(
    hdr("Marija Čolić <marija.colic@example.rs>", ew("Orezivanje žbunja"),
        "Tue, 24 Nov 2026 17:30:00 +0100", "c18.marija@example.rs"),
    "mixed", [
        part("text/plain; charset=UTF-8",
             "Molim orezivanje žbunja i zelenila pored puta, vidi prilog.\n"),
        part("application/pdf", PDF, "base64",
             "Content-Disposition: attachment;\n filename*0*=UTF-8''zahtev%20za%20%C4%8Di%C5%A1;\n"
             " filename*1*=%C4%87enje%20%C5%BEbunja.pdf\n"),
    ], "b18"),
    "ticket", "greenery", "orezivanje žbunja")

# 19 RFC 2047 filename with a Windows path
add("19-attachment-rfc2047-path-animals.eml", multipart(
    hdr("Dejan Mitić <dejan.mitic@example.rs>", ew("Uginula mačka"),
        "Tue, 24 Nov 2026 18:00:00 +0100", "c19.dejan@example.rs"),
    "mixed", [
        part("text/plain; charset=UTF-8",
             "Na uglu Bulevara i Gogoljeve leži uginula mačka već dva dana.\n"),
        part("image/jpeg", JPEG, "base64",
             "Content-Disposition: attachment; filename=\"%s\"\n" %
             ew("/home/dejan/Slike/../fotografija_ćošak.jpg")),
    ], "b19"),
    "ticket", "animals", "uginula mačka")

# 20 nested: mixed{alternative{plain, related{html, png}}, pdf}, CRLF
related = multipart("", "related", [
    part("text/html; charset=UTF-8",
         "<p>Zapu&scaron;en slivnik, <img src=\"cid:s1\"></p>", "quoted-printable"),
    part("image/png", PNG, "base64", "Content-ID: <s1>\nContent-Disposition: inline; filename=\"slivnik.png\"\n"),
], "b20-rel", preamble="")
alternative = multipart("", "alternative", [
    part("text/plain; charset=UTF-8",
         "Zapušen slivnik u Ulici Radnička 12, posle kiše voda ne otiče.\n"),
    related,
], "b20-alt", preamble="")
add("20-nested-multipart-water.eml", multipart(
    hdr("Olivera Pavlović <olivera.pavlovic@example.rs>", "Zapušen slivnik",
        "Tue, 24 Nov 2026 18:30:00 +0100", "c20.olivera@example.rs"),
    "mixed", [alternative, part("application/pdf", PDF, "base64",
                                "Content-Disposition: attachment; filename=\"plan.pdf\"\n")],
    "b20-mix"),
    "ticket", "water", "Ulici Radnička 12", crlf=True)

# 21 reply to 01 from the same reporter (address case differs), quoted text
add("21-reply-to-01-quoted.eml", text_msg(
    "Jovana Petrovic <jovana.petrovic@example.rs>",
    ew("Re: [S48 #1] Pukla cev u Njegoševoj ulici"), "Tue, 24 Nov 2026 19:00:00 +0100",
    "c21.jovana@example.rs",
    "Voda i dalje curi, sada je cela ulica poplavljena.\n\n"
    "On Tue, 24 Nov 2026 at 09:13, Sistem 48 <prijave@grad.example.rs> wrote:\n"
    "> Vaša prijava br. 1 je primljena (Vodovod i kanalizacija).\n"
    "> Odgovor do 26.11.2026. 09:13.\n",
    extra="In-Reply-To: <s48.1.ack@grad.example.rs>\nReferences: <c01.jovana@example.rs> <s48.1.ack@grad.example.rs>\n"),
    "append:01-latin-diacritics-water.eml", "water", "cela ulica poplavljena")

# 22 reply with a ticket tag from a stranger: a new ticket
add("22-reply-tag-stranger-lighting.eml", text_msg(
    "Marko Marković <marko@drugi.example.com>", "Re: [S48 #2] Ne radi rasveta u Cara Dusana",
    "Tue, 24 Nov 2026 19:10:00 +0100", "c22.marko@drugi.example.com",
    "I kod mene u istoj ulici ne radi svetiljka, kod broja 30.\n"),
    "ticket", "lighting", "kod broja 30")

# 23 Cyrillic reply to 03 with signature and quote
add("23-reply-to-03-signature.eml", text_msg(
    "=?UTF-8?B?%s?= <milan.jovanovic@posta.example.rs>" %
    base64.b64encode("Милан Јовановић".encode()).decode(),
    ew("Одг: [S48 #3] Смеће у улици Браће Југовића"), "Tue, 24 Nov 2026 19:20:00 +0100",
    "c23.milan@posta.example.rs",
    "Још увек није одвезено, сада има и пацова.\n\n-- \nМилан Јовановић\nтел. 064 111 2233\n\n"
    "> Ваша пријава бр. 3 је примљена.\n",
    cte="base64", extra="In-Reply-To: <s48.3.ack@grad.example.rs>\n"),
    "append:03-cyrillic-utf8-qp-waste.eml", "waste", "Још увек није одвезено")

# 24 Outlook-style reply to 04 (RE:, separator, Od:/Poslato: block), CRLF
add("24-reply-to-04-outlook.eml", text_msg(
    "Zoran Đorđević <zoran.djordjevic@example.net>",
    ew("RE: [S48 #4] Udarna rupa kod škole", "windows-1250", "Q"),
    "Wed, 25 Nov 2026 08:00:00 +0100", "c24.zoran@example.net",
    "Hvala, ali rupa je sada još veća, pukla je i ivica.\n\n"
    "________________________________\n"
    "Od: Sistem 48 <prijave@grad.example.rs>\n"
    "Poslato: 24. novembar 2026. 10:21\n"
    "Za: zoran.djordjevic@example.net\n"
    "Tema: [S48 #4] Udarna rupa kod škole\n\n"
    "Vaša prijava br. 4 je primljena.\n",
    charset="windows-1250", cte="quoted-printable"),
    "append:04-windows-1250-qp-roads.eml", "roads", "rupa je sada još veća", crlf=True)

# 25 reply without a tag, matched by In-Reply-To to 05's own Message-ID
add("25-reply-in-reply-to-05.eml", text_msg(
    "Ana Kovač <ana.kovac@example.org>", "Re: Palo drvo u parku",
    "Wed, 25 Nov 2026 08:30:00 +0100", "c25.ana@example.org",
    "Drvo je i dalje na stazi, deca ga preskaču.\n\n"
    "Ana Kovač je napisala:\n> Juče je u parku na Dunavskom keju palo drvo\n",
    extra="In-Reply-To: <c05.ana@example.org>\nReferences: <c05.ana@example.org>\n"),
    "append:05-iso-8859-2-base64-greenery.eml", "greenery", "deca ga preskaču")

# 26-32, 35: automatic mail
add("26-auto-submitted-vacation.eml", text_msg(
    "Vesna Tomić <vesna.tomic@example.rs>", "Odsutna: Prepun kontejner",
    "Wed, 25 Nov 2026 09:00:00 +0100", "c26.vesna@example.rs",
    "Na godišnjem sam odmoru do 1. decembra. Kontejner, smeće, voda: javite se kolegi.\n",
    extra="Auto-Submitted: auto-replied\n"),
    "ignore", "-", "-")
add("27-x-autoreply.eml", text_msg(
    "Goran Lukić <goran.lukic@example.rs>", "Automatski odgovor: Voda curi",
    "Wed, 25 Nov 2026 09:05:00 +0100", "c27.goran@example.rs",
    "Trenutno nisam u kancelariji. Rupa, voda, rasveta: sve posle 1. decembra.\n",
    extra="X-Autoreply: yes\n"),
    "ignore", "-", "-")
add("28-precedence-bulk.eml", text_msg(
    "Gradske novine <newsletter@novine.example.com>", "Bilten: nova rasveta u centru",
    "Wed, 25 Nov 2026 09:10:00 +0100", "c28.bilten@novine.example.com",
    "Ove nedelje: nova rasveta u centru, radovi na vodovodu, odvoz smeća.\n",
    extra="Precedence: bulk\n"),
    "ignore", "-", "-")
add("29-list-id.eml", text_msg(
    "Stanari Liman <stanari@lists.example.org>", "[stanari] Rupa na parkingu",
    "Wed, 25 Nov 2026 09:15:00 +0100", "c29.lista@lists.example.org",
    "Da li je neko prijavio rupu na parkingu iza zgrade?\n",
    extra="List-Id: Stanari Liman <stanari.lists.example.org>\n"
          "List-Unsubscribe: <mailto:stanari-leave@lists.example.org>\n"),
    "ignore", "-", "-")

BOUNCE = multipart(
    "Return-Path: <>\n" + hdr("Mail Delivery System <MAILER-DAEMON@mx.example.net>",
                             "Undelivered Mail Returned to Sender",
                             "Wed, 25 Nov 2026 09:20:00 +0100", "c30.bounce@mx.example.net",
                             "Auto-Submitted: auto-replied\n"),
    "report; report-type=delivery-status", [
        part("text/plain; charset=us-ascii",
             "This is the mail system at host mx.example.net.\n\n"
             "I'm sorry to have to inform you that your message could not\n"
             "be delivered to one or more recipients.\n\n"
             "<nepostojeci@example.net>: host mx.example.net said: 550 5.1.1 User unknown\n",
             "7bit", "Content-Description: Notification\n"),
        part("message/delivery-status",
             "Reporting-MTA: dns; mx.example.net\n\nFinal-Recipient: rfc822; nepostojeci@example.net\n"
             "Action: failed\nStatus: 5.1.1\n", "7bit", "Content-Description: Delivery report\n"),
        part("text/rfc822-headers",
             "From: Sistem 48 <prijave@grad.example.rs>\nTo: nepostojeci@example.net\n"
             "Subject: [S48 #9] Prijava primljena\n", "7bit"),
    ], "b30-report")
add("30-bounce-dsn.eml", BOUNCE.replace(b"multipart/report; report-type=delivery-status; boundary",
                                         b"multipart/report; report-type=delivery-status;\n\tboundary"),
    "ignore", "-", "-", crlf=True)
add("31-return-path-empty.eml", b"Return-Path: <>\n" + text_msg(
    "Obavestenja <obavestenja@servis.example.com>", "Vas zahtev je primljen",
    "Wed, 25 Nov 2026 09:25:00 +0100", "c31.servis@servis.example.com",
    "Vas zahtev za odvoz kabastog otpada je primljen.\n"),
    "ignore", "-", "-")
add("32-postmaster.eml", text_msg(
    "Postmaster <Postmaster@example.rs>", "Upozorenje: poruka odlozena",
    "Wed, 25 Nov 2026 09:30:00 +0100", "c32.postmaster@example.rs",
    "Poruka za rasveta@jkp.example.org jos nije isporucena.\n"),
    "ignore", "-", "-")

# 33 Return-Path present and not empty: an ordinary ticket; no keyword -> dispatch
add("33-return-path-present-dispatch.eml", b"Return-Path: <ljubica.k@example.rs>\n" + text_msg(
    "Ljubica Knežević <ljubica.k@example.rs>", "Buka sa gradilišta noću",
    "Wed, 25 Nov 2026 09:40:00 +0100", "c33.ljubica@example.rs",
    "Na gradilištu u Bulevaru Evrope rade i posle ponoći, ne možemo da spavamo.\n"),
    "ticket", "dispatch", "posle ponoći")

# 34 Auto-Submitted: no is a person
add("34-auto-submitted-no-roads.eml", text_msg(
    "Vladimir Popović <vlada.popovic@example.rs>", "Semafor ne radi",
    "Wed, 25 Nov 2026 09:50:00 +0100", "c34.vlada@example.rs",
    "Semafor na raskrsnici Bulevara i Jevrejske trepće žuto od jutros.\n",
    extra="Auto-Submitted: no\n"),
    "ticket", "roads", "trepće žuto")

# 35 our own mail coming back (loop)
add("35-own-loop.eml", text_msg(
    "Sistem 48 <prijave@grad.example.rs>", "Re: [S48 #2] Ne radi rasveta u Cara Dusana",
    "Wed, 25 Nov 2026 10:00:00 +0100", "c35.loop@grad.example.rs",
    "Vaša prijava br. 2 je primljena.\n",
    extra="X-S48-Loop: grad.example.rs\nAuto-Submitted: auto-replied\n"),
    "ignore", "-", "-")

# 36 boundary="\"" (crashes libetpan's parser)
add("36-malformed-boundary-quote-waste.eml",
    hdr("Rade Simić <rade.simic@example.rs>", "Kontejner gori",
        "Wed, 25 Nov 2026 10:10:00 +0100", "c36.rade@example.rs").encode() +
    b'Content-Type: multipart/mixed; boundary="\\""\n\n'
    b'--"\nContent-Type: text/plain; charset=UTF-8\n\n'
    b'Kontejner ispred zgrade u Ulici Vojvode Mi\xc5\xa1i\xc4\x87a gori, dim ulazi u stanove.\n'
    b'--"--\n',
    "ticket", "waste", "Vojvode Mišića gori")

# 37 multipart without a boundary parameter
add("37-missing-boundary-lighting.eml",
    hdr("Tijana Lazić <tijana.lazic@example.rs>", "Svetiljka visi",
        "Wed, 25 Nov 2026 10:20:00 +0100", "c37.tijana@example.rs").encode() +
    b"Content-Type: multipart/mixed\n\n"
    b"--xyz\nContent-Type: text/plain; charset=UTF-8\n\n"
    b"Svetiljka na stubu u Ulici Narodnog fronta visi na \xc5\xbeici.\n--xyz--\n",
    "ticket", "lighting", "visi na žici")

# 38 truncated base64 (cut mid-way, no closing boundary)
T38 = "Polomljene grane leže preko trotoara u Ulici Branimira Ćosića posle oluje.\n" * 3
enc38 = b64(T38.encode())
add("38-truncated-base64-greenery.eml",
    hdr("Milena Jović <milena.jovic@example.rs>", "Grane posle oluje",
        "Wed, 25 Nov 2026 10:30:00 +0100", "c38.milena@example.rs").encode() +
    b"Content-Type: multipart/mixed; boundary=\"b38\"\n\n--b38\n"
    b"Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: base64\n\n" +
    enc38[:len(enc38) * 2 // 3 + 1].encode(),
    "ticket", "greenery", "Branimira Ćosića")

# 39 no From header at all
add("39-no-from-roads.eml", text_msg(
    None, "Rupa na kolovozu", "Wed, 25 Nov 2026 10:40:00 +0100", "c39.nofrom@example.rs",
    "Rupa na kolovozu u Temerinskoj 50, duboka pola metra.\n"),
    "ticket", "roads", "Temerinskoj 50")

# 40 garbage bytes, no headers
rnd = random.Random(40)
garbage = bytes(rnd.randrange(256) for _ in range(512)).replace(b"\n", b"\x01") + b"\n"
add("40-garbage-bytes.eml", garbage, "ticket", "dispatch", "-")

# 41 only headers, no body at all (no blank line)
add("41-headers-only-lighting.eml", (
    "From: Sava Perić <sava.peric@example.rs>\n" + TO +
    "Subject: Ne radi javna rasveta kod skole\n"
    "Date: Wed, 25 Nov 2026 10:50:00 +0100\nMessage-ID: <c41.sava@example.rs>\n").encode(),
    "ticket", "lighting", "-")

# 42 CRLF, multipart with QP windows-1250
add("42-crlf-qp-cp1250-water.eml", multipart(
    hdr("Đorđe Ćirić <djordje.ciric@example.rs>", ew("Kvar na vodovodu", "windows-1250", "Q"),
        "Wed, 25 Nov 2026 11:00:00 +0100", "c42.djordje@example.rs"),
    "mixed", [part("text/plain; charset=windows-1250",
                   "Kvar na vodovodu u Šafarikovoj, iz šahta izbija voda.\n".encode("cp1250"),
                   "quoted-printable")], "b42"),
    "ticket", "water", "iz šahta izbija voda", crlf=True)

# 43 HTML with Latin-2 entities and numeric references
add("43-html-entities-roads.eml", text_msg(
    "Bojan Đukić <bojan.djukic@example.rs>", "Kolovoz",
    "Wed, 25 Nov 2026 11:10:00 +0100", "c43.bojan@example.rs",
    "<html><body><p>O&scaron;te&#263;en kolovoz u &Ccaron;enejskoj ulici &#x2013; "
    "&#x10d;itava traka je propala &lt;hitno&gt;.</p></body></html>\n",
    charset="us-ascii", cte="7bit", ctype="text/html"),
    "ticket", "roads", "Oštećen kolovoz u Čenejskoj ulici")

# 44 Cyrillic multipart/alternative, base64 plain, CRLF
add("44-cyrillic-alternative-lighting.eml", multipart(
    hdr("Јелена Стојановић <jelena.s@example.rs>", ew("Не ради јавна расвета"),
        "Wed, 25 Nov 2026 11:20:00 +0100", "c44.jelena@example.rs"),
    "alternative", [
        part("text/plain; charset=UTF-8",
             "Не ради јавна расвета у целој Улици Николе Тесле, мрак је.\n", "base64"),
        part("text/html; charset=UTF-8",
             "<div dir=\"ltr\">Не ради јавна расвета у целој Улици Николе Тесле, мрак је.</div>",
             "base64"),
    ], "000000000000b44"),
    "ticket", "lighting", "јавна расвета у целој", crlf=True)

# 45 Cyrillic Gmail reply to 06 ("је написао/ла:"), CRLF
add("45-reply-to-06-cyrillic-gmail.eml", text_msg(
    "=?windows-1251?B?%s?= <nenad.ilic@example.rs>" %
    base64.b64encode("Ненад Илић".encode("cp1251")).decode(),
    ew("Одг: [S48 #6] Пси луталице код пијаце"), "Wed, 25 Nov 2026 11:30:00 +0100",
    "c45.nenad@example.rs",
    "Пси су и даље тамо, сада их је десетак.\n\n"
    "уто, 24. нов 2026. у 11:31 Систем 48 <prijave@grad.example.rs> је написао/ла:\n\n"
    "> Ваша пријава бр. 6 је примљена.\n",
    extra="In-Reply-To: <s48.6.ack@grad.example.rs>\n"),
    "append:06-windows-1251-animals.eml", "animals", "Пси су и даље тамо", crlf=True)

# 46 forwarded neighbour's mail as message/rfc822
inner = text_msg("Komšija <komsija@example.rs>", "Trotoar", "Mon, 23 Nov 2026 20:00:00 +0100",
                 "inner46@example.rs", "Trotoar ispred broja 5 je propao.\n")
add("46-forward-rfc822-roads.eml", multipart(
    hdr("Snežana Vuković <snezana.v@example.rs>", ew("Fwd: Trotoar"),
        "Wed, 25 Nov 2026 11:40:00 +0100", "c46.snezana@example.rs"),
    "mixed", [
        part("text/plain; charset=UTF-8",
             "Prosleđujem prijavu komšije, trotoar u Kisačkoj je propao.\n"),
        b"Content-Type: message/rfc822\nContent-Disposition: attachment\n\n" + inner.rstrip(b"\n"),
    ], "b46"),
    "ticket", "roads", "trotoar u Kisačkoj je propao")

# 47 unencoded 8-bit windows-1250 in the Subject and body, no charset anywhere
add("47-8bit-cp1250-subject-waste.eml",
    ("From: Dušan Šarić <dusan.saric@example.rs>\n" + TO).encode("cp1250") +
    "Subject: Smeće kod pijace\n".encode("cp1250") +
    b"Date: Wed, 25 Nov 2026 11:50:00 +0100\nMessage-ID: <c47.dusan@example.rs>\n\n" +
    "Smeće se gomila kod Futoške pijace, kontejneri su puni.\n".encode("cp1250"),
    "ticket", "waste", "Futoške pijace")

# 48 From in group syntax
add("48-group-from-greenery.eml", text_msg(
    "Mesna zajednica: Ana Anić <ana.anic@mz.example.rs>;", "Park je zapušten",
    "Wed, 25 Nov 2026 12:00:00 +0100", "c48.mz@mz.example.rs",
    "Park kod mesne zajednice je zapušten, klupe su polomljene.\n"),
    "ticket", "greenery", "klupe su polomljene")

# 49 unusable From
add("49-malformed-from-water.eml", text_msg(
    "Petar Petrović petar at example", "Cev",
    "Wed, 25 Nov 2026 12:10:00 +0100", "c49.petar@example.rs",
    "Curi cev u podrumu zgrade u Ulici Železnička 8.\n"),
    "ticket", "water", "Železnička 8")

# 50 declared UTF-8 but holds windows-1250 bytes: repaired, never crashes
add("50-bad-utf8-waste.eml", text_msg(
    "Nada Ilić <nada.ilic@example.rs>", "Kontejner",
    "Wed, 25 Nov 2026 12:20:00 +0100", "c50.nada@example.rs",
    "Kontejner u Ulici Kralja Petra je prepun, sme\x9ae svuda.\n".encode("latin-1"),
    charset="utf-8", cte="8bit"),
    "ticket", "waste", "Kralja Petra je prepun")

# 51 a delivery-status report from an ordinary-looking sender (no Return-Path)
add("51-report-ordinary-sender.eml", multipart(
    hdr("mail-gateway@example.org", "Delivery Status Notification (Failure)",
        "Wed, 25 Nov 2026 12:30:00 +0100", "c51.dsn@example.org"),
    "report; report-type=delivery-status", [
        part("text/plain; charset=us-ascii", "Delivery to rasveta@jkp.example.org failed.\n", "7bit"),
        part("message/delivery-status",
             "Reporting-MTA: dns; example.org\n\nFinal-Recipient: rfc822; x@example.net\n"
             "Action: failed\nStatus: 5.0.0\n", "7bit"),
    ], "b51"),
    "ignore", "-", "-")

# 52 a charset name nobody knows, holding windows-1250 bytes
add("52-unknown-charset-animals.eml", text_msg(
    "Gordana Ilić <gordana.ilic@example.rs>", "Zmija u vrticu",
    "Wed, 25 Nov 2026 12:40:00 +0100", "c52.gordana@example.rs",
    "U dvorištu vrtića „Čuperak“ deca su videla zmiju ispod klupe.\n".encode("cp1250"),
    charset="x-serbian-unknown", cte="quoted-printable"),
    "ticket", "animals", "dvorištu vrtića „Čuperak“")

# 53 Apple Mail style: text, an inline photo, more text (both texts kept)
add("53-apple-split-text-water.eml", multipart(
    hdr("Luka Jovanović <luka.j@icloud.example.com>", "Izliva se voda",
        "Wed, 25 Nov 2026 12:50:00 +0100", "c53.luka@icloud.example.com"),
    "mixed", [
        part("text/plain; charset=utf-8", "Evo slike, voda se izliva iz šahta na Trifkovićevom trgu.\n",
             "quoted-printable"),
        part("image/jpeg; name=IMG_0042.jpeg", JPEG, "base64",
             "Content-Disposition: inline; filename=IMG_0042.jpeg\n"),
        part("text/plain; charset=utf-8", "\nPoslato sa mog iPhone-a\n", "7bit"),
    ], "Apple-Mail=_53"),
    "ticket", "water", "Trifkovićevom trgu")

# 54 Outlook in RTF mode: an empty text/plain and a winmail.dat (TNEF, built by
# tests/tools/make_tnef.py) holding the text and two photos
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools"))
import make_tnef  # noqa: E402

add("54-outlook-winmail-roads.eml", multipart(
    hdr("Petar Petrović <petar.petrovic@outlook.example.com>", "Prijava",
        "Wed, 25 Nov 2026 13:00:00 +0100", "c54.petar@outlook.example.com"),
    "mixed", [
        part("text/plain; charset=us-ascii", "\n", "7bit"),
        part("application/ms-tnef; name=\"winmail.dat\"", make_tnef.sample(), "base64",
             "Content-Disposition: attachment; filename=\"winmail.dat\"\n"),
    ], "b54"),
    "ticket", "roads", "Ulici Maksima Gorkog 12", crlf=True)

# 55 Outlook in RTF mode with the words only in the compressed RTF body
# (PR_RTF_COMPRESSED, cp1250 escapes and a \u-escaped Cyrillic word): no
# text part at all, the subject says nothing, the RTF routes it
add("55-outlook-rtf-only-lighting.eml", multipart(
    hdr("Milica Đorđević <milica.djordjevic@outlook.example.com>", "Prijava",
        "Wed, 25 Nov 2026 13:10:00 +0100", "c55.milica@outlook.example.com"),
    "mixed", [
        part("application/ms-tnef; name=\"winmail.dat\"", make_tnef.sample_rtf(), "base64",
             "Content-Disposition: attachment; filename=\"winmail.dat\"\n"),
    ], "b55"),
    "ticket", "lighting", "ulična rasveta u Ulici Žarka Zrenjanina 14", crlf=True)


def main():
    for name, data in files:
        with open(os.path.join(HERE, name), "wb") as f:
            f.write(data)
    with open(os.path.join(HERE, "EXPECTED.tsv"), "w", encoding="utf-8") as f:
        f.write("# file\toutcome\tdepartment\ttext-substring\n")
        f.write("# outcome: ticket | append:<file it answers> | ignore;  \"-\": nothing to check\n")
        for row in expected:
            f.write("\t".join(row) + "\n")


if __name__ == "__main__":
    main()
