#!/usr/bin/env bash
# Reading a decayed score of an entity that has 10,000 events:
#   tidal.decay_score(42, 'view')
# versus plain SQL: the sum over the entity's rows of an events table indexed
# on (entity), and a primary-key lookup in a score table maintained with
# INSERT ... ON CONFLICT (entity) DO UPDATE.
#
#   bash bench/decay_read.sh
#
# Data: 1,000,000 events over the last 7 days in time order, weights 1..5;
# every 100th event belongs to entity 42 (10,000 events), the others to random
# entities in 1..100000.  The half-life is 1 day.  tidal receives the same
# events through tidal.signal_batch().
# Knobs: BENCH_DURATION (10 s per pgbench run), BENCH_ROUNDS (3: every query
#        runs this many times, the order reversed every other round; the table
#        shows the median, since a call costs ~0.04 ms and is easily disturbed).
# Goals: tidal >= 100x faster than the plain sum, and no slower than the
# primary-key lookup.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DURATION=${BENCH_DURATION:-10}
ROUNDS=${BENCH_ROUNDS:-3}
HL_S=86400

bench_up

blog "decay_read: loading 1,000,000 events into tidal, the events table and the score table"
qscript >/dev/null <<SQL
SELECT tidal.define_signal('view', '1 day');
CREATE TABLE src AS
SELECT g,
       CASE WHEN g % 100 = 0 THEN 42 ELSE 100 + (hashint8(g) & 65535) % 99900 END::int8 AS entity,
       (1 + g % 5)::float8 AS weight,
       now() - interval '7 days' + g * interval '604 ms' AS at
  FROM generate_series(1, 1000000) g;
CREATE INDEX ON src (g);

$(events_table_sql)
INSERT INTO events (entity, signal, weight, at) SELECT entity, 1, weight, at FROM src ORDER BY g;

-- the same events into tidal, 10,000 per call, one transaction per call
SELECT format('SELECT tidal.signal_batch(''view'', array_agg(entity ORDER BY g), array_agg(weight ORDER BY g), array_agg(at ORDER BY g)) FROM src WHERE g > %s AND g <= %s', k * 10000, (k + 1) * 10000)
  FROM generate_series(0, 99) k
\gexec

-- score table: one row per entity, the decayed sum anchored at its latest event,
-- maintained by this upsert (the first 990,000 events are loaded in one
-- aggregate, which leaves exactly the rows the upsert would; the last 10,000
-- go through the upsert itself)
CREATE TABLE scores (
    entity bigint PRIMARY KEY,
    score  float8 NOT NULL,
    at     timestamptz NOT NULL
);
INSERT INTO scores
SELECT entity, sum(weight * power(2, -date_part('epoch', last_at - at) / $HL_S)), max(last_at)
  FROM (SELECT entity, weight, at, max(at) OVER (PARTITION BY entity) AS last_at FROM src WHERE g <= 990000) s
 GROUP BY entity;
PREPARE upsert(bigint, float8, timestamptz) AS
INSERT INTO scores AS s (entity, score, at) VALUES (\$1, \$2, \$3)
ON CONFLICT (entity) DO UPDATE SET
    score = CASE WHEN EXCLUDED.at >= s.at
                 THEN s.score * power(2, -date_part('epoch', EXCLUDED.at - s.at) / $HL_S) + EXCLUDED.score
                 ELSE s.score + EXCLUDED.score * power(2, -date_part('epoch', s.at - EXCLUDED.at) / $HL_S) END,
    at = greatest(s.at, EXCLUDED.at);
SELECT format('EXECUTE upsert(%s, %s, %L)', entity, weight, at) FROM src WHERE g > 990000 ORDER BY g
\gexec
$(bench_settle_sql)
SQL

# the three answers must agree (at one fixed instant)
check=$(q "WITH t AS (SELECT now() AS at)
SELECT format('%s|%s|%s|%s|%s',
  (SELECT count(*) FROM events WHERE entity = 42),
  tidal.decay_score(42, 'view', t.at),
  (SELECT sum(weight * power(2, -date_part('epoch', t.at - at) / $HL_S)) FROM events WHERE entity = 42),
  (SELECT score * power(2, -date_part('epoch', t.at - s.at) / $HL_S) FROM scores s WHERE entity = 42),
  tidal.decay_score(4242, 'view', t.at) - (SELECT sum(weight * power(2, -date_part('epoch', t.at - at) / $HL_S)) FROM events WHERE entity = 4242))
FROM t")
IFS='|' read -r n42 s_tidal s_sum s_pk d4242 <<<"$check"
[ "$n42" = 10000 ] || bdie "entity 42 has $n42 events, expected 10000"
relerr() { awk -v a="$1" -v b="$2" 'BEGIN { d = a - b; if (d < 0) d = -d; printf "%.1e", d / (b < 0 ? -b : b) }'; }
blog "decay_read: score of entity 42: tidal $s_tidal, plain sum $s_sum, score table $s_pk"
awk -v a="$(relerr "$s_tidal" "$s_sum")" -v b="$(relerr "$s_pk" "$s_sum")" 'BEGIN { exit !(a + 0 < 1e-9 && b + 0 < 1e-9) }' ||
	bdie "the scores disagree: tidal $s_tidal, plain sum $s_sum, score table $s_pk"

cat >"$BENCH_WORK/tidal.sql" <<'EOF'
SELECT tidal.decay_score(42, 'view');
EOF
cat >"$BENCH_WORK/sum.sql" <<EOF
SELECT sum(weight * power(2, -date_part('epoch', now() - at) / $HL_S)) FROM events WHERE entity = 42;
EOF
# the same sum written with extract(), which returns numeric since PostgreSQL 14:
# power() then runs in numeric arithmetic
cat >"$BENCH_WORK/sum_numeric.sql" <<EOF
SELECT sum(weight * power(2, -extract(epoch FROM now() - at) / $HL_S)) FROM events WHERE entity = 42;
EOF
cat >"$BENCH_WORK/pk.sql" <<EOF
SELECT score * power(2, -date_part('epoch', now() - at) / $HL_S) FROM scores WHERE entity = 42;
EOF
cat >"$BENCH_WORK/tidal_rand.sql" <<'EOF'
\set e random(100, 99999)
SELECT tidal.decay_score(:e, 'view');
EOF
cat >"$BENCH_WORK/pk_rand.sql" <<EOF
\\set e random(100, 99999)
SELECT score * power(2, -date_part('epoch', now() - at) / $HL_S) FROM scores WHERE entity = :e;
EOF
# the same two lookups, 100 per round trip (pgbench pipeline): less of the
# client/server round trip, more of the lookup itself
for k in tidal pk; do
	{
		echo '\startpipeline'
		for _ in $(seq 1 100); do grep -v '^\\' "$BENCH_WORK/$k.sql"; done
		echo '\endpipeline'
	} >"$BENCH_WORK/${k}_pipe.sql"
done
chown -R "$TIDAL_USER:$TIDAL_USER" "$BENCH_WORK"

declare -A runs
KINDS="tidal sum pk tidal_rand pk_rand tidal_pipe pk_pipe sum_numeric"
for k in $KINDS; do runs[$k]=""; done
for round in $(seq 1 "$ROUNDS"); do
	if [ $((round % 2)) -eq 1 ]; then order=$KINDS; else order=$(echo "$KINDS" | tr ' ' '\n' | tac | tr '\n' ' '); fi
	for k in $order; do
		case $k in
			*_pipe) per=100; d=$(( (DURATION + 1) / 2 )) ;;
			sum_numeric) per=1; d=$(( (DURATION + 1) / 2 )) ;;
			*) per=1; d=$DURATION ;;
		esac
		out=$(bench_pgbench "decay_read.$k.$round" -- -M prepared -c 1 -j 1 -T "$d" -f "$BENCH_WORK/$k.sql")
		ms=$(awk -v t="$(pgb_tps "$out")" -v p=$per 'BEGIN { print 1000 / t / p }')
		runs[$k]="${runs[$k]} $ms"
		blog "decay_read: $k round $round: $(awk -v m="$ms" 'BEGIN { printf "%.4f", m }') ms per call"
	done
done
# median of the rounds
mean() { tr ' ' '\n' <<<"${runs[$1]}" | grep . | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
allruns() { tr ' ' '\n' <<<"${runs[$1]}" | grep . | awk '{ printf "%s%.4f", (NR > 1 ? ", " : ""), $1 }'; }

# server-side cost per call, without the client round trip (PL/pgSQL loop)
loop_ms() {	# iterations statement
	# one warm-up call first: a new backend's first touch of shared buffers costs page faults
	q "DO \$\$ DECLARE t0 timestamptz; x float8; BEGIN
	     $2;
	     t0 := clock_timestamp();
	     FOR i IN 1..$1 LOOP $2; END LOOP;
	     RAISE NOTICE '%', extract(epoch FROM clock_timestamp() - t0) * 1000 / $1;
	   END \$\$" 2>&1 | sed -n 's/^NOTICE: *//p'
}
srv_tidal=$(loop_ms 200000 "x := tidal.decay_score(42, 'view')")
srv_sum=$(loop_ms 200 "SELECT sum(weight * power(2, -date_part('epoch', now() - at) / $HL_S)) INTO x FROM events WHERE entity = 42")
srv_pk=$(loop_ms 200000 "SELECT score * power(2, -date_part('epoch', now() - at) / $HL_S) INTO x FROM scores WHERE entity = 42")
# the plan of the second execution in one session (the first pays the page faults)
plan=$(as_pg psql -X -qAt -v ON_ERROR_STOP=1 \
	-c "SELECT sum(weight * power(2, -date_part('epoch', now() - at) / $HL_S)) FROM events WHERE entity = 42" \
	-c "EXPLAIN (ANALYZE, BUFFERS, TIMING OFF) SELECT sum(weight * power(2, -date_part('epoch', now() - at) / $HL_S)) FROM events WHERE entity = 42" | tail -n +2)

T=$(mean tidal); S=$(mean sum); P=$(mean pk)
f4() { awk -v a="$1" 'BEGIN { printf "%.4f", a }'; }
{
	bench_header "decay_read: score of one entity with 10,000 events (of 1,000,000), pgbench -M prepared -c 1 -j 1 -T $DURATION, median of $ROUNDS runs; ms per call = 1000 / tps"
	{
		echo "query|ms per call (pgbench)|ms per call (server, PL/pgSQL loop)|plain / tidal|goal"
		echo "tidal.decay_score(42, 'view')|$(f4 "$T")|$(f4 "$srv_tidal")|1.00|"
		echo "plain sum over the entity's 10,000 events (float8: date_part)|$(f4 "$S")|$(f4 "$srv_sum")|$(fdiv "$S" "$T")|>= 100x: $(met "$(fdiv "$S" "$T")" ">=" 100)"
		echo "plain sum written with extract() (numeric power)|$(f4 "$(mean sum_numeric)")||$(fdiv "$(mean sum_numeric)" "$T")|"
		echo "primary-key lookup, upsert-maintained score table|$(f4 "$P")|$(f4 "$srv_pk")|$(fdiv "$P" "$T")|>= 1.00x (tidal no slower): $(met "$(fdiv "$P" "$T")" ">=" 1)"
		echo "tidal.decay_score(42, 'view'), 100 calls per round trip (pipeline)|$(f4 "$(mean tidal_pipe)")||1.00|"
		echo "primary-key lookup, 100 per round trip (pipeline)|$(f4 "$(mean pk_pipe)")||$(fdiv "$(mean pk_pipe)" "$(mean tidal_pipe)")|"
		echo "tidal.decay_score, random entity (~10 events)|$(f4 "$(mean tidal_rand)")||1.00|"
		echo "primary-key lookup, random entity|$(f4 "$(mean pk_rand)")||$(fdiv "$(mean pk_rand)" "$(mean tidal_rand)")|"
	} | print_table
	echo
	echo "all runs (ms per call): tidal $(allruns tidal); score table $(allruns pk); plain sum $(allruns sum); pipelined: tidal $(allruns tidal_pipe), score table $(allruns pk_pipe)"
	echo "entity 42 at one instant: tidal $s_tidal, plain sum $s_sum (relative difference $(relerr "$s_tidal" "$s_sum")), score table $s_pk ($(relerr "$s_pk" "$s_sum")); entity 4242 tidal - sum = $d4242"
	echo "plain sum plan:"
	sed 's/^/    /' <<<"$plan"
} | tee "$BENCH_RESULTS/decay_read.txt"
