# Leader election: region 0 leads a fresh cluster; killed, it is replaced
# within seconds by a leader that accepts leader-only calls; restarted, it
# rejoins as a follower.  A leader cut off from the majority steps down,
# exactly one leader leads the new term, and leader-only calls at the old
# one fail meanwhile with 25006 and a hint naming the leader.  A member cut
# off from the leader alone cannot depose it (Raft's pre-vote).
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

use TidalCluster;

my $c = TidalCluster->new(3, name => 'raft');
my ($r0, $r1, $r2) = $c->nodes;

like($c->leaders, qr/^0:\d+$/, 'region 0 is the one leader of a fresh cluster');
ok($c->wait_until(5, sub { $c->leader_of(1) eq '0' && $c->leader_of(2) eq '0' }),
	'the followers know it');
my ($ret, $out, $err) = $r1->psql('postgres', q{SELECT tidal.define_signal('view', '1 day')});
like($err, qr/runs only on the leader.*\n.*HINT:  The leader is region 0/s,
	'a leader-only call on a follower fails, naming the leader');
$r1->safe_psql('postgres', q{SELECT 1});
($ret, $out, $err) = $r1->psql('postgres', q{SELECT tidal.define_signal('view', '1 day')},
	extra_params => [ '-v', 'VERBOSITY=verbose' ]);
like($err, qr/25006/, 'with SQLSTATE 25006');
$r0->safe_psql('postgres', q{SELECT tidal.define_signal('view', '1 day')});

# kill -9 the leader
$r0->stop('immediate');
my $killed = time();
my $new_leader;
ok($c->wait_until(10, sub {
			for my $n ($r1, $r2)
			{
				my ($rc) = $n->psql('postgres', q{SELECT tidal.define_signal('like', '1 day')});
				if ($rc == 0) { $new_leader = $n; return 1; }
			}
			return 0;
		}),
	'a new leader is elected and accepts a leader-only call');
my $failover = time() - $killed;
cmp_ok($failover, '<', 3, sprintf('within 3 s of the kill (%.2f s)', $failover));
like($c->leaders(1, 2), qr/^\d:\d+$/, 'exactly one of the survivors leads');

$r0->start;
ok($c->wait_until(10, sub { $c->leader_of(0) ne '' && $c->leader_of(0) ne '0' }),
	'the old leader rejoins as a follower of the new one');
like($c->leaders, qr/^\d:\d+$/, 'still one leader');

# cut the leader off from both others
my ($lead) = $c->leaders =~ /^(\d):/;
my @others = grep { $_ != $lead } 0 .. 2;
my ($old_term) = $c->leaders =~ /:(\d+)$/;
$c->cut($lead, $others[0], mode => 'blackhole');
$c->cut($lead, $others[1], mode => 'blackhole');
ok($c->wait_until(10, sub { $c->leaders($lead) eq '' }), "the cut-off leader (region $lead) steps down");
ok($c->wait_until(10, sub { $c->leaders(@others) =~ /^\d:(\d+)$/ && $1 > $old_term }),
	'exactly one of the majority leads a newer term');
($ret, $out, $err) = $c->node($lead)->psql('postgres', q{SELECT tidal.define_profile('p', '{"terms": [{"signal": "*"}]}')});
like($err, qr/runs only on the leader/, 'leader-only calls at the old leader fail meanwhile');

$c->heal_all;
ok($c->wait_until(10, sub {
			my %seen = map { $c->leader_of($_) => 1 } 0 .. 2;
			keys %seen == 1 && !exists $seen{''} }),
	'after the heal every region agrees on the leader');
like($c->leaders, qr/^\d:\d+$/, 'and there is one');

# A member that alone loses the leader's heartbeats (a slow machine, a cut
# between two regions only) must not depose the leader the third region
# still hears: its pre-votes are refused, so no new term begins.
#
# Longer timeouts for this part (both reload settings): the third region
# must go on hearing the leader even on a machine busy with other work, or
# it would rightly grant its vote.
for my $n ($c->nodes)
{
	$n->safe_psql('postgres', q{ALTER SYSTEM SET tidal.election_timeout = '1500ms';
		ALTER SYSTEM SET tidal.heartbeat_interval = '150ms'; SELECT pg_reload_conf();});
}
sleep 1;
($lead) = $c->leaders =~ /^(\d):/;
my ($term) = $c->leaders =~ /:(\d+)$/;
my ($lonely, $third) = grep { $_ != $lead } 0 .. 2;
$c->cut($lead, $lonely, mode => 'blackhole');
ok($c->wait_until(15, sub { $c->leader_of($lonely) eq '' }),
	"region $lonely, cut off from the leader only, loses it");
sleep 7;	# several election timeouts (1.5 s to 3 s each)
is($c->leaders, "$lead:$term", "region $lead still leads term $term: region $lonely could not depose it");
is($c->leader_of($third), "$lead", "region $third still follows it");
$c->heal_all;
ok($c->wait_until(10, sub { $c->leader_of($lonely) eq "$lead" }),
	"after the heal region $lonely follows region $lead again");
is($c->leaders, "$lead:$term", 'in the same term');

$c->stop;
done_testing();
