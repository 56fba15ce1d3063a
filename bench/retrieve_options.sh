#!/usr/bin/env bash
# Every tidal.retrieve option side by side with its plain-SQL equivalent, on
# one instance, in one run:
#
#   A. top 20 of 10,000 candidates (the data of bench/retrieve.sh: 500,000
#      events over 20,000 items, profile 'two' = 1 x decay(view, 7 days) +
#      3 x decay(like, 1 day); items with one of 50 creators, a creation time
#      in the last 30 days and metadata {"lang": one of en/fr/de/es}; user 42
#      hid 1,000 of the candidates):
#        plain     retrieve(NULL, cands, 'two')               no user, no hides
#        hides     retrieve(42, cands, 'two')                 the user's 1,000 hides
#        per_creator  ... max_per_creator => 1                at most one item per creator
#        fresh     retrieve(42, cands, 'fresh')               freshness + 0.1 x log1p of each signal
#        filter    retrieve(42, cands, 'two', '{"lang": "en"}')
#      against plain SQL: the decayed sums computed at query time over an
#      events table indexed on (entity), joined to an items table (primary key
#      item) for creators, creation times and metadata, with the same hides
#      (NOT EXISTS over hidden_plain), row_number() per creator, the freshness
#      formula, and metadata @> filter.
#   B. the whole catalogue, top 20 (retrieve(NULL, NULL, 'two', tenant => T)):
#      250,000 and 1,000,000 items, each tenant its own catalogue, two events
#      an item on average (one in five a like) over the last 7 days; against
#      plain SQL: the decayed sums of every event (GROUP BY entity, top 20),
#      and a score table (one row per item, decayed to now at read time,
#      ORDER BY score LIMIT 20).
#
#   bash bench/retrieve_options.sh
#
# Before timing, every pair is checked at one instant (now() fixed in a
# transaction): the same 20 ids in the same order, the scores within 1e-9
# relative; the script fails otherwise.
#
# Timing: pgbench -M prepared -c 1 -j 1 -n, per-transaction latencies (-l);
# BENCH_ROUNDS rounds (default 4), each running every query for
# BENCH_DURATION seconds (default 3), the order reversed every other round,
# so that other load on the machine falls on both sides alike.  The table
# gives medians over all rounds.  Goals: every option under 2 ms at 10,000
# candidates; the whole catalogue at least 10x the plain sum (and, for the
# issue's 4-shard goal of 1M items under 50 ms, 250,000 items on one
# instance is one shard's part).
# Knobs: BENCH_PORT (57432), BENCH_ROUNDS, BENCH_DURATION, BENCH_WHOLE_SIZES
# ("250000 1000000"), and those of bench/lib.sh.
BENCH_PORT=${BENCH_PORT:-57432}
BENCH_MAX_ENTITIES=${BENCH_MAX_ENTITIES:-3000000}
BENCH_DIR=${BENCH_DIR:-/tmp/tidal-bench-retrieve-options}
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DURATION=${BENCH_DURATION:-3}
ROUNDS=${BENCH_ROUNDS:-4}
SIZES=${BENCH_WHOLE_SIZES:-250000 1000000}
VIEW_HL=604800   # 7 days, in seconds
LIKE_HL=86400    # 1 day
max_items=$(( 20000 + 100 ))
for n in $SIZES; do max_items=$(( max_items + n )); done

bench_up "tidal.max_items = $max_items" "work_mem = '256MB'"

cpu_pressure() { awk '/^some/ { sub("avg60=", "", $3); print $3 "%" }' /proc/pressure/cpu 2>/dev/null || echo "?"; }
psi_start=$(cpu_pressure)

blog "retrieve_options: loading A (500,000 events, 20,000 items) into tidal and the plain tables"
t_load=$(now_s)
qscript >/dev/null <<SQL
SELECT tidal.define_signal('view', '7 days');
SELECT tidal.define_signal('like', '1 day');
SELECT tidal.define_profile('two', '{"terms": [{"signal": "view"}, {"signal": "like", "weight": 3}]}');

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
SELECT format('SELECT tidal.signal_batch(%L, array_agg(entity ORDER BY g), array_agg(weight ORDER BY g), array_agg(at ORDER BY g)) FROM src WHERE signal = %s AND g > %s AND g <= %s',
              CASE s WHEN 1 THEN 'view' ELSE 'like' END, s, k * 10000, (k + 1) * 10000)
  FROM generate_series(0, 49) k, generate_series(1, 2) s
 ORDER BY k, s
\gexec

CREATE TABLE cands (c bigint[] NOT NULL);
INSERT INTO cands
SELECT array_agg(i ORDER BY hashint8(i * 31 + 7))
  FROM (SELECT i::int8 FROM generate_series(1, 20000) i ORDER BY hashint8(i::int8 * 17 + 5) LIMIT 10000) x;

CREATE TABLE hidden_plain (user_id bigint NOT NULL, item_id bigint NOT NULL, PRIMARY KEY (user_id, item_id));
INSERT INTO hidden_plain
SELECT 42, i FROM unnest((SELECT c FROM cands)) i ORDER BY hashint8(i + 99) LIMIT 1000;
SELECT count(tidal.hide_item(user_id, item_id)) FROM hidden_plain;

-- items: the same rows in tidal (tidal.upsert_item) and in a plain table
CREATE TABLE items_plain (
    item       bigint PRIMARY KEY,
    creator    bigint,
    created_at timestamptz NOT NULL,
    metadata   jsonb NOT NULL
);
INSERT INTO items_plain
SELECT i, 1 + (hashint8(i + 5) & 65535) % 50,
       now() - ((hashint8(i + 11) & 65535) / 65536.0) * interval '30 days',
       jsonb_build_object('lang', (ARRAY['en', 'fr', 'de', 'es'])[1 + (hashint8(i + 3) & 65535) % 4])
  FROM generate_series(1, 20000) i;
SELECT count(tidal.upsert_item(item, creator, metadata, created_at)) FROM items_plain;
$(bench_settle_sql)
SQL
load_a=$(elapsed "$t_load" "$(now_s)")
blog "retrieve_options: A loaded in $load_a s"

# B: one tenant per catalogue size
t_load=$(now_s)
tenant=0
declare -A TENANT_OF
for n in $SIZES; do
	tenant=$((tenant + 1))
	TENANT_OF[$n]=$tenant
	blog "retrieve_options: loading B, $n items (tenant $tenant) and $((2 * n)) events"
	qscript >/dev/null <<SQL
SELECT tidal.register_tenant($tenant, 'whole_$n');
-- 2 events an item on average, one in five a like, over the last 7 days
CREATE TABLE src AS
SELECT g, 1 + (hashint8(g * 3 + $tenant) & 2147483647) % $n AS entity,
       CASE WHEN g % 5 = 0 THEN 2 ELSE 1 END AS signal, 1::float8 AS weight,
       now() - interval '7 days' + g * (interval '7 days' / (2 * $n)) AS at
  FROM generate_series(1, 2 * $n) g;
CREATE INDEX ON src (g);
CREATE TABLE events_$n (entity bigint NOT NULL, signal int NOT NULL, weight float8 NOT NULL, at timestamptz NOT NULL);
INSERT INTO events_$n SELECT entity, signal, weight, at FROM src ORDER BY g;
SELECT format('SELECT tidal.signal_batch(%L, array_agg(entity ORDER BY g), array_agg(weight ORDER BY g), array_agg(at ORDER BY g), tenant => $tenant) FROM src WHERE signal = %s AND g > %s AND g <= %s',
              CASE s WHEN 1 THEN 'view' ELSE 'like' END, s, k * 50000, (k + 1) * 50000)
  FROM generate_series(0, (2 * $n - 1) / 50000) k, generate_series(1, 2) s
 ORDER BY k, s
\gexec
-- the score table: per item and signal, the decayed sum anchored at its latest event
CREATE TABLE scores_$n AS
SELECT entity,
       sum(weight * power(2, -date_part('epoch', last_at - at) / $VIEW_HL)) FILTER (WHERE signal = 1) AS view_score,
       max(at) FILTER (WHERE signal = 1) AS view_at,
       sum(weight * power(2, -date_part('epoch', last_at - at) / $LIKE_HL)) FILTER (WHERE signal = 2) AS like_score,
       max(at) FILTER (WHERE signal = 2) AS like_at
  FROM (SELECT entity, signal, weight, at, max(at) OVER (PARTITION BY entity, signal) AS last_at FROM src) e
 GROUP BY entity;
ALTER TABLE scores_$n ADD PRIMARY KEY (entity);
-- every item is in tidal's catalogue (items without events too), 50,000 a transaction
SELECT format('SELECT count(tidal.upsert_item(i, i %% 1000, ''{}'', now() - interval ''1 day'', tenant => $tenant)) FROM generate_series(%s, %s) i',
              k * 50000 + 1, least((k + 1) * 50000, $n))
  FROM generate_series(0, ($n - 1) / 50000) k
\gexec
$(bench_settle_sql)
SQL
done
load_b=$(elapsed "$t_load" "$(now_s)")
blog "retrieve_options: B loaded in $load_b s"

# ---- the queries ----
decay_sum() {	# the per-event decayed value under profile 'two'; $1 = the age in seconds
	echo "weight * CASE signal WHEN 1 THEN power(2, -$1 / $VIEW_HL) ELSE 3 * power(2, -$1 / $LIKE_HL) END"
}
AGE="date_part('epoch', now() - at)"
NOT_HIDDEN="NOT EXISTS (SELECT 1 FROM hidden_plain h WHERE h.user_id = 42 AND h.item_id = e.entity)"
CANDS="(SELECT c FROM cands)::bigint[]"
declare -A SQLS LABEL
SQLS[tidal_plain]="SELECT item_id, score FROM tidal.retrieve(NULL, (SELECT c FROM cands), 'two')"
SQLS[sql_plain]="SELECT entity, sum($(decay_sum "$AGE")) AS score FROM events e
 WHERE entity = ANY ($CANDS) GROUP BY entity ORDER BY score DESC, entity LIMIT 20"
SQLS[tidal_hides]="SELECT item_id, score FROM tidal.retrieve(42, (SELECT c FROM cands), 'two')"
SQLS[sql_hides]="SELECT entity, sum($(decay_sum "$AGE")) AS score FROM events e
 WHERE entity = ANY ($CANDS) AND $NOT_HIDDEN GROUP BY entity ORDER BY score DESC, entity LIMIT 20"
SQLS[tidal_per_creator]="SELECT item_id, score FROM tidal.retrieve(42, (SELECT c FROM cands), 'two', max_per_creator => 1)"
SQLS[sql_per_creator]="SELECT entity, score FROM (
  SELECT s.entity, s.score, row_number() OVER (PARTITION BY i.creator ORDER BY s.score DESC, s.entity) AS rn
    FROM (SELECT entity, sum($(decay_sum "$AGE")) AS score FROM events e
           WHERE entity = ANY ($CANDS) AND $NOT_HIDDEN GROUP BY entity) s
    JOIN items_plain i ON i.item = s.entity) r
 WHERE rn = 1 ORDER BY score DESC, entity LIMIT 20"
SQLS[tidal_fresh]="SELECT item_id, score FROM tidal.retrieve(42, (SELECT c FROM cands), 'fresh')"
SQLS[sql_fresh]="SELECT c.entity,
       coalesce(power(2, -greatest(date_part('epoch', now() - i.created_at), 0) / 86400), 0)
       + 0.1 * ln(1 + coalesce(s.v, 0)) + 0.1 * ln(1 + coalesce(s.l, 0)) AS score
  FROM unnest($CANDS) AS c(entity)
  LEFT JOIN items_plain i ON i.item = c.entity
  LEFT JOIN (SELECT entity,
                    sum(weight * power(2, -$AGE / $VIEW_HL)) FILTER (WHERE signal = 1) AS v,
                    sum(weight * power(2, -$AGE / $LIKE_HL)) FILTER (WHERE signal = 2) AS l
               FROM events WHERE entity = ANY ($CANDS) GROUP BY entity) s ON s.entity = c.entity
 WHERE NOT EXISTS (SELECT 1 FROM hidden_plain h WHERE h.user_id = 42 AND h.item_id = c.entity)
 ORDER BY score DESC, c.entity LIMIT 20"
SQLS[tidal_filter]="SELECT item_id, score FROM tidal.retrieve(42, (SELECT c FROM cands), 'two', '{\"lang\": \"en\"}')"
SQLS[sql_filter]="SELECT entity, sum($(decay_sum "$AGE")) AS score FROM events e
 WHERE entity = ANY ($CANDS) AND $NOT_HIDDEN
   AND EXISTS (SELECT 1 FROM items_plain i WHERE i.item = e.entity AND i.metadata @> '{\"lang\": \"en\"}')
 GROUP BY entity ORDER BY score DESC, entity LIMIT 20"
OPTIONS="plain hides per_creator fresh filter"
LABEL[plain]="profile 'two', no user"
LABEL[hides]="user with 1,000 hides"
LABEL[per_creator]="max_per_creator => 1"
LABEL[fresh]="profile 'fresh'"
LABEL[filter]="filter {\"lang\": \"en\"}"
WHOLE=""
for n in $SIZES; do
	t=${TENANT_OF[$n]}
	SQLS[tidal_whole_$n]="SELECT item_id, score FROM tidal.retrieve(NULL, NULL, 'two', tenant => $t)"
	SQLS[sql_whole_$n]="SELECT entity, sum($(decay_sum "$AGE")) AS score FROM events_$n
 GROUP BY entity ORDER BY score DESC, entity LIMIT 20"
	SQLS[pk_whole_$n]="SELECT entity,
       coalesce(view_score * power(2, -date_part('epoch', now() - view_at) / $VIEW_HL), 0)
       + 3 * coalesce(like_score * power(2, -date_part('epoch', now() - like_at) / $LIKE_HL), 0) AS score
  FROM scores_$n ORDER BY score DESC, entity LIMIT 20"
	LABEL[whole_$n]="whole catalogue, $n items"
	WHOLE="$WHOLE whole_$n"
done
KINDS=""
for o in $OPTIONS $WHOLE; do KINDS="$KINDS tidal_$o sql_$o"; done
for n in $SIZES; do KINDS="$KINDS pk_whole_$n"; done
for k in $KINDS; do printf '%s;\n' "${SQLS[$k]}" >"$BENCH_WORK/$k.sql"; done
chown -R "$TIDAL_USER:$TIDAL_USER" "$BENCH_WORK"

# ---- agreement at one instant ----
ids() { tr ' ' '\n' <<<"$1" | cut -d: -f1 | paste -sd' '; }
maxrel() {
	paste -d' ' <(tr ' ' '\n' <<<"$1" | cut -d: -f2) <(tr ' ' '\n' <<<"$2" | cut -d: -f2) |
		awk '{ d = $1 - $2; if (d < 0) d = -d; r = d / ($2 < 0 ? -$2 : $2); if (r > m) m = r } END { printf "%.1e", m }'
}
declare -A AGREE
check_pair() {	# option tidal-kind plain-kind
	local a b
	# now() is fixed in a transaction; retrieve's at defaults to now()
	a=$(as_pg psql -X -qAt -v ON_ERROR_STOP=1 <<SQL | grep -v '^$'
BEGIN;
SELECT string_agg(x.a || ':' || x.b, ' ') FROM (${SQLS[$2]}) AS x(a, b);
SELECT string_agg(x.a || ':' || x.b, ' ') FROM (${SQLS[$3]}) AS x(a, b);
COMMIT;
SQL
)
	b=$(sed -n 2p <<<"$a"); a=$(sed -n 1p <<<"$a")
	[ "$(ids "$a" | wc -w)" = 20 ] || bdie "$2 returned $(ids "$a" | wc -w) items: $a"
	[ "$(ids "$a")" = "$(ids "$b")" ] || bdie "$2 and $3 differ: $(ids "$a") / $(ids "$b")"
	AGREE[$1]="$(maxrel "$a" "$b")"
	awk -v r="${AGREE[$1]}" 'BEGIN { exit !(r + 0 < 1e-9) }' || bdie "$2's scores differ from $3's by ${AGREE[$1]} relative"
}
for o in $OPTIONS $WHOLE; do check_pair "$o" "tidal_$o" "sql_$o"; done
for n in $SIZES; do
	check_pair "pk_$n" "tidal_whole_$n" "pk_whole_$n"
done
blog "retrieve_options: every pair agrees (same 20 ids in order, scores within 1e-9)"
stats_of() { as_pg psql -X -qAt -v ON_ERROR_STOP=1 -c "SELECT count(*) FROM ($1) x" -c "SELECT tidal.last_query_stats() - 'elapsed_us' - 'unreachable_regions' - 'degraded'" | tail -1; }

# ---- timing ----
median_of() { sort -g "$1" | awk '{ v[NR] = $1 } END { if (NR == 0) print "n/a"; else print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
for k in $KINDS; do : >"$BENCH_WORK/$k.lat"; done
for round in $(seq 1 "$ROUNDS"); do
	if [ $((round % 2)) -eq 1 ]; then order=$KINDS; else order=$(echo "$KINDS" | tr ' ' '\n' | tac | tr '\n' ' '); fi
	for k in $order; do
		prefix=$BENCH_WORK/log.$k.$round
		bench_pgbench "retrieve_options.$k.$round" -- -M prepared -c 1 -j 1 -T "$DURATION" -l --log-prefix="$prefix" -f "$BENCH_WORK/$k.sql" >/dev/null
		awk '{ printf "%.4f\n", $3 / 1000 }' "$prefix".* >>"$BENCH_WORK/$k.lat"
	done
	blog "retrieve_options: round $round of $ROUNDS done"
done

# tidal's own time (last_query_stats elapsed_us), 200 calls each in one session
declare -A ELAPSED
for o in $OPTIONS $WHOLE; do
	calls=200
	case $o in whole_*) calls=20 ;; esac
	ELAPSED[$o]=$(as_pg psql -X -qAt -v ON_ERROR_STOP=1 <<SQL
CREATE TEMP TABLE el (us bigint);
DO \$d\$ BEGIN
    PERFORM count(*) FROM (${SQLS[tidal_$o]}) x;
    FOR i IN 1..$calls LOOP
        PERFORM count(*) FROM (${SQLS[tidal_$o]}) x;
        INSERT INTO el SELECT (tidal.last_query_stats()->>'elapsed_us')::bigint;
    END LOOP;
END \$d\$;
SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY us) / 1000.0 FROM el;
SQL
)
done
psi_end=$(cpu_pressure)

{
	bench_header "retrieve_options: every tidal.retrieve option against its plain-SQL equivalent; A: top 20 of 10,000 candidates (500,000 events over 20,000 items); B: top 20 of the whole catalogue; pgbench -M prepared -c 1 -j 1, -T $DURATION x $ROUNDS rounds in alternating order, per-transaction latencies (pgbench -l)"
	echo "# tidal.so $(so_md5) (md5), checkout $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$REPO" diff --quiet HEAD -- src sql 2>/dev/null || echo ' with uncommitted changes in src/ or sql/'); CPU pressure (avg60) $psi_start before loading, $psi_end after measuring; loads: A $load_a s, B $load_b s"
	{
		echo "option|tidal median ms|tidal elapsed_us median ms|plain SQL median ms|plain / tidal|goal"
		for o in $OPTIONS $WHOLE; do
			T=$(median_of "$BENCH_WORK/tidal_$o.lat"); S=$(median_of "$BENCH_WORK/sql_$o.lat")
			case $o in
				whole_*) goal=">= 10x the plain sum: $(met "$(fdiv "$S" "$T")" ">=" 10)" ;;
				*) goal="< 2 ms: $(met "$T" "<=" 2)" ;;
			esac
			echo "${LABEL[$o]}|$(fmt3 "$T")|$(fmt3 "${ELAPSED[$o]}")|$(fmt3 "$S")|$(fdiv "$S" "$T")|$goal"
		done
		for n in $SIZES; do
			T=$(median_of "$BENCH_WORK/tidal_whole_$n.lat"); P=$(median_of "$BENCH_WORK/pk_whole_$n.lat")
			echo "whole catalogue, $n items: score table instead of the sum|$(fmt3 "$T")||$(fmt3 "$P")|$(fdiv "$P" "$T")|"
		done
	} | print_table
	echo
	echo "transactions per query: $(for k in $KINDS; do printf '%s %s; ' "$k" "$(wc -l <"$BENCH_WORK/$k.lat")"; done)"
	echo "agreement at one instant (largest relative score difference, same 20 ids in order): $(for o in $OPTIONS $WHOLE; do printf '%s %s; ' "$o" "${AGREE[$o]}"; done)"
	for o in $OPTIONS $WHOLE; do echo "stats, $o: $(stats_of "${SQLS[tidal_$o]}")"; done
	echo "item facts: $(q "SELECT format('%s items, capacity %s, metadata_bytes %s, complete %s', items, capacity, metadata_bytes, complete) FROM tidal.item_facts_stats()")"
} | tee "$BENCH_RESULTS/retrieve_options.txt"
