# A peer's acknowledgement when it pulls from a follower: region 1's nodes
# cannot reach region 0's leader, so they pull region 0's log from its
# follower (the next host of their connection string), and never call the
# leader's tidal._ship.  The leader still learns how far region 1 has its
# writes -- from the answers of its own pulls from region 1 -- so its
# tidal.await_convergence() and lag_seqno tell the truth: converged once
# region 1 has everything, and not before.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use TidalCluster;
use TidalUAT;

my $c = TidalCluster->new(2, name => 'ackf', followers => 1);
define_schema($c);
my ($L0, $L1) = $c->nodes;
my $AT = q{'2026-01-01 00:00:00+00'};

# region 1 -> region 0's leader refused: region 1 pulls from region 0's follower
$c->{proxies}{'1>0'}->set('refuse');
$L0->safe_psql('postgres', join('', map { qq{SELECT tidal.signal('view', 5, 1, $AT);\n} } 1 .. 20));
ok($c->wait_until(20, sub { $L1->safe_psql('postgres', qq{SELECT tidal.window_count(5, 'view', '24 hours', $AT)}) eq '20' }),
	"region 1 gets region 0's writes through region 0's follower");
is($L0->safe_psql('postgres', q{SELECT tidal.await_convergence('10s')}), 't',
	"region 0's leader sees region 1 converge, though region 1 never pulls from it");
is($L0->safe_psql('postgres', q{SELECT max(lag_seqno) FROM tidal.replication_status WHERE region = 1}), '0',
	'and says lag_seqno 0 for it');

# region 1 cut off both ways: no convergence to report
$c->cut(0, 1);
$L0->safe_psql('postgres', qq{SELECT tidal.signal('view', 5, 1, $AT)});
is($L0->safe_psql('postgres', q{SELECT tidal.await_convergence('1s')}), 'f',
	'a write region 1 cannot have yet is not reported as converged');
$c->heal_all;
$c->{proxies}{'1>0'}->set('refuse');
is($L0->safe_psql('postgres', q{SELECT tidal.await_convergence('20s')}), 't', 'healed, it is');

finish_sessions();
$c->stop;
done_testing();
