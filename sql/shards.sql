-- Shard routing: tidal.shard_for and tidal.set_shard_map.
-- In a database of its own: a map that moves entities is refused once the
-- hot state holds events, and the other tests write events.
SELECT current_database() AS regress_db \gset
CREATE DATABASE tidal_shards;
\c tidal_shards
SET client_min_messages = warning;
CREATE EXTENSION tidal;
RESET client_min_messages;
SELECT * FROM tidal.shards;
SELECT tidal.shard_for(e) FROM unnest(ARRAY[-9223372036854775808, 0, 42, 9223372036854775807]) e;

-- hash: stable, and spread over the shards
SELECT tidal.set_shard_map('hash', 4) AS shards;
SELECT mode, shard_count FROM tidal.shards;
SELECT tidal.shard_for(1), tidal.shard_for(2), tidal.shard_for(3), tidal.shard_for(-1);
SELECT s, count(*) BETWEEN 200 AND 300 AS balanced
  FROM (SELECT tidal.shard_for(g) AS s FROM generate_series(1, 1000) g) x GROUP BY s ORDER BY s;

-- explicit ranges covering every bigint
SELECT tidal.set_shard_map('ranges', ranges => ARRAY['(,0)', '[0,1000)', '[1000,)']::int8range[]) AS shards;
SELECT tidal.shard_for(-5), tidal.shard_for(0), tidal.shard_for(999), tidal.shard_for(1000),
       tidal.shard_for(9223372036854775807), tidal.shard_for(-9223372036854775808);

-- bad maps
SELECT tidal.set_shard_map('ranges', ranges => ARRAY['[0,)']::int8range[]);
SELECT tidal.set_shard_map('ranges', ranges => ARRAY['(,0)']::int8range[]);
SELECT tidal.set_shard_map('ranges', ranges => ARRAY['(,0)', '[1,)']::int8range[]);
SELECT tidal.set_shard_map('ranges', ranges => ARRAY['(,10)', '[5,)']::int8range[]);
SELECT tidal.set_shard_map('ranges', ranges => ARRAY['[5,)', '(,5)']::int8range[]);
SELECT tidal.set_shard_map('ranges', ranges => ARRAY['(,0)', NULL, '[0,)']::int8range[]);
SELECT tidal.set_shard_map('ranges', ranges => ARRAY['(,0)', 'empty', '[0,)']::int8range[]);
SELECT tidal.set_shard_map('ranges', ranges => '{}');
SELECT tidal.set_shard_map('hash', 0);
SELECT tidal.set_shard_map('hash', 2000);
SELECT tidal.set_shard_map('hash');
SELECT tidal.set_shard_map('modulo', 2);
SELECT tidal.set_shard_map(NULL);
SELECT tidal.set_shard_map('single', 2);
-- the last good map stays
SELECT mode, shard_count FROM tidal.shards;

SELECT tidal.set_shard_map('single') AS shards;
SELECT tidal.shard_for(12345);

-- every map set here has the next version, and travels through the log (kind 9)
SELECT version FROM tidal.shards;
SELECT tidal.seal() >= 0 AS sealed;
SELECT count(*) AS shard_map_records FROM tidal.log_records() WHERE kind = 9;

-- once signals are stored, a map that moves entities to other shards is refused ...
SELECT tidal.define_signal('shards_view', '1 hour');
SELECT tidal.signal('shards_view', 7) IS NOT NULL AS written;
SELECT tidal.set_shard_map('hash', 2);
-- ... and one that routes every entity as before is taken
SELECT tidal.set_shard_map('hash', 1) AS shards;
SELECT mode, version FROM tidal.shards;

-- a signal record names the shard its writer routed it to (flag 0x04, 0.7 on):
-- kind 1, flags 04, body: name 'v', shard, 1 event (entity 8, weight 1, at 0)
CREATE FUNCTION pg_temp.routed(tenant text, shard text) RETURNS bytea
    LANGUAGE sql AS $$
    SELECT decode('01' || '04' || '0000' || '21000000' || '0100000000000000' || '00000000' || '01000000'
                  || tenant || '0100' || '76' || shard || '01000000'
                  || '0800000000000000' || '000000000000f03f' || '0000000000000000', 'hex') $$;
SELECT * FROM tidal._log_records(pg_temp.routed('0000000000000000', '0100'), false);
-- refused: a shard beyond tidal.shard_id's range, and a registered tenant's record (it lives on its own shard)
SELECT * FROM tidal._log_records(pg_temp.routed('0000000000000000', 'd007'), false);
SELECT * FROM tidal._log_records(pg_temp.routed('2a00000000000000', '0100'), false);

\c :regress_db
SET client_min_messages = warning;
DROP DATABASE tidal_shards;
