# The hot state holds tidal.max_entities (entity, signal) pairs.  A write
# beyond that fails before commit with SQLSTATE 53200 and a hint, and
# rolled-back writes give back every slot they took.  The node is a
# single-tenant deployment whose tenant 0 may take the whole capacity
# (tidal.default_tenant_max_entities = 0; by default a tenant gets half,
# see t/023_flood.pl).
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use TidalNode;

my $node = TidalNode->new('capacity', extra => ['tidal.max_entities = 1000', 'tidal.default_tenant_max_entities = 0']);
$node->start;
$node->safe_psql('postgres', "CREATE EXTENSION tidal; SELECT tidal.define_signal('view', '1 hour')");

sub entries { $node->safe_psql('postgres', 'SELECT entries FROM tidal.state_stats()') }

# a rolled-back batch of 1,000 new entities leaves the whole capacity free
$node->safe_psql('postgres',
	'BEGIN; SELECT tidal.signal_batch($$view$$, ARRAY(SELECT generate_series(1, 1000)::bigint)); ROLLBACK;');
is(entries(), '0', 'no entries after the rollback');
$node->safe_psql('postgres',
	'SELECT tidal.signal_batch($$view$$, ARRAY(SELECT generate_series(1001, 1900)::bigint))');
is(entries(), '900', 'the slots were given back: 900 new entities fit');

# one write too many fails, with its SQLSTATE and a hint; nothing of it counts
my ($ret, $out, $err) = $node->psql('postgres',
	"\\set VERBOSITY verbose\nSELECT tidal.signal_batch('view', ARRAY(SELECT generate_series(2001, 2200)::bigint))");
isnt($ret, 0, 'a batch beyond the capacity fails');
like($err, qr/53200: tidal hot state is full/, 'with SQLSTATE 53200');
like($err, qr/HINT:\s+Increase tidal.max_entities/, 'and a hint');
is(entries(), '900', 'the failed batch took no slot');

# a savepoint rolled back inside a committed transaction also gives its slots back
$node->safe_psql('postgres', q{
	BEGIN;
	SAVEPOINT s;
	SELECT tidal.signal_batch('view', ARRAY(SELECT generate_series(3001, 3100)::bigint));
	ROLLBACK TO SAVEPOINT s;
	SELECT tidal.signal_batch('view', ARRAY(SELECT generate_series(4001, 4100)::bigint));
	COMMIT;});
is(entries(), '1000', 'only the committed savepoint-free writes took slots');
is($node->safe_psql('postgres', "SELECT tidal.decay_score(3001, 'view') = 0 AND tidal.decay_score(4001, 'view') > 0"),
	't', 'the rolled-back entity has no score, the committed one has');

# every entity that took a slot is still found after the slots given back
# around it (the index's deletions move later slots of a probe run up)
is($node->safe_psql('postgres', q{
	SELECT count(*) FILTER (WHERE tidal.decay_score(e, 'view') > 0) || ' of ' || count(*)
	  FROM (SELECT generate_series(1001, 1900) UNION ALL SELECT generate_series(4001, 4100)) g(e)}),
	'1000 of 1000', 'every committed entity is found');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM generate_series(1, 3100) e
	 WHERE (e <= 1000 OR e > 2000) AND tidal.decay_score(e, 'view') > 0}),
	'0', 'and no rolled-back one');

# existing entities still take writes when the state is full
$node->safe_psql('postgres', "SELECT tidal.signal('view', 1001, 5)");
cmp_ok($node->safe_psql('postgres', "SELECT tidal.decay_score(1001, 'view')"), '>', 5,
	'a full state still accepts events for the entities it holds');

$node->stop;
done_testing();
