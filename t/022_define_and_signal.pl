# A signal defined and written in one transaction replicates (issue 11,
# finding 2): applying a batch sees the batch's own earlier records, so the
# definition is there when its first events are applied, in every region.
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
$c->stop;
done_testing();
