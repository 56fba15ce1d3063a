#!/usr/bin/env bash
# Top-20 ranking of 10,000 candidate items with a two-signal profile, for a
# user who has hidden 1,000 of them:
#   SELECT * FROM tidal.retrieve(42, (SELECT c FROM cands), 'two')
# versus plain SQL: the decayed sums computed at query time over an events
# table indexed on (entity),
#   SELECT entity, sum(weight * <decay of its signal>) FROM events
#    WHERE entity = ANY ((SELECT c FROM cands)::bigint[]) AND NOT EXISTS (<hidden>)
#    GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 20
# and a score table maintained with INSERT ... ON CONFLICT (entity) DO UPDATE,
# the candidates looked up by primary key and decayed to now at read time.
#
#   bash bench/retrieve.sh
#
# Data: 500,000 events over the last 7 days in time order, weight 1: every 5th
# is a 'like' (half-life 1 day, 100,000 events), the others 'view' (half-life
# 7 days, 400,000 events).  Items are drawn from 20,000 with a power-law skew
# (the most popular has ~2% of the events, the least a handful).  The profile
# 'two' is 1 x decay_score(view) + 3 x decay_score(like).  The candidates are
# 10,000 of the 20,000 items, in one row of the table cands(c bigint[]) that
# all three sides read; user 42 has hidden 1,000 of them (tidal.hide_item, and
# the plain table hidden_plain(user_id, item_id) that both plain queries
# anti-join; not "hidden": the bench user is "tidal", so "\$user" in the
# search_path puts unqualified tables in schema tidal, which has a view hidden).
# tidal receives the same events through tidal.signal_batch(); the score table
# receives them through 50 INSERT ... SELECT ... ON CONFLICT DO UPDATE
# statements of 10,000 events each (aggregated per item within the statement,
# since one statement cannot update a row twice), then VACUUM ANALYZE.
#
# Before timing, the script checks at one instant that the three return the
# same 20 items in the same order with the same scores (to 1e-9 relative), and
# fails if tidal's differ from the plain SQL's.
#
# Timing: pgbench -M prepared -c 1 -j 1 -n, per-transaction latencies logged
# (pgbench -l); the table gives their median and mean over all rounds.  Many
# short rounds in alternating order, so that other load on the machine falls
# on every query alike.  Then one more pgbench run interleaves the three main
# queries transaction by transaction (-f tidal@20 -f score table@5 -f sum@1,
# about the same time for each), for ratios measured under the same load.
# Knobs: BENCH_DURATION (5 s per pgbench run of tidal, the score table and the
#        plain sum; the extras and the numeric sum run for about half),
#        BENCH_ROUNDS (8: every query runs this many times, the order reversed
#        every other round), BENCH_MIXED_DURATION (20 s, the interleaved run).
# Extras (tidal only, for context): the same retrieve with max_per_creator => 1
# and with the built-in 'fresh' profile (items get one of 50 creators and a
# creation time in the last 30 days through tidal.upsert_item), and without
# the user (no hides).
# Goals: tidal >= 50x faster than the plain sum, >= 10x faster than the score
# table, and a median under 5 ms.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DURATION=${BENCH_DURATION:-5}
ROUNDS=${BENCH_ROUNDS:-8}
MIXED_DURATION=${BENCH_MIXED_DURATION:-20}
HALF=$(( (DURATION + 1) / 2 ))
VIEW_HL=604800   # 7 days, in seconds
LIKE_HL=86400    # 1 day

bench_up

# CPU pressure (share of time some runnable task waited for a CPU, last 60 s):
# other work on the machine shows here
cpu_pressure() { awk '/^some/ { sub("avg60=", "", $3); print $3 "%" }' /proc/pressure/cpu 2>/dev/null || echo "?"; }
psi_start=$(cpu_pressure)

blog "retrieve: loading 500,000 events into tidal, the events table and the score table"
t_load=$(now_s)
qscript >/dev/null <<SQL
SELECT tidal.define_signal('view', '7 days');
SELECT tidal.define_signal('like', '1 day');
SELECT tidal.define_profile('two', '{"terms": [{"signal": "view"}, {"signal": "like", "weight": 3}]}');

-- 500,000 events in time order; popularity rank r = floor(20000 * u^2.5) for
-- a uniform u, spread over the item ids by a permutation of 1..20000
CREATE TABLE src AS
SELECT g,
       (1 + (floor(20000 * power(((hashint8(g) & 2147483647) + 0.5) / 2147483648.0, 2.5))::int8 * 7919) % 20000) AS entity,
       CASE WHEN g % 5 = 0 THEN 2 ELSE 1 END AS signal,
       1::float8 AS weight,
       now() - interval '7 days' + g * interval '1209.6 ms' AS at
  FROM generate_series(1, 500000) g;
CREATE INDEX ON src (g);

$(events_table_sql)
INSERT INTO events (entity, signal, weight, at) SELECT entity, signal, weight, at FROM src ORDER BY g;

-- the same events into tidal, 10,000 per call, one transaction per call
SELECT format('SELECT tidal.signal_batch(%L, array_agg(entity ORDER BY g), array_agg(weight ORDER BY g), array_agg(at ORDER BY g)) FROM src WHERE signal = %s AND g > %s AND g <= %s',
              CASE s WHEN 1 THEN 'view' ELSE 'like' END, s, k * 10000, (k + 1) * 10000)
  FROM generate_series(0, 49) k, generate_series(1, 2) s
 ORDER BY k, s
\gexec

-- 10,000 candidates out of the 20,000 items, in a shuffled order
CREATE TABLE cands (c bigint[] NOT NULL);
INSERT INTO cands
SELECT array_agg(i ORDER BY hashint8(i * 31 + 7))
  FROM (SELECT i::int8 FROM generate_series(1, 20000) i ORDER BY hashint8(i::int8 * 17 + 5) LIMIT 10000) x;

-- user 42 hides 1,000 of the candidates
CREATE TABLE hidden_plain (
    user_id bigint NOT NULL,
    item_id bigint NOT NULL,
    PRIMARY KEY (user_id, item_id)
);
INSERT INTO hidden_plain
SELECT 42, i FROM unnest((SELECT c FROM cands)) i ORDER BY hashint8(i + 99) LIMIT 1000;
SELECT count(tidal.hide_item(user_id, item_id)) FROM hidden_plain;

-- score table: per item and signal, the decayed sum anchored at the signal's
-- latest event, maintained by INSERT ... ON CONFLICT DO UPDATE in 50
-- statements of 10,000 events
CREATE TABLE scores (
    entity     bigint PRIMARY KEY,
    view_score float8,
    view_at    timestamptz,
    like_score float8,
    like_at    timestamptz
);
SELECT format(\$f\$
INSERT INTO scores AS s (entity, view_score, view_at, like_score, like_at)
SELECT entity,
       sum(weight * power(2, -date_part('epoch', last_at - at) / $VIEW_HL)) FILTER (WHERE signal = 1),
       max(at) FILTER (WHERE signal = 1),
       sum(weight * power(2, -date_part('epoch', last_at - at) / $LIKE_HL)) FILTER (WHERE signal = 2),
       max(at) FILTER (WHERE signal = 2)
  FROM (SELECT entity, signal, weight, at, max(at) OVER (PARTITION BY entity, signal) AS last_at
          FROM src WHERE g > %s AND g <= %s) e
 GROUP BY entity
ON CONFLICT (entity) DO UPDATE SET
    view_score = CASE WHEN EXCLUDED.view_at IS NULL THEN s.view_score
                      WHEN s.view_at IS NULL THEN EXCLUDED.view_score
                      WHEN EXCLUDED.view_at >= s.view_at
                      THEN s.view_score * power(2, -date_part('epoch', EXCLUDED.view_at - s.view_at) / $VIEW_HL) + EXCLUDED.view_score
                      ELSE s.view_score + EXCLUDED.view_score * power(2, -date_part('epoch', s.view_at - EXCLUDED.view_at) / $VIEW_HL) END,
    view_at = greatest(s.view_at, EXCLUDED.view_at),
    like_score = CASE WHEN EXCLUDED.like_at IS NULL THEN s.like_score
                      WHEN s.like_at IS NULL THEN EXCLUDED.like_score
                      WHEN EXCLUDED.like_at >= s.like_at
                      THEN s.like_score * power(2, -date_part('epoch', EXCLUDED.like_at - s.like_at) / $LIKE_HL) + EXCLUDED.like_score
                      ELSE s.like_score + EXCLUDED.like_score * power(2, -date_part('epoch', s.like_at - EXCLUDED.like_at) / $LIKE_HL) END,
    like_at = greatest(s.like_at, EXCLUDED.like_at)
\$f\$, k * 10000, (k + 1) * 10000)
  FROM generate_series(0, 49) k
\gexec

-- items for the extras: 50 creators, created in the last 30 days
SELECT count(tidal.upsert_item(i, 1 + (hashint8(i + 5) & 65535) % 50, '{}',
                               now() - ((hashint8(i + 11) & 65535) / 65536.0) * interval '30 days'))
  FROM generate_series(1, 20000) i;

$(bench_settle_sql)
SQL
load_s=$(elapsed "$t_load" "$(now_s)")
blog "retrieve: loaded in $load_s s"

# the queries, as pgbench scripts
decay_sum() {	# the per-event decayed value; $1 = the age in seconds
	echo "weight * CASE signal WHEN 1 THEN power(2, -$1 / $VIEW_HL) ELSE 3 * power(2, -$1 / $LIKE_HL) END"
}
SQL_TIDAL="SELECT * FROM tidal.retrieve(42, (SELECT c FROM cands), 'two')"
SQL_SUM="SELECT entity, sum($(decay_sum "date_part('epoch', now() - at)")) AS score
  FROM events e
 WHERE entity = ANY ((SELECT c FROM cands)::bigint[])
   AND NOT EXISTS (SELECT 1 FROM hidden_plain h WHERE h.user_id = 42 AND h.item_id = e.entity)
 GROUP BY entity ORDER BY score DESC, entity LIMIT 20"
SQL_SUM_NUMERIC="SELECT entity, sum($(decay_sum "extract(epoch FROM now() - at)")) AS score
  FROM events e
 WHERE entity = ANY ((SELECT c FROM cands)::bigint[])
   AND NOT EXISTS (SELECT 1 FROM hidden_plain h WHERE h.user_id = 42 AND h.item_id = e.entity)
 GROUP BY entity ORDER BY score DESC, entity LIMIT 20"
SQL_PK="SELECT entity,
       coalesce(view_score * power(2, -date_part('epoch', now() - view_at) / $VIEW_HL), 0)
       + 3 * coalesce(like_score * power(2, -date_part('epoch', now() - like_at) / $LIKE_HL), 0) AS score
  FROM scores s
 WHERE entity = ANY ((SELECT c FROM cands)::bigint[])
   AND NOT EXISTS (SELECT 1 FROM hidden_plain h WHERE h.user_id = 42 AND h.item_id = s.entity)
 ORDER BY score DESC, entity LIMIT 20"
SQL_TIDAL_MPC="SELECT * FROM tidal.retrieve(42, (SELECT c FROM cands), 'two', max_per_creator => 1)"
SQL_TIDAL_FRESH="SELECT * FROM tidal.retrieve(42, (SELECT c FROM cands), 'fresh')"
SQL_TIDAL_NOUSER="SELECT * FROM tidal.retrieve(NULL, (SELECT c FROM cands), 'two')"
declare -A SQLS=([tidal]=$SQL_TIDAL [sum]=$SQL_SUM [sum_numeric]=$SQL_SUM_NUMERIC [pk]=$SQL_PK
	[tidal_mpc]=$SQL_TIDAL_MPC [tidal_fresh]=$SQL_TIDAL_FRESH [tidal_nouser]=$SQL_TIDAL_NOUSER)
for k in "${!SQLS[@]}"; do printf '%s;\n' "${SQLS[$k]}" >"$BENCH_WORK/$k.sql"; done
chown -R "$TIDAL_USER:$TIDAL_USER" "$BENCH_WORK"

# the three answers must agree, at one instant (now() is fixed in a transaction)
check=$(as_pg psql -X -qAt -v ON_ERROR_STOP=1 <<SQL
BEGIN;
SELECT string_agg(item_id || ':' || score, ' ' ORDER BY rank) FROM tidal.retrieve(42, (SELECT c FROM cands), 'two', at => now());
SELECT string_agg(entity || ':' || score, ' ' ORDER BY score DESC, entity) FROM ($SQL_SUM) r;
SELECT string_agg(entity || ':' || score, ' ' ORDER BY score DESC, entity) FROM ($SQL_PK) r;
SELECT string_agg(entity || ':' || score, ' ' ORDER BY score DESC, entity) FROM ($SQL_SUM_NUMERIC) r;
COMMIT;
SQL
)
mapfile -t answers <<<"$check"
[ "${#answers[@]}" -eq 4 ] || bdie "the check query returned ${#answers[@]} lines: $check"
a_tidal=${answers[0]}; a_sum=${answers[1]}; a_pk=${answers[2]}; a_num=${answers[3]}
ids() { tr ' ' '\n' <<<"$1" | cut -d: -f1 | paste -sd' '; }
# largest relative score difference between two answers with the same ids
maxrel() {
	paste -d' ' <(tr ' ' '\n' <<<"$1" | cut -d: -f2) <(tr ' ' '\n' <<<"$2" | cut -d: -f2) |
		awk '{ d = $1 - $2; if (d < 0) d = -d; r = d / ($2 < 0 ? -$2 : $2); if (r > m) m = r } END { printf "%.1e", m }'
}
n_ids=$(ids "$a_tidal" | wc -w)
[ "$n_ids" = 20 ] || bdie "tidal.retrieve returned $n_ids items, expected 20: $a_tidal"
[ "$(ids "$a_tidal")" = "$(ids "$a_sum")" ] ||
	bdie "tidal's top 20 differs from the plain sum's: tidal $(ids "$a_tidal"); plain $(ids "$a_sum")"
rel_sum=$(maxrel "$a_tidal" "$a_sum")
awk -v r="$rel_sum" 'BEGIN { exit !(r + 0 < 1e-9) }' || bdie "tidal's scores differ from the plain sum's by up to $rel_sum relative"
agree_pk=yes; agree_num=yes
if [ "$(ids "$a_pk")" = "$(ids "$a_sum")" ]; then rel_pk=$(maxrel "$a_pk" "$a_sum"); else agree_pk=NO; rel_pk=n/a; blog "retrieve: WARNING: the score table's top 20 differs: $(ids "$a_pk")"; fi
if [ "$(ids "$a_num")" = "$(ids "$a_sum")" ]; then rel_num=$(maxrel "$a_num" "$a_sum"); else agree_num=NO; rel_num=n/a; blog "retrieve: WARNING: the numeric sum's top 20 differs: $(ids "$a_num")"; fi
blog "retrieve: top 20 agree; tidal vs plain sum: max relative difference $rel_sum; score table: $agree_pk ($rel_pk)"

# what the hides and the extras do
facts=$(as_pg psql -X -qAt -v ON_ERROR_STOP=1 <<'SQL'
SELECT count(*) FROM tidal.hidden WHERE user_id = 42;
SELECT count(*) FROM tidal.retrieve(NULL, (SELECT c FROM cands), 'two') r WHERE EXISTS (SELECT 1 FROM hidden_plain h WHERE h.user_id = 42 AND h.item_id = r.item_id);
SELECT count(*) FROM tidal.retrieve(42, (SELECT c FROM cands), 'two') r WHERE EXISTS (SELECT 1 FROM hidden_plain h WHERE h.user_id = 42 AND h.item_id = r.item_id);
SELECT tidal.last_query_stats() - 'elapsed_us';
SELECT count(*) FROM tidal.retrieve(42, (SELECT c FROM cands), 'two', max_per_creator => 1);
SELECT coalesce(max(n), 0) FROM (SELECT count(*) n FROM tidal.retrieve(42, (SELECT c FROM cands), 'two', max_per_creator => 1) r JOIN tidal.items i USING (item_id) GROUP BY i.creator) x;
SELECT tidal.last_query_stats() - 'elapsed_us';
SELECT count(*) FROM tidal.retrieve(42, (SELECT c FROM cands), 'fresh');
SELECT tidal.last_query_stats() - 'elapsed_us';
SELECT count(*) FROM events;
SELECT count(DISTINCT entity) FROM events;
SELECT count(*) FROM events WHERE entity = ANY ((SELECT c FROM cands)::bigint[]);
SELECT max(n) FROM (SELECT count(*) n FROM events GROUP BY entity) x;
SQL
)
mapfile -t F <<<"$facts"
[ "${F[0]}" = 1000 ] || bdie "tidal.hidden lists ${F[0]} items of user 42, expected 1000"
[ "${F[2]}" = 0 ] || bdie "tidal.retrieve returned ${F[2]} items user 42 hid"
[ "${F[4]}" = 20 ] || bdie "retrieve with max_per_creator returned ${F[4]} items"
[ "${F[5]}" = 1 ] || bdie "retrieve with max_per_creator => 1 returned ${F[5]} items of one creator"
[ "${F[7]}" = 20 ] || bdie "retrieve with the 'fresh' profile returned ${F[7]} items"
blog "retrieve: stats: ${F[3]}"

# $BENCH_WORK/<kind>.lat: all per-transaction latencies (ms) of a kind, one a line
declare -A per_round
KINDS="tidal pk sum tidal_mpc tidal_fresh tidal_nouser sum_numeric"
for k in $KINDS; do : >"$BENCH_WORK/$k.lat"; per_round[$k]=""; done
median_of() { sort -g "$1" | awk '{ v[NR] = $1 } END { if (NR == 0) print "n/a"; else print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
mean_of() { awk '{ s += $1 } END { if (NR == 0) print "n/a"; else print s / NR }' "$1"; }
for round in $(seq 1 "$ROUNDS"); do
	if [ $((round % 2)) -eq 1 ]; then order=$KINDS; else order=$(echo "$KINDS" | tr ' ' '\n' | tac | tr '\n' ' '); fi
	for k in $order; do
		case $k in
			tidal_*|sum_numeric) d=$HALF ;;
			*) d=$DURATION ;;
		esac
		prefix=$BENCH_WORK/log.$k.$round
		bench_pgbench "retrieve.$k.$round" -- -M prepared -c 1 -j 1 -T "$d" -l --log-prefix="$prefix" -f "$BENCH_WORK/$k.sql" >/dev/null
		# pgbench -l: client xact latency_us script epoch_s epoch_us
		awk '{ printf "%.4f\n", $3 / 1000 }' "$prefix".* >"$BENCH_WORK/$k.$round.lat"
		cat "$BENCH_WORK/$k.$round.lat" >>"$BENCH_WORK/$k.lat"
		m=$(median_of "$BENCH_WORK/$k.$round.lat")
		per_round[$k]="${per_round[$k]}${per_round[$k]:+, }$(fmt3 "$m") ($(wc -l <"$BENCH_WORK/$k.$round.lat"))"
		blog "retrieve: $k round $round: median $(fmt3 "$m") ms over $(wc -l <"$BENCH_WORK/$k.$round.lat") transactions"
	done
done

# the three main queries interleaved in one run: pgbench picks a script at
# random for every transaction, with these weights (pgbench directly, not
# bench_pgbench: with several scripts pgbench prints a failure count per script,
# which bench_pgbench's check does not expect)
mixed_out=$BENCH_RESULTS/retrieve.mixed.pgbench.txt
as_pg pgbench -n -M prepared -c 1 -j 1 -T "$MIXED_DURATION" -l --log-prefix="$BENCH_WORK/log.mixed" \
	-f "$BENCH_WORK/tidal.sql@20" -f "$BENCH_WORK/pk.sql@5" -f "$BENCH_WORK/sum.sql@1" >"$mixed_out" 2>&1 ||
	{ cat "$mixed_out" >&2; bdie "pgbench retrieve.mixed failed"; }
[ "$(awk -F': ' '/^number of failed transactions/ {split($2, a, " "); print a[1]; exit}' "$mixed_out")" = 0 ] ||
	{ cat "$mixed_out" >&2; bdie "pgbench retrieve.mixed: failed transactions"; }
for i in 0 1 2; do
	k=$(echo tidal pk sum | cut -d' ' -f$((i + 1)))
	awk -v s=$i '$4 == s { printf "%.4f\n", $3 / 1000 }' "$BENCH_WORK"/log.mixed.* >"$BENCH_WORK/mixed_$k.lat"
done
mixed_line() {	# kind label
	echo "$2 median $(fmt3 "$(median_of "$BENCH_WORK/mixed_$1.lat")") ms ($(wc -l <"$BENCH_WORK/mixed_$1.lat") transactions)"
}
blog "retrieve: interleaved: $(mixed_line tidal tidal), $(mixed_line pk 'score table'), $(mixed_line sum 'plain sum')"

# tidal's own timing (last_query_stats elapsed_us), 500 calls each in one
# session after a warm-up call: the benchmark call, and for a breakdown the
# same without the user (no hides to load) and with a single candidate (little
# but the hides to load)
elapsed_stats=$(as_pg psql -X -qAt -v ON_ERROR_STOP=1 <<'SQL'
CREATE TEMP TABLE el (k text, us bigint);
CREATE FUNCTION pg_temp.calls(k text, q text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    FOR i IN 1..500 LOOP
        EXECUTE q;
        INSERT INTO el SELECT k, (tidal.last_query_stats()->>'elapsed_us')::bigint;
    END LOOP;
END $$;
DO $d$ BEGIN
    PERFORM pg_temp.calls('a', $q$SELECT * FROM tidal.retrieve(42, (SELECT c FROM cands), 'two')$q$);
    PERFORM pg_temp.calls('b', $q$SELECT * FROM tidal.retrieve(NULL, (SELECT c FROM cands), 'two')$q$);
    PERFORM pg_temp.calls('c', $q$SELECT * FROM tidal.retrieve(42, (SELECT c[1:1] FROM cands), 'two')$q$);
END $d$;
SELECT format('%s|%s|%s|%s', percentile_cont(0.5) WITHIN GROUP (ORDER BY us), round(avg(us)), min(us), max(us))
  FROM el GROUP BY k ORDER BY k;
SQL
)
mapfile -t EL <<<"$elapsed_stats"
[ "${#EL[@]}" -eq 3 ] || bdie "elapsed_us measurement returned: $elapsed_stats"
el_fmt() { IFS='|' read -r med mean min max <<<"$1"; echo "median $med, mean $mean, min $min, max $max"; }
explain() {	# query -> EXPLAIN ANALYZE of its second execution in one session
	as_pg psql -X -qAt -v ON_ERROR_STOP=1 -c "SELECT count(*) FROM ($1) w" -c "EXPLAIN (ANALYZE, BUFFERS) $1" | tail -n +2
}
plan_sum=$(explain "$SQL_SUM")
plan_pk=$(explain "$SQL_PK")
plan_tidal=$(explain "$SQL_TIDAL")
exec_ms() { awk '/^Execution Time:/ {print $3}' <<<"$1"; }

psi_end=$(cpu_pressure)
T=$(median_of "$BENCH_WORK/tidal.lat"); S=$(median_of "$BENCH_WORK/sum.lat"); P=$(median_of "$BENCH_WORK/pk.lat")
N=$(median_of "$BENCH_WORK/sum_numeric.lat")
f3() { fmt3 "$1"; }
row() {	# kind label goal-text
	local m mean n
	m=$(median_of "$BENCH_WORK/$1.lat"); mean=$(mean_of "$BENCH_WORK/$1.lat"); n=$(wc -l <"$BENCH_WORK/$1.lat")
	echo "$2|$(f3 "$m")|$(f3 "$mean")|$n|$(fdiv "$m" "$T")|$3"
}
{
	bench_header "retrieve: top 20 of 10,000 candidates, two-signal profile, user with 1,000 hidden items; 500,000 events over 20,000 items; pgbench -M prepared -c 1 -j 1, -T $DURATION (extras and numeric sum -T $HALF) x $ROUNDS rounds in alternating order, per-transaction latencies (pgbench -l)"
	echo "# tidal.so $(md5sum "$("$PG_BINDIR/pg_config" --pkglibdir)/tidal.so" | cut -c1-12) (md5), checkout $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$REPO" diff --quiet HEAD -- src sql 2>/dev/null || echo ' with uncommitted changes in src/ or sql/'); CPU pressure (avg60) $psi_start before loading, $psi_end after measuring"
	{
		echo "query|median ms|mean ms|transactions|this / tidal (medians)|goal"
		row tidal "tidal.retrieve(42, cands, 'two')" "median < 5 ms: $(met "$T" "<=" 5)"
		row sum "plain: sum of decayed events at query time (float8: date_part)" ">= 50x: $(met "$(fdiv "$S" "$T")" ">=" 50)"
		row pk "plain: upsert-maintained score table, candidates by primary key" ">= 10x: $(met "$(fdiv "$P" "$T")" ">=" 10)"
		row sum_numeric "plain: the same sum written with extract() (numeric power)" ""
		row tidal_nouser "tidal.retrieve(NULL, cands, 'two') (no user, no hides)" ""
		row tidal_mpc "tidal.retrieve(42, cands, 'two', max_per_creator => 1)" ""
		row tidal_fresh "tidal.retrieve(42, cands, 'fresh') (freshness + log1p of every signal)" ""
	} | print_table
	echo
	echo "per round, median ms (transactions): tidal $(echo "${per_round[tidal]}"); score table ${per_round[pk]}; plain sum ${per_round[sum]}; numeric sum ${per_round[sum_numeric]}"
	MT=$(median_of "$BENCH_WORK/mixed_tidal.lat")
	echo "interleaved in one pgbench run of $MIXED_DURATION s: $(mixed_line tidal tidal); $(mixed_line pk 'score table'), $(fdiv "$(median_of "$BENCH_WORK/mixed_pk.lat")" "$MT")x tidal; $(mixed_line sum 'plain sum'), $(fdiv "$(median_of "$BENCH_WORK/mixed_sum.lat")" "$MT")x tidal"
	echo "tidal last_query_stats elapsed_us, 500 calls each in one session: retrieve(42, cands, 'two') $(el_fmt "${EL[0]}"); retrieve(NULL, cands, 'two') $(el_fmt "${EL[1]}"); retrieve(42, one candidate, 'two') $(el_fmt "${EL[2]}")"
	echo "server execution time (EXPLAIN ANALYZE, 2nd run): tidal $(exec_ms "$plan_tidal") ms, plain sum $(exec_ms "$plan_sum") ms, score table $(exec_ms "$plan_pk") ms"
	echo "agreement at one instant: same top 20 ids in the same order: tidal = plain sum (scores within $rel_sum relative); score table: $agree_pk ($rel_pk); numeric sum: $agree_num ($rel_num)"
	echo "top 20 (tidal): $(ids "$a_tidal")"
	echo "data: ${F[9]} events, ${F[10]} distinct items, ${F[11]} of the events belong to the 10,000 candidates, busiest item ${F[12]} events; loaded in $load_s s"
	echo "hides: tidal.hidden has ${F[0]} items of user 42; ${F[1]} of them would be in the top 20 without the hides, ${F[2]} are"
	echo "stats, two: ${F[3]}"
	echo "stats, max_per_creator => 1: ${F[6]} (at most ${F[5]} item per creator returned)"
	echo "stats, fresh: ${F[8]}"
	echo "plain sum plan:"
	sed 's/^/    /' <<<"$plan_sum"
	echo "score table plan:"
	sed 's/^/    /' <<<"$plan_pk"
} | tee "$BENCH_RESULTS/retrieve.txt"
