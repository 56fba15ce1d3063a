-- Interests and exploration (issue 16). A user's event on an item with an
-- arm (its metadata's "topic", else "source") adds to a decaying sum per
-- (user, arm, signal): its weight, and for a signal with a polarity the
-- item's unit embedding. tidal.interests shows the arms of most net
-- positive mass with their direction, tidal.arms the bandit's counts, and
-- tidal.retrieve ranks by similarity to the interests (an "interest" term)
-- and fills explore slots by Thompson sampling over the other arms.
-- Embeddings have 4 dimensions here (sql/regress.conf).
SET timezone = 'UTC';
SET client_min_messages = warning;

SELECT tidal.define_signal('in_view', '1 day');
SELECT tidal.define_signal('in_save', '7 days', polarity => 1);
SELECT tidal.define_signal('in_skip', '7 days', polarity => -1);

-- three topics, each along its own axis; 86010 lies between jazz and hiking
SELECT count(tidal.upsert_item(i, 1, jsonb_build_object('topic', t), '2026-01-01', embedding => e))
  FROM (VALUES (86001, 'i_jazz',   '{1, 0.10, 0, 0}'::real[]),
               (86002, 'i_jazz',   '{1, 0.05, 0, 0}'),
               (86003, 'i_jazz',   '{1, 0, 0.05, 0}'),
               (86004, 'i_hiking', '{0, 1, 0, 0.1}'),
               (86005, 'i_hiking', '{0.1, 1, 0, 0}'),
               (86006, 'i_baking', '{0, 0, 1, 0}'),
               (86007, 'i_baking', '{0, 0.1, 1, 0}'),
               (86008, 'i_astro',  '{0, 0, 0, 1}'),
               (86009, 'i_astro',  '{0, 0, 0.1, 1}'),
               (86010, 'i_jazz',   '{1, 1, 0, 0}')) AS v(i, t, e);
-- an item without an arm: its events add to no interest
SELECT tidal.upsert_item(86011, 1, '{"lang": "en"}', '2026-01-01', embedding => '{1, 0, 0, 0}') IS NOT NULL AS ok;

-- user 1 saves two jazz items, skips a baking one, is shown a hiking one
SELECT tidal.signal('in_save', 86001, at => '2026-03-01', user_id => 1) IS NOT NULL AS ok;
SELECT tidal.signal('in_save', 86002, at => '2026-03-01', user_id => 1) IS NOT NULL AS ok;
SELECT tidal.signal('in_skip', 86006, at => '2026-03-01', user_id => 1) IS NOT NULL AS ok;
SELECT tidal.signal('in_view', 86004, at => '2026-03-01', user_id => 1) IS NOT NULL AS ok;
SELECT tidal.signal('in_save', 86011, at => '2026-03-01', user_id => 1) IS NOT NULL AS ok;
-- events without a user count for the item only
SELECT tidal.signal('in_save', 86008, at => '2026-03-01') IS NOT NULL AS ok;

-- one interest: jazz, its direction the mean of the two saved items
SELECT arm, round(mass::numeric, 6) AS mass, share,
       array(SELECT round(x::numeric, 3) FROM unnest(centroid) x) AS centroid
  FROM tidal.interests(1, at => '2026-03-01');
-- it decays with the signal's half-life
SELECT arm, round(mass::numeric, 6) AS mass FROM tidal.interests(1, at => '2026-03-08');
-- the bandit's counts: saves succeed, skips fail, an unanswered impression fails too
SELECT arm, round(successes::numeric, 6) AS successes, round(failures::numeric, 6) AS failures,
       round(trials::numeric, 6) AS trials, round(mean::numeric, 6) AS mean
  FROM tidal.arms(1, at => '2026-03-01') WHERE arm LIKE 'i\_%' ORDER BY arm;
-- another user has no interests
SELECT count(*) AS none FROM tidal.interests(2, at => '2026-03-01');

-- a second interest, hiking, saved once: weaker, so it gets a smaller share
SELECT tidal.signal('in_save', 86005, at => '2026-03-01', user_id => 1) IS NOT NULL AS ok;
SELECT arm, round(mass::numeric, 6) AS mass, round(share::numeric, 6) AS share
  FROM tidal.interests(1, at => '2026-03-01') ORDER BY mass DESC;

-- ranking: similarity to the interests (weighted by their share of the
-- strongest) plus the profile's other terms; labels say why
SELECT tidal.define_profile('in_forage', '{"terms": [{"measure": "interest", "weight": 1},
                                                     {"signal": "in_save", "measure": "decay_score", "weight": 0.01}]}') IS NOT NULL AS ok;
SET tidal.match_similarity = 0.9;
SELECT item_id, round(score::numeric, 4) AS score, rank, label, arm
  FROM tidal.retrieve(1, '{86001,86002,86003,86004,86005,86006,86007,86008,86009,86010}', 'in_forage',
                      lim => 10, at => '2026-03-01');
-- similarity times popularity: an interest term naming a signal multiplies
-- the similarity by f(its decayed score), so items nobody saved score 0
SELECT tidal.define_profile('in_popular', '{"terms": [{"measure": "interest", "signal": "in_save", "transform": "log1p"}]}') IS NOT NULL AS ok;
SELECT item_id, round(score::numeric, 4) AS score, label
  FROM tidal.retrieve(1, '{86001,86003,86005,86008}', 'in_popular', at => '2026-03-01');
-- an item near both interests is a surprise
SET tidal.match_similarity = 0.7;
-- near: the interests it is near, nearest first (why it is a match or a surprise)
SELECT item_id, label, near FROM tidal.retrieve(1, '{86010, 86003}', 'in_forage', at => '2026-03-01');
RESET tidal.match_similarity;

-- explore: the last 2 of 5 rows go to the arms Thompson sampling draws (the
-- interests' arms too: a save is a success); the first 3 are shared among
-- the interests by their mass and uptake (jazz 2, hiking 1: 86010 lies
-- nearest hiking); the same seed draws the same
SELECT item_id, rank, label, arm
  FROM tidal.retrieve(1, '{86001,86002,86003,86004,86005,86006,86007,86008,86009,86010}', 'in_forage',
                      lim => 5, at => '2026-03-01', explore => 2, seed => 7);
SELECT count(*) AS same_rows FROM
  (SELECT item_id, rank FROM tidal.retrieve(1, '{86001,86002,86003,86004,86005,86006,86007,86008,86009,86010}',
                                            'in_forage', lim => 5, at => '2026-03-01', explore => 2, seed => 7)
   INTERSECT
   SELECT item_id, rank FROM tidal.retrieve(1, '{86001,86002,86003,86004,86005,86006,86007,86008,86009,86010}',
                                            'in_forage', lim => 5, at => '2026-03-01', explore => 2, seed => 7)) s;
-- a slot from an arm that is not an interest is labelled exploring
SELECT item_id, rank, label, arm
  FROM tidal.retrieve(1, '{86006,86007,86008,86009}', 'in_forage', lim => 3, at => '2026-03-01', explore => 2, seed => 7);
-- over many seeds, the arm the user skipped is explored less than the untried one
SELECT (SELECT count(*) FROM generate_series(1, 200) seed,
               tidal.retrieve(1, '{86006,86007,86008,86009}', 'in_forage', lim => 1, at => '2026-03-01',
                              explore => 1, seed => seed) WHERE arm = 'i_astro')
     > (SELECT count(*) FROM generate_series(1, 200) seed,
               tidal.retrieve(1, '{86006,86007,86008,86009}', 'in_forage', lim => 1, at => '2026-03-01',
                              explore => 1, seed => seed) WHERE arm = 'i_baking') AS untried_beats_skipped;
-- a hidden item never comes back, explored or not
SELECT tidal.hide_item(1, 86008) IS NOT NULL AS ok;
SELECT count(*) AS hidden_rows
  FROM generate_series(1, 50) seed,
       tidal.retrieve(1, '{86008,86009}', 'in_forage', lim => 2, at => '2026-03-01', explore => 2, seed => seed)
 WHERE item_id = 86008;
-- without a user, every arm is untried
SELECT count(*) AS rows FROM tidal.retrieve(NULL, '{86006,86008}', 'in_forage', lim => 2, at => '2026-03-01', explore => 2);

-- keyed writes (an idempotency key, a session) count for the item only
SELECT tidal.signal('in_save', 86007, at => '2026-03-01', user_id => 3, idempotency_key => 'i-k1') IS NOT NULL AS ok;
SELECT count(*) AS none FROM tidal.interests(3, at => '2026-03-01');

-- monitoring: the sums in shared memory and the table's size
SELECT entries > 0 AS has_entries, capacity, overflows, arms >= 4 AS arms FROM tidal.interest_stats();

-- errors
SELECT * FROM tidal.retrieve(1, '{86001}', 'in_forage', lim => 2, explore => 3);
SELECT * FROM tidal.retrieve(1, '{86001}', 'in_forage', lim => 2, explore => -1);
SELECT * FROM tidal.retrieve(1, '{86001}', 'in_forage', lim => 2, explore => NULL);
SELECT tidal.define_profile('bad', '{"terms": [{"measure": "interest", "window": "1 hour"}]}');
SELECT tidal.define_profile('bad', '{"terms": [{"measure": "interest", "transform": "log1p"}]}');
SELECT tidal.define_profile('bad', '{"terms": [{"measure": "interest"}, {"measure": "interest", "weight": 2}]}');
SELECT tidal.define_profile('bad', '{"terms": [{"measure": "interest", "signal": "nope"}]}');
SELECT * FROM tidal.interests(NULL);
SELECT * FROM tidal.arms(1, at => NULL);
SELECT * FROM tidal.interests(1, tenant => 999);
