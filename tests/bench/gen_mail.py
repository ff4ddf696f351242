#!/usr/bin/env python3
"""gen_mail.py - generated citizen reports for `make bench` (stdlib only).

    gen_mail.py DIR N [--seed S] [--start I] [--eml]

Writes N messages into the maildir DIR (DIR/new, DIR/cur and DIR/tmp are
created), or with --eml as DIR/NNNNNN.eml files.  The mix is fixed by the
seed, so runs compare: Serbian reports in Latin with and without
diacritics and in Cyrillic, as UTF-8, windows-1250, iso-8859-2, koi8-r and
windows-1251; 8bit, quoted-printable and base64; RFC 2047 subjects;
multipart/alternative (text + HTML), HTML only, and about one in eight with
a small attachment (JPEG or PDF bytes, base64).  Every message has its own
sender (the daily cap of automatic replies never applies), Message-ID and
a Date of now, so none is first-run backlog.  Prints the count and bytes.
"""
import argparse
import base64
import email.utils
import os
import quopri
import random
import sys
import time

STREETS = ["Kralja Petra", "Njegoševa", "Bulevar oslobođenja", "Cara Dušana",
           "Zmaj Jovina", "Kneza Miloša", "Vojvode Stepe", "Takovska", "Dunavska",
           "Đure Jakšića", "Čika Ljubina", "Žička"]
STREETS_CYR = ["Краља Петра", "Његошева", "Булевар ослобођења", "Цара Душана",
               "Змај Јовина", "Кнеза Милоша", "Војводе Степе", "Таковска"]
# Cyrillic that koi8-r can carry (no ђ ј љ њ ћ џ)
STREETS_KOI = ["Таковска", "Дунавска", "Цара Душана", "Кнеза Милоша"]
PROBLEMS = [
    ("Curi voda", "Pukla je cev i voda curi po trotoaru već dva dana."),
    ("Ne radi rasveta", "Ulična rasveta ne radi, sijalica na banderi je pregorela."),
    ("Rupa na putu", "Velika rupa na kolovozu, asfalt je propao posle kiše."),
    ("Zapušen slivnik", "Slivnik je zapušen i voda se zadržava na raskrsnici."),
    ("Smeće", "Kontejner nije ispražnjen nedelju dana, smeće je svuda okolo."),
    ("Oboreno drvo", "Grana je pala preko trotoara posle oluje, ne može se proći."),
    ("Napušteni psi", "Čopor napuštenih pasa se okuplja kod škole."),
    ("Hidrant", "Iz hidranta curi voda, ulica je poplavljena."),
]
PROBLEMS_CYR = [
    ("Пукла цев", "Пукла је цев и вода цури по тротоару већ два дана."),
    ("Не ради расвета", "Улична расвета не ради, сијалица на бандери је прегорела."),
    ("Рупа на путу", "Велика рупа на коловозу, асфалт је пропао после кише."),
    ("Запушен сливник", "Сливник је запушен и вода се задржава на раскрсници."),
]
PROBLEMS_KOI = [
    ("Пукла цев", "Пукла цев, вода цури по тротоару два дана."),
    ("Рупа на путу", "Велика рупа на коловозу, асфалт пропао после кише."),
    ("Запушен сливник", "Сливник запушен, вода се задржава на раскрсници."),
]
FILLER = ("Molim vas da to što pre popravite, jer je opasno za decu i starije "
          "sugrađane koji tuda prolaze svakog dana. Hvala unapred.")
FILLER_CYR = "Молим вас да то што пре поправите. Хвала унапред."
FILLER_KOI = "Молим вас да то поправите што пре. Хвала унапред."
ASCII_MAP = str.maketrans("čćžšđČĆŽŠĐ", "cczsdCCZSD")
JPEG = bytes([0xFF, 0xD8, 0xFF, 0xE0]) + bytes(range(256)) * 4 + bytes([0xFF, 0xD9])
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n" + b"0" * 700 + b"\n%%EOF\n"


def enc_body(text, charset, cte):
    raw = text.encode(charset)
    if cte == "quoted-printable":
        return quopri.encodestring(raw).decode("ascii")
    if cte == "base64":
        return base64.encodebytes(raw).decode("ascii")
    return raw.decode(charset)


def rfc2047(text, charset="utf-8", kind="B"):
    raw = text.encode(charset)
    if kind == "B":
        return "=?%s?B?%s?=" % (charset, base64.b64encode(raw).decode("ascii"))
    q = "".join(chr(c) if chr(c).isascii() and chr(c).isalnum() else
                ("_" if c == 0x20 else "=%02X" % c) for c in raw)
    return "=?%s?Q?%s?=" % (charset, q)


def html_of(text):
    return ("<html><head><style>p{color:#333}</style></head><body><p>%s</p>"
            "<p>Pozdrav,<br>gra&#273;anin</p></body></html>" % text)


def message(i, rnd, now):
    kind = i % 8
    who = "gradjanin%d@example.net" % i
    name = rnd.choice(["Petar Petrović", "Jovana Jovanović", "Marko Marković",
                       "Ana Đorđević", "Milica Šarić", "Nikola Čolić"])
    num = rnd.randint(1, 150)
    headers = [
        ("From", "%s <%s>" % (rfc2047(name, "utf-8", "Q"), who)),
        ("To", "prijave@example.org"),
        ("Date", email.utils.formatdate(now, localtime=False)),
        ("Message-ID", "<bench.%d.%d@example.net>" % (i, rnd.randint(0, 1 << 30))),
        ("MIME-Version", "1.0"),
    ]
    if kind in (5, 6):
        subj, text = rnd.choice(PROBLEMS_CYR if kind == 6 else PROBLEMS_KOI)
        street = rnd.choice(STREETS_CYR if kind == 6 else STREETS_KOI)
        text = "%s %s %d. %s\n\n%s\n" % (text, street, num, FILLER_CYR if kind == 6
                                         else FILLER_KOI, "Поздрав")
    else:
        subj, text = rnd.choice(PROBLEMS)
        text = "Poštovani,\n\nu ulici %s broj %d: %s\n\n%s\n\nPozdrav,\n%s\n" % (
            rnd.choice(STREETS), num, text, FILLER, name)
    subj = "%s (%d)" % (subj, i)
    if kind == 0:       # UTF-8 8bit, RFC 2047 B subject
        headers.append(("Subject", rfc2047(subj)))
        ctype, cte, body = "text/plain; charset=utf-8", "8bit", text
    elif kind == 1:     # ASCII without diacritics
        headers.append(("Subject", subj.translate(ASCII_MAP)))
        ctype, cte, body = "text/plain; charset=us-ascii", "7bit", text.translate(ASCII_MAP)
    elif kind == 2:     # windows-1250 quoted-printable
        headers.append(("Subject", rfc2047(subj, "windows-1250", "Q")))
        ctype, cte = "text/plain; charset=windows-1250", "quoted-printable"
        body = enc_body(text, "cp1250", cte)
    elif kind == 3:     # iso-8859-2 base64
        headers.append(("Subject", rfc2047(subj, "iso-8859-2", "B")))
        ctype, cte = "text/plain; charset=iso-8859-2", "base64"
        body = enc_body(text, "iso-8859-2", cte)
    elif kind == 4:     # multipart/alternative UTF-8 QP + HTML
        headers.append(("Subject", rfc2047(subj)))
        b = "alt-%d" % i
        ctype, cte = 'multipart/alternative; boundary="%s"' % b, None
        body = ("--%s\nContent-Type: text/plain; charset=utf-8\n"
                "Content-Transfer-Encoding: quoted-printable\n\n%s\n"
                "--%s\nContent-Type: text/html; charset=utf-8\n"
                "Content-Transfer-Encoding: quoted-printable\n\n%s\n--%s--\n") % (
            b, enc_body(text, "utf-8", "quoted-printable"), b,
            enc_body(html_of(text.replace("\n", " ")), "utf-8", "quoted-printable"), b)
    elif kind == 5:     # koi8-r Cyrillic 8bit
        headers.append(("Subject", rfc2047(subj, "koi8-r", "B")))
        ctype, cte = "text/plain; charset=koi8-r", "8bit"
        body = text.encode("koi8-r")
    elif kind == 6:     # windows-1251 Cyrillic base64
        headers.append(("Subject", rfc2047(subj, "windows-1251", "B")))
        ctype, cte = "text/plain; charset=windows-1251", "base64"
        body = enc_body(text, "cp1251", cte)
    else:               # HTML only, or text + a small attachment
        headers.append(("Subject", rfc2047(subj)))
        if (i // 8) % 2 == 0:
            ctype, cte = "text/html; charset=utf-8", "quoted-printable"
            body = enc_body(html_of(text.replace("\n", "<br>")), "utf-8", cte)
        else:
            b = "mix-%d" % i
            jpeg = (i // 8) % 4 == 1
            data, atype, fname = (JPEG, "image/jpeg", "slika.jpg") if jpeg else \
                (PDF, "application/pdf", "prijava.pdf")
            ctype, cte = 'multipart/mixed; boundary="%s"' % b, None
            body = ("--%s\nContent-Type: text/plain; charset=utf-8\n"
                    "Content-Transfer-Encoding: 8bit\n\n%s\n"
                    "--%s\nContent-Type: %s; name=\"%s\"\n"
                    "Content-Disposition: attachment; filename=\"%s\"\n"
                    "Content-Transfer-Encoding: base64\n\n%s--%s--\n") % (
                b, text, b, atype, fname, fname,
                base64.encodebytes(data).decode("ascii"), b)
    headers.append(("Content-Type", ctype))
    if cte:
        headers.append(("Content-Transfer-Encoding", cte))
    head = "".join("%s: %s\n" % h for h in headers) + "\n"
    if isinstance(body, bytes):
        return head.encode("ascii") + body
    return (head + body).encode("utf-8")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir")
    ap.add_argument("n", type=int)
    ap.add_argument("--seed", type=int, default=48)
    ap.add_argument("--start", type=int, default=1, help="number of the first message")
    ap.add_argument("--eml", action="store_true", help="DIR/NNNNNN.eml files, not a maildir")
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    now = int(time.time())
    if a.eml:
        os.makedirs(a.dir, exist_ok=True)
    else:
        for sub in ("new", "cur", "tmp"):
            os.makedirs(os.path.join(a.dir, sub), exist_ok=True)
    total = 0
    pid = os.getpid()
    for i in range(a.start, a.start + a.n):
        data = message(i, rnd, now)
        total += len(data)
        if a.eml:
            path = os.path.join(a.dir, "%06d.eml" % i)
        else:
            path = os.path.join(a.dir, "new", "%d.M%dP%d.s48bench,S=%d" % (now, i, pid, len(data)))
        with open(path, "wb") as f:
            f.write(data)
    print("%d messages, %d bytes" % (a.n, total))
    return 0


if __name__ == "__main__":
    sys.exit(main())
