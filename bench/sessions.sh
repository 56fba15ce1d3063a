#!/usr/bin/env bash
# Roaming sessions (issue 15): how soon an agent that moves to another region
# finds its session there, and what a session's bookkeeping costs a write --
# tidal against what a user would build instead: a plain table of session
# events with a (session, seqno) primary key, replicated by native logical
# replication. Both in one run.
#
#   bash bench/sessions.sh
#
# Five private instances under $BENCH_DIR (/tmp/tidal-bench-sessions), unix
# sockets only, ports 56600-56604:
#   t0 t1 t2  tidal regions 0, 1, 2, every region a peer of every other
#   n0        stock PostgreSQL, wal_level = logical, PUBLICATION of session_events
#   n1        stock PostgreSQL, SUBSCRIPTION to n0 (default options)
#
# 1. Visibility after a move. $BENCH_TRIALS (200) agents, one after another,
#    $BENCH_TRIAL_GAP_MS (100) apart: each writes seqnos 1-5 of its own
#    session in region 0 (five autocommit statements, one psql session for
#    all), noting clock_timestamp() in the statement of seqno 5, before its
#    commit (t_ins). In region 1 a poller (a PL/pgSQL procedure: no client
#    round trip) waits for each agent's session in turn:
#      tidal:  tidal.await_session(session, 5, '10 s')      (polls every 2 ms)
#      native: max(seqno) FROM session_events WHERE session = ... >= 5,
#              committing and sleeping 1 ms between looks
#    and notes clock_timestamp() when it returns (t_seen). Lag = t_seen - t_ins.
#    Meanwhile pgbench -R $BENCH_LOAD_RATE (1,000/s) writes single events into
#    the writer (tidal.signal; INSERT into an events table on n0).
#    Goal (the issue's): every session visible in the other region within 2 s.
# 2. The cost of a session write. pgbench -T $BENCH_SECONDS (15) -c 4 -j 2, one
#    session per client numbered by a sequence per client, unthrottled:
#      tidal.signal(...)                                   (no session)
#      tidal.signal(..., idempotency_key => ...)           (a key, as a session has)
#      tidal.signal(..., session => 'c' || :client_id, session_seqno => nextval(...))
#      INSERT INTO session_events ... ON CONFLICT DO NOTHING  (n0, published)
#
# Knobs: BENCH_TRIALS, BENCH_TRIAL_GAP_MS, BENCH_LOAD_RATE, BENCH_SECONDS,
#        BENCH_CLIENTS (4), BENCH_PORT_BASE (56600), BENCH_DIR.
: "${BENCH_DIR:=/tmp/tidal-bench-sessions}"
: "${BENCH_SHARED_BUFFERS:=256MB}"
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TRIALS=${BENCH_TRIALS:-200}
GAP_MS=${BENCH_TRIAL_GAP_MS:-100}
LOAD_RATE=${BENCH_LOAD_RATE:-1000}
SECONDS_RUN=${BENCH_SECONDS:-15}
CLIENTS=${BENCH_CLIENTS:-4}
PORT_BASE=${BENCH_PORT_BASE:-56600}
LIMIT_S=2

INSTANCES=(t0 t1 t2 n0 n1)
declare -A PORT
for i in "${!INSTANCES[@]}"; do PORT[${INSTANCES[$i]}]=$((PORT_BASE + i)); done
OUT=$BENCH_RESULTS/sessions

qi() { pgi "$1" "PGDATABASE=bench" psql -X -qAt -v ON_ERROR_STOP=1 -c "$2"; }
qif() { local n=$1; shift; pgi "$n" "PGDATABASE=bench" psql -X -qAt -v ON_ERROR_STOP=1 "$@"; }

BG_PIDS=()

bench_check_prereqs
SO_MD5=$(so_md5)
inst_fresh_dirs
trap instances_cleanup EXIT
mkdir -p "$OUT" "$BENCH_WORK"
chown "$TIDAL_USER" "$BENCH_WORK" 2>/dev/null || true

blog "sessions: 3 tidal regions and 2 stock instances on ports ${PORT[t0]}-${PORT[n1]}"
for i in 0 1 2; do inst_init_region "t$i" "$i" 200000; done
inst_init n0 "wal_level = logical"
inst_init n1
for n in "${INSTANCES[@]}"; do inst_start "$n"; pgi "$n" createdb bench; done
for n in t0 t1 t2; do qi "$n" "CREATE EXTENSION tidal" >/dev/null; done
qi t0 "SELECT tidal.define_signal('view', '7 days')" >/dev/null
tidal_add_peers 3
tidal_defined() { [ "$(qi t1 "SELECT count(*) FROM tidal.signals")" = 1 ]; }
wait_until 60 "the signal definition to reach region 1" tidal_defined

native_sql="CREATE TABLE session_events (session text, seqno bigint, entity bigint NOT NULL,
    weight float8 NOT NULL, at timestamptz NOT NULL, PRIMARY KEY (session, seqno));
  CREATE TABLE events (id bigserial PRIMARY KEY, entity bigint NOT NULL, weight float8 NOT NULL,
    at timestamptz NOT NULL);"
for n in n0 n1; do qi "$n" "$native_sql" >/dev/null; done
qi n0 "CREATE PUBLICATION s_pub FOR TABLE session_events, events" >/dev/null
qi n1 "CREATE SUBSCRIPTION s_sub CONNECTION 'host=$BENCH_DIR port=${PORT[n0]} dbname=bench' PUBLICATION s_pub" >/dev/null
native_ready() {
	[ "$(qi n1 "SELECT count(*) FROM pg_subscription_rel WHERE srsubstate = 'r'")" = 2 ] &&
		[ "$(qi n1 "SELECT count(*) FROM pg_stat_subscription WHERE pid IS NOT NULL AND relid IS NULL")" = 1 ]
}
wait_until 60 "the subscription to be ready" native_ready
for c in $(seq 0 $((CLIENTS - 1))); do
	qi t0 "CREATE SEQUENCE public.seq_$c" >/dev/null
	qi n0 "CREATE SEQUENCE public.seq_$c" >/dev/null
done

# ---------------------------------------------------------------- 1. after a move

# the poller: waits for each agent's session in turn; one "k epoch" line each
poller_sql() {	# tidal|native
	local wait
	if [ "$1" = tidal ]; then
		wait="PERFORM tidal.await_session('roam-' || k, 5, '10 s');"
	else
		wait="LOOP
            EXIT WHEN coalesce((SELECT max(seqno) FROM session_events WHERE session = 'roam-' || k), 0) >= 5;
            COMMIT;
            PERFORM pg_sleep(0.001);
        END LOOP;"
	fi
	cat <<SQL
CREATE OR REPLACE PROCEDURE public.roam_watch(n int, INOUT result text DEFAULT NULL)
LANGUAGE plpgsql AS \$\$
DECLARE
    seen text[] := '{}';
BEGIN
    FOR k IN 1 .. n LOOP
        $wait
        seen := seen || (k || ' ' || extract(epoch FROM clock_timestamp()));
        COMMIT;
    END LOOP;
    result := array_to_string(seen, E'\n');
END \$\$;
SQL
}

writer_script() {	# tidal|native -> psql script of the agents' writes
	local k s
	for k in $(seq 1 "$TRIALS"); do
		for s in 1 2 3 4; do
			if [ "$1" = tidal ]; then
				echo "SELECT tidal.signal('view', $k, 1, now(), session => 'roam-$k', session_seqno => $s) IS NULL;"
			else
				echo "INSERT INTO session_events VALUES ('roam-$k', $s, $k, 1, now());"
			fi
		done
		if [ "$1" = tidal ]; then
			echo "SELECT '$k ' || extract(epoch FROM clock_timestamp()) FROM (SELECT tidal.signal('view', $k, 1, now(), session => 'roam-$k', session_seqno => 5)) w;"
		else
			echo "WITH w AS (INSERT INTO session_events VALUES ('roam-$k', 5, $k, 1, now()) RETURNING 1) SELECT '$k ' || extract(epoch FROM clock_timestamp()) FROM w;"
		fi
		echo "SELECT pg_sleep($GAP_MS / 1000.0) IS NULL;"
	done
}

visibility() {	# tidal|native WRITER READER
	local sys=$1 w=$2 r=$3 load
	if [ "$sys" = tidal ]; then
		echo "SELECT tidal.signal('view', 1000000 + :e, 1, now());" >"$BENCH_WORK/load.sql"
	else
		echo "INSERT INTO events (entity, weight, at) VALUES (1000000 + :e, 1, now());" >"$BENCH_WORK/load.sql"
	fi
	sed -i '1i \\set e random(1, 100000)' "$BENCH_WORK/load.sql"
	chmod a+r "$BENCH_WORK/load.sql"
	poller_sql "$sys" | qif "$r" >/dev/null
	writer_script "$sys" >"$BENCH_WORK/writer_$sys.sql"
	chmod a+r "$BENCH_WORK/writer_$sys.sql"
	pgi "$w" "PGDATABASE=bench" pgbench -n -M prepared -R "$LOAD_RATE" -c 4 -j 2 -T 3600 \
		-f "$BENCH_WORK/load.sql" >"$OUT/load_$sys.txt" 2>&1 &
	load=$!
	BG_PIDS+=("$load")
	sleep 3
	qif "$r" -c "CALL public.roam_watch($TRIALS)" >"$OUT/seen_$sys.txt" &
	local poller=$!
	qif "$w" -f "$BENCH_WORK/writer_$sys.sql" | grep -E '^[0-9]+ [0-9.]+$' >"$OUT/ins_$sys.txt"
	wait "$poller"
	kill "$load" 2>/dev/null || true
	wait "$load" 2>/dev/null || true
	# lag per agent, in ms, sorted
	join <(sort -k1,1 "$OUT/ins_$sys.txt") <(sort -k1,1 "$OUT/seen_$sys.txt") |
		awk '{ printf "%.3f\n", ($3 - $2) * 1000 }' | sort -n >"$OUT/lag_$sys.txt"
	[ "$(wc -l <"$OUT/lag_$sys.txt")" = "$TRIALS" ] || bdie "$sys: $(wc -l <"$OUT/lag_$sys.txt") of $TRIALS agents measured"
}
pct() { awk -v p="$2" '{ v[NR] = $1 } END { i = int(NR * p / 100 + 0.999); if (i < 1) i = 1; if (i > NR) i = NR; print v[i] }' "$1"; }

blog "1. visibility after a move: $TRIALS agents, each in tidal then native, under $LOAD_RATE writes/s"
visibility tidal t0 t1
visibility native n0 n1
[ "$(qi t1 "SELECT count(*) FROM tidal.sessions WHERE applied_seqno = 5 AND held = 0")" = "$TRIALS" ] ||
	bdie "region 1 does not have every session at seqno 5"
[ "$(qi t2 "SELECT count(*) FROM tidal.sessions WHERE applied_seqno = 5 AND held = 0")" = "$TRIALS" ] ||
	bdie "region 2 does not have every session at seqno 5"

# ---------------------------------------------------------------- 2. cost

blog "2. the cost of a session write: pgbench -T $SECONDS_RUN -c $CLIENTS, unthrottled"
cat >"$BENCH_WORK/plain.sql" <<'SQL'
\set e random(1, 100000)
SELECT tidal.signal('view', :e, 1, now());
SQL
cat >"$BENCH_WORK/keyed.sql" <<'SQL'
\set e random(1, 100000)
SELECT tidal.signal('view', :e, 1, now(), idempotency_key => 'k' || :client_id || '-' || nextval(('public.seq_' || :client_id)::regclass));
SQL
cat >"$BENCH_WORK/session.sql" <<'SQL'
\set e random(1, 100000)
SELECT tidal.signal('view', :e, 1, now(), session => 'c' || :client_id, session_seqno => nextval(('public.seq_' || :client_id)::regclass));
SQL
cat >"$BENCH_WORK/native.sql" <<'SQL'
\set e random(1, 100000)
INSERT INTO session_events VALUES ('c' || :client_id, nextval(('public.seq_' || :client_id)::regclass), :e, 1, now()) ON CONFLICT DO NOTHING;
SQL
chmod a+r "$BENCH_WORK"/*.sql
declare -A TPS
for kind in plain keyed session native; do
	inst=t0
	[ "$kind" = native ] && inst=n0
	pgi "$inst" "PGDATABASE=bench" pgbench -n -M prepared -c "$CLIENTS" -j 2 -T "$SECONDS_RUN" \
		-f "$BENCH_WORK/$kind.sql" >"$OUT/cost_$kind.txt" 2>&1 || { cat "$OUT/cost_$kind.txt" >&2; bdie "pgbench $kind failed"; }
	TPS[$kind]=$(pgb_tps "$OUT/cost_$kind.txt")
done

# ---------------------------------------------------------------- report

{
	bench_header "bench/sessions.sh: roaming sessions (tidal.so $SO_MD5)"
	echo
	echo "## 1. An agent's session visible in another region: $TRIALS agents, under $LOAD_RATE writes/s"
	echo
	{
		echo "system|p50 ms|p90 ms|p99 ms|max ms|goal: max < ${LIMIT_S} s"
		for sys in tidal native; do
			f=$OUT/lag_$sys.txt
			mx=$(tail -1 "$f")
			echo "$sys|$(pct "$f" 50)|$(pct "$f" 90)|$(pct "$f" 99)|$mx|$(met "$mx" "<=" "$((LIMIT_S * 1000))")"
		done
		echo "tidal / native (p50)|$(fdiv "$(pct "$OUT/lag_tidal.txt" 50)" "$(pct "$OUT/lag_native.txt" 50)")||$(fdiv "$(pct "$OUT/lag_tidal.txt" 99)" "$(pct "$OUT/lag_native.txt" 99)") (p99)||"
	} | print_table
	echo
	echo "## 2. Single writes, $CLIENTS clients, ${SECONDS_RUN} s each"
	echo
	{
		echo "write|tps|vs tidal.signal"
		echo "tidal.signal, no session|${TPS[plain]}|1.00"
		echo "tidal.signal with an idempotency key|${TPS[keyed]}|$(fdiv "${TPS[keyed]}" "${TPS[plain]}")"
		echo "tidal.signal with session and seqno|${TPS[session]}|$(fdiv "${TPS[session]}" "${TPS[plain]}")"
		echo "INSERT into a published session_events table|${TPS[native]}|$(fdiv "${TPS[native]}" "${TPS[plain]}")"
	} | print_table
} | tee "$OUT/summary.md"
