-- tidal 0.2 -> 0.3: tenants (registry, quotas, regions), tenant migration,
-- and the tenant argument of the write and read calls.
-- This upgrade script is assembled from this header and the sql/tidal/ parts
-- new in 0.3 (see UPGRADE_0_3 in the Makefile), so that an upgraded database
-- and a fresh install run the same statements.

\echo Use "ALTER EXTENSION tidal UPDATE TO '0.3'" to load this file. \quit

-- the calls that take a tenant since 0.3, in their 0.2 form
DROP FUNCTION tidal.signal(text, bigint, float8, timestamptz, bigint, text);
DROP FUNCTION tidal.signal_batch(text, bigint[], float8[], timestamptz[]);
DROP FUNCTION tidal.decay_score(bigint, text, timestamptz);
DROP FUNCTION tidal.window_count(bigint, text, interval, timestamptz);
DROP FUNCTION tidal.upsert_item(bigint, bigint, jsonb, timestamptz);
DROP FUNCTION tidal.retrieve(bigint, bigint[], text, jsonb, int, int, timestamptz);
