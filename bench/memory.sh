#!/usr/bin/env bash
# Hot-state memory per (entity, signal) for a signal with two windows, versus
# the per-row size of a plain score table maintained with upserts.
#
#   bash bench/memory.sh
#
# tidal: writes one event for each of BENCH_MEM_ENTITIES (1,000,000) entities
# of a signal with windows '1 hour' and '24 hours', then reads
#   - tidal.state_stats() (entries, capacity, bytes_per_entry),
#   - pg_shmem_allocations: the entries named 'tidal hot state entries' and
#     'tidal hot state index', and the
#     shared memory the instance has in all, compared with an instance started
#     with tidal.max_entities = 1000 (the minimum): the difference divided by
#     the difference in capacity is what one more (entity, signal) costs.
# plain: score tables with one row per (entity, signal): (entity, signal,
# score, at) and, holding what tidal holds, the same plus two float8[10]
# window bucket arrays; pg_total_relation_size / rows, freshly loaded and
# after one upsert of every row followed by VACUUM.
# Goal: at most 256 bytes per (entity, signal).
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N=${BENCH_MEM_ENTITIES:-1000000}
CAP=$BENCH_MAX_ENTITIES
[ "$CAP" -ge "$N" ] || bdie "BENCH_MAX_ENTITIES ($CAP) must be at least BENCH_MEM_ENTITIES ($N)"

shmem_total() { q "SELECT sum(allocated_size) FROM pg_shmem_allocations"; }

# 1. the smallest hot state, for the marginal cost per entry
BENCH_MAX_ENTITIES=1000 bench_up
small_cap=$(q "SELECT capacity FROM tidal.state_stats()")
small_total=$(shmem_total)
bench_stop

# 2. the benchmark instance
bench_up
blog "memory: writing one event for each of $N entities"
qscript >/dev/null <<SQL
SELECT tidal.define_signal('view2w', '1 hour', ARRAY['1 hour', '24 hours']::interval[]);
SELECT format('SELECT tidal.signal_batch(''view2w'', ARRAY(SELECT generate_series(%s, %s)::int8))', k * 10000 + 1, least((k + 1) * 10000, $N))
  FROM generate_series(0, ($N - 1) / 10000) k
\gexec
SQL
IFS='|' read -r entries capacity bpe loaded <<<"$(q "SELECT entries, capacity, bytes_per_entry, loaded FROM tidal.state_stats()")"
named=$(q "SELECT coalesce(sum(size), 0) FROM pg_shmem_allocations WHERE name IN ('tidal hot state entries', 'tidal hot state index')")
big_total=$(shmem_total)
[ "$entries" -eq "$N" ] || bdie "tidal.state_stats() reports $entries entries after writing $N entities"
# windows really are kept: entity 1 has one event in each window
[ "$(q "SELECT tidal.window_count(1, 'view2w', '24 hours')")" = 1 ] || bdie "window_count is wrong"

marginal=$(awk -v a="$big_total" -v b="$small_total" -v c="$capacity" -v d="$small_cap" 'BEGIN { printf "%.1f", (a - b) / (c - d) }')

blog "memory: plain score tables with $N rows"
qscript >/dev/null <<SQL
CREATE TABLE scores (
    entity bigint NOT NULL,
    signal int NOT NULL,
    score  float8 NOT NULL,
    at     timestamptz NOT NULL,
    PRIMARY KEY (entity, signal)
);
CREATE TABLE scores_windows (
    entity bigint NOT NULL,
    signal int NOT NULL,
    score  float8 NOT NULL,
    at     timestamptz NOT NULL,
    w1     float8[] NOT NULL,	-- 10 buckets of the 1-hour window
    w2     float8[] NOT NULL,	-- 10 buckets of the 24-hour window
    PRIMARY KEY (entity, signal)
);
INSERT INTO scores SELECT e, 1, 1, now() FROM generate_series(1, $N) e;
INSERT INTO scores_windows SELECT e, 1, 1, now(), array_fill(0::float8, ARRAY[10]), array_fill(0::float8, ARRAY[10])
  FROM generate_series(1, $N) e;
VACUUM ANALYZE scores;
VACUUM ANALYZE scores_windows;
SQL
fresh=$(q "SELECT pg_total_relation_size('scores')")
fresh_w=$(q "SELECT pg_total_relation_size('scores_windows')")
qscript >/dev/null <<SQL
-- one upsert of every row, as the write path of such a table does, then VACUUM
INSERT INTO scores AS s SELECT e, 1, 1, now() FROM generate_series(1, $N) e
ON CONFLICT (entity, signal) DO UPDATE
   SET score = s.score * power(2, -date_part('epoch', EXCLUDED.at - s.at) / 3600) + EXCLUDED.score, at = EXCLUDED.at;
INSERT INTO scores_windows AS s SELECT e, 1, 1, now(), array_fill(0::float8, ARRAY[10]), array_fill(0::float8, ARRAY[10])
  FROM generate_series(1, $N) e
ON CONFLICT (entity, signal) DO UPDATE
   SET score = s.score * power(2, -date_part('epoch', EXCLUDED.at - s.at) / 3600) + EXCLUDED.score, at = EXCLUDED.at,
       w1[1] = s.w1[1] + 1, w2[1] = s.w2[1] + 1;
VACUUM scores;
VACUUM scores_windows;
SQL
upserted=$(q "SELECT pg_total_relation_size('scores')")
upserted_w=$(q "SELECT pg_total_relation_size('scores_windows')")
per() { awk -v a="$1" -v n="$N" 'BEGIN { printf "%.1f", a / n }'; }

{
	bench_header "memory: hot state per (entity, signal), signal with two windows, $N entities written, tidal.max_entities = $capacity"
	{
		echo "measure|bytes per (entity, signal)|goal <= 256"
		echo "tidal.state_stats().bytes_per_entry|$bpe|$(met "$bpe" "<=" 256)"
		echo "pg_shmem_allocations 'tidal hot state entries' + 'tidal hot state index' / max_entities ($named bytes)|$(awk -v a="$named" -v c="$capacity" 'BEGIN { printf "%.1f", a / c }')|$(met "$(awk -v a="$named" -v c="$capacity" 'BEGIN { print a / c }')" "<=" 256)"
		echo "marginal: (shared memory at max_entities $capacity - at $small_cap) / $((capacity - small_cap))|$marginal|$(met "$marginal" "<=" 256)"
		echo "plain score table (entity, signal, score, at), PK, freshly loaded|$(per "$fresh")|"
		echo "plain score table, after one upsert of every row + VACUUM|$(per "$upserted")|"
		echo "plain score table + two float8[10] window arrays, freshly loaded|$(per "$fresh_w")|"
		echo "plain score table + two float8[10] window arrays, after upserts + VACUUM|$(per "$upserted_w")|"
	} | print_table
	echo
	echo "tidal.state_stats() after writing: entries $entries, capacity $capacity, loaded $loaded." \
		"tidal's memory is allocated for the full capacity at server start whatever the number of entries;" \
		"at $N entries it holds $(awk -v a="$big_total" -v b="$small_total" 'BEGIN { printf "%.0f", (a - b) / 1048576 }') MiB for $capacity slots" \
		"($(awk -v a="$big_total" -v b="$small_total" -v n="$N" 'BEGIN { printf "%.1f", (a - b) / n }') bytes per entry in use)."
	echo "plain tables: $(per "$fresh") bytes/row of disk (and of shared_buffers when cached) for the minimal row; relation sizes $fresh -> $upserted and $fresh_w -> $upserted_w bytes."
} | tee "$BENCH_RESULTS/memory.txt"
