# A signal defined and written in one transaction replicates (issue 11,
# finding 2): applying a batch sees the batch's own earlier records, so the
# definition is there when its first events are applied, in every region.
# A definition's polarity replicates with it.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use TidalCluster;
use TidalUAT;

my $c = TidalCluster->new(3, name => 'defsig');
my ($out, $leader) = TidalUAT::leader_call($c,
	q{BEGIN; SELECT tidal.define_signal('z', '1 day');
	  SELECT tidal.signal('z', 1, 4, '2026-11-24'); COMMIT;});
ok(defined $leader, "the define-and-signal transaction commits on the leader (region "
	  . ($leader // '?') . ")");
for my $i (0 .. $c->size - 1)
{
	ok($c->wait_until(30, sub {
				$c->node($i)->safe_psql('postgres', q{SELECT coalesce(
					(SELECT tidal.decay_score(1, 'z', '2026-11-24') FROM tidal.signals WHERE name = 'z'), -1)}) eq '4' }),
		"region $i has the signal and its event");
}
# and replication from the leader carries on behind it
$c->node($leader)->safe_psql('postgres', q{SELECT tidal.signal('z', 1, 1, '2026-11-24')});
for my $i (0 .. $c->size - 1)
{
	ok($c->wait_until(30, sub {
				$c->node($i)->safe_psql('postgres', q{SELECT tidal.decay_score(1, 'z', '2026-11-24')}) eq '5' }),
		"region $i applies the leader's next write too");
}
# a signal's polarity (0.8) replicates with its definition
TidalUAT::leader_call($c, q{SELECT tidal.define_signal('z_skip', '1 day', polarity => -1)});
ok($c->wait_until(30, sub { join(',', $c->query_all(q{SELECT coalesce((SELECT polarity::text FROM tidal.signals WHERE name = 'z_skip'), 'none')})) eq '-1,-1,-1' }),
	'a signal defined with polarity -1 has it in every region');

$c->stop;
done_testing();
