#!/usr/bin/env bash
# Single-event writes: tidal.signal() versus a plain single-row INSERT into an
# indexed events table, with synchronous_commit on and off, in one run.
#
#   bash bench/signal_rate.sh
#
# Knobs: BENCH_DURATION (15 s per run), BENCH_CLIENTS (4), BENCH_THREADS (2),
#        BENCH_ROUNDS (2: each side runs this many times per setting, alternating
#        which goes first; the table shows the mean), BENCH_ENTITIES (100000),
#        BENCH_SUSTAINED (60: then one longer run per side with
#        synchronous_commit off, plain first, showing how the rates evolve;
#        0 skips it), BENCH_SEAL_GROUP_DELAY (unset: tidal.seal_group_delay's
#        default, 5ms; e.g. 0 seals at every commit, as before 0.6),
#        BENCH_PEERS (0: the region alone; 2: two more regions, instances
#        p1 and p2 on the next ports, each a peer of every other, so the
#        region ships what it seals to two peers while it is measured).
# Goal: tidal >= 0.8x the plain INSERT rate (issue 13: >= 1.0x).
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DURATION=${BENCH_DURATION:-15}
CLIENTS=${BENCH_CLIENTS:-4}
THREADS=${BENCH_THREADS:-2}
ROUNDS=${BENCH_ROUNDS:-2}
ENTITIES=${BENCH_ENTITIES:-100000}
SUSTAINED=${BENCH_SUSTAINED:-60}

bench_up ${BENCH_SEAL_GROUP_DELAY:+"tidal.seal_group_delay = '$BENCH_SEAL_GROUP_DELAY'"}

qscript >/dev/null <<SQL
SELECT tidal.define_signal('view', '1 hour');
$(events_table_sql)
SQL

# BENCH_PEERS: more regions, started after the definition (made while this
# region is alone, and so its own leader), which reaches them through the log
PEERS=${BENCH_PEERS:-0}
INSTANCES=()
declare -A PORT
if [ "$PEERS" -gt 0 ]; then
	for ((i = 1; i <= PEERS; i++)); do
		INSTANCES+=("p$i")
		PORT[p$i]=$((BENCH_PORT + i))
	done
	peers_cleanup() {
		local rc=$? n
		set +e
		for n in "${INSTANCES[@]}"; do inst_stop "$n"; done
		(exit "$rc")
		bench_cleanup
	}
	trap peers_cleanup EXIT
	for n in "${INSTANCES[@]}"; do
		inst_init_region "$n" "${n#p}" "$BENCH_MAX_ENTITIES"
		inst_start "$n"
		pgi "$n" createdb bench
		pgi "$n" PGDATABASE=bench psql -X -qAt -v ON_ERROR_STOP=1 -c "CREATE EXTENSION tidal" >/dev/null
	done
	for n in "${INSTANCES[@]}"; do
		q "SELECT tidal.add_peer(${n#p}, 'host=$BENCH_DIR port=${PORT[$n]} dbname=bench')" >/dev/null
		pgi "$n" PGDATABASE=bench psql -X -qAt -v ON_ERROR_STOP=1 \
			-c "SELECT tidal.add_peer(0, 'host=$BENCH_DIR port=$BENCH_PORT dbname=bench')" >/dev/null
		for m in "${INSTANCES[@]}"; do
			[ "$m" = "$n" ] && continue
			pgi "$n" PGDATABASE=bench psql -X -qAt -v ON_ERROR_STOP=1 \
				-c "SELECT tidal.add_peer(${m#p}, 'host=$BENCH_DIR port=${PORT[$m]} dbname=bench')" >/dev/null
		done
	done
	for n in "${INSTANCES[@]}"; do
		peer_has_view() { [ "$(pgi "$1" PGDATABASE=bench psql -X -qAt -c "SELECT count(*) FROM tidal.signals WHERE name = 'view'")" = 1 ]; }
		wait_until 60 "the definition in region ${n#p}" peer_has_view "$n"
	done
	blog "signal_rate: region 0 ships to $PEERS peer regions"
fi

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

# sustained writes with synchronous_commit off: rate in the first and the last
# 10 s pgbench reports (-P 10 prints no report for the final interval, so with
# -T 60 that is 40-50 s), the sealer's CPU and the size of tidal.pending (the sealer's queue)
sustained=()
if [ "$SUSTAINED" -gt 0 ]; then
	q "SELECT tidal.seal()" >/dev/null
	q "VACUUM tidal.pending" >/dev/null	# start from an empty queue table
	spid=$(q "SELECT pid FROM pg_stat_activity WHERE backend_type = 'tidal sealer'")
	for side in plain tidal; do
		[ "$side" = plain ] && q "TRUNCATE events" >/dev/null
		q "CHECKPOINT" >/dev/null
		size0=$(q "SELECT pg_relation_size('tidal.pending')")
		t0=$(awk '{ print $14 + $15 }' "/proc/$spid/stat")
		out=$(bench_pgbench "signal_rate.$side.sustained" "PGOPTIONS=-c synchronous_commit=off" -- \
			-M prepared -c "$CLIENTS" -j "$THREADS" -T "$SUSTAINED" -P 10 -f "$BENCH_WORK/$side.sql")
		t1=$(awk '{ print $14 + $15 }' "/proc/$spid/stat")
		size1=$(q "SELECT pg_relation_size('tidal.pending')")
		first=$(awk '/^progress: / { print $4; exit }' "$out")
		last=$(awk '/^progress: / { v = $4 } END { print v }' "$out")
		sustained+=("$side|$(fmt0 "$(pgb_tps "$out")")|$(fmt0 "$first")|$(fmt0 "$last")|$(awk -v d="$((t1 - t0))" -v hz="$(getconf CLK_TCK)" -v T="$SUSTAINED" 'BEGIN { printf "%.0f", 100 * d / hz / T }')%|$(awk -v a="$size0" -v b="$size1" 'BEGIN { printf "%.0f -> %.0f", a / 1048576, b / 1048576 }')")
		blog "signal_rate: sustained $side: $(fmt0 "$(pgb_tps "$out")")/s, first 10 s $(fmt0 "$first")/s, last 10 s $(fmt0 "$last")/s"
	done
	st=$(cut -d'|' -f4 <<<"${sustained[1]}")
	sp=$(cut -d'|' -f4 <<<"${sustained[0]}")
fi

# every event reached the peers, once
if [ "$PEERS" -gt 0 ]; then
	total=$(logged_events)
	for n in "${INSTANCES[@]}"; do
		peer_caught_up() { [ "$(pgi "$1" PGDATABASE=bench psql -X -qAt -c "SELECT coalesce(sum(event_count), 0) FROM tidal.batches WHERE origin_region = 0")" = "$total" ]; }
		wait_until 120 "region ${n#p} to hold all $total events" peer_caught_up "$n"
	done
	blog "signal_rate: both peer regions hold all $total events of region 0"
fi

{
	bench_header "signal_rate: single-event writes, pgbench -M prepared -c $CLIENTS -j $THREADS -T $DURATION, mean of $ROUNDS runs each, random entity in 1..$ENTITIES, tidal.seal_group_delay $(q "SELECT coalesce(current_setting('tidal.seal_group_delay', true), '(none)')"), $PEERS peer regions, tidal.so $(so_md5)"
	{
		echo "synchronous_commit|tidal.signal (events/s)|plain INSERT (rows/s)|ratio tidal/plain|goal >= 0.8x"
		for sync in on off; do
			t=$(awk -v a="${sum[tidal.$sync]}" -v n="$ROUNDS" 'BEGIN { print a / n }')
			p=$(awk -v a="${sum[plain.$sync]}" -v n="$ROUNDS" 'BEGIN { print a / n }')
			r=$(fdiv "$t" "$p")
			echo "$sync|$(fmt0 "$t")|$(fmt0 "$p")|$r|$(met "$r" ">=" 0.8)"
		done
	} | print_table
	if [ "$SUSTAINED" -gt 0 ]; then
		echo
		echo "sustained, synchronous_commit off, -T $SUSTAINED (plain first, then tidal; ratio of the last 10 s: $(fdiv "$st" "$sp"), goal >= 0.8x: $(met "$(fdiv "$st" "$sp")" ">=" 0.8)):"
		{
			echo "side|mean/s|first 10 s|last 10 s reported|tidal sealer CPU|tidal.pending size (MiB)"
			printf '%s\n' "${sustained[@]}"
		} | print_table
	fi
} | tee "$BENCH_RESULTS/signal_rate.txt"
