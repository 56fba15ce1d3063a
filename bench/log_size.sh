#!/usr/bin/env bash
# Log bytes on disk with snapshots and compaction, against the hot state they
# describe and against what a user would keep instead (an events table).
#
#   bash bench/log_size.sh
#
# tidal: BENCH_LOG_EVENTS (10,000,000) events over BENCH_LOG_ENTITIES
# (100,000) entities, written with tidal.signal_batch 10,000 a call; then
# two snapshots (tidal.snapshot_keep = 2, the default) and tidal.compact()
# with tidal.log_retention = 0 (no retention window, no peers).  Log bytes =
# pg_total_relation_size of tidal.batches, tidal.pending,
# tidal.snapshot_heads and tidal.snapshot_chunks (heap, TOAST, indexes),
# before and after compaction.  Hot state = entries x bytes per entry
# (tidal.state_stats()).
# plain SQL: the same events in an events table (id bigserial PK, index on
# entity), and a score table with one row per entity.
# Goal (issue 13): log bytes after compaction at most 2x the hot state.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

EVENTS=${BENCH_LOG_EVENTS:-10000000}
ENTITIES=${BENCH_LOG_ENTITIES:-100000}
CALL=10000
[ $((EVENTS / CALL * CALL)) -eq "$EVENTS" ] || bdie "BENCH_LOG_EVENTS must be a multiple of $CALL"

bench_up
q "ALTER SYSTEM SET tidal.log_retention = 0" >/dev/null
q "SELECT pg_reload_conf()" >/dev/null
T0=$(q "SELECT date_trunc('second', now())")
EV_ENTITY="((hashint8(g) & 2147483647) % $ENTITIES + 1)"
EV_WEIGHT="(1 + g % 3)::float8"
EV_AT="('$T0'::timestamptz - ((hashint8(g + 7) & 2147483647) % 604800) * interval '1 s')"

blog "log_size: writing $EVENTS events over $ENTITIES entities"
start=$(now_s)
q "SELECT tidal.define_signal('view', '1 day')" >/dev/null
awk -v calls=$((EVENTS / CALL)) -v n=$CALL -v e="$EV_ENTITY" -v w="$EV_WEIGHT" -v a="$EV_AT" 'BEGIN {
	for (k = 0; k < calls; k++)
		printf "SELECT tidal.signal_batch(%cview%c, array_agg(%s), array_agg(%s), array_agg(%s)) FROM generate_series(%d, %d) g;\n",
			39, 39, e, w, a, k * n, k * n + n - 1
}' >"$BENCH_WORK/write.sql"
chown -R "$TIDAL_USER:$TIDAL_USER" "$BENCH_WORK"
as_pg psql -X -q -v ON_ERROR_STOP=1 -o /dev/null -f "$BENCH_WORK/write.sql" || bdie "writing failed"
q "SELECT tidal.seal()" >/dev/null
write_s=$(elapsed "$start" "$(now_s)")

LOG_BYTES="SELECT sum(pg_total_relation_size(c)) FROM unnest(ARRAY['tidal.batches', 'tidal.pending',
	'tidal.snapshot_heads', 'tidal.snapshot_chunks']::regclass[]) c"
q "VACUUM tidal.pending" >/dev/null
before=$(q "$LOG_BYTES")
start=$(now_s)
q "SELECT tidal.snapshot()" >/dev/null
snap1_s=$(elapsed "$start" "$(now_s)")
q "SELECT tidal.snapshot()" >/dev/null
removed=$(q "SELECT tidal.compact()")
# the space of deleted batches goes back to the file system only with VACUUM FULL;
# plain VACUUM (autovacuum) makes it reusable: report both
q "VACUUM tidal.batches" >/dev/null
after_vacuum=$(q "$LOG_BYTES")
q "VACUUM FULL tidal.batches" >/dev/null
after_full=$(q "$LOG_BYTES")
IFS='|' read -r entries bpe <<<"$(q "SELECT entries, bytes_per_entry FROM tidal.state_stats()")"
hot=$((entries * bpe))
IFS='|' read -r nbatches snap_bytes <<<"$(q "SELECT (SELECT count(*) FROM tidal.batches), (SELECT sum(bytes) FROM tidal.snapshots)")"
[ "$(q "SELECT tidal.decay_score(1, 'view', '$T0') > 0")" = t ] || bdie "entity 1 has no score"

blog "log_size: the same events in plain tables"
qscript >/dev/null <<SQL
$(events_table_sql noindex)
INSERT INTO events (entity, signal, weight, at)
SELECT $EV_ENTITY, 1, $EV_WEIGHT, $EV_AT FROM generate_series(0, $EVENTS - 1) g;
$(events_index_sql)
CREATE TABLE scores (entity bigint PRIMARY KEY, score float8 NOT NULL, at timestamptz NOT NULL);
INSERT INTO scores SELECT entity, sum(weight), max(at) FROM events GROUP BY entity;
VACUUM ANALYZE events;
VACUUM ANALYZE scores;
SQL
events_bytes=$(q "SELECT pg_total_relation_size('events')")
scores_bytes=$(q "SELECT pg_total_relation_size('scores')")
bench_stop

mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
{
	bench_header "log_size: $EVENTS events over $ENTITIES entities; bytes on disk"
	{
		echo "what|MiB|x the hot state|goal"
		echo "tidal hot state ($entries entries x $bpe bytes, shared memory)|$(mib "$hot")|1.00|"
		echo "tidal log before compaction (batches, pending)|$(mib "$before")|$(ratio "$before" "$hot")|"
		echo "tidal log after two snapshots and compaction, VACUUM|$(mib "$after_vacuum")|$(ratio "$after_vacuum" "$hot")|$(met "$(ratio "$after_vacuum" "$hot")" "<=" 2)"
		echo "tidal log after two snapshots and compaction, VACUUM FULL|$(mib "$after_full")|$(ratio "$after_full" "$hot")|$(met "$(ratio "$after_full" "$hot")" "<=" 2)"
		echo "plain: events table with its indexes|$(mib "$events_bytes")|$(ratio "$events_bytes" "$hot")|"
		echo "plain: score table, one row per entity|$(mib "$scores_bytes")|$(ratio "$scores_bytes" "$hot")|"
	} | print_table
	echo
	echo "written in ${write_s}s; first snapshot (folding every event) in ${snap1_s}s; compaction removed $removed batches, $nbatches left;" \
		"the two snapshots kept hold $(mib "$snap_bytes") MiB. With tidal.snapshot_keep = 2 the log after compaction is about two snapshots."
} | tee "$BENCH_RESULTS/log_size.txt"
