# Every shipped version of tidal upgrades to today's.
#
# The walk: install 0.1, the first shipped version, and ALTER EXTENSION tidal
# UPDATE one version at a time up to the default version.  At each version the
# extension works (define a signal, signal, read its score, and what that
# version added), and everything written at the earlier versions is still
# there, log included.  At the end the upgraded extension is the same as a
# fresh CREATE EXTENSION, object for object, and a restart rebuilds every
# score from the log.
#
# Then every shipped version, installed fresh (CREATE EXTENSION tidal VERSION
# 'X': the base script and the update chain up to X) and updated to the
# default version, is again the same as a fresh install.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use TidalNode;

my $node = TidalNode->new('upgrade');
$node->start;

# Every object of the extension, described without OIDs: members, functions,
# aggregates, types, operators and their classes, relations, columns,
# indexes, constraints, triggers, comments, the tables pg_dump keeps, the
# schema's privileges, and the built-in ranking profiles.
my $describe = q{
WITH ext AS (SELECT oid, extconfig, extcondition FROM pg_extension WHERE extname = 'tidal'),
member AS (SELECT classid, objid FROM pg_depend, ext
            WHERE refclassid = 'pg_extension'::regclass AND refobjid = ext.oid AND deptype = 'e')
SELECT string_agg(d, E'\n' ORDER BY d) FROM (
  SELECT 'member ' || pg_describe_object(classid, objid, 0) AS d FROM member
  UNION ALL
  SELECT 'function ' || p.oid::regprocedure || ' ' || md5(pg_get_functiondef(p.oid))
         || ' acl ' || coalesce(p.proacl::text, '-')
    FROM pg_proc p WHERE p.pronamespace = 'tidal'::regnamespace AND p.prokind <> 'a'
  UNION ALL
  SELECT 'aggregate ' || a.aggfnoid::regprocedure || ' ' || a.aggkind::text || ' ' || a.aggtransfn::regproc
         || ' ' || a.aggfinalfn::regproc || ' ' || a.aggcombinefn::regproc || ' '
         || a.aggserialfn::regproc || ' ' || a.aggdeserialfn::regproc || ' '
         || a.aggsortop::regoperator::text || ' ' || a.aggtranstype::regtype || ' '
         || coalesce(a.agginitval, '-') || ' ' || p.proparallel::text || ' acl ' || coalesce(p.proacl::text, '-')
    FROM pg_aggregate a JOIN pg_proc p ON p.oid = a.aggfnoid
   WHERE p.pronamespace = 'tidal'::regnamespace
  UNION ALL
  SELECT 'type ' || t.oid::regtype || ' ' || t.typtype::text || ' ' || t.typlen || ' ' || t.typbyval
         || ' ' || t.typalign::text || ' ' || t.typstorage::text || ' ' || t.typcategory::text || ' ' || t.typispreferred
         || ' ' || t.typinput::regproc || ' ' || t.typoutput::regproc || ' ' || t.typreceive::regproc
         || ' ' || t.typsend::regproc || ' acl ' || coalesce(t.typacl::text, '-')
    FROM pg_type t WHERE t.typnamespace = 'tidal'::regnamespace
  UNION ALL
  SELECT 'operator ' || o.oid::regoperator || ' ' || o.oprcode::regproc || ' com '
         || o.oprcom::regoperator::text || ' neg ' || o.oprnegate::regoperator::text || ' '
         || o.oprrest::regproc || ' ' || o.oprjoin::regproc || ' ' || o.oprcanmerge || ' ' || o.oprcanhash
    FROM pg_operator o JOIN member m ON m.classid = 'pg_operator'::regclass AND m.objid = o.oid
  UNION ALL
  SELECT 'opfamily member ' || pg_describe_object('pg_amop'::regclass, ao.oid, 0)
    FROM pg_amop ao JOIN member m ON m.classid = 'pg_opfamily'::regclass AND m.objid = ao.amopfamily
  UNION ALL
  SELECT 'opfamily member ' || pg_describe_object('pg_amproc'::regclass, ap.oid, 0)
    FROM pg_amproc ap JOIN member m ON m.classid = 'pg_opfamily'::regclass AND m.objid = ap.amprocfamily
  UNION ALL
  SELECT 'opclass ' || c.opcnamespace::regnamespace || '.' || c.opcname || ' ' || am.amname || ' '
         || c.opcintype::regtype || ' ' || c.opcdefault || ' ' || c.opckeytype::regtype
    FROM pg_opclass c JOIN pg_am am ON am.oid = c.opcmethod
    JOIN member m ON m.classid = 'pg_opclass'::regclass AND m.objid = c.oid
  UNION ALL
  SELECT 'column ' || c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
         || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
         || coalesce(' default ' || pg_get_expr(ad.adbin, ad.adrelid), '')
         || ' storage ' || a.attstorage::text || ' acl ' || coalesce(a.attacl::text, '-')
    FROM pg_class c
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_attrdef ad ON ad.adrelid = c.oid AND ad.adnum = a.attnum
   WHERE c.relnamespace = 'tidal'::regnamespace
  UNION ALL
  SELECT 'relation ' || relname || ' ' || relkind::text || ' acl ' || coalesce(relacl::text, '-')
         || coalesce(' view ' || md5(pg_get_viewdef(oid)), '')
         || coalesce(' options ' || reloptions::text, '')
    FROM pg_class WHERE relnamespace = 'tidal'::regnamespace
  UNION ALL
  SELECT 'index ' || pg_get_indexdef(indexrelid)
    FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
   WHERE c.relnamespace = 'tidal'::regnamespace
  UNION ALL
  SELECT 'constraint ' || conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid)
    FROM pg_constraint WHERE connamespace = 'tidal'::regnamespace
  UNION ALL
  SELECT 'trigger ' || pg_get_triggerdef(t.oid) || ' ' || t.tgenabled::text
    FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
   WHERE c.relnamespace = 'tidal'::regnamespace AND NOT t.tgisinternal
  UNION ALL
  SELECT 'comment ' || pg_describe_object(ds.classoid, ds.objoid, ds.objsubid) || ' ' || md5(ds.description)
    FROM pg_description ds JOIN member m ON m.classid = ds.classoid AND m.objid = ds.objoid
  UNION ALL
  SELECT 'dumped ' || cfg.rel::regclass || ' where ' || coalesce(cfg.cond, '-')
    FROM ext, unnest(ext.extconfig, ext.extcondition) AS cfg(rel, cond)
  UNION ALL
  SELECT 'schema acl ' || coalesce(nspacl::text, '-') FROM pg_namespace WHERE nspname = 'tidal'
  UNION ALL
  SELECT 'profile ' || name || ' ' || spec::text FROM tidal.profile_defs
) s};

# is() for two descriptions; on a difference, only the lines that differ
sub same_objects
{
	my ($got, $want, $name) = @_;
	my %count;
	$count{$_}++ for split /\n/, $got;
	$count{$_}-- for split /\n/, $want;
	my @diff = map { ($count{$_} > 0 ? '+ ' : '- ') . $_ } grep { $count{$_} } sort keys %count;
	return ok($got eq $want, $name)
	  || diag("lines only in the first (+) or only in the second (-):\n" . join("\n", @diff));
}

sub version_of
{
	my ($db) = @_;
	return $node->safe_psql($db, q{SELECT extversion FROM pg_extension WHERE extname = 'tidal'});
}

# the versions PostgreSQL can install, oldest first, and the default one
my @versions = split /\n/, $node->safe_psql('postgres', q{
	SELECT version FROM pg_available_extension_versions WHERE name = 'tidal'
	 ORDER BY string_to_array(version, '.')::int[]});
my $default = $node->safe_psql('postgres',
	q{SELECT default_version FROM pg_available_extensions WHERE name = 'tidal'});
is($versions[0], '0.1', 'the oldest version is 0.1');
is($versions[-1], $default, "the newest is the default version, $default");

# tidal ships as pg_stat_statements does: the base script, the full script of
# the default version, and one update script per step between the versions;
# PostgreSQL installs every other version with the base and the updates
my $extdir = $node->config_data('--sharedir') . '/extension';
my @scripts = sort map { m{([^/]+)$} } glob("$extdir/tidal--*.sql");
my @shipped = sort("tidal--$versions[0].sql", "tidal--$default.sql",
	map { "tidal--$versions[$_]--$versions[$_ + 1].sql" } 0 .. $#versions - 1);
is_deeply(\@scripts, \@shipped,
	'installed: the base script, the full script of the default version and the update chain, nothing else');

# a fresh install of the default version, to compare with
$node->safe_psql('postgres', 'CREATE DATABASE fresh');
$node->safe_psql('fresh', 'CREATE EXTENSION tidal');
is(version_of('fresh'), $default, "a fresh install is $default");
my $fresh = $node->safe_psql('fresh', $describe);
ok(length($fresh) > 1000, 'the description of a fresh install is not empty');

# For the walk: what is written at a version, and the checks (name, query,
# expected answer) that must hold from then on, at every later version and
# after the restart.  Every version also gets the smoke of signals (below).
# Every write is made with today's library, as in a rolling upgrade, where
# the new library serves a database until its ALTER EXTENSION UPDATE: each
# version's features must work on that version's SQL objects.
my $T = q{'2026-01-01'};
my %writes = (
	'0.1' => [
		q{SELECT tidal.define_signal('view', '7 days', ARRAY['1 hour']::interval[]);
		  SELECT tidal.signal_batch('view', '{1,2,2}', NULL, '{2026-01-01,2026-01-01,2026-01-01}');
		  SELECT tidal.seal();
		  SELECT tidal.signal('view', 3, 5, '2026-01-01');},
		[ 'scores written with 0.1',
			qq{SELECT string_agg(tidal.decay_score(e, 'view', $T)::text, ',' ORDER BY e)
			     FROM generate_series(1, 3) e}, '1,2,5' ],
		[ 'a window count written with 0.1',
			qq{SELECT tidal.window_count(2, 'view', '1 hour', $T)}, '2' ],
	],
	'0.2' => [
		q{SELECT tidal.hide_item(42, 3);
		  SELECT tidal.upsert_item(i, 7, '{}', '2026-01-01') FROM generate_series(1, 3) i;},
		[ 'a hide written with 0.2',
			q{SELECT string_agg(user_id || ' ' || target_kind || ' ' || target_id, ',') FROM tidal.hidden},
			'42 item 3' ],
		[ 'items written with 0.2, ranked without the one hidden',
			qq{SELECT string_agg(item_id::text, ',' ORDER BY rank) FROM tidal.retrieve(42, at => $T)},
			'2,1' ],
		[ 'a hide read with 0.2', q{SELECT tidal.is_hidden(42, 3) || ' ' || tidal.is_hidden(42, 2)}, 'true false' ],
	],
	'0.3' => [
		q{SELECT tidal.register_tenant(42, 'acme', max_signals_per_sec => 1000);
		  SELECT tidal.signal('view', 7, 3, '2026-01-01', tenant => 42);
		  SELECT tidal.upsert_item(8, 9, '{}', '2026-01-01', tenant => 42);},
		[ 'tenant 42 with its quota, registered with 0.3',
			q{SELECT label || ' ' || max_signals_per_sec FROM tidal.tenants WHERE tenant_id = 42}, 'acme 1000' ],
		[ "tenant 42's score and item, written with 0.3",
			qq{SELECT tidal.decay_score(7, 'view', $T, tenant => 42) || ' '
			       || (SELECT count(*) FROM tidal.item_data WHERE tenant = 42 AND item = 8)}, '3 1' ],
	],
	'0.4' => [
		q{SELECT tidal.hide_item(42, 8, tenant => 42);},
		[ "a hide of tenant 42's item, in tenant 42 only, written with 0.4",
			q{SELECT tidal.is_hidden(42, 8, tenant => 42) || ' ' || tidal.is_hidden(42, 8)}, 'true false' ],
	],
	'0.5' => [
		q{CREATE ROLE tidal_app;
		  SELECT tidal.grant_tenant('tidal_app', 42);},
		[ "a role granted tenant 42 reads tenant 42's score",
			qq{SET ROLE tidal_app; SELECT tidal.decay_score(7, 'view', $T, tenant => 42)}, '3' ],
	],
	'0.6' => [
		q{SELECT tidal.seal();
		  SELECT tidal.snapshot();},
		[ 'a snapshot taken with 0.6 holds what every version wrote',
			q{SELECT entries >= 4 FROM tidal.snapshots}, 't' ],
	],
	'0.8' => [
		q{SELECT tidal.signal('view', 11, 1, '2026-01-01', session => 'walk', session_seqno => 1);
		  SELECT tidal.signal('view', 11, 4, '2026-01-01', session => 'walk', session_seqno => 3);},
		[ 'a session written with 0.8: seqno 3 held behind the gap at 2',
			qq{SELECT applied_seqno || '/' || held || ' ' || tidal.decay_score(11, 'view', $T)
			     FROM tidal.session_status('walk')}, '1/1 1' ],
	],
);

my @checks;    # [ name, query, expected ], from every version walked so far

sub check_all
{
	my ($when) = @_;
	is($node->safe_psql('postgres', $_->[1]), $_->[2], "$_->[0]: intact $when") for @checks;
}

sub log_records
{
	$node->safe_psql('postgres', 'SELECT tidal.seal()');
	return $node->safe_psql('postgres', 'SELECT coalesce(sum(event_count), 0) FROM tidal.log_batches');
}

$node->safe_psql('postgres', qq{CREATE EXTENSION tidal VERSION '$versions[0]'});
my $records = 0;
for my $i (0 .. $#versions)
{
	my $v = $versions[$i];
	if ($i > 0)
	{
		$node->safe_psql('postgres', qq{ALTER EXTENSION tidal UPDATE TO '$v'});
		check_all("after the update to $v");
		is(log_records(), $records, "the log's $records records are intact after the update to $v");
	}
	is(version_of('postgres'), $v, "the walk is at $v");

	# what this version added
	my ($sql, @new) = @{ $writes{$v} // [''] };
	$node->safe_psql('postgres', $sql) if $sql;
	if ($v eq '0.1')
	{
		is(log_records(), 5, '0.1 logs one definition and four events, all in batches once sealed');
	}
	# the smoke: define a signal, signal, read its score
	(my $signal = "smoke_$v") =~ tr/./_/;
	my $entity = 100 + $i;
	$node->safe_psql('postgres', qq{
		SELECT tidal.define_signal('$signal', '1 day');
		SELECT tidal.signal('$signal', $entity, 2, $T);});
	push @new, [ "the smoke signal of $v", qq{SELECT tidal.decay_score($entity, '$signal', $T)}, '2' ];
	for my $c (@new)
	{
		is($node->safe_psql('postgres', $c->[1]), $c->[2], "$c->[0]: works at $v");
	}
	push @checks, @new;
	$records = log_records();
}

same_objects($node->safe_psql('postgres', $describe), $fresh,
	"0.1 updated one version at a time to $default has exactly the objects of a fresh install");

# the state survives a restart on the upgraded extension, rebuilt from the
# snapshot 0.6 took and the log after it
my $log_offset = -s $node->logfile;
$node->restart;
check_all('after a restart (rebuilt from the snapshot and the log after it)');
like(slurp_file($node->logfile, $log_offset), qr/rebuilt its hot state from snapshot \d+ and \d+ events/,
	'the restart started from the snapshot');

# every older shipped version, installed fresh and updated to the default version
for my $v (@versions[ 0 .. $#versions - 1 ])
{
	(my $db = "from_$v") =~ tr/./_/;
	$node->safe_psql('postgres', qq{CREATE DATABASE $db});
	$node->safe_psql($db, qq{CREATE EXTENSION tidal VERSION '$v'});
	is(version_of($db), $v, "$v installs fresh");
	$node->safe_psql($db, 'ALTER EXTENSION tidal UPDATE');
	is(version_of($db), $default, "$v updates to $default");
	same_objects($node->safe_psql($db, $describe), $fresh,
		"$v, installed fresh and updated to $default, has exactly the objects of a fresh install");
}

$node->stop;
done_testing();
