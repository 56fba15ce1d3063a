#!/usr/bin/env bash
# The cut of a moved range (tidal.move_shard_range, issue 14): how long the
# range's old shard takes to hand its hot-state entries over, which is how
# long its writers wait for the cut, against what a user would do by hand
# to move the same range of per-entity state out of a plain table.
#
#   bash bench/reshard.sh
#
# One tidal instance (region 0, shard 0, the leader; a 'ranges' map gives it
# (,N) and shard 1 [N,)), N entities with one decayed state each (signal
# 'view', half-life 7 days, a 1-hour window), loaded with tidal.signal_batch.
# Side by side on the same instance, a plain table of the same state, one row
# an entity (entity bigint PRIMARY KEY, sum float8, latest_us bigint,
# buckets float8[10]), and the by-hand move: copy the range's rows out (what
# would be shipped to the new shard) and delete them, in one transaction.
# Each size moves its own range (an entity moves once), in growing order;
# psql's \timing of the one call (commit included), every size
# BENCH_RESHARD_ROUNDS times on a fresh range for the plain table and once for
# tidal (its ranges are disjoint: BENCH_RESHARD_ROUNDS ranges for each size).
# Knobs: BENCH_RESHARD_SIZES ("10000 100000 500000"), BENCH_RESHARD_ROUNDS (3).
# No goal is named for it; reported so that a cut's pause is known.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SIZES=${BENCH_RESHARD_SIZES:-10000 100000 500000}
ROUNDS=${BENCH_RESHARD_ROUNDS:-3}
TOTAL=0
for s in $SIZES; do TOTAL=$((TOTAL + s * ROUNDS)); done
BENCH_MAX_ENTITIES=$((TOTAL + 100000))

bench_up
REPORT=$BENCH_RESULTS/reshard.txt

blog "reshard: $TOTAL entities, one state each, in tidal and in a plain table"
qscript >/dev/null <<SQL
SELECT tidal.set_shard_map('ranges', ranges => ARRAY['(,$TOTAL)', '[$TOTAL,)']::int8range[]);
SELECT tidal.define_signal('view', '7 days', ARRAY['1 hour']::interval[]);
SELECT tidal.signal_batch('view', ARRAY(SELECT g::int8 FROM generate_series(s, LEAST(s + 99999, $TOTAL - 1)) g),
                          array_fill(1::float8, ARRAY[LEAST(100000, $TOTAL - s)]),
                          array_fill(now(), ARRAY[LEAST(100000, $TOTAL - s)]))
  FROM generate_series(0, $TOTAL - 1, 100000) s;
CREATE TABLE counters (entity bigint PRIMARY KEY, sum float8, latest_us bigint, buckets float8[]);
INSERT INTO counters
SELECT g, 1, (extract(epoch FROM now()) * 1000000)::int8, array_fill(0::float8, ARRAY[10])
  FROM generate_series(0, $TOTAL - 1) g;
VACUUM ANALYZE counters;
SQL
[ "$(q "SELECT tidal.state_entries('[0,$TOTAL)')")" = "$TOTAL" ] || bdie "tidal does not hold $TOTAL entries"

ms_of() { awk '/^Time: / { print $2; exit }' "$1"; }
{
	bench_header "reshard: the cut of a moved range vs moving the same rows of a plain table"
	printf '%-10s %-8s %14s %14s %8s\n' entries round "tidal cut ms" "plain move ms" ratio
} >"$REPORT"
lo=0
for size in $SIZES; do
	for round in $(seq 1 "$ROUNDS"); do
		hi=$((lo + size))
		as_pg psql -X -qAt -v ON_ERROR_STOP=1 -d "$BENCH_DB" >"$BENCH_WORK/t.out" <<SQL
\\timing on
SELECT tidal.move_shard_range('[$lo,$hi)', 1);
SQL
		[ "$(q "SELECT tidal.state_entries('[$lo,$hi)')")" = 0 ] || bdie "the cut left entries of [$lo,$hi)"
		as_pg psql -X -qAt -v ON_ERROR_STOP=1 -d "$BENCH_DB" >"$BENCH_WORK/p.out" <<SQL
\\timing on
BEGIN; CREATE TEMP TABLE shipped AS SELECT * FROM counters WHERE entity >= $lo AND entity < $hi; DELETE FROM counters WHERE entity >= $lo AND entity < $hi; DROP TABLE shipped; COMMIT;
SQL
		t=$(ms_of "$BENCH_WORK/t.out")
		# the plain move's statements, BEGIN to COMMIT
		p=$(awk '/^Time: / { s += $2 } END { printf "%.3f", s }' "$BENCH_WORK/p.out")
		printf '%-10s %-8s %14s %14s %8s\n' "$size" "$round" "$t" "$p" "$(fdiv "$t" "$p")" >>"$REPORT"
		lo=$hi
	done
done
{
	echo
	echo "tidal cut: the leader's tidal.move_shard_range, which cuts here at once: the range's entries"
	echo "copied out of the hot state into handoff records of its log, dropped at commit."
	echo "plain move: CREATE TEMP TABLE AS SELECT of the range's rows, DELETE of them, in one transaction."
	echo "ratio: tidal / plain (below 1: tidal's cut is faster)."
} >>"$REPORT"
cat "$REPORT"
