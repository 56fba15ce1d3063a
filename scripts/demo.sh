#!/usr/bin/env bash
# Run three local PostgreSQL 15 servers with tidal preloaded, one per region,
# wire them as peers, and play scripts/demo.sql and scripts/demo_regions.sql.
#
#   bash scripts/demo.sh          build + install tidal, start the three demo servers
#                                 (or reuse them), run scripts/demo.sql on region 0,
#                                 then scripts/demo_regions.sql across the regions
#   bash scripts/demo.sh stop     stop the demo servers
#   bash scripts/demo.sh status   are they running?
#   bash scripts/demo.sh reset    stop them and delete their data directories
#
# The servers run as user "tidal" (as yourself if you are not root). Region i
# (0, 1, 2) keeps its data in ./tmp/demo/region<i>, logs to ./tmp/demo/region<i>.log
# and listens on port 55432 + i on localhost and on a unix socket in ./tmp. Connect with:
#   runuser -u tidal -- psql -h <checkout>/tmp -p 55432 postgres     (region 0; 55433, 55434)
# When user tidal cannot reach the checkout (a parent directory such as /root is
# not searchable by it), ./tmp is replaced by /var/tmp/tidal-demo (or $TIDAL_DEMO_TMP).
set -euo pipefail

# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

REGIONS=(0 1 2)
BASE_PORT=55432
DB=postgres

# Where the servers live: ./tmp in the checkout, or a directory of the PostgreSQL
# account's own when it cannot reach the checkout (say, a clone in /root).
choose_demo_dir() {
	if pg_user_can_use_tree "$REPO"; then
		TMP=$REPO/tmp
	else
		TMP=${TIDAL_DEMO_TMP:-/var/tmp/tidal-demo}
		cd / # nor the current directory: pg_ctl and psql would complain that they cannot enter it
	fi
	DEMO=$TMP/demo
}
choose_demo_dir

port_of() { echo $((BASE_PORT + $1)); }
data_of() { echo "$DEMO/region$1"; }
log_of() { echo "$DEMO/region$1.log"; }
stamp_of() { echo "$DEMO/region$1.tidal.so.sha256"; }

have_data() { [ -f "$(data_of "$1")/PG_VERSION" ]; }

pgctl() {
	local r=$1
	shift
	as_pg_user "$PG_BINDIR/pg_ctl" -D "$(data_of "$r")" "$@"
}

server_running() { have_data "$1" && pgctl "$1" status >/dev/null 2>&1; }

# psql_region <region> [psql arguments...]
psql_region() {
	local r=$1
	shift
	as_pg_user "$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$TMP" -p "$(port_of "$r")" -d "$DB" "$@"
}

connect_hint() {
	local port
	port=$(port_of "$1")
	if is_root; then
		printf 'runuser -u %s -- psql -h %s -p %s %s' "$TIDAL_USER" "$TMP" "$port" "$DB"
	else
		printf 'psql -h %s -p %s %s' "$TMP" "$port" "$DB"
	fi
}

installed_so_sum() {
	sha256sum "$("$PG_CONFIG" --pkglibdir)/tidal.so" | cut -d' ' -f1
}

# Earlier versions of this script ran one server with its data in ./tmp/demo itself.
legacy_data() { [ -f "$DEMO/PG_VERSION" ]; }

legacy_stop() {
	if as_pg_user "$PG_BINDIR/pg_ctl" -D "$DEMO" status >/dev/null 2>&1; then
		log "stopping the single-region demo server of an earlier version of this script"
		as_pg_user "$PG_BINDIR/pg_ctl" -D "$DEMO" -m fast -w stop
	fi
}

cmd_stop() {
	local r any=false
	if legacy_data; then
		any=true
		legacy_stop
	fi
	for r in "${REGIONS[@]}"; do
		have_data "$r" || continue
		any=true
		if server_running "$r"; then
			log "stopping region $r"
			pgctl "$r" -m fast -w stop >/dev/null
		else
			echo "region $r is not running"
		fi
	done
	$any || echo "no demo servers (no data directories under $DEMO)"
}

cmd_status() {
	local r running=0
	for r in "${REGIONS[@]}"; do
		if server_running "$r"; then
			echo "region $r is running: $(connect_hint "$r")"
			running=$((running + 1))
		else
			echo "region $r is not running"
		fi
	done
	[ "$running" -eq "${#REGIONS[@]}" ] || return 3
}

cmd_reset() {
	cmd_stop
	log "deleting $DEMO"
	# ./tmp/demo.log, demo.tidal.so.sha256 and initdb.log: left by earlier versions of this script
	rm -rf "$DEMO" "$TMP/demo.log" "$TMP/demo.tidal.so.sha256" "$TMP/initdb.log"
}

# the settings of region $1, appended to its postgresql.conf (a later line wins)
write_conf() {
	local r=$1
	local sockdir=${TMP//\'/\'\'}
	cat >>"$(data_of "$r")/postgresql.conf" <<EOF

# ---- tidal demo, region $r (written by scripts/demo.sh) ----
shared_preload_libraries = 'tidal'
tidal.embedding_dimensions = 100
tidal.node_id = $((r + 1))
tidal.region_id = $r
tidal.database = '$DB'
port = $(port_of "$r")
listen_addresses = 'localhost'
unix_socket_directories = '$sockdir'
EOF
}

# Move the single-region cluster of an earlier version of this script to region 0.
migrate_legacy() {
	legacy_data || return 0
	legacy_stop
	log "moving the single-region demo cluster in $DEMO to $(data_of 0): it becomes region 0"
	as_pg_user mv "$DEMO" "$TMP/demo.region0.moving"
	as_pg_user mkdir -p "$DEMO"
	as_pg_user mv "$TMP/demo.region0.moving" "$(data_of 0)"
	if [ -f "$TMP/demo.log" ]; then
		as_pg_user mv "$TMP/demo.log" "$(log_of 0)"
	fi
	rm -f "$TMP/demo.tidal.so.sha256" "$TMP/initdb.log"
	write_conf 0
}

init_cluster() {
	local r=$1
	log "creating the cluster of region $r in $(data_of "$r")"
	if ! as_pg_user "$PG_BINDIR/initdb" -D "$(data_of "$r")" --encoding=UTF8 --locale=C.UTF-8 \
		--auth-local=peer --auth-host=scram-sha-256 >"$DEMO/initdb.log" 2>&1; then
		cat "$DEMO/initdb.log" >&2
		die "initdb failed"
	fi
	write_conf "$r"
}

start_server() {
	local r=$1 port server_log
	port=$(port_of "$r")
	server_log=$(log_of "$r")
	log "starting region $r on port $port (log: $server_log)"
	if ! pgctl "$r" -l "$server_log" -w -t 60 start >/dev/null; then
		echo "---- tail of $server_log ----" >&2
		tail -n 30 "$server_log" >&2 || true
		die "the server of region $r did not start (is port $port already in use?)"
	fi
	installed_so_sum >"$(stamp_of "$r")"
}

ensure_running() {
	local r=$1
	have_data "$r" || init_cluster "$r"
	if server_running "$r"; then
		if [ "$(cat "$(stamp_of "$r")" 2>/dev/null)" != "$(installed_so_sum)" ]; then
			log "tidal.so was reinstalled since region $r started: restarting it"
			pgctl "$r" -m fast -w stop >/dev/null
			start_server "$r"
		else
			log "region $r is already running: reusing it"
		fi
	else
		start_server "$r"
	fi
}

# Create the extension (or bring one made by an older tidal up to date).
ensure_extension() {
	local r=$1
	if ! psql_region "$r" -c 'SET client_min_messages = warning' \
		-c 'CREATE EXTENSION IF NOT EXISTS tidal' -c 'ALTER EXTENSION tidal UPDATE'; then
		die "CREATE EXTENSION tidal failed in region $r (server log: $(log_of "$r"))"
	fi
	if [ "$(psql_region "$r" -A -t -c "SELECT EXISTS (SELECT FROM pg_proc WHERE proname = 'add_peer' AND pronamespace = 'tidal'::regnamespace)")" != t ]; then
		die "the database of region $r was made by a development build of tidal without regions; start over with: bash scripts/demo.sh reset"
	fi
}

# Make every region a peer of every other one, reached over the unix socket.
wire_peers() {
	local r p
	# libpq quoting: values in single quotes, \ and ' escaped with a backslash
	local host=${TMP//\\/\\\\}
	host=${host//\'/\\\'}
	for r in "${REGIONS[@]}"; do
		for p in "${REGIONS[@]}"; do
			[ "$r" = "$p" ] && continue
			psql_region "$r" -v region="$p" \
				-v conninfo="host='$host' port=$(port_of "$p") dbname=$DB" >/dev/null <<'SQL'
SELECT tidal.add_peer(:region, :'conninfo')
 WHERE NOT EXISTS (SELECT 1 FROM tidal.peers WHERE region_id = :region AND conninfo = :'conninfo');
SQL
		done
	done
}

# Wait until every region's receivers have reached both of its peers.
wait_for_peers() {
	local r n deadline=$((SECONDS + 30))
	local want=$((${#REGIONS[@]} - 1))
	log "waiting for every region to reach its $want peers"
	for r in "${REGIONS[@]}"; do
		while :; do
			n=$(psql_region "$r" -A -t -c "SELECT count(*) FROM tidal.replication_status
				WHERE state = 'connected'
				  AND clock_timestamp() - last_contact <= current_setting('tidal.peer_timeout')::interval")
			[ "$n" -ge "$want" ] && break
			[ "$SECONDS" -lt "$deadline" ] ||
				die "region $r reaches $n of its $want peers after 30 s (server log: $(log_of "$r"))"
			sleep 0.2
		done
	done
}

# Wait until every region follows the same leader, in the same term, for a
# second: definitions are leader-only calls (a fresh cluster elects region 0
# once its peers are wired).
wait_for_leader() {
	local r l leaders previous="" steady=0 deadline=$((SECONDS + 30))
	log "waiting for the regions to elect a leader"
	while :; do
		leaders=""
		for r in "${REGIONS[@]}"; do
			l=$(psql_region "$r" -A -t -c "SELECT coalesce(leader_region || ':' || term, '-') FROM tidal.cluster WHERE is_local")
			leaders="$leaders $l"
		done
		# shellcheck disable=SC2086
		if [[ $leaders != *-* ]] && [ "$(printf '%s\n' $leaders | sort -u | wc -l)" -eq 1 ]; then
			[ "$leaders" = "$previous" ] && steady=$((steady + 1)) || steady=0
			if [ "$steady" -ge 5 ]; then
				l=${leaders##* }
				log "region ${l%%:*} leads (term ${l##*:})"
				return 0
			fi
		else
			steady=0
		fi
		previous=$leaders
		[ "$SECONDS" -lt "$deadline" ] ||
			die "no leader that every region follows after 30 s (leaders seen:$leaders; see tidal.cluster)"
		sleep 0.2
	done
}

cmd_start() {
	local r
	bash "$REPO/scripts/setup.sh"
	grant_tree
	# setup.sh may just have created the PostgreSQL account: choose again
	choose_demo_dir
	[ "$TMP" = "$REPO/tmp" ] ||
		warn "user $(run_user) cannot reach $REPO (a parent directory is not searchable); the demo servers live in $TMP"
	# A unix socket path is limited to 107 bytes.
	local sock
	sock="$TMP/.s.PGSQL.$(port_of "${REGIONS[-1]}")"
	[ "${#sock}" -le 107 ] || die "the checkout path is too long for a unix socket ($sock); use a shorter path"

	as_pg_user mkdir -p "$TMP"
	migrate_legacy
	as_pg_user mkdir -p "$DEMO"
	for r in "${REGIONS[@]}"; do
		ensure_running "$r"
	done
	for r in "${REGIONS[@]}"; do
		ensure_extension "$r"
	done
	wire_peers
	wait_for_peers
	wait_for_leader

	log "running scripts/demo.sql in region 0"
	echo
	# psql reads the scripts from stdin: the PostgreSQL account need not reach the checkout
	if ! psql_region 0 <"$REPO/scripts/demo.sql"; then
		die "scripts/demo.sql failed (server log: $(log_of 0))"
	fi
	echo
	log "running scripts/demo_regions.sql across regions 0, 1 and 2"
	echo
	if ! psql_region 0 -v port0="$(port_of 0)" -v port1="$(port_of 1)" -v port2="$(port_of 2)" \
		<"$REPO/scripts/demo_regions.sql"; then
		die "scripts/demo_regions.sql failed (server logs: $DEMO/region*.log)"
	fi
	echo
	log "the demo servers are running (data: $DEMO/region0..2, logs: $DEMO/region0..2.log)"
	for r in "${REGIONS[@]}"; do
		echo "    region $r:  $(connect_hint "$r")"
	done
	echo "    stop:      bash scripts/demo.sh stop"
	echo "    start over with empty databases: bash scripts/demo.sh reset"
	echo "    Forage, a discovery feed on region 0 (interests, exploration, labels):"
	echo "               bash apps/forage/run.sh   (then open the URL it prints)"
}

case ${1:-start} in
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
reset) cmd_reset ;;
-h | --help | help) sed -n '2,15s/^# \{0,1\}//p' "$0" ;;
*) die "unknown command '$1' (use: start, stop, status, reset)" ;;
esac
