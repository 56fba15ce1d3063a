# A shard leader crashes and its follower is promoted (UAT step 2, on a
# small cluster).  Region 0 has shard 0 on A (node 1, the leader) and B
# (node 2, its follower), and shard 1 on W (node 3), which is shard 0's
# witness (a shard of two nodes cannot elect by itself); region 1 has C
# (node 4, shard 0), which reaches region 0's shard 0 at A, then B.
#
#  - with tidal.commit_ack = 'shard' a write returns once B has applied it;
#  - A, cut off from B and C but not from W, still leads and commits writes
#    nobody else has; then it is killed (-9);
#  - B is promoted within 10 s, and has every acknowledged write;
#  - writes through W (an entry instance of the region) and through C go
#    on, and reach B;
#  - A restarts, rejoins as B's follower, and the writes it made alone count
#    once everywhere.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

use TidalNode qw(wait_until);
use TidalProxy;

my $T = q{'2026-01-01 00:00:00+00'};
my %node;
for my $n ([ 'A', 1, 0, 0 ], [ 'B', 2, 0, 0 ], [ 'W', 3, 0, 1 ], [ 'C', 4, 1, 0 ])
{
	my ($name, $id, $region, $shard) = @$n;
	$node{$name} = TidalNode->new("promo$name", node_id => $id, region_id => $region,
		# elections a busy machine does not trigger by itself (a missed heartbeat
		# or two must not unseat A while the test expects it to lead)
		extra => [ "listen_addresses = '127.0.0.1'", "tidal.shard_id = $shard", "tidal.election_timeout = 1500ms" ]);
	$node{$name}->append_conf('pg_hba.conf', "host all all 127.0.0.1/32 trust\n");
	$node{$name}->start;
	$node{$name}->safe_psql('postgres', 'CREATE EXTENSION tidal');
}
my ($A, $B, $W, $C) = @node{qw(A B W C)};

# A's links to B and C go through proxies, so that A can be cut off from them
my $dir = PostgreSQL::Test::Utils::tempdir('proxies');
my %proxy;
for my $pair ([ 'A', 'B' ], [ 'B', 'A' ], [ 'A', 'C' ], [ 'C', 'A' ])
{
	my ($from, $to) = @$pair;
	$proxy{"$from>$to"} = TidalProxy->start($dir, "${from}_to_$to",
		PostgreSQL::Test::Cluster::get_free_port(), $node{$to}->port);
}
sub conn { return sprintf('host=127.0.0.1 port=%d dbname=postgres', $_[0]); }
my $shard0 = sprintf('host=127.0.0.1,127.0.0.1 port=%d,%d dbname=postgres connect_timeout=1', $A->port, $B->port);
$A->safe_psql('postgres', sprintf(q{SELECT tidal.add_peer(0, '%s', 0, 2), tidal.add_peer(1, '%s'), tidal.add_peer(0, '%s', 1)},
		conn($proxy{'A>B'}->port), conn($proxy{'A>C'}->port), conn($W->port)));
$B->safe_psql('postgres', sprintf(q{SELECT tidal.add_peer(0, '%s', 0, 1), tidal.add_peer(1, '%s'), tidal.add_peer(0, '%s', 1)},
		conn($proxy{'B>A'}->port), conn($C->port), conn($W->port)));
$W->safe_psql('postgres', qq{SELECT tidal.add_peer(0, '$shard0', 0)});
$C->safe_psql('postgres', sprintf(
		q{SELECT tidal.add_peer(0, 'host=127.0.0.1,127.0.0.1 port=%d,%d dbname=postgres connect_timeout=1')},
		$proxy{'C>A'}->port, $B->port));

ok(wait_until(30, sub { $B->safe_psql('postgres', q{SELECT leader_node FROM tidal.shard_nodes WHERE is_local}) eq '1' }),
	'A, the lowest node, leads shard 0, and B follows it');
is($A->safe_psql('postgres', q{SELECT members FROM tidal._shard_election_status()}), '3',
	'the election of a shard of two nodes counts a witness: three voters');
ok(wait_until(30, sub { $A->psql('postgres', q{SELECT tidal.define_signal('view', '1 day')}) == 0
			  || $C->psql('postgres', q{SELECT tidal.define_signal('view', '1 day')}) == 0 }),
	'the signal is defined on the cluster leader');
ok(wait_until(30, sub { !grep { $_->safe_psql('postgres', q{SELECT count(*) FROM tidal.signal_defs}) ne '1' } values %node }),
	'and reaches every node');

sub score { return $_[0]->safe_psql('postgres', qq{SELECT tidal.decay_score($_[1], 'view', $T)}); }

# commit_ack = 'shard': each write returns once the follower has it
my $acked = 0;
for (1 .. 20)
{
	$A->safe_psql('postgres', qq{SET tidal.commit_ack = 'shard'; SELECT tidal.signal('view', 10, 1, $T)});
	$acked++;
}
is(score($B, 10), $acked, "B has every write A acknowledged with commit_ack = 'shard', at once");

# A, cut off from B and C (not from W, so it keeps its majority), commits
# 7 writes nobody else has
$proxy{$_}->set('blackhole') for keys %proxy;
sleep 4;    # several election timeouts: A still leads with W's heartbeat answers
is($A->safe_psql('postgres', q{SELECT role FROM tidal.shard_nodes WHERE is_local}), 'leader',
	'A, still reaching its witness, still leads');
$A->safe_psql('postgres', qq{SELECT tidal.signal('view', 10, 1, $T) FROM generate_series(1, 7); SELECT tidal.seal()});
is(score($B, 10), $acked, "B does not have A's 7 unshipped writes");

# kill -9 the leader
my $killed = time();
$A->stop('immediate');
$proxy{$_}->set('pass') for keys %proxy;
ok(wait_until(10, sub { $B->safe_psql('postgres', q{SELECT role FROM tidal.shard_nodes WHERE is_local}) eq 'leader' }),
	'B is promoted');
my $promotion = time() - $killed;
cmp_ok($promotion, '<', 10, sprintf('within 10 s of the kill (%.2f s)', $promotion));
is(score($B, 10), $acked, 'every acknowledged write is on the promoted follower');

# writes go on: on B, through W (an entry instance of region 0), and through C
$B->safe_psql('postgres', qq{SELECT tidal.signal('view', 10, 1, $T) FROM generate_series(1, 3)});
$W->safe_psql('postgres', qq{SELECT tidal.signal('view', 10, 1, $T) FROM generate_series(1, 4)});
$C->safe_psql('postgres', qq{SELECT tidal.signal('view', 10, 1, $T) FROM generate_series(1, 5)});
my $want = $acked + 3 + 4 + 5;
ok(wait_until(30, sub { score($B, 10) eq $want && score($C, 10) eq $want }),
	"the writes on B, through W and through C count on B and C ($want)");

# the old leader rejoins as a follower; what it wrote alone counts once
$A->start;
ok(wait_until(30, sub { $A->safe_psql('postgres', q{SELECT leader_node FROM tidal.shard_nodes WHERE is_local}) eq '2' }),
	'A rejoins as a follower of B');
$want += 7;
ok(wait_until(30, sub { !grep { score($_, 10) ne $want } ($A, $B, $C) }),
	"A's 7 writes that never left it count once on A, B and C ($want)");
my ($ret, $out, $err) = $A->psql('postgres', qq{SELECT tidal.signal('view', 10, 1, $T)});
like($err, qr/HINT:  The shard's leader is node 2/, 'A, now a follower, refuses writes and names B');

$_->stop for values %proxy;
$_->stop for values %node;
done_testing();
