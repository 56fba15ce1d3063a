# shellcheck shell=bash
# Shared helpers for the tidal benchmarks in bench/. Source it; do not run it.
#
# Every benchmark starts its own private PostgreSQL 15 instance (fresh initdb)
# under $BENCH_DIR, as the unprivileged user $TIDAL_USER, on $BENCH_PORT, with
# tidal preloaded and the sealer running in database $BENCH_DB, and stops it
# when the script exits (bench_cleanup via trap).
#
# Knobs (environment):
#   BENCH_DIR            working directory           (/tmp/tidal-bench)
#   BENCH_PORT           port                        (56432)
#   BENCH_DB             database                    (bench)
#   BENCH_MAX_ENTITIES   tidal.max_entities          (2000000)
#   BENCH_SHARED_BUFFERS shared_buffers              (1GB)
#   BENCH_PRELOAD_EXTRA  extra shared_preload_libraries, e.g. pg_stat_statements
#   BENCH_RESULTS        where logs go               (bench/results)

set -euo pipefail
shopt -s inherit_errexit

BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
REPO=$(cd "$BENCH_ROOT/.." && pwd -P)

TIDAL_USER=${TIDAL_USER:-tidal}
# TIDAL_PG_BINDIR: another copy of PostgreSQL 15 with its own tidal build
# (bench/checks_cost.sh measures two builds side by side this way)
PG_BINDIR=${TIDAL_PG_BINDIR:-/usr/lib/postgresql/15/bin}
BENCH_DIR=${BENCH_DIR:-/tmp/tidal-bench}
BENCH_PORT=${BENCH_PORT:-56432}
BENCH_DB=${BENCH_DB:-bench}
BENCH_MAX_ENTITIES=${BENCH_MAX_ENTITIES:-2000000}
BENCH_SHARED_BUFFERS=${BENCH_SHARED_BUFFERS:-1GB}
BENCH_PRELOAD_EXTRA=${BENCH_PRELOAD_EXTRA:-}
BENCH_RESULTS=${BENCH_RESULTS:-$BENCH_ROOT/results}
PGDATA_BENCH=$BENCH_DIR/data
BENCH_WORK=$BENCH_DIR/work     # scratch files readable by the server user

blog()  { printf '==> %s\n' "$*" >&2; }
bdie()  { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

# Run a command as the PostgreSQL user with a clean environment pointing at
# the bench instance.  Extra "VAR=value" words before the command are passed
# to env (e.g. PGOPTIONS).
as_pg() {
	local -a envv=(
		"HOME=$BENCH_DIR" "USER=$TIDAL_USER" "LOGNAME=$TIDAL_USER"
		"PATH=$PG_BINDIR:/usr/local/bin:/usr/bin:/bin"
		"LANG=C.UTF-8" "LC_ALL=C.UTF-8"
		"PGHOST=$BENCH_DIR" "PGPORT=$BENCH_PORT" "PGDATABASE=$BENCH_DB"
		"PGUSER=$TIDAL_USER" "PGDATA=$PGDATA_BENCH"
	)
	while [ $# -gt 0 ] && [[ $1 == [A-Z]*=* ]]; do
		envv+=("$1")
		shift
	done
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u "$TIDAL_USER" -- env -i "${envv[@]}" "$@"
	else
		env -i "${envv[@]}" "$@"
	fi
}

# psql returning bare values: q "SQL"
q() { as_pg psql -X -qAt -v ON_ERROR_STOP=1 -c "$1"; }
# psql running a script on stdin
qscript() { as_pg psql -X -q -v ON_ERROR_STOP=1 "$@"; }

bench_check_prereqs() {
	[ "$(id -u)" -eq 0 ] || bdie "run the benchmarks as root (they start PostgreSQL as user $TIDAL_USER with runuser)"
	getent passwd "$TIDAL_USER" >/dev/null || bdie "user $TIDAL_USER missing: run bash scripts/setup.sh first"
	[ -x "$PG_BINDIR/pgbench" ] || bdie "$PG_BINDIR/pgbench missing: install postgresql-15 (bash scripts/setup.sh)"
	local pkglib
	pkglib=$("$PG_BINDIR/pg_config" --pkglibdir)
	[ -e "$pkglib/tidal.so" ] || bdie "tidal is not installed: run bash scripts/setup.sh"
	if [ -e "$REPO/tidal.so" ] && ! cmp -s "$REPO/tidal.so" "$pkglib/tidal.so"; then
		blog "note: $REPO/tidal.so differs from the installed $pkglib/tidal.so; benchmarking the installed one"
	fi
}

bench_port_free() {
	! as_pg pg_isready -q -h "$BENCH_DIR" -p "$BENCH_PORT" >/dev/null 2>&1 &&
		! ss -ltn 2>/dev/null | awk '{print $4}' | grep -q ":$BENCH_PORT\$"
}

# bench_init [extra postgresql.conf lines...]: fresh instance in $PGDATA_BENCH
bench_init() {
	bench_check_prereqs
	if [ -e "$PGDATA_BENCH/postmaster.pid" ]; then
		blog "stopping a leftover bench instance in $PGDATA_BENCH"
		as_pg pg_ctl -D "$PGDATA_BENCH" -m immediate stop >/dev/null 2>&1 || true
	fi
	bench_port_free || bdie "port $BENCH_PORT is in use; set BENCH_PORT"
	bench_fresh_dir
	as_pg initdb -D "$PGDATA_BENCH" -A trust -U "$TIDAL_USER" -E UTF8 --locale=C.UTF-8 >"$BENCH_DIR/initdb.log" 2>&1 ||
		{ cat "$BENCH_DIR/initdb.log" >&2; bdie "initdb failed"; }
	local preload=tidal
	[ -n "$BENCH_PRELOAD_EXTRA" ] && preload="tidal,$BENCH_PRELOAD_EXTRA"
	{
		echo "# tidal benchmarks (bench/lib.sh)"
		echo "port = $BENCH_PORT"
		echo "shared_preload_libraries = '$preload'"
		echo "tidal.node_id = 1"
		echo "tidal.max_entities = $BENCH_MAX_ENTITIES"
		echo "tidal.database = '$BENCH_DB'"
		bench_common_settings
		local line
		for line in "$@"; do echo "$line"; done
	} >>"$PGDATA_BENCH/postgresql.conf"
}

# bench_fresh_dir [more dirs...]: an empty $BENCH_DIR (with $BENCH_WORK and
# the given directories in it) owned by $TIDAL_USER, and $BENCH_RESULTS
bench_fresh_dir() {
	rm -rf "$BENCH_DIR"
	mkdir -p "$BENCH_DIR" "$BENCH_WORK" "$BENCH_RESULTS" "$@"
	chown -R "$TIDAL_USER:$TIDAL_USER" "$BENCH_DIR"
	chmod 755 "$BENCH_DIR"
}

# The postgresql.conf lines every benchmark instance shares: unix sockets in
# $BENCH_DIR only, $BENCH_SHARED_BUFFERS, room for WAL, durable commits.
bench_common_settings() {
	echo "listen_addresses = ''"
	echo "unix_socket_directories = '$BENCH_DIR'"
	echo "shared_buffers = '$BENCH_SHARED_BUFFERS'"
	echo "max_connections = 50"
	echo "max_wal_size = '8GB'"
	echo "checkpoint_timeout = '30min'"
	echo "wal_buffers = '16MB'"
	echo "fsync = on"
	echo "synchronous_commit = on"
	echo "logging_collector = off"
	echo "log_min_messages = warning"
	echo "log_checkpoints = on"
	# the benchmarks write tenant 0 only: it may use the whole hot state (a
	# single-tenant deployment's setting; by default a tenant gets half of it)
	echo "tidal.default_tenant_max_entities = 0"
}

# Several instances in one script (apply_rate.sh, replication_lag.sh,
# failover.sh, sessions.sh): each under $BENCH_DIR/NAME, on the port the script puts in
# its associative array PORT[NAME]; the script lists them all in INSTANCES.
#   inst_fresh_dirs [more dirs...]   stop leftovers of INSTANCES, check their
#                                    ports are free, then bench_fresh_dir
#   pgi NAME [VAR=value...] cmd...   run a command as $TIDAL_USER against NAME
#   inst_init NAME [conf lines...]   initdb, with bench_common_settings
#   inst_init_region NAME REGION MAX_ENTITIES [conf lines...]
#                                    the same for tidal region REGION (node_id
#                                    REGION + 1) in database bench
#   inst_start NAME / inst_stop NAME [mode]
#   tidal_add_peers N [star]         regions t0..tN-1 (database bench) each a
#                                    peer of every other; star: of region 0 only
#   trap instances_cleanup EXIT      stop them all (and the jobs in BG_PIDS)
inst_fresh_dirs() {
	local n
	mkdir -p "$BENCH_DIR"
	for n in "${INSTANCES[@]}"; do
		if [ -e "$BENCH_DIR/$n/postmaster.pid" ]; then
			blog "stopping a leftover instance $n"
			pgi "$n" pg_ctl -D "$BENCH_DIR/$n" -m immediate stop >/dev/null 2>&1 || true
		fi
		if ss -ltnx 2>/dev/null | grep -q "\.s\.PGSQL\.${PORT[$n]}\b" ||
			ss -ltn 2>/dev/null | awk '{print $4}' | grep -q ":${PORT[$n]}\$"; then
			bdie "port ${PORT[$n]} is in use; set BENCH_PORT_BASE"
		fi
	done
	bench_fresh_dir "$@"
}

pgi() {
	local n=$1
	shift
	as_pg "PGDATA=$BENCH_DIR/$n" "PGPORT=${PORT[$n]}" "$@"
}

inst_init() {
	local n=$1 line
	shift
	pgi "$n" initdb -D "$BENCH_DIR/$n" -A trust -U "$TIDAL_USER" -E UTF8 --locale=C.UTF-8 >"$BENCH_DIR/$n.initdb.log" 2>&1 ||
		{ cat "$BENCH_DIR/$n.initdb.log" >&2; bdie "initdb of $n failed"; }
	{
		echo "# tidal benchmarks (bench/$(basename "$0")), instance $n"
		echo "port = ${PORT[$n]}"
		bench_common_settings
		for line in "$@"; do echo "$line"; done
	} >>"$BENCH_DIR/$n/postgresql.conf"
}

inst_init_region() {
	local n=$1 r=$2 max=$3
	shift 3
	inst_init "$n" "shared_preload_libraries = 'tidal'" "tidal.node_id = $((r + 1))" "tidal.region_id = $r" \
		"tidal.database = 'bench'" "tidal.max_entities = $max" "$@"
}

inst_start() {
	pgi "$1" pg_ctl -D "$BENCH_DIR/$1" -l "$BENCH_DIR/$1.log" -w -t 120 start >/dev/null ||
		{ tail -30 "$BENCH_DIR/$1.log" >&2; bdie "instance $1 did not start"; }
}

inst_stop() {
	if [ -e "$BENCH_DIR/$1/postmaster.pid" ]; then
		pgi "$1" pg_ctl -D "$BENCH_DIR/$1" -m "${2:-fast}" -w -t 60 stop >/dev/null 2>&1 ||
			pgi "$1" pg_ctl -D "$BENCH_DIR/$1" -m immediate stop >/dev/null 2>&1 || true
	fi
}

# An EXIT trap for scripts of several instances (INSTANCES, and the
# background jobs they started in BG_PIDS): kill the jobs, stop every
# instance, and after a failure show the end of each server log.
instances_cleanup() {
	local rc=$? n p
	for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for n in "${INSTANCES[@]}"; do inst_stop "$n"; done
	if [ "$rc" -ne 0 ]; then
		for n in "${INSTANCES[@]}"; do
			[ -s "$BENCH_DIR/$n.log" ] || continue
			blog "last lines of $n's server log:"
			tail -8 "$BENCH_DIR/$n.log" >&2 || true
		done
	fi
	[ -n "${BENCH_KEEP:-}" ] || rm -rf "$BENCH_WORK"
	return "$rc"
}

tidal_add_peers() {
	local count=$1 topology=${2:-mesh} i j
	for ((i = 0; i < count; i++)); do
		for ((j = 0; j < count; j++)); do
			[ "$i" = "$j" ] && continue
			[ "$topology" = star ] && [ "$i" != 0 ] && [ "$j" != 0 ] && continue
			pgi "t$i" "PGDATABASE=bench" psql -X -qAt -v ON_ERROR_STOP=1 \
				-c "SELECT tidal.add_peer($j, 'host=$BENCH_DIR port=${PORT[t$j]} dbname=bench')" >/dev/null
		done
	done
}

# the installed tidal.so's md5 (first 12 digits): which build the instances load
so_md5() { md5sum "$("$PG_BINDIR/pg_config" --pkglibdir)/tidal.so" | cut -c1-12; }

# wait_until TIMEOUT_S WHAT CMD...: poll CMD every 0.1 s until it succeeds
wait_until() {
	local timeout=$1 what=$2 t0
	shift 2
	t0=$(now_s)
	until "$@"; do
		awk -v a="$t0" -v b="$(now_s)" -v t="$timeout" 'BEGIN { exit !(b - a > t) }' && bdie "timed out after $timeout s waiting for $what"
		sleep 0.1
	done
}

bench_start() {
	as_pg pg_ctl -D "$PGDATA_BENCH" -l "$BENCH_DIR/server.log" -w -t 120 start >/dev/null ||
		{ tail -30 "$BENCH_DIR/server.log" >&2; bdie "server did not start"; }
}

bench_stop() {
	if [ -e "$PGDATA_BENCH/postmaster.pid" ]; then
		as_pg pg_ctl -D "$PGDATA_BENCH" -m fast -w -t 120 stop >/dev/null 2>&1 ||
			as_pg pg_ctl -D "$PGDATA_BENCH" -m immediate stop >/dev/null 2>&1 || true
	fi
}

bench_cleanup() {
	local rc=$?
	bench_stop
	if [ "$rc" -ne 0 ] && [ -e "$BENCH_DIR/server.log" ]; then
		blog "last lines of the server log:"
		tail -20 "$BENCH_DIR/server.log" >&2 || true
	fi
	[ -n "${BENCH_KEEP:-}" ] || rm -rf "$BENCH_WORK"
	return "$rc"
}

# Fresh instance, started, with database $BENCH_DB, tidal created in it and
# the sealer attached to it.
bench_up() {
	bench_init "$@"
	trap bench_cleanup EXIT
	bench_start
	as_pg createdb "$BENCH_DB"
	q "CREATE EXTENSION tidal" >/dev/null
	# the sealer fails to start until $BENCH_DB exists and retries every 5 s:
	# wait until it runs, so that it does not start in the middle of a measurement
	bench_wait_sealer
}

bench_wait_sealer() {
	for _ in $(seq 1 300); do
		if [ "$(q "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'tidal sealer' AND datname = current_database()")" = 1 ]; then
			return 0
		fi
		sleep 0.1
	done
	bdie "the tidal sealer did not attach to database $BENCH_DB"
}

# The end of a loading script (psql): drop the scratch table src, seal the
# log, and leave autovacuum and the checkpointer nothing to do during the
# measurements.
bench_settle_sql() {
	cat <<'SQL'
DROP TABLE src;
SELECT tidal.seal();
-- leave autovacuum nothing to do during the measurements
VACUUM ANALYZE;
CHECKPOINT;
SQL
}

# The plain-SQL side's events table, which the benchmarks compare tidal with:
# prints its DDL, for a psql script.  With "noindex" it leaves out the index on
# (entity), for a script that builds it after loading (events_index_sql).
events_table_sql() {
	cat <<'SQL'
CREATE TABLE events (
    id     bigserial PRIMARY KEY,
    entity bigint NOT NULL,
    signal int NOT NULL,
    weight float8 NOT NULL,
    at     timestamptz NOT NULL
);
SQL
	[ "${1:-}" = noindex ] || events_index_sql
}
events_index_sql() { echo "CREATE INDEX events_entity_idx ON events (entity);"; }

# pgbench wrapper: bench_pgbench LOGNAME [VAR=value...] -- pgbench args...
# Prints the pgbench output to the log file; callers parse with pgb_tps/pgb_lat.
bench_pgbench() {
	local name=$1
	shift
	local -a envs=()
	while [ $# -gt 0 ] && [ "$1" != "--" ]; do
		envs+=("$1")
		shift
	done
	shift
	local out=$BENCH_RESULTS/$name.pgbench.txt
	as_pg "${envs[@]}" pgbench -n "$@" >"$out" 2>&1 || { cat "$out" >&2; bdie "pgbench $name failed"; }
	local failed
	failed=$(awk -F': ' '/number of failed transactions/ {split($2,a," "); print a[1]}' "$out")
	[ -z "$failed" ] || [ "$failed" = 0 ] || { cat "$out" >&2; bdie "pgbench $name: $failed failed transactions"; }
	echo "$out"
}
pgb_tps() { awk '/^tps = / {print $3; exit}' "$1"; }
pgb_lat() { awk '/^latency average = / {print $4; exit}' "$1"; }
pgb_xacts() { awk -F': ' '/number of transactions actually processed/ {split($2,a,"/"); print a[1]; exit}' "$1"; }

# float helpers (awk)
fdiv() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2f", a / b }'; }
fmt0() { awk -v a="$1" 'BEGIN { printf "%.0f", a }'; }
fmt3() { awk -v a="$1" 'BEGIN { printf "%.3f", a }'; }
# goal check: met "ratio" ">=" "0.8"
met() { awk -v a="$1" -v op="$2" -v b="$3" 'BEGIN { if (a == "n/a") { print "?"; exit } ok = (op == ">=") ? (a >= b) : (a <= b); print (ok ? "yes" : "NO") }'; }
now_s() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

# A header identifying the run, for the result files.
bench_header() {
	local title=$1
	echo "# $title"
	echo "# $(date -u '+%Y-%m-%d %H:%M:%S UTC'), $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo) RAM," \
		"$("$PG_BINDIR/postgres" --version), load average $(cut -d' ' -f1-3 /proc/loadavg)"
}

# Print a table: rows given as "col1|col2|..." lines on stdin; first line is the header.
print_table() {
	awk -F'|' '
		{ for (i = 1; i <= NF; i++) { cell[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) } if (NF > nf) nf = NF; n = NR }
		END {
			for (r = 1; r <= n; r++) {
				line = "|"
				for (i = 1; i <= nf; i++) line = line sprintf(" %-" w[i] "s |", cell[r, i])
				print line
				if (r == 1) { line = "|"; for (i = 1; i <= nf; i++) { s = ""; for (k = 0; k < w[i] + 2; k++) s = s "-"; line = line s "|" } print line }
			}
		}'
}
