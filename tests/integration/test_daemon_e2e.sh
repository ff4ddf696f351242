#!/bin/sh
# s48d end to end on loopback: a private Dovecot, smtp-sink and the SMS
# gateway simulator.  Email and SMS reports become routed tickets, citizens
# get acknowledgements on their channel, departments get notifications,
# a second run changes nothing, a status change reaches the citizen.
set -u
. "$(dirname "$0")/../lib/tap.sh"
tmpdir_setup
. "$S48_TOP/tests/lib/e2e.sh"
e2e_start

json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

e2e_mail "$T/e2e" "Jovana Jovanović <Jovana@Example.NET>" "Ne radi rasveta" \
	"Dobar dan, u ulici Kralja Petra ne radi ulična rasveta već tri dana."
e2e_mail "$T/e2e" "marko@example.net" "=?UTF-8?B?0J/Rg9C60LvQsCDRhtC10LI=?=" \
	"Пукла цев у Његошевој улици, вода тече по тротоару."
e2e_sms "381641112222" "Pukla cev kod hidranta u Zmaj Jovinoj"
e2e_sms "0651234567" "Ne radi sijalica na banderi ispred broja 5"
e2e_sms "Telenor" "Vas racun je spreman"

"$S48D" -c "$CONF" --once 2>"$T/run1.log"
is "first --once exits 0" "$?" 0
"$S48CTL" -c "$CONF" list --json >"$T/list.json"
is "four tickets" "$(json 'len(d)' <"$T/list.json")" 4
is "departments in order" "$(json '" ".join(t["department"] for t in sorted(d, key=lambda t: t["id"]))' <"$T/list.json")" \
	"lighting water water lighting"
is "channels" "$(json '" ".join(t["channel"] for t in sorted(d, key=lambda t: t["id"]))' <"$T/list.json")" \
	"email email sms sms"
"$S48CTL" -c "$CONF" show 1 --json >"$T/show1.json"
is "reporter lower-cased" "$(json 'd["reporter"]' <"$T/show1.json")" "jovana@example.net"
"$S48CTL" -c "$CONF" show 2 --json >"$T/show2.json"
is "RFC 2047 Cyrillic subject decoded" "$(json 'd["subject"]' <"$T/show2.json")" "Пукла цев"
"$S48CTL" -c "$CONF" show 3 --json >"$T/show3.json"
is "SMS reporter in E.164" "$(json 'd["reporter"]' <"$T/show3.json")" "+381641112222"

# mail moved to Processed
is "INBOX empty after the run" "$(dovecot_count "$T/e2e/dovecot" "$DOVECOT_USER" INBOX ALL)" 0
is "both mails in Processed" "$(dovecot_count "$T/e2e/dovecot" "$DOVECOT_USER" Processed ALL)" 2

# what went out
"$S48CTL" -c "$CONF" outbox --json >"$T/outbox.json"
is "no outbox row left pending" \
	"$(json 'len([r for r in d if r["status"] in ("pending","sending")])' <"$T/outbox.json")" 0
e2e_sent_sms >"$T/sent.json"
is "SMS acknowledgements to both citizens (and the water dept's SMS number)" \
	"$(json '" ".join(sorted(set(m["to"].lstrip("+") for m in d if "prijava" in m["text"].lower())))' <"$T/sent.json")" \
	"381601112233 381641112222 381651234567"
ok_if "SMS ack carries the ticket number" grep -q 'br\. 3' "$T/sent.json"
mails=$(e2e_sink_files "$T/e2e" | wc -l)
ok_if "sink got acknowledgements and department mails ($mails)" [ "$mails" -ge 6 ]
ack=$(grep -l 'To: jovana@example.net' $(e2e_sink_files "$T/e2e") | head -1)
ok_if "citizen email acknowledgement exists" [ -n "$ack" ]
ok_if "ack subject threads on the ticket" grep -q '^Subject: Re: \[S48 #1\] Ne radi rasveta' "$ack"
ok_if "ack is Auto-Submitted: auto-replied" grep -q '^Auto-Submitted: auto-replied' "$ack"
ok_if "ack In-Reply-To the citizen's message" grep -q '^In-Reply-To: <e2e\.1\.' "$ack"
ok_if "department notification carries [S48 #1/TOKEN]" sh -c \
	"cat $(e2e_sink_files "$T/e2e" | tr '\n' ' ') | grep -qE '^Subject: \\[S48 #1/[0-9a-f]{16}\\] Ne radi rasveta'"
ok_if "no citizen address in info logs" sh -c "! grep -qi 'jovana@example.net' '$T/run1.log'"

# a second run: nothing new
"$S48D" -c "$CONF" --once 2>"$T/run2.log"
is "second --once exits 0" "$?" 0
is "still four tickets" "$("$S48CTL" -c "$CONF" list --json | json 'len(d)')" 4
is "nothing more sent by SMS" "$(e2e_sent_sms | json 'len(d)')" "$(json 'len(d)' <"$T/sent.json")"
is "nothing more mailed" "$(e2e_sink_files "$T/e2e" | wc -l)" "$mails"

# staff changes a status; the citizen hears it on their own channel
"$S48CTL" -c "$CONF" status 3 resolved --note "zamenjena cev" --by petar
is "status change accepted" "$?" 0
"$S48CTL" -c "$CONF" status 1 in_progress --by petar
"$S48D" -c "$CONF" --once 2>"$T/run3.log"
ok_if "SMS citizen told 'resolved' with the note" sh -c "'$S48CTL' -c '$CONF' outbox --json | python3 -c \"import json,sys; d=json.load(sys.stdin); sys.exit(0 if any(r['ticket']==3 and r['channel']=='sms' and r['status']=='sent' and 'status' in r['kind'] for r in d) else 1)\""
e2e_sent_sms | grep -q 'zamenjena cev'
is "the note reached the citizen's phone" "$?" 0
ok_if "email citizen told by email" sh -c "grep -l 'To: jovana@example.net' $(e2e_sink_files "$T/e2e" | tr '\n' ' ') | wc -l | grep -q '^2$'"

# a reply by the citizen is appended to the ticket, not a new one
e2e_mail "$T/e2e" "jovana@example.net" "Re: [S48 #1] Ne radi rasveta" "I dalje ne radi.

> stari citat"
"$S48D" -c "$CONF" --once 2>"$T/run4.log"
is "reply appended, no new ticket" "$("$S48CTL" -c "$CONF" list --json | json 'len(d)')" 4
is "ticket 1 has two inbound messages" \
	"$("$S48CTL" -c "$CONF" show 1 --json | json 'len([m for m in d["messages"] if m["direction"]=="in"])')" 2

# a mail client's broken Message-ID costs the threading, not the acknowledgement
E2E_MSGID='<broken id with spaces>' e2e_mail "$T/e2e" "nikola@example.net" "Rupa na putu" \
	"Velika rupa na kolovozu u Cara Dusana."
"$S48D" -c "$CONF" --once 2>"$T/run5.log"
is "acknowledgement to a citizen whose Message-ID is broken is sent" \
	"$("$S48CTL" -c "$CONF" outbox --json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(" ".join(r["status"] for r in d if r["to"]=="nikola@example.net"))')" "sent"

# an encoded subject that decodes to CR LF + a header injects nothing
e2e_mail "$T/e2e" "zoran@example.net" "=?UTF-8?B?$(printf 'Rasveta\r\nBcc: evil@attacker.example' | base64 -w0)?=" \
	"Ne radi rasveta."
"$S48D" -c "$CONF" --once 2>"$T/run6.log"
zack=$(grep -l '^To: zoran@example.net' $(e2e_sink_files "$T/e2e") | head -1)
ok_if "reply to an injected subject exists" [ -n "$zack" ]
ok_if "no Bcc header reached the reply" sh -c "! grep -qi '^Bcc:' '$zack'"
ok_if "no mail went to the injected address" sh -c "! grep -qi '^X-Rcpt-Args: <evil' $(e2e_sink_files "$T/e2e" | tr '\n' ' ')"

# staff reply to the department mail: token from the notification
tok=$(cat $(e2e_sink_files "$T/e2e") | sed -n 's/^Subject: \[S48 #1\/\([0-9a-f]*\)\].*/\1/p' | head -1)
ok_if "department token found" [ -n "$tok" ]
st1() { "$S48CTL" -c "$CONF" show 1 --json | json 'd["status"]'; }
before=$(st1)
e2e_mail "$T/e2e" "rasveta@jkp.example.org" "Re: [S48 #1/0000000000000000] Ne radi rasveta" "#resolved forged"
e2e_mail "$T/e2e" "stranger@example.net" "Re: [S48 #1/$tok] Ne radi rasveta" "#resolved not allowed"
"$S48D" -c "$CONF" --once 2>"$T/run7.log"
is "a forged token changes nothing" "$(st1)" "$before"
ok_if "a sender with a valid token but not allowed is told why" sh -c \
	"grep -l '^To: stranger@example.net' $(e2e_sink_files "$T/e2e" | tr '\n' ' ') | grep -q ."
e2e_mail "$T/e2e" "Rasveta <rasveta@jkp.example.org>" "Re: [S48 #1/$tok] Ne radi rasveta" "#resolved zamenjena sijalica

> Prijava br. 1 ..."
"$S48D" -c "$CONF" --once 2>"$T/run8.log"
is "a valid staff reply resolves the ticket" "$(st1)" "resolved"
ok_if "the citizen hears it by email with the note" sh -c \
	"grep -l '^To: jovana@example.net' $(e2e_sink_files "$T/e2e" | tr '\n' ' ') | xargs grep -l 'zamenjena sijalica' | grep -q ."
