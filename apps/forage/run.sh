#!/usr/bin/env bash
# Start Forage: the server on http://127.0.0.1:4242 (PORT, HOST to change).
#
#   bash apps/forage/run.sh          start (foreground; Ctrl-C stops the server)
#   bash apps/forage/run.sh stop     stop the PostgreSQL instance run.sh started
#
# The database: the demo's region 0 (bash scripts/demo.sh: port 55432, database
# postgres) when it is up with tidal.embedding_dimensions = 100; otherwise an
# instance of Forage's own (initdb into apps/forage/.state, or
# /var/tmp/forage-state when user tidal cannot write there; port
# FORAGE_PG_PORT, default 55442; unix socket only), left running for next time.
# PostgreSQL and the server run as user "tidal" when run as root (PostgreSQL
# refuses root; the demo's sockets take that user by peer authentication).
# Runs npm ci when node_modules is missing. Needs tidal installed
# (bash scripts/setup.sh) and node (Debian's nodejs).
set -euo pipefail

APP=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=scripts/lib.sh
. "$APP/../../scripts/lib.sh"

PORT=${PORT:-4242}
HOST=${HOST:-127.0.0.1}
DEMO_PORT=55432
OWN_PORT=${FORAGE_PG_PORT:-55442}
DB=postgres

pg_user_can_write() { as_pg_user test -w "$1" 2>/dev/null; }
if pg_user_can_write "$APP"; then
	STATE=${FORAGE_STATE:-$APP/.state}
else
	STATE=${FORAGE_STATE:-/var/tmp/forage-state}
fi
DATA=$STATE/pg

own_running() { [ -f "$DATA/PG_VERSION" ] && as_pg_user "$PG_BINDIR/pg_ctl" -D "$DATA" status >/dev/null 2>&1; }

if [ "${1:-start}" = stop ]; then
	if own_running; then
		as_pg_user "$PG_BINDIR/pg_ctl" -D "$DATA" -m fast -w stop
	else
		echo "Forage's own PostgreSQL instance is not running ($DATA)"
	fi
	exit 0
fi
[ "${1:-start}" = start ] || die "unknown command '$1' (use: start, stop)"

command -v node >/dev/null 2>&1 || die "node not found: run bash scripts/setup.sh as root (installs Debian's nodejs)"
if [ ! -d "$APP/node_modules" ]; then
	log "installing Forage's npm dependencies (npm ci)"
	(cd "$APP" && npm ci --no-audit --no-fund)
fi

# psql_at <socket dir> <port> <sql>: one value
psql_at() {
	as_pg_user "$PG_BINDIR/psql" -X -q -A -t -v ON_ERROR_STOP=1 -h "$1" -p "$2" -d "$DB" -c "$3"
}

# The demo's socket directory, chosen as scripts/demo.sh chooses it.
if pg_user_can_use_tree "$REPO"; then DEMO_TMP=$REPO/tmp; else DEMO_TMP=${TIDAL_DEMO_TMP:-/var/tmp/tidal-demo}; fi

PGHOST_USE=""
PGPORT_USE=""
if [ -S "$DEMO_TMP/.s.PGSQL.$DEMO_PORT" ] && dims=$(psql_at "$DEMO_TMP" "$DEMO_PORT" "SHOW tidal.embedding_dimensions" 2>/dev/null); then
	if [ "$dims" = 100 ]; then
		log "using the demo's region 0 ($DEMO_TMP, port $DEMO_PORT)"
		PGHOST_USE=$DEMO_TMP
		PGPORT_USE=$DEMO_PORT
	else
		warn "the demo's region 0 runs with tidal.embedding_dimensions = $dims, not 100 (its cluster predates that setting: bash scripts/demo.sh reset, then bash scripts/demo.sh); using an instance of Forage's own"
	fi
fi

if [ -z "$PGHOST_USE" ]; then
	if ! [ -f "$DATA/PG_VERSION" ]; then
		log "creating Forage's PostgreSQL instance in $DATA"
		if is_root; then
			mkdir -p "$STATE"
			chown "$(run_user):" "$STATE"
		else
			mkdir -p "$STATE"
		fi
		as_pg_user "$PG_BINDIR/initdb" -D "$DATA" --encoding=UTF8 --locale=C.UTF-8 --auth-local=peer --auth-host=reject >"$STATE/initdb.log" 2>&1 ||
			{ cat "$STATE/initdb.log" >&2; die "initdb failed"; }
		as_pg_user tee -a "$DATA/postgresql.conf" >/dev/null <<CONF

# ---- Forage's own instance (written by apps/forage/run.sh) ----
shared_preload_libraries = 'tidal'
tidal.embedding_dimensions = 100
# Forage's item metadata (url, title, summary, ...) is 300-500 bytes: keep it in
# shared memory, where tidal.retrieve's filter reads it without a query
tidal.item_metadata_bytes = 1024
port = $OWN_PORT
listen_addresses = ''
unix_socket_directories = '$STATE'
CONF
	fi
	if ! own_running; then
		log "starting Forage's PostgreSQL instance (socket $STATE, port $OWN_PORT)"
		as_pg_user "$PG_BINDIR/pg_ctl" -D "$DATA" -l "$STATE/postgresql.log" -w -t 60 start >/dev/null ||
			{ tail -n 20 "$STATE/postgresql.log" >&2; die "PostgreSQL did not start (log: $STATE/postgresql.log)"; }
	fi
	psql_at "$STATE" "$OWN_PORT" "SET client_min_messages = warning; CREATE EXTENSION IF NOT EXISTS tidal; ALTER EXTENSION tidal UPDATE" >/dev/null ||
		die "CREATE EXTENSION tidal failed: is tidal installed? (bash scripts/setup.sh)"
	PGHOST_USE=$STATE
	PGPORT_USE=$OWN_PORT
fi

# The server runs as the PostgreSQL account (peer authentication on the socket);
# from a copy when that account cannot reach the checkout.
RUN_DIR=$APP
if is_root && ! as_pg_user test -r "$APP/server.js" -a -x "$APP/node_modules" 2>/dev/null; then
	RUN_DIR=/var/tmp/forage-app
	log "user $(run_user) cannot reach $APP: running a copy in $RUN_DIR"
	rm -rf "$RUN_DIR"
	mkdir -p "$RUN_DIR"
	tar -C "$APP" --exclude=./.state --exclude=./test-artifacts -cf - . | tar -C "$RUN_DIR" -xf -
	chown -R "$(run_user):" "$RUN_DIR"
fi

echo
echo "    Forage: http://$HOST:$PORT/?user=1   (starting: the word vectors take a few seconds to load)"
echo "    database: $PGHOST_USE port $PGPORT_USE, database $DB"
[ "$PGHOST_USE" = "$STATE" ] && echo "    stop its PostgreSQL afterwards: bash apps/forage/run.sh stop"
echo
exec_user=$(run_user)
as_pg_user env PGHOST="$PGHOST_USE" PGPORT="$PGPORT_USE" PGDATABASE="$DB" PGUSER="$exec_user" \
	PORT="$PORT" HOST="$HOST" node "$RUN_DIR/server.js"
