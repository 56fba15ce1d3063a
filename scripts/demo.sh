#!/usr/bin/env bash
# Run a local PostgreSQL 15 with tidal preloaded and play scripts/demo.sql against it.
#
#   bash scripts/demo.sh          build + install tidal, start the demo server
#                                 (or reuse it), run scripts/demo.sql
#   bash scripts/demo.sh stop     stop the demo server
#   bash scripts/demo.sh status   is it running?
#   bash scripts/demo.sh reset    stop it and delete its data directory
#
# The server runs as user "tidal" (as yourself if you are not root), keeps its
# data in ./tmp/demo, logs to ./tmp/demo.log, listens on port 55432 on localhost
# and on a unix socket in ./tmp. Connect with:
#   runuser -u tidal -- psql -h <checkout>/tmp -p 55432 postgres
set -euo pipefail

# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PORT=55432
TMP=$REPO/tmp
DATA=$TMP/demo
SERVER_LOG=$TMP/demo.log
SO_STAMP=$TMP/demo.tidal.so.sha256
DB=postgres

have_data() { [ -f "$DATA/PG_VERSION" ]; }

pgctl() { as_pg_user "$PG_BINDIR/pg_ctl" -D "$DATA" "$@"; }

server_running() { have_data && pgctl status >/dev/null 2>&1; }

psql_demo() {
	as_pg_user "$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$TMP" -p "$PORT" -d "$DB" "$@"
}

connect_hint() {
	if is_root; then
		printf 'runuser -u %s -- psql -h %s -p %s %s' "$TIDAL_USER" "$TMP" "$PORT" "$DB"
	else
		printf 'psql -h %s -p %s %s' "$TMP" "$PORT" "$DB"
	fi
}

installed_so_sum() {
	sha256sum "$("$PG_CONFIG" --pkglibdir)/tidal.so" | cut -d' ' -f1
}

cmd_stop() {
	if ! have_data; then
		echo "no demo server (no data directory at $DATA)"
	elif server_running; then
		log "stopping the demo server"
		pgctl -m fast -w stop
	else
		echo "the demo server is not running"
	fi
}

cmd_status() {
	if server_running; then
		echo "the demo server is running: $(connect_hint)"
	else
		echo "the demo server is not running"
		return 3
	fi
}

cmd_reset() {
	cmd_stop
	log "deleting $DATA"
	rm -rf "$DATA" "$SERVER_LOG" "$SO_STAMP" "$TMP/initdb.log"
}

init_cluster() {
	log "creating the demo cluster in $DATA"
	if ! as_pg_user "$PG_BINDIR/initdb" -D "$DATA" --encoding=UTF8 --locale=C.UTF-8 \
		--auth-local=peer --auth-host=scram-sha-256 >"$TMP/initdb.log" 2>&1; then
		cat "$TMP/initdb.log" >&2
		die "initdb failed"
	fi
	local sockdir=${TMP//\'/\'\'}
	cat >>"$DATA/postgresql.conf" <<EOF

# ---- tidal demo (written by scripts/demo.sh) ----
shared_preload_libraries = 'tidal'
tidal.node_id = 1
port = $PORT
listen_addresses = 'localhost'
unix_socket_directories = '$sockdir'
EOF
}

start_server() {
	log "starting the demo server on port $PORT (log: $SERVER_LOG)"
	if ! pgctl -l "$SERVER_LOG" -w -t 60 start >/dev/null; then
		echo "---- tail of $SERVER_LOG ----" >&2
		tail -n 30 "$SERVER_LOG" >&2 || true
		die "the demo server did not start (is port $PORT already in use?)"
	fi
	installed_so_sum >"$SO_STAMP"
}

cmd_start() {
	bash "$REPO/scripts/setup.sh"
	grant_tree
	pg_user_can_use_tree "$REPO" ||
		die "user $(run_user) cannot reach $REPO: a parent directory is not searchable by it. Put the checkout somewhere world-readable (e.g. under /opt or /srv)"
	# A unix socket path is limited to 107 bytes.
	local sock="$TMP/.s.PGSQL.$PORT"
	[ "${#sock}" -le 107 ] || die "the checkout path is too long for a unix socket ($sock); use a shorter path"

	as_pg_user mkdir -p "$TMP"
	have_data || init_cluster

	if server_running; then
		if [ "$(cat "$SO_STAMP" 2>/dev/null)" != "$(installed_so_sum)" ]; then
			log "tidal.so was reinstalled since the demo server started: restarting it"
			pgctl -m fast -w stop >/dev/null
			start_server
		else
			log "the demo server is already running: reusing it"
		fi
	else
		start_server
	fi

	if ! psql_demo -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION IF NOT EXISTS tidal'; then
		die "CREATE EXTENSION tidal failed (server log: $SERVER_LOG)"
	fi

	log "running scripts/demo.sql"
	echo
	if ! psql_demo -f "$REPO/scripts/demo.sql"; then
		die "scripts/demo.sql failed (server log: $SERVER_LOG)"
	fi
	echo
	log "the demo server is running (data: $DATA, log: $SERVER_LOG)"
	echo "    connect:  $(connect_hint)"
	echo "    stop:     bash scripts/demo.sh stop"
	echo "    start over with an empty database: bash scripts/demo.sh reset"
}

case ${1:-start} in
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
reset) cmd_reset ;;
-h | --help | help) sed -n '2,13s/^# \{0,1\}//p' "$0" ;;
*) die "unknown command '$1' (use: start, stop, status, reset)" ;;
esac
