#!/usr/bin/env bash
# Forage's feed (issue 16): 7 cards for a user, ranked by similarity to the
# user's interests with 2 explore slots, over 10,000 items with 100-d
# embeddings and 1,000 users with 20 reactions each:
#   SELECT * FROM tidal.retrieve(:u, profile => 'forage', lim => 7, explore => 2)
# versus the same feed in plain SQL with float arrays: the user's interests
# computed at query time from an events table (per topic: the decayed,
# polarity-signed sum of the reacted items' embeddings, top 4 by net mass),
# every item's cosine to them as a SQL dot product over real[], the user's
# hidden items left out, 5 best plus 2 items of random other topics.
# And "a signal reflected in the next feed": a save, then the feed, timed
# together (the signal commits first: the feed after it is the one a user
# gets next), on both sides.
#
#   bash bench/forage_feed.sh
#
# Data: 20 topics, each a random unit direction in 100 dimensions; an item is
# its topic's direction plus Gaussian noise (sigma 0.1 per dimension: cosine
# within a topic about 0.5, across about 0); item ids interleave the topics.
# Users 1..1000 each favour two topics: 12 saves on them, 4 skips (and hides)
# elsewhere, 4 views; signals view (1 day, polarity 0), save (7 days, 1),
# skip (7 days, -1). The same reactions go to tidal (tidal.signal with
# user_id, tidal.hide_item) and to the plain tables.
# Before timing, a check: user 1 saves three items of a topic it never
# reacted to, and the next feed (tidal's and plain SQL's) holds that topic.
#
# Timing: pgbench -M prepared -c 1 -j 1 -n, a random user per transaction,
# per-transaction latencies logged (pgbench -l), p50 and p99. Alternating
# rounds (BENCH_ROUNDS, 3) of BENCH_DURATION (10 s) each.
# Goals (issue 16): the feed's p99 under 20 ms, a signal reflected in the next
# feed under 100 ms, side by side with the plain SQL feed.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DURATION=${BENCH_DURATION:-10}
ROUNDS=${BENCH_ROUNDS:-3}
ITEMS=10000
USERS=1000
TOPICS=20
DIMS=100

bench_up "tidal.embedding_dimensions = $DIMS" "tidal.max_interests = 200000"

blog "forage_feed: loading $ITEMS items and $((USERS * 20)) reactions into tidal and the plain tables"
t_load=$(now_s)
qscript >/dev/null <<SQL
SELECT tidal.define_signal('view', '1 day');
SELECT tidal.define_signal('save', '7 days', polarity => 1);
SELECT tidal.define_signal('skip', '7 days', polarity => -1);
SELECT tidal.define_profile('forage', '{"terms": [{"measure": "interest", "weight": 1},
                                                  {"signal": "save", "measure": "decay_score", "transform": "log1p", "weight": 0.01}]}');
SELECT setseed(0.16);

-- a standard normal draw (Box-Muller)
CREATE FUNCTION normal() RETURNS float8 LANGUAGE sql VOLATILE
    AS 'SELECT sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())';
CREATE TABLE topic_dirs AS
SELECT t, array_agg(x / len ORDER BY k)::real[] AS dir
  FROM (SELECT t, k, x, sqrt(sum(x * x) OVER (PARTITION BY t)) AS len
          FROM (SELECT t, k, normal() AS x FROM generate_series(0, $TOPICS - 1) t, generate_series(1, $DIMS) k) r) s
 GROUP BY t;
CREATE TABLE items_plain (
    id    bigint PRIMARY KEY,
    topic text NOT NULL,
    emb   real[] NOT NULL,
    norm  float8 NOT NULL
);
INSERT INTO items_plain (id, topic, emb, norm)
SELECT i, 't' || ((i - 1) % $TOPICS), e, sqrt((SELECT sum(x * x) FROM unnest(e) x))
  FROM (SELECT i, (SELECT array_agg(d.dir[k] + 0.1 * normal() ORDER BY k)::real[]
                     FROM generate_series(1, $DIMS) k, topic_dirs d WHERE d.t = (i - 1) % $TOPICS) AS e
          FROM generate_series(1, $ITEMS) i) s;
SELECT count(tidal.upsert_item(id, metadata => jsonb_build_object('topic', topic), embedding => emb))
  FROM items_plain;

-- reactions: users favour topics (u % 20) and (u * 7 % 20)
CREATE TABLE src AS
SELECT u, n,
       CASE WHEN n <= 12 THEN 'save' WHEN n <= 16 THEN 'skip' ELSE 'view' END AS signal,
       CASE WHEN n <= 12 THEN (CASE WHEN n % 2 = 0 THEN u % $TOPICS ELSE (u * 7) % $TOPICS END)
                              + 1 + $TOPICS * ((hashint8(u * 100 + n) & 65535) % ($ITEMS / $TOPICS))
            ELSE 1 + (hashint8(u * 1000 + n) & 65535) % $ITEMS END AS item,
       now() - ((hashint8(u * 31 + n) & 65535) / 65536.0) * interval '3 days' AS at
  FROM generate_series(1, $USERS) u, generate_series(1, 20) n;
CREATE TABLE events_plain (
    user_id bigint NOT NULL,
    item_id bigint NOT NULL,
    signal  text NOT NULL,
    weight  float8 NOT NULL,
    at      timestamptz NOT NULL
);
CREATE INDEX ON events_plain (user_id);
CREATE TABLE hidden_plain (user_id bigint, item_id bigint, PRIMARY KEY (user_id, item_id));
INSERT INTO events_plain SELECT u, item, signal, 1, at FROM src;
INSERT INTO hidden_plain SELECT DISTINCT u, item FROM src WHERE signal = 'skip';
SELECT count(tidal.signal(signal, item, 1, at, user_id => u)) FROM src;
SELECT count(tidal.hide_item(user_id, item_id)) FROM hidden_plain;

$(bench_settle_sql)
SQL
qscript >/dev/null <"$BENCH_ROOT/forage_plain_feed.sql"
load_s=$(elapsed "$t_load" "$(now_s)")
blog "forage_feed: loaded in $load_s s"

# the check: a save reaches the next feed, on both sides
check=$(as_pg psql -X -qAt -v ON_ERROR_STOP=1 <<'SQL'
SELECT count(*) FROM tidal.retrieve(1, profile => 'forage', lim => 7) WHERE arm = 't5';
SELECT count(*) FROM plain_feed(1) WHERE topic = 't5' AND label = 'match';
SELECT count(tidal.signal('save', id, user_id => 1)) FROM (SELECT id FROM items_plain WHERE topic = 't5' ORDER BY id LIMIT 8) s;
INSERT INTO events_plain SELECT 1, id, 'save', 1, now() FROM (SELECT id FROM items_plain WHERE topic = 't5' ORDER BY id LIMIT 8) s;
SELECT count(*) FROM tidal.retrieve(1, profile => 'forage', lim => 7) WHERE arm = 't5';
SELECT count(*) FROM plain_feed(1) WHERE topic = 't5' AND label = 'match';
SELECT string_agg(arm || ':' || round(share::numeric, 2), ' ') FROM tidal.interests(1);
SQL
)
mapfile -t C <<<"$check"
blog "forage_feed: user 1's feed held ${C[0]} topic-t5 cards (tidal) / ${C[1]} (plain) before 8 saves of t5, ${C[3]} / ${C[4]} after; interests ${C[5]}"
[ "${C[3]}" -gt "${C[0]}" ] || bdie "tidal's next feed did not shift toward the saved topic"
[ "${C[4]}" -gt "${C[1]}" ] || bdie "the plain feed did not shift toward the saved topic"

# the scripts
cat >"$BENCH_WORK/tidal_feed.sql" <<'SQL'
\set u random(2, 1000)
SELECT * FROM tidal.retrieve(:u, profile => 'forage', lim => 7, explore => 2);
SQL
cat >"$BENCH_WORK/plain_feed.sql" <<'SQL'
\set u random(2, 1000)
SELECT * FROM plain_feed(:u);
SQL
cat >"$BENCH_WORK/tidal_signal_feed.sql" <<'SQL'
\set u random(2, 1000)
\set i random(1, 10000)
SELECT tidal.signal('save', :i, user_id => :u);
SELECT * FROM tidal.retrieve(:u, profile => 'forage', lim => 7, explore => 2);
SQL
cat >"$BENCH_WORK/plain_signal_feed.sql" <<'SQL'
\set u random(2, 1000)
\set i random(1, 10000)
INSERT INTO events_plain VALUES (:u, :i, 'save', 1, now());
SELECT * FROM plain_feed(:u);
SQL
chown -R "$TIDAL_USER:$TIDAL_USER" "$BENCH_WORK"

KINDS="tidal_feed plain_feed tidal_signal_feed plain_signal_feed"
for k in $KINDS; do : >"$BENCH_WORK/$k.lat"; done
for round in $(seq 1 "$ROUNDS"); do
	if [ $((round % 2)) -eq 1 ]; then order=$KINDS; else order=$(echo "$KINDS" | tr ' ' '\n' | tac | tr '\n' ' '); fi
	for k in $order; do
		prefix=$BENCH_WORK/log.$k.$round
		bench_pgbench "forage_feed.$k.$round" -- -M prepared -c 1 -j 1 -T "$DURATION" -l --log-prefix="$prefix" \
			-f "$BENCH_WORK/$k.sql" >/dev/null
		awk '{ printf "%.4f\n", $3 / 1000 }' "$prefix".* >>"$BENCH_WORK/$k.lat"
		blog "forage_feed: $k round $round done ($(cat "$prefix".* | wc -l) transactions)"
	done
done

pct() { sort -g "$1" | awk -v p="$2" '{ v[NR] = $1 } END { if (NR == 0) { print "n/a"; exit } i = int(p * NR + 0.999999); if (i < 1) i = 1; if (i > NR) i = NR; print v[i] }'; }
stats=$(as_pg psql -X -qAt -c "SELECT entries || ' sums, ' || arms || ' arms, ' || overflows || ' overflows' FROM tidal.interest_stats()")
out=$BENCH_RESULTS/forage_feed.txt
{
	bench_header "forage_feed: Forage's feed (7 cards, 2 explore) over $ITEMS items x $DIMS dimensions, $USERS users x 20 reactions; pgbench -M prepared -c 1 -j 1 -T $DURATION x $ROUNDS rounds, alternating"
	echo "# checkout $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?'); load $load_s s; tidal's model: $stats"
	echo "# check: user 1's feed held ${C[0]} (tidal) / ${C[1]} (plain) cards of topic t5 before 8 saves of it, ${C[3]} / ${C[4]} after"
	echo
	{
		echo "what|side|p50 ms|p99 ms|transactions|plain p99 / this p99|goal"
		for pair in "feed|tidal_feed|plain_feed|20" "signal then next feed|tidal_signal_feed|plain_signal_feed|100"; do
			IFS='|' read -r what t p bound <<<"$pair"
			tp99=$(pct "$BENCH_WORK/$t.lat" 0.99); pp99=$(pct "$BENCH_WORK/$p.lat" 0.99)
			echo "$what|tidal|$(fmt3 "$(pct "$BENCH_WORK/$t.lat" 0.5)")|$(fmt3 "$tp99")|$(wc -l <"$BENCH_WORK/$t.lat")|$(fdiv "$pp99" "$tp99")x|p99 < $bound ms: $(met "$tp99" "<=" "$bound")"
			echo "$what|plain SQL, float arrays|$(fmt3 "$(pct "$BENCH_WORK/$p.lat" 0.5)")|$(fmt3 "$pp99")|$(wc -l <"$BENCH_WORK/$p.lat")|1x|p99 < $bound ms: $(met "$pp99" "<=" "$bound")"
		done
	} | print_table
} | tee "$out"
