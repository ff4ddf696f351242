#!/bin/sh
# test_stats.sh - s48ctl stats over time: local-date ranges at both DST days
# of 2027 (a 23- and a 25-hour day, first and last second of each), a
# reassigned ticket counted for the department holding it, a reopened one
# counted as open (not resolved), resolved ones with elapsed hours and the
# share resolved by due_at, rejected ones out of both, an empty range (0
# and null), and times in --json as UTC with Z.
set -u
. "$(dirname "$0")/../lib/tap.sh"
. "$S48_TOP/tests/lib/mkconf.sh"
tmpdir_setup
CTL="$S48_BIN/s48ctl"
if [ ! -x "$CTL" ]; then
	skip "s48ctl" "not built ($CTL)"
	exit 0
fi
MKCONF_SMS=0 mkconf "$T/c"
CONF="$T/c/s48.conf"
unset S48_NOW
utc() { python3 -c "import calendar,time,sys; print(calendar.timegm(time.strptime(sys.argv[1], '%Y-%m-%dT%H:%M:%SZ')))" "$1"; }
at() { # ISO-UTC ARGS...
	_t=$(utc "$1"); shift
	S48_NOW=$_t "$CTL" -c "$CONF" "$@"
}
new() { at "$1" new --from 0641112222 "$2" >/dev/null; }
total() { # SINCE UNTIL KEYS -> the total's values
	at 2027-12-01T12:00:00Z stats --since "$1" --until "$2" --json >"$T/out" || echo "exit $?"
	python3 -c "import json,sys; j=json.load(open('$T/out')); print(' '.join(str(j['total'][k]) for k in sys.argv[1:]))" $3
}

# Belgrade: 2027-03-28 is 23 hours (02:00 -> 03:00), 2027-10-31 25 hours.
new 2027-03-27T22:59:59Z "Pukla cev a"      # 27th 23:59:59 CET
new 2027-03-27T23:00:00Z "Pukla cev b"      # 28th 00:00 CET
new 2027-03-28T21:59:59Z "Pukla cev c"      # 28th 23:59:59 CEST
new 2027-03-28T22:00:00Z "Pukla cev d"      # 29th 00:00 CEST
new 2027-10-30T21:59:59Z "Pukla cev e"      # 30th 23:59:59 CEST
new 2027-10-30T22:00:00Z "Pukla cev f"      # 31st 00:00 CEST
new 2027-10-31T22:59:59Z "Pukla cev g"      # 31st 23:59:59 CET
new 2027-10-31T23:00:00Z "Pukla cev h"      # 1 November 00:00 CET
is "the 27th of March (local)" "$(total 2027-03-27 2027-03-27 received)" 1
is "the 28th of March, 23 hours: first and last second" "$(total 2027-03-28 2027-03-28 received)" 2
is "the 29th of March" "$(total 2027-03-29 2027-03-29 received)" 1
is "the 31st of October, 25 hours: first and last second" "$(total 2027-10-31 2027-10-31 received)" 2
is "30 October to 1 November, both inclusive" "$(total 2027-10-30 2027-11-01 received)" 4
is "an empty range: zeros and nulls" \
	"$(total 2027-06-01 2027-06-30 'received open overdue median_hours_to_resolve resolved_within_sla_pct')" \
	"0 0 0 None None"

# June: water tickets resolved in 10 h and in 50 h (due 48 h), one
# rejected, one reopened, one reassigned to lighting and resolved in 2 h
new 2027-06-07T08:00:00Z "Pukla cev 1"
new 2027-06-07T08:00:00Z "Pukla cev 2"
new 2027-06-07T08:00:00Z "Pukla cev 3"
new 2027-06-07T08:00:00Z "Pukla cev 4"
new 2027-06-07T08:00:00Z "Pukla cev 5"
base=$(at 2027-06-07T08:00:00Z list --json | python3 -c 'import json,sys; print(min(t["id"] for t in json.load(sys.stdin) if t["subject"] == "Pukla cev 1"))')
at 2027-06-07T18:00:00Z status "$base" resolved >/dev/null
at 2027-06-09T10:00:00Z status $((base + 1)) resolved >/dev/null
at 2027-06-07T09:00:00Z status $((base + 2)) rejected >/dev/null
at 2027-06-07T12:00:00Z status $((base + 3)) resolved >/dev/null
at 2027-06-07T13:00:00Z status $((base + 3)) open >/dev/null
at 2027-06-07T08:30:00Z assign $((base + 4)) lighting >/dev/null
at 2027-06-07T10:00:00Z status $((base + 4)) resolved >/dev/null
at 2027-12-01T12:00:00Z stats --since 2027-06-01 --until 2027-06-30 --json >"$T/june"
dept() { python3 -c "import json,sys; j=json.load(open('$T/june')); d=[d for d in j['departments'] if d['id']==sys.argv[1]][0]; print(' '.join(str(d[k]) for k in sys.argv[2:]))" "$@"; }
is "water: received, open, resolved, rejected, overdue" \
	"$(dept water received open resolved rejected overdue)" "4 1 2 1 1"
is "water: median of 10 h and 50 h elapsed, half within due_at" \
	"$(dept water median_hours_to_resolve resolved_within_sla_pct)" "30.0 50.0"
is "lighting: the reassigned ticket counts for the department holding it" \
	"$(dept lighting received resolved median_hours_to_resolve resolved_within_sla_pct)" "1 1 2.0 100.0"
is "total: median of 2, 10 and 50 h" \
	"$(python3 -c "import json; j=json.load(open('$T/june')); t=j['total']; print(t['received'], t['resolved'], t['median_hours_to_resolve'], t['resolved_within_sla_pct'])")" \
	"5 3 10.0 66.7"
at 2027-12-01T12:00:00Z show "$base" --json >"$T/show"
is "show --json: times in UTC with Z" \
	"$(python3 -c "import json; j=json.load(open('$T/show')); print(j['created_at'], j['due_at'], j['resolved_at'])")" \
	"2027-06-07T08:00:00Z 2027-06-09T08:00:00Z 2027-06-07T18:00:00Z"
