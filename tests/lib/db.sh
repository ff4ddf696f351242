# tests/lib/db.sh - read the test database from integration scripts (sourced).
#   q QUERY    prints the first column of the first row of QUERY on $DB
#              (python3's sqlite3 module: no sqlite3 CLI needed; waits up to
#              5 s for a lock); fails with a Python error when there is no row
#   PY         python3 for helpers that must start quickly (the system one
#              starts in 40 ms, a pyenv shim in 300); s48d.sh sets it too
if [ -z "${PY:-}" ]; then
	if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; else PY=python3; fi
fi

q() {
	"$PY" -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])' "$DB" "$1"
}
