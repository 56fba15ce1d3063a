-- Forage's feed in plain SQL with float arrays, what a user without tidal
-- would write: bench/forage_feed.sh and bench/forage_http.sh time it beside
-- tidal.retrieve(..., profile => 'forage'). Reads:
--   items_plain (id, topic, emb real[], norm float8)
--   events_plain (user_id, item_id, signal, weight, at)
--   hidden_plain (user_id, item_id)
--   plain_signals (signal, half_life_s, polarity): the signals' definitions,
--     copied here from tidal.signals (the plain side's own table)
-- The user's interests per topic from the events (decayed with the signals'
-- half-lives, signed by polarity), top 4 by net mass; every item's cosine to
-- them; the user's hidden items left out; 5 best and 2 of random other topics.

CREATE TABLE plain_signals AS
    SELECT name AS signal, extract(epoch FROM half_life)::float8 AS half_life_s, polarity
      FROM tidal.signals;

CREATE FUNCTION dot(a real[], b real[]) RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS 'SELECT sum(x * y) FROM unnest(a, b) AS t(x, y)';

CREATE FUNCTION plain_feed(u bigint) RETURNS TABLE (item_id bigint, score float8, label text, topic text)
LANGUAGE sql AS $f$
WITH ev AS (
    SELECT i.topic, i.emb,
           e.weight * power(2, -extract(epoch FROM now() - e.at) / s.half_life_s) AS w,
           s.polarity AS pol
      FROM events_plain e JOIN items_plain i ON i.id = e.item_id
      JOIN plain_signals s ON s.signal = e.signal
     WHERE e.user_id = u),
interests AS (
    SELECT topic, sum(w * pol) AS net FROM ev GROUP BY topic HAVING sum(w * pol) > 0
     ORDER BY net DESC, topic LIMIT 4),
centroids AS (
    SELECT c.topic, c.net, array_agg(c.x ORDER BY c.k)::real[] AS dir, sqrt(sum(c.x * c.x)) AS norm
      FROM (SELECT ev.topic, t.net, k, sum(ev.w * ev.pol * ev.emb[k]) AS x
              FROM ev JOIN interests t USING (topic), generate_series(1, cardinality(ev.emb)) k
             WHERE ev.pol <> 0
             GROUP BY ev.topic, t.net, k) c
     GROUP BY c.topic, c.net),
scored AS (
    SELECT i.id, i.topic,
           max(dot(i.emb, c.dir) / (i.norm * c.norm) * c.net / (SELECT max(net) FROM interests)) AS score
      FROM items_plain i CROSS JOIN centroids c
     WHERE NOT EXISTS (SELECT 1 FROM hidden_plain h WHERE h.user_id = u AND h.item_id = i.id)
     GROUP BY i.id, i.topic)
(SELECT id, score, 'match'::text, topic FROM scored ORDER BY score DESC, id LIMIT 5)
UNION ALL
(SELECT id, 0, 'exploring', topic
   FROM (SELECT DISTINCT ON (topic) id, topic FROM items_plain i
          WHERE topic NOT IN (SELECT topic FROM interests)
            AND NOT EXISTS (SELECT 1 FROM hidden_plain h WHERE h.user_id = u AND h.item_id = i.id)
          ORDER BY topic, random()) x
  ORDER BY random() LIMIT 2)
$f$;
