#!/bin/sh
# 200 inbound SMS — Latin with diacritics, without, and Cyrillic — through
# s48d and each gateway profile (infobip, twilio, generic): every one a
# ticket routed as expected, acknowledged exactly once; a second --once
# creates nothing; a simulator restarted with its state loses nothing.
set -u
. "$(dirname "$0")/../lib/tap.sh"
tmpdir_setup
. "$S48_TOP/tests/lib/e2e.sh"
N=${S48_SMS_N:-200}

# texts: (department, text) cycling over scripts; numbers all distinct
python3 - "$N" >"$T/batch.json" <<'PY'
import json, sys
n = int(sys.argv[1])
forms = [
    ("water", "Pukla cev u ulici {s}, voda teče niz ulicu"),
    ("water", "Pukla cev u ulici {s}, voda tece niz ulicu"),
    ("water", "Пукла цев у улици {s}, вода тече"),
    ("lighting", "Ne radi ulična rasveta u ulici {s}"),
    ("lighting", "Ne radi ulicna rasveta u ulici {s}"),
    ("lighting", "Не ради улична расвета у улици {s}"),
    ("dispatch", "Buka iz kafića u ulici {s} svake noći"),
    ("dispatch", "Бука из кафића у улици {s}"),
]
streets = ["Kralja Petra", "Njegoševa", "Cara Dušana", "Zmaj Jovina", "Bulevar"]
msgs, want = [], []
for i in range(n):
    dept, t = forms[i % len(forms)]
    text = t.format(s="%s %d" % (streets[i % len(streets)], i + 1))
    msgs.append({"from": "38164%07d" % (1000000 + i), "text": text})
    want.append(dept)
json.dump({"messages": msgs, "want": want}, sys.stdout, ensure_ascii=False)
PY

for profile in infobip twilio generic; do
	D="$T/$profile"
	SMS_SIM_ARGS="--state $D/sim-state.json" e2e_setup "$D" "$profile" ||
		{ echo "not ok - $profile: servers started"; continue; }
	sed -i 's/^imap = .*//; s/^  password_file = "imap.pass".*//; s/^  idle = true.*//' "$CONF"
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(json.dumps({"messages": d["messages"]}))' \
		"$T/batch.json" >"$D/inbound.json"
	sms_sim_call POST /_sim/inbound "$(cat "$D/inbound.json")" >/dev/null
	"$S48D" -c "$CONF" --once 2>"$D/run1.log"
	is "$profile: --once exits 0" "$?" 0
	"$S48CTL" -c "$CONF" list --json >"$D/list.json"
	is "$profile: $N tickets" "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$D/list.json")" "$N"
	# routing: ticket reporters map back to the message index
	bad=$(python3 - "$T/batch.json" "$CONF" "$S48CTL" <<'PY'
import json, subprocess, sys
batch = json.load(open(sys.argv[1]))
want = {"+" + m["from"]: d for m, d in zip(batch["messages"], batch["want"])}
tickets = json.loads(subprocess.run([sys.argv[3], "-c", sys.argv[2], "export", "--format", "json"],
                                    capture_output=True, text=True).stdout)
bad = [t["id"] for t in tickets if want.get(t["reporter"]) != t["department"]]
print(len(bad) if len(tickets) == len(want) else "count %d" % len(tickets))
PY
)
	is "$profile: every ticket routed as expected" "$bad" 0
	e2e_sent_sms >"$D/sent.json"
	acks=$(python3 -c '
import json, sys, collections
sent = json.load(open(sys.argv[1]))
c = collections.Counter(m["to"].lstrip("+") for m in sent if "primljena" in m["text"])
cit = [k for k in c if k.startswith("38164")]
print(len(cit), max(c[k] for k in cit) if cit else 0)' "$D/sent.json")
	is "$profile: each citizen acknowledged exactly once" "$acks" "$N 1"
	"$S48D" -c "$CONF" --once 2>"$D/run2.log"
	is "$profile: second --once creates nothing new" \
		"$("$S48CTL" -c "$CONF" list --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" "$N"
	# the simulator restarted (state kept) with 5 more messages waiting
	sms_sim_call POST /_sim/inbound '{"from": "381659999999", "text": "Pukla cev kod skole", "count": 5}' >/dev/null
	sms_sim_stop "$D/sms"
	sms_sim_start "$D/sms" --state "$D/sim-state.json" >/dev/null
	sed -i "s|http://127.0.0.1:[0-9]*|$SMS_SIM_URL|g" "$CONF"
	"$S48D" -c "$CONF" --once 2>"$D/run3.log"
	is "$profile: messages waiting across a simulator restart are not lost" \
		"$("$S48CTL" -c "$CONF" list --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" "$((N + 5))"
	e2e_stop "$D"
done
