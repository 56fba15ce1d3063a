#!/usr/bin/env bash
# Forage over HTTP (issue 16): GET /feed (7 cards, 2 explore slots, with the
# cards' texts, labels and reasons, and a 'view' recorded per new card) and a
# POST /signal (save) followed by the next GET /feed, through the app
# (apps/forage, node) on a tidal instance holding 10,000 items (posted to
# POST /items, embedded by the app on arrival) and 1,000 users with 20
# reactions each; side by side, on the same database in the same run, the
# SQL the feed runs (tidal.retrieve with the 'forage' profile) and the same
# feed in plain SQL with float arrays (bench/forage_plain_feed.sql
# over tables copied from tidal.items and the reactions).
#
#   bash bench/forage_http.sh
#
# Items: 8 topics x 1,250, each a seed item's title and summary with a
# number (apps/forage/seed/items.json), posted with curl (4 at a time).
# Reactions: users favour two topics: 12 saves there, 4 skips and 4 views
# elsewhere, written with tidal.signal and tidal.hide_item as POST /signal
# writes them (psql: 20,000 HTTP calls would only slow the loading).
# Timing: wrk -t1 -c1 (one connection, a random user per request) for
# BENCH_DURATION (20 s) with its latency distribution; the signal-then-feed
# pairs with curl (BENCH_PAIRS, 300), each pair's two time_total added;
# pgbench -c 1 for the two SQL feeds, per-transaction latencies (-l).
# Goals (issue 16): /feed p99 under 20 ms; a signal reflected in the next
# feed under 100 ms.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DURATION=${BENCH_DURATION:-20}
PAIRS=${BENCH_PAIRS:-300}
APP_PORT=${BENCH_APP_PORT:-56790}
PER_TOPIC=1250
USERS=1000
APP=$REPO/apps/forage

if ! command -v wrk >/dev/null 2>&1; then
	[ "$(id -u)" = 0 ] || bdie "wrk is missing (Debian package wrk)"
	DEBIAN_FRONTEND=noninteractive apt-get -q -y install --no-install-recommends wrk >/dev/null
fi
command -v node >/dev/null 2>&1 || bdie "node is missing (bash scripts/setup.sh installs Debian's nodejs)"
[ -d "$APP/node_modules" ] || (cd "$APP" && npm ci --no-audit --no-fund >/dev/null)

# Forage's metadata (300-500 bytes an item) held in shared memory, as
# apps/forage/run.sh sets it: retrieve's filter ({"app": "forage"}) then
# reads no table (BENCH_METADATA_BYTES=96, the default, to see the difference)
bench_up "tidal.embedding_dimensions = 100" "tidal.max_interests = 200000" "tidal.max_items = 20000" \
	"tidal.item_metadata_bytes = ${BENCH_METADATA_BYTES:-1024}"

APP_PID=
app_cleanup() {
	[ -n "$APP_PID" ] && kill "$APP_PID" 2>/dev/null && wait "$APP_PID" 2>/dev/null
	bench_cleanup
}
trap app_cleanup EXIT

URL=http://127.0.0.1:$APP_PORT
blog "forage_http: starting the app on $URL"
PORT=$APP_PORT DATABASE_URL="postgresql://$TIDAL_USER@/$BENCH_DB?host=$BENCH_DIR&port=$BENCH_PORT" \
	node "$APP/server.js" >"$BENCH_RESULTS/forage_http.app.log" 2>&1 &
APP_PID=$!
for _ in $(seq 1 600); do curl -fsS "$URL/health" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS "$URL/health" >/dev/null || { cat "$BENCH_RESULTS/forage_http.app.log" >&2; bdie "the app did not start"; }

blog "forage_http: posting $((PER_TOPIC * 8)) items to POST /items"
t_load=$(now_s)
# k = 0, 1, ... over the 100 seed items, until there are 8 x PER_TOPIC
jq -c '. as $seed | range(0; 1000000) as $k | $seed[]
	| {url: (.url + "/" + ($k | tostring)), title: (.title + " " + ($k | tostring)), summary, source, topic}' \
	"$APP/seed/items.json" 2>/dev/null | head -n $((PER_TOPIC * 8)) >"$BENCH_WORK/items.jsonl" || true
tr '\n' '\0' <"$BENCH_WORK/items.jsonl" |
	xargs -0 -P 4 -n 1 curl -fsS -o /dev/null -H 'content-type: application/json' -X POST "$URL/items" -d
items_s=$(elapsed "$t_load" "$(now_s)")
n_items=$(q "SELECT count(*) FROM tidal.items WHERE metadata @> '{\"app\": \"forage\"}' AND embedding IS NOT NULL")
blog "forage_http: $n_items items with embeddings in $items_s s"

blog "forage_http: $((USERS * 20)) reactions"
qscript >/dev/null <<SQL
CREATE TABLE items_plain AS
SELECT item_id AS id, metadata->>'topic' AS topic, embedding AS emb,
       sqrt((SELECT sum(x * x) FROM unnest(embedding) x)) AS norm
  FROM tidal.items WHERE metadata @> '{"app": "forage"}' AND embedding IS NOT NULL;
ALTER TABLE items_plain ADD PRIMARY KEY (id);
CREATE TABLE topics AS SELECT row_number() OVER (ORDER BY topic) - 1 AS t, topic FROM (SELECT DISTINCT topic FROM items_plain) s;
CREATE TABLE topic_items AS
SELECT t.t, i.id, row_number() OVER (PARTITION BY t.t ORDER BY i.id) AS k
  FROM items_plain i JOIN topics t USING (topic);
CREATE TABLE src AS
SELECT u, n,
       CASE WHEN n <= 12 THEN 'save' WHEN n <= 16 THEN 'skip' ELSE 'view' END AS signal,
       CASE WHEN n <= 12 THEN (SELECT id FROM topic_items ti
                                WHERE ti.t = CASE WHEN n % 2 = 0 THEN u % 8 ELSE (u * 3 + 1) % 8 END
                                  AND ti.k = 1 + (hashint8(u * 100 + n) & 65535) % $PER_TOPIC)
            ELSE (SELECT id FROM items_plain ORDER BY id OFFSET (hashint8(u * 1000 + n) & 65535) % $((PER_TOPIC * 8)) LIMIT 1) END AS item,
       now() - ((hashint8(u * 31 + n) & 65535) / 65536.0) * interval '3 days' AS at
  FROM generate_series(1, $USERS) u, generate_series(1, 20) n;
CREATE TABLE events_plain (user_id bigint, item_id bigint, signal text, weight float8, at timestamptz);
CREATE INDEX ON events_plain (user_id);
INSERT INTO events_plain SELECT u, item, signal, 1, at FROM src WHERE item IS NOT NULL;
CREATE TABLE hidden_plain (user_id bigint, item_id bigint, PRIMARY KEY (user_id, item_id));
INSERT INTO hidden_plain SELECT DISTINCT user_id, item_id FROM events_plain WHERE signal IN ('save', 'skip');
SELECT count(tidal.signal(signal, item_id, 1, at, user_id => user_id)) FROM events_plain;
SELECT count(tidal.hide_item(user_id, item_id)) FROM hidden_plain;

$(bench_settle_sql)
SQL
qscript >/dev/null <"$BENCH_ROOT/forage_plain_feed.sql"
load_s=$(elapsed "$t_load" "$(now_s)")
model=$(q "SELECT entries || ' sums, ' || arms || ' arms, ' || overflows || ' overflows' FROM tidal.interest_stats()")
blog "forage_http: loaded in $load_s s; tidal's model: $model"

# a feed of a user with interests, to see it works before timing it
sample=$(curl -fsS "$URL/feed?user=5&limit=7")
labels=$(jq -r '[.items[].label // "-"] | join(" ")' <<<"$sample")
[ "$(jq '.items | length' <<<"$sample")" = 7 ] || bdie "GET /feed returned: $sample"
blog "forage_http: user 5's feed: $labels"

cat >"$BENCH_WORK/feed.lua" <<'LUA'
math.randomseed(16)
request = function()
    return wrk.format("GET", "/feed?user=" .. math.random(2, 1000) .. "&limit=7")
end
LUA
blog "forage_http: GET /feed with wrk for $DURATION s"
wrk -t1 -c1 -d"${DURATION}s" --latency -s "$BENCH_WORK/feed.lua" "$URL" >"$BENCH_RESULTS/forage_http.wrk.txt" 2>&1
wrk_ms() {	# percentile label -> ms
	awk -v p="$1" '$1 == p { v = $2; if (v ~ /us$/) { sub("us", "", v); v /= 1000 } else if (v ~ /ms$/) sub("ms", "", v); else if (v ~ /s$/) { sub("s", "", v); v *= 1000 } print v; exit }' "$BENCH_RESULTS/forage_http.wrk.txt"
}
feed_p50=$(wrk_ms 50%); feed_p99=$(wrk_ms 99%)
feed_n=$(awk '/requests in/ {print $1; exit}' "$BENCH_RESULTS/forage_http.wrk.txt")
non2xx=$(awk '/Non-2xx/ {print $NF; exit}' "$BENCH_RESULTS/forage_http.wrk.txt")
[ -z "$non2xx" ] || bdie "wrk saw $non2xx non-2xx answers: $(cat "$BENCH_RESULTS/forage_http.wrk.txt")"

blog "forage_http: $PAIRS x (POST /signal save, then GET /feed) with curl"
: >"$BENCH_WORK/pairs.ms"
reflected=0
for i in $(seq 1 "$PAIRS"); do
	u=$(( (i * 7919) % 999 + 2 ))
	feed=$(curl -fsS "$URL/feed?user=$u&limit=7")
	item=$(jq -r '.items[0].item_id' <<<"$feed")
	t1=$(curl -fsS -o /dev/null -w '%{time_total}' -H 'content-type: application/json' -X POST "$URL/signal" \
		-d "{\"user_id\": $u, \"item_id\": $item, \"signal_type\": \"save\"}")
	t2=$(curl -fsS -o "$BENCH_WORK/next.json" -w '%{time_total}' "$URL/feed?user=$u&limit=7")
	awk -v a="$t1" -v b="$t2" 'BEGIN { printf "%.3f\n", (a + b) * 1000 }' >>"$BENCH_WORK/pairs.ms"
	# reflected: the saved card has left the next feed
	jq -e --argjson it "$item" '[.items[].item_id] | index($it) == null' "$BENCH_WORK/next.json" >/dev/null && reflected=$((reflected + 1))
done
pct() { sort -g "$1" | awk -v p="$2" '{ v[NR] = $1 } END { if (NR == 0) { print "n/a"; exit } i = int(p * NR + 0.999999); if (i < 1) i = 1; if (i > NR) i = NR; print v[i] }'; }
pair_p50=$(pct "$BENCH_WORK/pairs.ms" 0.5); pair_p99=$(pct "$BENCH_WORK/pairs.ms" 0.99)

blog "forage_http: the SQL feeds with pgbench"
cat >"$BENCH_WORK/sql_tidal.sql" <<'SQL'
\set u random(2, 1000)
SELECT r.*, i.metadata FROM tidal.retrieve(for_user => :u, profile => 'forage', filter => '{"app": "forage"}', lim => 7, explore => 2) r JOIN tidal.items i USING (item_id);
SQL
cat >"$BENCH_WORK/sql_plain.sql" <<'SQL'
\set u random(2, 1000)
SELECT * FROM plain_feed(:u);
SQL
chown -R "$TIDAL_USER:$TIDAL_USER" "$BENCH_WORK"
for k in sql_tidal sql_plain; do
	bench_pgbench "forage_http.$k" -- -M prepared -c 1 -j 1 -T "$DURATION" -l --log-prefix="$BENCH_WORK/log.$k" \
		-f "$BENCH_WORK/$k.sql" >/dev/null
	awk '{ printf "%.4f\n", $3 / 1000 }' "$BENCH_WORK"/log."$k".* >"$BENCH_WORK/$k.lat"
done
st_p99=$(pct "$BENCH_WORK/sql_tidal.lat" 0.99); sp_p99=$(pct "$BENCH_WORK/sql_plain.lat" 0.99)

out=$BENCH_RESULTS/forage_http.txt
{
	bench_header "forage_http: Forage's GET /feed and POST /signal then GET /feed through the app (node $(node --version)), $n_items items, $USERS users x 20 reactions; wrk -t1 -c1 -d${DURATION}s; $PAIRS curl pairs; pgbench -c 1 -T $DURATION"
	echo "# tidal.item_metadata_bytes = ${BENCH_METADATA_BYTES:-1024}; checkout $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?'); items posted in $items_s s (4 curl at a time), everything loaded in $load_s s; tidal's model: $model"
	echo "# user 5's feed: $labels; the saved card had left the next feed in $reflected of $PAIRS pairs"
	echo
	{
		echo "what|p50 ms|p99 ms|requests|goal"
		echo "GET /feed through the app (tidal)|$(fmt3 "$feed_p50")|$(fmt3 "$feed_p99")|$feed_n|p99 < 20 ms: $(met "$feed_p99" "<=" 20)"
		echo "POST /signal save, then GET /feed (tidal)|$(fmt3 "$pair_p50")|$(fmt3 "$pair_p99")|$PAIRS pairs|< 100 ms: $(met "$pair_p99" "<=" 100)"
		echo "the feed's SQL: tidal.retrieve + texts|$(fmt3 "$(pct "$BENCH_WORK/sql_tidal.lat" 0.5)")|$(fmt3 "$st_p99")|$(wc -l <"$BENCH_WORK/sql_tidal.lat")|—"
		echo "the same feed in plain SQL, float arrays|$(fmt3 "$(pct "$BENCH_WORK/sql_plain.lat" 0.5)")|$(fmt3 "$sp_p99")|$(wc -l <"$BENCH_WORK/sql_plain.lat")|plain p99 / tidal's SQL p99: $(fdiv "$sp_p99" "$st_p99")x"
	} | print_table
} | tee "$out"
[ "$reflected" = "$PAIRS" ] || bdie "the saved card was still in the next feed in $((PAIRS - reflected)) of $PAIRS pairs"
