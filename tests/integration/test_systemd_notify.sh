#!/bin/sh
# s48d under systemd's Type=notify: READY=1 at start, WATCHDOG=1 at least
# every half WatchdogSec even while it waits in IMAP IDLE for a long
# poll_interval, STOPPING=1 on SIGTERM.  The notify socket is ours.
set -u
. "$(dirname "$0")/../lib/tap.sh"
tmpdir_setup
. "$S48_TOP/tests/lib/e2e.sh"
if ! grep -q sd_notify "$S48_TOP/daemon/daemon_loop.c" || ! pkg-config --exists libsystemd; then
	skip "sd_notify" "built without libsystemd"; exit 0
fi
e2e_start
sed -i 's/^poll_interval = 1;/poll_interval = 600;/' "$CONF"
python3 "$S48_TOP/tests/lib/notify_listen.py" "$T/notify.sock" "$T/notify.log" 30 &
lpid=$!
at_exit "kill $lpid 2>/dev/null"
while [ ! -S "$T/notify.sock" ]; do sleep 0.1; done
NOTIFY_SOCKET="$T/notify.sock" WATCHDOG_USEC=2000000 "$S48D" -c "$CONF" 2>"$T/s48d.log" &
spid=$!
sleep 6
kill -TERM "$spid"
wait "$spid"
is "s48d stops with 0" "$?" 0
wait "$lpid" 2>/dev/null
ok_if "READY=1 sent" grep -q ' READY=1$' "$T/notify.log"
pings=$(grep -c ' WATCHDOG=1$' "$T/notify.log")
ok_if "watchdog pinged every second or so while idle ($pings pings in 6 s)" [ "$pings" -ge 4 ]
ok_if "STOPPING=1 sent" grep -q ' STOPPING=1$' "$T/notify.log"
