# A keyed write that starts while its tenant is stored elsewhere and is
# logged just after the tenant moves into this region claims its key then:
# if the move brought the write that counts, it does not count again.
#
# The race, as t/015 seed 8 met it once: the write looks the tenant up
# (stored elsewhere: it claims nothing), then waits at the log for the move
# that is loading the tenant -- with the first write of the same key -- to
# commit; after the move it is counted, and its key must decide.
use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use TidalNode qw(wait_until);

my $T = '2026-06-01 00:00:00+00';
my $node = TidalNode->new('keymovein', node_id => 1, region_id => 0);
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION tidal');
ok(wait_until(30, sub { $node->safe_psql('postgres', q{SELECT role FROM tidal.cluster WHERE is_local}) eq 'leader' }),
	'a node alone leads itself');
$node->safe_psql('postgres', q{
	SELECT tidal.define_signal('view', '1 day');
	SELECT tidal.register_tenant(5, 'acme', required_regions => '{1}');});
is($node->safe_psql('postgres', q{SELECT stored_here FROM tidal.tenants WHERE tenant_id = 5}), 'f',
	'tenant 5 is stored in region 1, not here');

# the first write of key k: logged here, counted where the tenant is stored
my $first = $node->safe_psql('postgres',
	qq{SELECT tidal.signal('view', 1, 1, '$T', idempotency_key => 'k', tenant => 5)::text});
my $score_sql = qq{SELECT tidal.decay_score(1, 'view', '$T', tenant => 5)};

# the move: tenant 5 is stored here too, and loaded from the log (with the write above)
my $mover = $node->background_psql('postgres', on_error_stop => 1);
$mover->query_safe('BEGIN');
$mover->query_safe(q{SELECT tidal.register_tenant(5, 'acme', required_regions => '{0,1}')});

# meanwhile the retry of key k, with another weight, starts: the tenant is not here yet
my ($out, $err) = ('', '');
my $retry = IPC::Run::start(
	[ 'psql', '-XAtq', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('postgres'), '-c',
		qq{SELECT tidal.signal('view', 1, 5, '$T', idempotency_key => 'k', tenant => 5)::text} ],
	'>', \$out, '2>', \$err);
ok(wait_until(30, sub {
			$node->safe_psql('postgres', q{SELECT count(*) FROM pg_stat_activity
			                               WHERE wait_event_type = 'Lock' AND query LIKE '%idempotency_key%'}) eq '1' }),
	'the retry waits for the move at the log');
$mover->query_safe('COMMIT');
$mover->quit;
$retry->finish;
is($err, '', 'the retry succeeds');
chomp $out;
is($out, $first, 'and returns the HLC of the write that counts');
is($node->safe_psql('postgres', $score_sql), '1', 'the key counts once: the first write, not the retry');
$node->safe_psql('postgres', 'SELECT tidal._reset_state()');
is($node->safe_psql('postgres', $score_sql), '1', 'a rebuild from the log counts the same');

$node->stop;
done_testing();
