#!/usr/bin/env bash
# Restart after kill -9 with 10 and with 50 million events: seconds from
# `pg_ctl start` until tidal serves a correct score, next to the time until
# the server accepts connections and until plain SQL (a score-table lookup and
# a sum over an events table) answers.
#
#   bash bench/restart.sh
#
# For each size in BENCH_SIZES ("10000000 50000000"; a fresh instance each):
# all but BENCH_TAIL (1,000,000) events are written, a snapshot is taken
# (tidal.snapshot()), then the last BENCH_TAIL events: a restart loads the
# snapshot and replays the tail, so its time should not depend on the size.
# tidal: BENCH_EVENTS events written with tidal.signal_batch,
# 1,000 a call, by BENCH_WRITERS (2) concurrent sessions, over ~1,000,000 entities (random
# entity, weight 1..3 and time within the last 7 days for each event); the
# script waits until tidal.log_batches holds them all, records every entity's
# score at a fixed instant, CHECKPOINTs and kill -9's the postmaster, then
# restarts.  After the restart it compares every entity's score with the one
# recorded before, exactly (float8 =).
# plain SQL: the same events in an events table (id bigserial PK, index on
# entity) and a score table with one row per entity (entity PK), in the same
# instance and through the same crash.
# BENCH_RESTARTS (2) kill -9/restart cycles.  The OS page cache stays warm
# (only PostgreSQL's shared memory is lost).
# Goal (issue 13): tidal serves scores in under 2 s at 10M and at 50M events.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SIZES=${BENCH_SIZES:-10000000 50000000}
TAIL=${BENCH_TAIL:-1000000}
ENTITIES=${BENCH_ENTITIES:-1000000}
RESTARTS=${BENCH_RESTARTS:-2}
WRITERS=${BENCH_WRITERS:-2}
[ "$BENCH_MAX_ENTITIES" -ge "$ENTITIES" ] || bdie "BENCH_MAX_ENTITIES must be at least BENCH_ENTITIES"
all_results=()
all_notes=()

# write tidal events g in [from, to) with WRITERS sessions, 1,000 a call
write_events() {
	local from=$1 to=$2 s w writers=()
	for s in $(seq 0 $((WRITERS - 1))); do
		awk -v s="$s" -v n="$WRITERS" -v from=$((from / 1000)) -v to=$((to / 1000)) -v e="$EV_ENTITY" -v w="$EV_WEIGHT" -v a="$EV_AT" 'BEGIN {
			for (k = from + s; k < to; k += n)
				printf "SELECT tidal.signal_batch(%cview%c, array_agg(%s), array_agg(%s), array_agg(%s)) FROM generate_series(%d, %d) g;\n",
					39, 39, e, w, a, k * 1000, k * 1000 + 999
		}' >"$BENCH_WORK/write.$s.sql"
	done
	chown -R "$TIDAL_USER:$TIDAL_USER" "$BENCH_WORK"
	for s in $(seq 0 $((WRITERS - 1))); do
		as_pg psql -X -q -v ON_ERROR_STOP=1 -o /dev/null -f "$BENCH_WORK/write.$s.sql" & writers+=($!)
	done
	for w in "${writers[@]}"; do wait "$w" || bdie "a writer failed"; done
	while [ "$(q "SELECT count(*) FROM tidal.pending")" != 0 ]; do sleep 0.2; done
}

for EVENTS in $SIZES; do
[ $((EVENTS / 1000 * 1000)) -eq "$EVENTS" ] && [ $((TAIL / 1000 * 1000)) -eq "$TAIL" ] && [ "$TAIL" -lt "$EVENTS" ] ||
	bdie "sizes and BENCH_TAIL must be multiples of 1000, the tail smaller than every size"

bench_up
T0=$(q "SELECT date_trunc('second', now())")
T1=$(q "SELECT '$T0'::timestamptz + interval '1 hour'")
# event g: entity, weight and time, the same on both sides
EV_ENTITY="((hashint8(g) & 2147483647) % $ENTITIES + 1)"
EV_WEIGHT="(1 + g % 3)::float8"
EV_AT="('$T0'::timestamptz - ((hashint8(g + 7) & 2147483647) % 604800) * interval '1 s')"

q "SELECT tidal.define_signal('view', '1 day')" >/dev/null
blog "restart: writing $((EVENTS - TAIL)) events with tidal.signal_batch ($WRITERS concurrent sessions), a snapshot, then $TAIL more"
start=$(now_s)
write_events 0 $((EVENTS - TAIL))
write_s=$(elapsed "$start" "$(now_s)")
start=$(now_s)
q "SELECT tidal.snapshot()" >/dev/null
snap_s=$(elapsed "$start" "$(now_s)")
IFS='|' read -r snap_entries snap_bytes <<<"$(q "SELECT entries, bytes FROM tidal.snapshots ORDER BY snapshot_id DESC LIMIT 1")"
write_events $((EVENTS - TAIL)) "$EVENTS"
sealed_s=$write_s
IFS='|' read -r nbatches nsealed logbytes <<<"$(q "SELECT count(*), sum(event_count), sum(bytes) FROM tidal.log_batches")"
# the log also holds one record per signal definition, counted as one event
ndefs=$(q "SELECT count(*) FROM tidal.signal_defs")
[ "$nsealed" -eq $((EVENTS + ndefs)) ] || bdie "tidal.log_batches holds $nsealed events, expected $EVENTS + $ndefs definition(s)"

blog "restart: loading the same events into the plain tables"
start=$(now_s)
qscript >/dev/null <<SQL
$(events_table_sql noindex)
INSERT INTO events (entity, signal, weight, at)
SELECT $EV_ENTITY, 1, $EV_WEIGHT, $EV_AT FROM generate_series(0, $EVENTS - 1) g;
$(events_index_sql)
CREATE TABLE scores (entity bigint PRIMARY KEY, score float8 NOT NULL, at timestamptz NOT NULL);
INSERT INTO scores
SELECT entity, sum(weight * power(2, -date_part('epoch', last_at - at) / 86400)), max(last_at)
  FROM (SELECT entity, weight, at, max(at) OVER (PARTITION BY entity) AS last_at FROM events) s
 GROUP BY entity;
VACUUM ANALYZE events;
VACUUM ANALYZE scores;
SQL
plain_load_s=$(elapsed "$start" "$(now_s)")

# every entity's score at T1 before the crash; the probe entity for the pollers
qscript >/dev/null <<SQL
CREATE TABLE before_scores AS
SELECT entity, tidal.decay_score(entity, 'view', '$T1') AS score FROM scores;
SQL
IFS='|' read -r PROBE probe_score probe_sum entries_before <<<"$(q "SELECT s.entity, s.score,
	(SELECT sum(weight * power(2, -date_part('epoch', '$T1'::timestamptz - at) / 86400)) FROM events e WHERE e.entity = s.entity),
	(SELECT entries FROM tidal.state_stats())
	FROM before_scores s ORDER BY entity LIMIT 1 OFFSET 4242")"
blog "restart: probe entity $PROBE: tidal score $probe_score, plain sum $probe_sum; $entries_before entries in the hot state"

cat >"$BENCH_WORK/poll.sh" <<'EOF'
# poll.sh OUTFILE SQL: retry SQL until it returns a row; write "epoch_seconds value"
out=$1 sql=$2
for i in $(seq 1 30000); do
	if v=$(psql -X -qAt -c "$sql" 2>/dev/null) && [ -n "$v" ]; then
		echo "$(date +%s.%N) $v" >"$out"
		exit 0
	fi
	sleep 0.01
done
exit 1
EOF
chown "$TIDAL_USER:$TIDAL_USER" "$BENCH_WORK/poll.sh"

TIDAL_SQL="SELECT tidal.decay_score($PROBE, 'view', '$T1')"
PK_SQL="SELECT score * power(2, -date_part('epoch', '$T1'::timestamptz - at) / 86400) FROM scores WHERE entity = $PROBE"
SUM_SQL="SELECT sum(weight * power(2, -date_part('epoch', '$T1'::timestamptz - at) / 86400)) FROM events WHERE entity = $PROBE"

results=()
for cycle in $(seq 1 "$RESTARTS"); do
	q "CHECKPOINT" >/dev/null
	pm=$(head -1 "$PGDATA_BENCH/postmaster.pid")
	children=$(pgrep -P "$pm" | tr '\n' ' ')
	blog "restart: cycle $cycle: kill -9 postmaster $pm"
	kill -9 "$pm"
	for p in $children; do
		for _ in $(seq 1 3000); do kill -0 "$p" 2>/dev/null || break; sleep 0.01; done
	done
	rm -f "$BENCH_WORK"/poll.*.out
	start=$(now_s)
	as_pg pg_ctl -D "$PGDATA_BENCH" -l "$BENCH_DIR/server.log" start >/dev/null 2>&1  # (warns that postmaster.pid is left over)
	as_pg bash "$BENCH_WORK/poll.sh" "$BENCH_WORK/poll.ready.out" "SELECT 1" & p1=$!
	as_pg bash "$BENCH_WORK/poll.sh" "$BENCH_WORK/poll.pk.out" "$PK_SQL" & p2=$!
	as_pg bash "$BENCH_WORK/poll.sh" "$BENCH_WORK/poll.sum.out" "$SUM_SQL" & p3=$!
	as_pg bash "$BENCH_WORK/poll.sh" "$BENCH_WORK/poll.tidal.out" "$TIDAL_SQL" & p4=$!
	wait $p1 $p2 $p3 $p4 || bdie "a poller timed out"
	t_ready=$(elapsed "$start" "$(cut -d' ' -f1 "$BENCH_WORK/poll.ready.out")")
	t_pk=$(elapsed "$start" "$(cut -d' ' -f1 "$BENCH_WORK/poll.pk.out")")
	t_sum=$(elapsed "$start" "$(cut -d' ' -f1 "$BENCH_WORK/poll.sum.out")")
	t_tidal=$(elapsed "$start" "$(cut -d' ' -f1 "$BENCH_WORK/poll.tidal.out")")
	v_tidal=$(cut -d' ' -f2 "$BENCH_WORK/poll.tidal.out")
	# every entity, exactly
	IFS='|' read -r n_cmp n_diff max_rel entries_after <<<"$(q "SELECT count(*),
		count(*) FILTER (WHERE a <> b.score),
		coalesce(max(abs(a - b.score) / nullif(abs(b.score), 0)), 0),
		(SELECT entries FROM tidal.state_stats())
		FROM (SELECT entity, score, tidal.decay_score(entity, 'view', '$T1') AS a FROM before_scores) b")"
	blog "restart: cycle $cycle: accepting connections ${t_ready}s, score table ${t_pk}s, plain sum ${t_sum}s, tidal ${t_tidal}s" \
		"(value $v_tidal, before $probe_score); $n_diff of $n_cmp scores differ, max relative difference $max_rel"
	results+=("$EVENTS|$cycle|$t_ready|$t_pk|$t_sum|$t_tidal|$(elapsed "$t_ready" "$t_tidal")|$([ "$v_tidal" = "$probe_score" ] && echo exact || echo "DIFFERS ($v_tidal vs $probe_score)")|$n_diff of $n_cmp (max rel. $max_rel)|$entries_before -> $entries_after|$(met "$t_tidal" "<=" 2)")
	blog "restart: $(grep -o 'tidal rebuilt its hot state from .*' "$BENCH_DIR/server.log" | tail -1)"
done
redo=$(grep -o "redo done at .*" "$BENCH_DIR/server.log" | tail -1 || true)
bench_stop
all_results+=("${results[@]}")
all_notes+=("$EVENTS events: tidal log $nsealed events in $nbatches sealed batches, $(awk -v b="$logbytes" 'BEGIN { printf "%.0f", b / 1048576 }') MiB; $((EVENTS - TAIL)) written in ${write_s}s by $WRITERS sessions, snapshot of $snap_entries entries ($(awk -v b="$snap_bytes" 'BEGIN { printf "%.0f", b / 1048576 }') MiB) taken in ${snap_s}s, then $TAIL more; plain tables loaded in ${plain_load_s}s; probe entity $PROBE. ${redo:+Last crash recovery: $redo}")
done

# tidal allocates and touches its whole hot state when the server starts:
# start time of an empty instance by tidal.max_entities
START_SIZES=${BENCH_START_SIZES:-1000 $BENCH_MAX_ENTITIES 8000000}
starts=()
for size in $START_SIZES; do
	BENCH_MAX_ENTITIES=$size bench_init
	best=
	for _ in 1 2; do
		start=$(now_s)
		bench_start
		t=$(elapsed "$start" "$(now_s)")
		rss=$(ps -o rss= -p "$(head -1 "$PGDATA_BENCH/postmaster.pid")" | tr -d ' ')
		bench_stop
		best=$(awk -v a="${best:-1e9}" -v b="$t" 'BEGIN { print (b < a) ? b : a }')
	done
	starts+=("$size|$best|$(awk -v r="$rss" 'BEGIN { printf "%.0f", r / 1024 }')")
	blog "restart: empty instance with tidal.max_entities = $size starts in ${best}s"
done

{
	bench_header "restart: kill -9 with $SIZES events over ~$ENTITIES entities (a snapshot before the last $TAIL); seconds from pg_ctl start until each query first answers (warm OS page cache)"
	{
		echo "events|cycle|server accepts connections|plain: score-table lookup|plain: sum over events|tidal.decay_score|of which after accepting connections|probe score vs before|all scores vs before (exact =)|hot-state entries|tidal goal < 2 s"
		printf '%s\n' "${all_results[@]}"
	} | print_table
	echo
	printf '%s\n' "${all_notes[@]}"
	echo "plain tables: INSERT ... SELECT, index built afterwards, score table by aggregate."
	echo
	echo "start time of an empty instance (pg_ctl start -w, best of 2) by tidal.max_entities (shared_buffers $BENCH_SHARED_BUFFERS):"
	{
		echo "tidal.max_entities|pg_ctl start -w (s)|postmaster RSS after start (MiB)"
		printf '%s\n' "${starts[@]}"
	} | print_table
} | tee "$BENCH_RESULTS/restart.txt"
