#!/usr/bin/env bash
# Single-event writes: tidal.signal() versus a plain single-row INSERT into an
# indexed events table, with synchronous_commit on and off, in one run.
#
#   bash bench/signal_rate.sh
#
# Knobs: BENCH_DURATION (15 s per run), BENCH_CLIENTS (4), BENCH_THREADS (2),
#        BENCH_ROUNDS (2: each side runs this many times per setting, alternating
#        which goes first; the table shows the mean), BENCH_ENTITIES (100000).
# Goal: tidal >= 0.8x the plain INSERT rate.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DURATION=${BENCH_DURATION:-15}
CLIENTS=${BENCH_CLIENTS:-4}
THREADS=${BENCH_THREADS:-2}
ROUNDS=${BENCH_ROUNDS:-2}
ENTITIES=${BENCH_ENTITIES:-100000}

bench_up

qscript >/dev/null <<'SQL'
SELECT tidal.define_signal('view', '1 hour');
CREATE TABLE events (
    id     bigserial PRIMARY KEY,
    entity bigint NOT NULL,
    signal int NOT NULL,
    weight float8 NOT NULL,
    at     timestamptz NOT NULL
);
CREATE INDEX events_entity_idx ON events (entity);
SQL

cat >"$BENCH_WORK/tidal.sql" <<EOF
\\set e random(1, $ENTITIES)
SELECT tidal.signal('view', :e);
EOF
cat >"$BENCH_WORK/plain.sql" <<EOF
\\set e random(1, $ENTITIES)
INSERT INTO events (entity, signal, weight, at) VALUES (:e, 1, 1, now());
EOF
chown -R "$TIDAL_USER:$TIDAL_USER" "$BENCH_WORK"

logged_events() {
	q "SELECT tidal.seal()" >/dev/null
	q "SELECT coalesce((SELECT sum(event_count) FROM tidal.batches), 0)"
}

run_one() {	# side sync round -> tps
	local side=$1 sync=$2 round=$3 out before after x
	q "CHECKPOINT" >/dev/null
	if [ "$side" = tidal ]; then
		before=$(logged_events)
	else
		q "TRUNCATE events" >/dev/null
	fi
	out=$(bench_pgbench "signal_rate.$side.sync_$sync.$round" "PGOPTIONS=-c synchronous_commit=$sync" -- \
		-M prepared -c "$CLIENTS" -j "$THREADS" -T "$DURATION" -f "$BENCH_WORK/$side.sql")
	x=$(pgb_xacts "$out")
	if [ "$side" = tidal ]; then
		after=$(logged_events)
		[ $((after - before)) -eq "$x" ] ||
			bdie "tidal logged $((after - before)) events but pgbench committed $x transactions"
	else
		[ "$(q "SELECT count(*) FROM events")" -eq "$x" ] || bdie "events row count differs from pgbench's count"
	fi
	blog "signal_rate: $side, synchronous_commit=$sync, round $round: $(fmt0 "$(pgb_tps "$out")") events/s"
	pgb_tps "$out"
}

declare -A sum
for sync in on off; do
	sum[tidal.$sync]=0
	sum[plain.$sync]=0
	for round in $(seq 1 "$ROUNDS"); do
		if [ $((round % 2)) -eq 1 ]; then order="tidal plain"; else order="plain tidal"; fi
		for side in $order; do
			tps=$(run_one "$side" "$sync" "$round")
			sum[$side.$sync]=$(awk -v a="${sum[$side.$sync]}" -v b="$tps" 'BEGIN { print a + b }')
		done
	done
done

{
	bench_header "signal_rate: single-event writes, pgbench -M prepared -c $CLIENTS -j $THREADS -T $DURATION, mean of $ROUNDS runs each, random entity in 1..$ENTITIES"
	{
		echo "synchronous_commit|tidal.signal (events/s)|plain INSERT (rows/s)|ratio tidal/plain|goal >= 0.8x"
		for sync in on off; do
			t=$(awk -v a="${sum[tidal.$sync]}" -v n="$ROUNDS" 'BEGIN { print a / n }')
			p=$(awk -v a="${sum[plain.$sync]}" -v n="$ROUNDS" 'BEGIN { print a / n }')
			r=$(fdiv "$t" "$p")
			echo "$sync|$(fmt0 "$t")|$(fmt0 "$p")|$r|$(met "$r" ">=" 0.8)"
		done
	} | print_table
} | tee "$BENCH_RESULTS/signal_rate.txt"
