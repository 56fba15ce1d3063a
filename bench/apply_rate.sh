#!/usr/bin/env bash
# Apply throughput: how fast a region applies a backlog of another region's
# events, against how fast a native logical replication subscriber applies the
# same backlog of rows. Both backlogs are written first, as BENCH_EVENTS /
# 1,000 transactions of 1,000 events each (tidal.signal_batch on one side,
# INSERT ... SELECT into an indexed events table on the other); then the
# receiving side is switched on (tidal.add_peer; ALTER SUBSCRIPTION ... ENABLE)
# and timed until it holds every event.
#
#   bash bench/apply_rate.sh
#
# Knobs: BENCH_EVENTS (500000), BENCH_ROUNDS (2: each side this many times, the
#        table shows the mean), BENCH_PORT_BASE (56520; four ports from it).
# Goal (issue 11): the checks on replicated records keep tidal's ratio to
# native within 5 % of the build before them (see bench/checks_cost.sh).
: "${BENCH_DIR:=/tmp/tidal-bench-apply}"
: "${BENCH_SHARED_BUFFERS:=256MB}"
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

EVENTS=${BENCH_EVENTS:-500000}
ROUNDS=${BENCH_ROUNDS:-2}
PORT_BASE=${BENCH_PORT_BASE:-56520}
ENTITIES=100000
CALLS=$((EVENTS / 1000))
EVENTS=$((CALLS * 1000))
declare -A PORT=([t0]=$PORT_BASE [t1]=$((PORT_BASE + 1)) [n0]=$((PORT_BASE + 2)) [n1]=$((PORT_BASE + 3)))
INSTANCES=(t0 t1 n0 n1)

qi() { pgi "$1" "PGDATABASE=bench" psql -X -qAt -v ON_ERROR_STOP=1 -c "$2"; }
qiscript() { local n=$1; shift; pgi "$n" "PGDATABASE=bench" psql -X -q -v ON_ERROR_STOP=1 "$@"; }

apply_cleanup() {
	local rc=$? n
	for n in "${INSTANCES[@]}"; do inst_stop "$n" immediate; done
	[ -n "${BENCH_KEEP:-}" ] || rm -rf "$BENCH_DIR"
	return "$rc"
}

bench_check_prereqs
inst_fresh_dirs
trap apply_cleanup EXIT

# the backlogs, one statement (one transaction) per 1,000 events
for ((i = 0; i < CALLS; i++)); do
	echo "SELECT tidal.signal_batch('view', ARRAY(SELECT (random() * $ENTITIES)::int8 + 1 FROM generate_series(1, 1000)));"
done >"$BENCH_WORK/load.tidal.sql"
for ((i = 0; i < CALLS; i++)); do
	echo "INSERT INTO public.events (entity, signal, weight, at) SELECT (random() * $ENTITIES)::int8 + 1, 1, 1, now() FROM generate_series(1, 1000);"
done >"$BENCH_WORK/load.native.sql"
chown -R "$TIDAL_USER:$TIDAL_USER" "$BENCH_WORK"

# one round of one side: fresh instances, backlog, then time the catch-up
round_tidal() {
	local t0 t1 want
	inst_init_region t0 0 "$((ENTITIES * 2))"
	inst_init_region t1 1 "$((ENTITIES * 2))"
	for n in t0 t1; do inst_start "$n"; pgi "$n" createdb bench; qi "$n" "CREATE EXTENSION tidal" >/dev/null; done
	# each region defines the signal while it is a cluster of one (a build
	# before 0.5 did not apply a batch whose definition came in the same pull)
	for n in t0 t1; do qi "$n" "SELECT tidal.define_signal('view', '7 days')" >/dev/null; done
	qiscript t0 -f "$BENCH_WORK/load.tidal.sql" >/dev/null
	qi t0 "SELECT tidal.seal()" >/dev/null
	want=$(qi t0 "SELECT sum(event_count) FROM tidal.batches WHERE origin_region = 0")
	have_all() { [ "$(qi t1 "SELECT coalesce(sum(event_count), 0) FROM tidal.batches WHERE origin_region = 0")" = "$want" ]; }
	t0=$(now_s)
	qi t1 "SELECT tidal.add_peer(0, 'host=$BENCH_DIR port=${PORT[t0]} dbname=bench')" >/dev/null
	wait_until "${BENCH_TIMEOUT:-600}" "region 1 to apply region 0's $want events" have_all
	t1=$(now_s)
	# the applied state, not just the log: the same total score in both regions
	[ "$(qi t0 "SELECT round(sum(tidal.decay_score(e, 'view', '2100-01-01'))::numeric, 6) FROM generate_series(1, $((ENTITIES + 1))) e")" = \
		"$(qi t1 "SELECT round(sum(tidal.decay_score(e, 'view', '2100-01-01'))::numeric, 6) FROM generate_series(1, $((ENTITIES + 1))) e")" ] ||
		bdie "region 1's scores differ from region 0's after the catch-up"
	for n in t0 t1; do inst_stop "$n"; rm -rf "${BENCH_DIR:?}/$n"; done
	awk -v e="$EVENTS" -v s="$(elapsed "$t0" "$t1")" 'BEGIN { printf "%.0f", e / s }'
}

round_native() {
	local t0 t1
	inst_init n0 "wal_level = logical"
	inst_init n1
	for n in n0 n1; do inst_start "$n"; pgi "$n" createdb bench; events_table_sql | qiscript "$n" >/dev/null; done
	qi n0 "CREATE PUBLICATION apply_pub FOR TABLE public.events" >/dev/null
	qi n1 "CREATE SUBSCRIPTION apply_sub CONNECTION 'host=$BENCH_DIR port=${PORT[n0]} dbname=bench' PUBLICATION apply_pub WITH (copy_data = false)" >/dev/null
	qi n1 "ALTER SUBSCRIPTION apply_sub DISABLE" >/dev/null
	qiscript n0 -f "$BENCH_WORK/load.native.sql" >/dev/null
	have_all() { [ "$(qi n1 "SELECT count(*) FROM public.events")" = "$EVENTS" ]; }
	t0=$(now_s)
	qi n1 "ALTER SUBSCRIPTION apply_sub ENABLE" >/dev/null
	wait_until "${BENCH_TIMEOUT:-600}" "the subscriber to apply $EVENTS rows" have_all
	t1=$(now_s)
	for n in n0 n1; do inst_stop "$n"; rm -rf "${BENCH_DIR:?}/$n"; done
	awk -v e="$EVENTS" -v s="$(elapsed "$t0" "$t1")" 'BEGIN { printf "%.0f", e / s }'
}

declare -A sum=([tidal]=0 [native]=0)
for ((r = 1; r <= ROUNDS; r++)); do
	for side in tidal native; do
		blog "apply_rate: round $r, $side, $EVENTS events"
		rate=$("round_$side")
		blog "apply_rate: round $r, $side: $rate events/s"
		sum[$side]=$((sum[$side] + rate))
	done
done
tidal_rate=$((sum[tidal] / ROUNDS))
native_rate=$((sum[native] / ROUNDS))
{
	bench_header "apply_rate: a backlog of $EVENTS events ($CALLS transactions of 1,000) applied by a second region vs a native subscriber, mean of $ROUNDS"
	printf '%s\n' "side|events/s applied" "tidal (region 1 pulling region 0)|$tidal_rate" \
		"native logical replication (subscriber enabled)|$native_rate" \
		"tidal / native|$(fdiv "$tidal_rate" "$native_rate")" | print_table
} | tee "$BENCH_RESULTS/apply_rate.txt"
