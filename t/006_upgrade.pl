# ALTER EXTENSION tidal UPDATE from 0.1, the first shipped version: the data
# written with 0.1 survives, and the upgraded extension is the same as a
# fresh install of the current version, object for object.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use TidalNode;

my $node = TidalNode->new('upgrade');
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE fresh');

# 0.1 with data in it
$node->safe_psql('postgres', q{
	CREATE EXTENSION tidal VERSION '0.1';
	SELECT tidal.define_signal('view', '7 days', ARRAY['1 hour']::interval[]);
	SELECT tidal.signal_batch('view', '{1,2,2}', NULL, '{2026-01-01,2026-01-01,2026-01-01}');
	SELECT tidal.seal();
	SELECT tidal.signal('view', 3, 5, '2026-01-01');});
is($node->safe_psql('postgres', q{SELECT extversion FROM pg_extension WHERE extname = 'tidal'}),
	'0.1', 'installed 0.1');

$node->safe_psql('postgres', 'ALTER EXTENSION tidal UPDATE');
is($node->safe_psql('postgres', q{SELECT extversion FROM pg_extension WHERE extname = 'tidal'}),
	'0.5', 'updated to 0.5');
$node->safe_psql('fresh', 'CREATE EXTENSION tidal');

# every object of the extension, described without OIDs
my $objects = q{
SELECT string_agg(d, E'\n' ORDER BY d) FROM (
  SELECT 'member ' || pg_describe_object(classid, objid, objsubid) AS d
    FROM pg_depend
   WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
     AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'tidal')
  UNION ALL
  SELECT 'function ' || p.oid::regprocedure || ' ' || md5(pg_get_functiondef(p.oid))
         || ' acl ' || coalesce(p.proacl::text, '-')
    FROM pg_proc p WHERE p.pronamespace = 'tidal'::regnamespace AND p.prokind <> 'a'
  UNION ALL
  SELECT 'column ' || c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
         || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
         || coalesce(' default ' || pg_get_expr(ad.adbin, ad.adrelid), '')
         || ' storage ' || a.attstorage::text
    FROM pg_class c
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_attrdef ad ON ad.adrelid = c.oid AND ad.adnum = a.attnum
   WHERE c.relnamespace = 'tidal'::regnamespace
  UNION ALL
  SELECT 'relation ' || relname || ' ' || relkind::text || ' acl ' || coalesce(relacl::text, '-')
         || coalesce(' view ' || md5(pg_get_viewdef(oid)), '')
    FROM pg_class WHERE relnamespace = 'tidal'::regnamespace
  UNION ALL
  SELECT 'index ' || pg_get_indexdef(indexrelid)
    FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
   WHERE c.relnamespace = 'tidal'::regnamespace
  UNION ALL
  SELECT 'constraint ' || conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid)
    FROM pg_constraint WHERE connamespace = 'tidal'::regnamespace
  UNION ALL
  SELECT 'schema acl ' || coalesce(nspacl::text, '-') FROM pg_namespace WHERE nspname = 'tidal'
  UNION ALL
  SELECT 'profile ' || name || ' ' || spec::text FROM tidal.profile_defs
) s};
my $upgraded = $node->safe_psql('postgres', $objects);
my $fresh = $node->safe_psql('fresh', $objects);
ok(length($fresh) > 1000, 'the description of a fresh install is not empty');
is($upgraded, $fresh, 'the upgraded extension has exactly the objects of a fresh install');

# 0.1's data, and 0.2's features, in the upgraded database
is($node->safe_psql('postgres', q{
	SELECT string_agg(tidal.decay_score(e, 'view', '2026-01-01')::text, ',' ORDER BY e)
	  FROM generate_series(1, 3) e}), '1,2,5', 'scores written with 0.1 are intact');
is($node->safe_psql('postgres',
		'SELECT tidal.seal() + (SELECT sum(event_count) FROM tidal.log_batches)'),
	'5', 'so is the log: one definition and four events, all in batches once sealed');
$node->safe_psql('postgres', q{
	SELECT tidal.upsert_item(i, 7, '{}', '2026-01-01') FROM generate_series(1, 3) i;
	SELECT tidal.hide_item(42, 3);});
is($node->safe_psql('postgres', q{
	SELECT string_agg(item_id::text, ',' ORDER BY rank)
	  FROM tidal.retrieve(42, at => '2026-01-01')}), '2,1',
	'0.2 ranks the items written with 0.1, without the hidden one');

# the state survives a restart on the upgraded extension
$node->restart;
is($node->safe_psql('postgres', q{SELECT tidal.decay_score(3, 'view', '2026-01-01')}),
	'5', 'and a restart rebuilds it from the log');

$node->stop;
done_testing();
