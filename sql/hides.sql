-- Hard negatives: per (user, item) and (user, creator), a hide is undone only
-- by an unhide with a strictly later HLC; an older unhide arriving late never
-- brings the item back, whatever order the actions arrive in.
SET timezone = 'UTC';

SELECT tidal.upsert_item(2001, 20, '{}', '2026-01-01') IS NOT NULL AS item;
SELECT tidal.upsert_item(2002, 21, '{}', '2026-01-01') IS NOT NULL AS item;

-- hide, unhide, hide again, with the clock
SELECT tidal.is_hidden(1, 2001) AS before;
SELECT tidal.hlc_node(tidal.hide_item(1, 2001)) AS node;
SELECT tidal.is_hidden(1, 2001) AS after_hide, tidal.is_hidden(2, 2001) AS other_user,
       tidal.is_hidden(1, 2002) AS other_item;
SELECT tidal.unhide_item(1, 2001) IS NOT NULL AS unhidden;
SELECT tidal.is_hidden(1, 2001) AS after_unhide;
SELECT tidal.hide_item(1, 2001) IS NOT NULL AS hidden_again;
SELECT tidal.is_hidden(1, 2001) AS after_second_hide;
SELECT user_id, target_kind, target_id FROM tidal.hidden WHERE user_id IN (1, 2) ORDER BY 1, 2, 3;

-- blocking a creator hides all of the creator's items
SELECT tidal.block_creator(3, 21) IS NOT NULL AS blocked;
SELECT tidal.is_hidden(3, 2002) AS creators_item, tidal.is_hidden(3, 2001) AS others_item;
SELECT tidal.unblock_creator(3, 21) IS NOT NULL AS unblocked;
SELECT tidal.is_hidden(3, 2002) AS after_unblock;

-- explicit times: an unhide older than the hide does nothing ...
SELECT tidal.hide_item(4, 2001, tidal.hlc(2000, 0, 1)) = tidal.hlc(2000, 0, 1) AS at_is_used;
SELECT tidal.unhide_item(4, 2001, tidal.hlc(1000, 0, 1)) IS NOT NULL AS late_old_unhide;
SELECT tidal.is_hidden(4, 2001) AS still_hidden;
-- ... nor does one at the same HLC (strictly later is required) ...
SELECT tidal.unhide_item(4, 2001, tidal.hlc(2000, 0, 1)) IS NOT NULL AS same_time_unhide;
SELECT tidal.is_hidden(4, 2001) AS still_hidden;
-- ... and a later one wins even if a stale hide arrives after it
SELECT tidal.unhide_item(4, 2001, tidal.hlc(3000, 0, 1)) IS NOT NULL AS newer_unhide;
SELECT tidal.hide_item(4, 2001, tidal.hlc(2500, 0, 2)) IS NOT NULL AS stale_hide;
SELECT tidal.is_hidden(4, 2001) AS hidden;

-- Every arrival order of small sets of actions (all 24 orders of 4 actions,
-- 120 of 5), each on its own user: the outcome is the rule's, for every order.
CREATE TEMP TABLE action_sets (set_id int, seq int, hide boolean, wall bigint);
INSERT INTO action_sets VALUES
    (1, 1, true, 10), (1, 2, false, 20), (1, 3, true, 30), (1, 4, false, 40),   -- ends unhidden
    (2, 1, true, 10), (2, 2, false, 20), (2, 3, true, 30), (2, 4, false, 25),   -- ends hidden
    (3, 1, true, 50), (3, 2, false, 20), (3, 3, false, 30), (3, 4, false, 40),  -- unhides all too old
    (4, 1, false, 10), (4, 2, false, 20), (4, 3, false, 30), (4, 4, false, 40), -- never hidden
    (5, 1, true, 10), (5, 2, false, 10), (5, 3, true, 5), (5, 4, false, 9),     -- tie: stays hidden
    (6, 1, true, 10), (6, 2, false, 20), (6, 3, true, 30), (6, 4, false, 40), (6, 5, true, 35);
CREATE TEMP TABLE outcomes (set_id int, arrival int[], hidden boolean);
DO $$
DECLARE
    s int;
    perm int[];
    u bigint := 100000;
    a record;
    i int;
BEGIN
    FOR s IN SELECT DISTINCT set_id FROM action_sets ORDER BY 1 LOOP
        FOR perm IN
            WITH RECURSIVE p(arr) AS (
                SELECT ARRAY[]::int[]
                UNION ALL
                SELECT p.arr || x.seq FROM p, action_sets x
                 WHERE x.set_id = s AND NOT x.seq = ANY (p.arr))
            SELECT arr FROM p
             WHERE cardinality(arr) = (SELECT count(*) FROM action_sets WHERE set_id = s)
        LOOP
            u := u + 1;
            FOREACH i IN ARRAY perm LOOP
                SELECT * INTO a FROM action_sets WHERE set_id = s AND seq = i;
                IF a.hide THEN
                    PERFORM tidal.hide_item(u, 2001, tidal.hlc(a.wall, 0, 1));
                ELSE
                    PERFORM tidal.unhide_item(u, 2001, tidal.hlc(a.wall, 0, 1));
                END IF;
            END LOOP;
            INSERT INTO outcomes VALUES (s, perm, tidal.is_hidden(u, 2001));
        END LOOP;
    END LOOP;
END $$;
-- the rule: hidden iff some hide exists and no unhide is later than the latest hide
SELECT o.set_id, count(*) AS orders,
       bool_and(o.hidden) AS always_hidden, bool_or(o.hidden) AS ever_hidden,
       bool_and(o.hidden = r.expected) AS every_order_follows_rule
  FROM outcomes o
  JOIN (SELECT set_id,
               coalesce(max(wall) FILTER (WHERE hide), 0) > 0
               AND coalesce(max(wall) FILTER (WHERE NOT hide), 0)
                   <= coalesce(max(wall) FILTER (WHERE hide), 0) AS expected
          FROM action_sets GROUP BY set_id) r USING (set_id)
 GROUP BY o.set_id ORDER BY o.set_id;

-- rolled back: no change
BEGIN;
SELECT tidal.hide_item(5, 2001) IS NOT NULL AS hidden_in_xact;
SELECT tidal.is_hidden(5, 2001) AS seen_in_xact;
ROLLBACK;
SELECT tidal.is_hidden(5, 2001) AS after_rollback;

-- every action is a record of tidal's log, for export and replication
SELECT count(*) FILTER (WHERE x->>'kind' = 'hide') AS hides,
       count(*) FILTER (WHERE x->>'kind' = 'unhide') AS unhides,
       count(*) FILTER (WHERE x->>'kind' = 'block_creator') AS blocks
  FROM tidal.export_feedback('-infinity', NULL, 4) x;

-- bad input
SELECT tidal.hide_item(NULL, 2001);
SELECT tidal.hide_item(1, NULL);
SELECT tidal.block_creator(1, NULL);
SELECT tidal.unhide_item(1, 2001, 'garbage');
-- an HLC further ahead than tidal.max_clock_offset is refused (the message says by how much)
DO $$
BEGIN
    PERFORM tidal.hide_item(1, 2001, tidal.hlc(9000000000000000000, 0, 1));
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'refused with SQLSTATE %', SQLSTATE;
END $$;
SELECT tidal.is_hidden(NULL, 2001) IS NULL AS strict;
