#!/usr/bin/env bash
# Reproductions of the problems the benchmarks found (not run by run_all.sh).
#
#   bash bench/diagnose.sh sealer     # tidal.pending size and the sealer's scan of it under sustained writes (problem 1, fixed)
#   bash bench/diagnose.sh rollback   # hot-state capacity after a rolled-back write (problem 3, fixed)
#   bash bench/diagnose.sh exactness  # scores after a restart, one writer vs two concurrent writers (problem 2, documented)
#
# Each starts its own instance (bench/lib.sh) and stops it at the end.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

sealer() {
	local secs=${BENCH_DURATION:-120}
	BENCH_PRELOAD_EXTRA=pg_stat_statements bench_up "pg_stat_statements.track = 'all'" "log_autovacuum_min_duration = 0"
	q "CREATE EXTENSION pg_stat_statements" >/dev/null
	q "SELECT tidal.define_signal('view', '1 hour')" >/dev/null
	printf '\\set e random(1, 100000)\nSELECT tidal.signal('"'"'view'"'"', :e);\n' >"$BENCH_WORK/tidal.sql"
	chown -R "$TIDAL_USER:$TIDAL_USER" "$BENCH_WORK"
	echo "tidal.signal, pgbench -c 4 -j 2 -T $secs, synchronous_commit off; every 10 s: tidal.pending size," \
		"its live/dead tuples, autovacuum count, mean ms of the sealer's 'SELECT ctid ... FROM tidal.pending LIMIT 4096' in those 10 s"
	as_pg PGOPTIONS="-c synchronous_commit=off" pgbench -n -M prepared -c 4 -j 2 -T "$secs" -P 10 -f "$BENCH_WORK/tidal.sql" 2>&1 |
		grep -E "^progress|^tps" &
	local pg=$! i
	for i in $(seq 1 $((secs / 10))); do
		sleep 10
		echo "t=$((i * 10))s pending $(q "SELECT pg_size_pretty(pg_relation_size('tidal.pending')) || ', live ' || n_live_tup || ', dead ' || n_dead_tup || ', autovacuums ' || autovacuum_count || ', sealer scan ' || coalesce((SELECT round(mean_exec_time::numeric, 2) FROM pg_stat_statements WHERE query LIKE 'SELECT ctid, octet_length%'), 0) || ' ms' FROM pg_stat_user_tables WHERE relname = 'pending'")"
		q "SELECT pg_stat_statements_reset()" >/dev/null
	done
	wait $pg
}

rollback() {
	BENCH_MAX_ENTITIES=1000 bench_up
	q "SELECT tidal.define_signal('view', '1 hour')" >/dev/null
	echo "tidal.max_entities = 1000; state_stats (entries|capacity|bytes_per_entry|loaded): $(q "SELECT * FROM tidal.state_stats()")"
	q "BEGIN; SELECT tidal.signal_batch('view', ARRAY(SELECT generate_series(1, 1000)::int8)); ROLLBACK;" >/dev/null
	echo "after BEGIN; signal_batch of 1000 new entities; ROLLBACK: $(q "SELECT * FROM tidal.state_stats()")"
	echo "tidal.signal('view', 5000) now says:"
	q "SELECT tidal.signal('view', 5000)" 2>&1 || true
}

exactness() {
	local w
	for w in 1 2; do
		echo "== $w writer session(s), 2,000,000 events"
		BENCH_WRITERS=$w BENCH_EVENTS=2000000 BENCH_RESTARTS=1 BENCH_START_SIZES=1000 BENCH_RESULTS="$BENCH_RESULTS/diagnose" \
			bash "$BENCH_ROOT/restart.sh" 2>/dev/null | grep -E '^\| (cycle|1) '
	done
}

case ${1:-} in
	sealer | rollback | exactness) "$1" ;;
	*) bdie "usage: bash bench/diagnose.sh sealer|rollback|exactness" ;;
esac
