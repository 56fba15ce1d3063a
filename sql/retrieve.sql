-- tidal.retrieve: candidates → hidden and blocked dropped → metadata filter
-- → profile score → at most max_per_creator per creator → limit.
SET timezone = 'UTC';

SELECT tidal.define_signal('r_view', '7 days', ARRAY['1 hour']::interval[]);
SELECT tidal.define_signal('r_like', '1 day');
SELECT tidal.define_profile('r_two', '{"terms": [{"signal": "r_view"}, {"signal": "r_like", "weight": 3}]}')
       IS NOT NULL AS ok;

-- items 3001..3010: creators 1..3, language alternating; item i has i views
SELECT count(tidal.upsert_item(i, i % 3 + 1,
                               jsonb_build_object('suite', 'retrieve',
                                                  'lang', CASE WHEN i % 2 = 0 THEN 'en' ELSE 'fr' END),
                               '2026-01-01'))
  FROM generate_series(3001, 3010) i;
SELECT tidal.signal_batch('r_view', array_agg(i), NULL, array_agg('2026-01-01 00:00:00+00'::timestamptz))
  FROM generate_series(3001, 3010) i, generate_series(1, (i - 3000)::int) n;
SELECT tidal.signal('r_like', 3003, 2, '2026-01-01') IS NOT NULL AS ok;

\set at '''2026-01-01 00:00:00+00'''
\set cands '''{3001,3002,3003,3004,3005,3006,3007,3008,3009,3010}'''

-- ranked by score; ties (3011 and 3012 have no events) by item id
SELECT * FROM tidal.retrieve(NULL, :cands::bigint[] || '{3012,3011}', 'r_two', lim => 12, at => :at);
-- defaults: the 'popular' profile over every signal, 20 rows
SELECT item_id, rank FROM tidal.retrieve(candidates => :cands, at => :at);
-- duplicate candidates count once
SELECT * FROM tidal.retrieve(NULL, '{3005,3005,3004}', 'r_two', at => :at);
-- NULL candidates: every item tidal knows (narrowed here by a filter)
SELECT item_id, rank FROM tidal.retrieve(filter => '{"suite": "retrieve"}', profile => 'r_two', lim => 3, at => :at);

-- hidden items and blocked creators never come back
SELECT tidal.hide_item(77, 3010) IS NOT NULL AS hid;
SELECT tidal.block_creator(77, 3) IS NOT NULL AS blocked;  -- creator of 3002, 3005, 3008
SELECT item_id, rank FROM tidal.retrieve(77, :cands, 'r_two', at => :at);
SELECT item_id FROM tidal.retrieve(78, :cands, 'r_two', lim => 1, at => :at);  -- another user sees 3010

-- metadata filter (@> semantics)
SELECT item_id FROM tidal.retrieve(NULL, :cands, 'r_two', '{"lang": "en"}', at => :at);
SELECT item_id FROM tidal.retrieve(NULL, :cands, 'r_two', '{"lang": "de"}', at => :at);
SELECT count(*) AS unknown_items_fail_filters FROM tidal.retrieve(NULL, '{9999}', 'r_two', '{}', at => :at);
SELECT count(*) AS unknown_items_rank_without FROM tidal.retrieve(NULL, '{9999}', 'r_two', at => :at);

-- diversity: at most one item per creator, then fill from the next best
SELECT r.item_id, i.creator FROM tidal.retrieve(NULL, :cands, 'r_two', max_per_creator => 1, at => :at) r
  JOIN tidal.items i USING (item_id) ORDER BY r.rank;
SELECT item_id FROM tidal.retrieve(NULL, :cands, 'r_two', max_per_creator => 2, lim => 4, at => :at);

-- limit
SELECT count(*) AS lim_0 FROM tidal.retrieve(NULL, :cands, 'r_two', lim => 0, at => :at);
SELECT count(*) AS lim_3 FROM tidal.retrieve(NULL, :cands, 'r_two', lim => 3, at => :at);
SELECT count(*) AS no_candidates FROM tidal.retrieve(NULL, '{}', 'r_two', at => :at);

-- read-your-writes in one transaction; gone after rollback
BEGIN;
SELECT tidal.signal('r_like', 3001, 100, '2026-01-01') IS NOT NULL AS boost;
SELECT item_id FROM tidal.retrieve(NULL, :cands, 'r_two', lim => 1, at => :at);
SELECT tidal.hide_item(79, 3001) IS NOT NULL AS hid;
SELECT item_id FROM tidal.retrieve(79, :cands, 'r_two', lim => 1, at => :at);
ROLLBACK;
SELECT count(*) AS rolled_back_hide_not_applied
  FROM tidal.retrieve(79, :cands, 'r_two', at => :at) WHERE item_id = 3001;
-- and after commit
SELECT tidal.signal('r_like', 3001, 100, '2026-01-01') IS NOT NULL AS boost;
SELECT item_id, score FROM tidal.retrieve(NULL, :cands, 'r_two', lim => 1, at => :at);

-- scores are the same as tidal.decay_score's
SELECT bool_and(abs(r.score - (tidal.decay_score(r.item_id, 'r_view', :at)
                               + 3 * tidal.decay_score(r.item_id, 'r_like', :at))) < 1e-12) AS same
  FROM tidal.retrieve(NULL, :cands, 'r_two', at => :at) r;

-- bad input
SELECT * FROM tidal.retrieve(profile => 'nope');
SELECT * FROM tidal.retrieve(profile => NULL);
SELECT * FROM tidal.retrieve(lim => -1);
SELECT * FROM tidal.retrieve(lim => NULL);
SELECT * FROM tidal.retrieve(at => NULL);
SELECT * FROM tidal.retrieve(at => 'infinity');
SELECT * FROM tidal.retrieve(max_per_creator => 0);
SELECT * FROM tidal.retrieve(filter => '[1]');
SELECT * FROM tidal.retrieve(filter => '"en"');
SELECT * FROM tidal.retrieve(filter => '{"lang": ');
SELECT * FROM tidal.retrieve(candidates => '{1, NULL}');
SELECT * FROM tidal.retrieve(candidates => '{{1}, {2}}');
SELECT * FROM tidal.retrieve(candidates => (SELECT array_agg(g::bigint) FROM generate_series(1, 1000001) g));
