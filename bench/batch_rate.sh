#!/usr/bin/env bash
# Bulk writes on one connection: tidal.signal_batch() with 1,000 events a call
# versus plain SQL: INSERT ... SELECT of 1,000 rows a transaction, COPY in
# 1,000-row chunks (one COPY per transaction) and one large \copy from a file,
# all into an events table indexed on (entity).
#
#   bash bench/batch_rate.sh
#
# Knobs: BENCH_DURATION (15 s per pgbench run), BENCH_ROUNDS (2, alternating
#        which side goes first; the table shows the mean), BENCH_COPY_ROWS
#        (2000000 rows in the large \copy).
# Goal: tidal >= 250,000 events/s with pgbench -c 1 -j 1.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DURATION=${BENCH_DURATION:-15}
ROUNDS=${BENCH_ROUNDS:-2}
COPY_ROWS=${BENCH_COPY_ROWS:-2000000}
BATCH=1000
NARRAYS=1000
ENTITIES=1000000

bench_up

blog "batch_rate: preparing $NARRAYS arrays of $BATCH random entities in 1..$ENTITIES"
qscript >/dev/null <<SQL
SELECT tidal.define_signal('view', '1 hour');
$(events_table_sql)
-- the same input for both sides: arrays of entity ids, read by id
CREATE TABLE arrays (id int PRIMARY KEY, ents int8[] NOT NULL);
ALTER TABLE arrays ALTER ents SET STORAGE EXTERNAL;
SELECT setseed(0.42);
INSERT INTO arrays
SELECT b, array_agg(floor(random() * $ENTITIES)::int8 + 1)
  FROM generate_series(1, $NARRAYS) b, generate_series(1, $BATCH) i
 GROUP BY b;
VACUUM ANALYZE arrays;
COPY (SELECT e, 1, 1, now() FROM generate_series(1, ceil($COPY_ROWS::numeric / ($NARRAYS * $BATCH))::int) r,
             arrays, unnest(ents) e LIMIT $COPY_ROWS)
  TO '$BENCH_WORK/events.tsv';
SQL
# the same rows again (at most 1,000,000), as 1,000-row COPY statements, each
# its own transaction
CHUNK_ROWS=$(( (COPY_ROWS < 1000000 ? COPY_ROWS : 1000000) / BATCH * BATCH ))
awk -v n=$BATCH -v max=$CHUNK_ROWS 'NR > max { exit }
	(NR - 1) % n == 0 { print "COPY events (entity, signal, weight, at) FROM STDIN;" }
	{ print }
	NR % n == 0 { print "\\." }' "$BENCH_WORK/events.tsv" >"$BENCH_WORK/chunks.sql"

cat >"$BENCH_WORK/tidal.sql" <<EOF
\\set b random(1, $NARRAYS)
SELECT tidal.signal_batch('view', ents) FROM arrays WHERE id = :b;
EOF
cat >"$BENCH_WORK/plain.sql" <<EOF
\\set b random(1, $NARRAYS)
INSERT INTO events (entity, signal, weight, at) SELECT e, 1, 1, now() FROM arrays, unnest(ents) e WHERE id = :b;
EOF
chown -R "$TIDAL_USER:$TIDAL_USER" "$BENCH_WORK"

sealer_pid() { q "SELECT pid FROM pg_stat_activity WHERE backend_type = 'tidal sealer'"; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

declare -A sum
for k in tidal insert copychunks copybig sealer_cpu drain; do sum[$k]=0; done
add() { sum[$1]=$(awk -v a="${sum[$1]}" -v b="$2" 'BEGIN { print a + b }'); }

run_tidal() {
	local round=$1 out spid t0 t1 tps backlog start drained
	q "SELECT tidal.seal()" >/dev/null
	q "CHECKPOINT" >/dev/null
	spid=$(sealer_pid)
	t0=$(cpu_ticks "$spid")
	out=$(bench_pgbench "batch_rate.tidal.$round" -- -M prepared -c 1 -j 1 -T "$DURATION" -f "$BENCH_WORK/tidal.sql")
	t1=$(cpu_ticks "$spid")
	tps=$(pgb_tps "$out")
	# how far behind the sealer is when the writer stops, and how long it needs to catch up
	backlog=$(q "SELECT count(*) FROM tidal.pending")
	start=$(now_s)
	while [ "$(q "SELECT count(*) FROM tidal.pending")" != 0 ]; do sleep 0.05; done
	drained=$(elapsed "$start" "$(now_s)")
	add tidal "$(awk -v t="$tps" -v b=$BATCH 'BEGIN { print t * b }')"
	add sealer_cpu "$(awk -v d="$((t1 - t0))" -v hz="$(getconf CLK_TCK)" -v T="$DURATION" 'BEGIN { print 100 * d / hz / T }')"
	add drain "$drained"
	blog "batch_rate: tidal round $round: $(fmt0 "$(awk -v t="$tps" -v b=$BATCH 'BEGIN { print t * b }')") events/s;" \
		"sealer backlog at the end $backlog calls, drained in ${drained}s"
}

run_insert() {
	local round=$1 out tps
	q "TRUNCATE events" >/dev/null
	q "CHECKPOINT" >/dev/null
	out=$(bench_pgbench "batch_rate.insert_select.$round" -- -M prepared -c 1 -j 1 -T "$DURATION" -f "$BENCH_WORK/plain.sql")
	tps=$(pgb_tps "$out")
	[ "$(q "SELECT count(*) FROM events")" -eq $(($(pgb_xacts "$out") * BATCH)) ] || bdie "events row count differs from pgbench's"
	add insert "$(awk -v t="$tps" -v b=$BATCH 'BEGIN { print t * b }')"
	blog "batch_rate: INSERT ... SELECT round $round: $(fmt0 "$(awk -v t="$tps" -v b=$BATCH 'BEGIN { print t * b }')") rows/s"
}

run_copy() {	# name rows file-or-script
	local name=$1 rows=$2 start secs rate
	q "TRUNCATE events" >/dev/null
	q "CHECKPOINT" >/dev/null
	start=$(now_s)
	if [ "$name" = copybig ]; then
		as_pg psql -X -q -v ON_ERROR_STOP=1 -c "\\copy events (entity, signal, weight, at) FROM '$BENCH_WORK/events.tsv'" >/dev/null
	else
		as_pg psql -X -q -v ON_ERROR_STOP=1 -f "$BENCH_WORK/chunks.sql" >/dev/null
	fi
	secs=$(elapsed "$start" "$(now_s)")
	[ "$(q "SELECT count(*) FROM events")" -eq "$rows" ] || bdie "COPY loaded a wrong number of rows"
	rate=$(awk -v r="$rows" -v s="$secs" 'BEGIN { print r / s }')
	add "$name" "$rate"
	blog "batch_rate: $name: $rows rows in ${secs}s = $(fmt0 "$rate") rows/s"
}

for round in $(seq 1 "$ROUNDS"); do
	if [ $((round % 2)) -eq 1 ]; then
		run_tidal "$round"; run_insert "$round"; run_copy copychunks "$CHUNK_ROWS"; run_copy copybig "$COPY_ROWS"
	else
		run_copy copybig "$COPY_ROWS"; run_copy copychunks "$CHUNK_ROWS"; run_insert "$round"; run_tidal "$round"
	fi
done

mean() { awk -v a="${sum[$1]}" -v n="$ROUNDS" 'BEGIN { print a / n }'; }
T=$(mean tidal)
{
	bench_header "batch_rate: one connection (pgbench -M prepared -c 1 -j 1 -T $DURATION), $BATCH events per call/transaction, mean of $ROUNDS runs, random entities in 1..$ENTITIES"
	{
		echo "method|events or rows/s|tidal / this|goal"
		echo "tidal.signal_batch, 1,000 events a call|$(fmt0 "$T")|1.00|>= 250,000/s: $(met "$T" ">=" 250000)"
		echo "INSERT ... SELECT, 1,000 rows a transaction|$(fmt0 "$(mean insert)")|$(fdiv "$T" "$(mean insert)")|"
		echo "COPY, 1,000-row chunks (one transaction each, $CHUNK_ROWS rows)|$(fmt0 "$(mean copychunks)")|$(fdiv "$T" "$(mean copychunks)")|"
		echo "\\copy of one $COPY_ROWS-row file|$(fmt0 "$(mean copybig)")|$(fdiv "$T" "$(mean copybig)")|"
	} | print_table
	echo
	echo "tidal sealer (background worker, on the other core) during the tidal runs: $(awk -v a="$(mean sealer_cpu)" 'BEGIN { printf "%.0f", a }')% of a core;" \
		"it caught up $(awk -v a="$(mean drain)" 'BEGIN { printf "%.2f", a }') s after the writer stopped (mean)."
} | tee "$BENCH_RESULTS/batch_rate.txt"
