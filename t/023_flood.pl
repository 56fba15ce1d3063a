# One role's flood of new entities cannot take the hot state from everyone
# (issue 11, finding 4).  Every tenant, tenant 0 included, holds at most
# tidal.default_tenant_max_entities entries (by default half of
# tidal.max_entities) unless its own max_entities quota says otherwise; a
# write beyond it fails with 53400 and takes nothing.  Another tenant stays
# writable, also after a restart, and tenant 0's quota is set with the same
# call as any tenant's.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use TidalNode;

my $node = TidalNode->new('flood', extra => ['tidal.max_entities = 2000']);
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION tidal;
	SELECT tidal.define_signal('view', '1 hour');
	SELECT tidal.register_tenant(7, 'victim');
	CREATE ROLE flooder LOGIN;});

sub usage
{
	my ($tenant) = @_;
	return $node->safe_psql('postgres',
		"SELECT entities FROM tidal._tenant_usage() WHERE tenant_id = $tenant") || '0';
}

sub batch
{
	my ($tenant, $from, $to, $role) = @_;
	my $sql = "\\set VERBOSITY verbose\n" . ($role ? "SET ROLE $role;\n" : '')
	  . "SELECT tidal.signal_batch('view', ARRAY(SELECT generate_series($from, $to)::bigint), tenant => $tenant)";
	my ($ret, $out, $err) = $node->psql('postgres', $sql);
	return ($ret, $err);
}

# an ordinary role floods tenant 0 with 2,000 new entities: the whole capacity
my ($ret, $err) = batch(0, 1, 2000, 'flooder');
isnt($ret, 0, 'a flood of tenant 0 beyond its share fails');
like($err, qr/53400: tenant 0 is over its max_entities quota/, 'with SQLSTATE 53400, not 53200');
like($err, qr/HINT:.*tidal.register_tenant/, 'and a hint naming the call that raises it');
is(usage(0), '0', 'the refused flood took no entry');

# the flood in smaller batches stops at tenant 0's share
my $accepted = 0;
for my $i (0 .. 7)
{
	my ($r) = batch(0, 10001 + $i * 300, 10000 + ($i + 1) * 300, 'flooder');
	$accepted += 300 if $r == 0;
}
is($accepted, 900, 'batches are accepted up to half of tidal.max_entities, no further');
is(usage(0), '900', 'tenant 0 holds 900 entries');
($ret, $err) = batch(0, 20001, 20101, 'flooder');
like($err, qr/53400/, 'the next new entities of tenant 0 are refused');
$node->safe_psql('postgres', "SELECT tidal.signal('view', 10001, 3)");
cmp_ok($node->safe_psql('postgres', "SELECT tidal.decay_score(10001, 'view')"), '>', 3,
	'entities tenant 0 holds still take events');

# another tenant is not hurt
($ret, $err) = batch(7, 1, 800);
is($ret, 0, 'tenant 7 writes 800 new entities after the flood') or diag($err);
is(usage(7), '800', 'tenant 7 holds them');

# also after a restart: the rebuild counts every tenant's entries again
$node->restart;
is(usage(0), '900', 'after a restart tenant 0 still holds 900 entries');
($ret, $err) = batch(0, 30001, 30200, 'flooder');
like($err, qr/53400: tenant 0 is over its max_entities quota/, 'and is still refused beyond them');
($ret, $err) = batch(7, 801, 900);
is($ret, 0, 'tenant 7 still writes new entities after the restart') or diag($err);
cmp_ok($node->safe_psql('postgres', "SELECT tidal.decay_score(5, 'view', tenant => 7)"), '>', 0,
	'and its earlier entities kept their scores');

# tenant 0's quota is set like any tenant's (by the owner), and is kept across a restart
is($node->safe_psql('postgres', q{
	SELECT tidal.register_tenant(0, 'default', max_entities => 950) IS NOT NULL;
	SELECT max_entities FROM tidal.tenants WHERE tenant_id = 0}), "t\n950",
	'tenant 0 takes a max_entities quota through tidal.register_tenant');
($ret, $err) = batch(0, 30001, 30050);
is($ret, 0, 'tenant 0 writes up to its new quota') or diag($err);
($ret, $err) = batch(0, 30051, 30052);
like($err, qr/53400: tenant 0 is over its max_entities quota/, 'and not beyond it');
$node->restart;
($ret, $err) = batch(0, 30051, 30052);
like($err, qr/53400: tenant 0 is over its max_entities quota/, 'its quota is kept across a restart');
($ret, undef, $err) = $node->psql('postgres', "SELECT tidal.register_tenant(0, 'default', required_regions => '{1}')");
like($err, qr/tenant 0 is stored in every region/, 'tenant 0 cannot be confined to regions');
($ret, undef, $err) = $node->psql('postgres', "SELECT tidal.begin_tenant_migration(0, 1)");
like($err, qr/tenant 0 cannot migrate/, 'nor migrated');

# a configuration without a default share: only the capacity limits
$node->append_conf('postgresql.conf', "tidal.default_tenant_max_entities = 0\n");
$node->reload;
($ret, $err) = batch(7, 901, 1040);
is($ret, 0, 'with tidal.default_tenant_max_entities = 0 a tenant without a quota may take more than half')
  or diag($err);

$node->stop;
done_testing();
