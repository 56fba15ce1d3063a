-- tidal.export_feedback: events and hard negatives from tidal's log as JSON,
-- positive and negative feedback told apart.
SET timezone = 'UTC';

SELECT tidal.define_signal('x_view', '1 day');
SELECT tidal.define_signal('x_dislike', '1 day');
SELECT tidal.signal('x_view', 6001, 1, '2020-01-01 10:00:00+00', user_id => 500) IS NOT NULL AS ok;
SELECT tidal.signal('x_view', 6002, 1, '2020-01-01 11:00:00+00') IS NOT NULL AS no_user;
SELECT tidal.signal('x_dislike', 6003, -1, '2020-01-01 12:00:00+00', user_id => 500) IS NOT NULL AS ok;
SELECT tidal.signal('x_view', 6004, 0, '2020-01-01 13:00:00+00', user_id => 501) IS NOT NULL AS ok;
SELECT tidal.signal_batch('x_view', '{6005,6006}', '{2,3}', '{2020-01-02,2020-01-03}') AS batch;
-- a user's signal does not change the entity's score
SELECT tidal.decay_score(6001, 'x_view', '2020-01-01 10:00:00+00') AS score_with_user;

-- hides carry their HLC's time; give them one in the export window
SELECT tidal.hide_item(500, 6002, tidal.hlc(extract(epoch FROM '2020-01-01 14:00:00+00'::timestamptz)::bigint * 1000000000, 0, 1))
       IS NOT NULL AS ok;
SELECT tidal.unhide_item(500, 6002, tidal.hlc(extract(epoch FROM '2020-01-01 15:00:00+00'::timestamptz)::bigint * 1000000000, 0, 1))
       IS NOT NULL AS ok;
SELECT tidal.block_creator(500, 77, tidal.hlc(extract(epoch FROM '2020-01-01 16:00:00+00'::timestamptz)::bigint * 1000000000, 0, 1))
       IS NOT NULL AS ok;

-- everything in [since, until), in log order
SELECT x - 'hlc' AS feedback
  FROM tidal.export_feedback('2020-01-01', '2020-01-02') x;
-- the hlc of each object is the write's
SELECT count(*) FILTER (WHERE (x->>'hlc')::tidal.hlc IS NOT NULL) AS with_hlc
  FROM tidal.export_feedback('2020-01-01', '2020-01-02') x;
-- one user's feedback only (events without a user are left out)
SELECT x->>'kind' AS kind, x->>'feedback' AS feedback
  FROM tidal.export_feedback('2020-01-01', '2020-01-02', 500) x;
-- some signals only; hides always come
SELECT x->>'kind' AS kind, x->>'signal' AS signal
  FROM tidal.export_feedback('2020-01-01', '2020-01-02', signals => '{x_dislike}') x;
-- until NULL: no upper bound; the sealed part of the log is read too
SELECT count(*) AS sealed_or_not FROM (SELECT tidal.seal()) s, tidal.export_feedback('2020-01-01', NULL, 500) x;
SELECT count(*) AS empty_window FROM tidal.export_feedback('2020-01-05', '2020-01-06');
-- a rolled-back write is not exported
BEGIN;
SELECT tidal.signal('x_view', 6009, 1, '2020-01-01 10:00:00+00') IS NOT NULL AS ok;
SELECT count(*) AS in_xact FROM tidal.export_feedback('2020-01-01', '2020-01-02') x WHERE x->>'entity' = '6009';
ROLLBACK;
SELECT count(*) AS after_rollback FROM tidal.export_feedback('2020-01-01', '2020-01-02') x WHERE x->>'entity' = '6009';

-- bad input
SELECT * FROM tidal.export_feedback(NULL);
SELECT * FROM tidal.export_feedback('2020-01-01', signals => '{nope}');
SELECT * FROM tidal.export_feedback('2020-01-01', signals => '{x_view, NULL}');
SELECT * FROM tidal.export_feedback('2020-01-01', signals => '{}');
SELECT * FROM tidal.export_feedback('2020-01-01', signals => '{{x_view}}');
