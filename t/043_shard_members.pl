# The nodes of one shard (0.8): region 0 has two nodes of shard 0, A (node
# 1) and B (node 2), members of each other; region 1 has one, C, which
# reaches region 0 by a connection string that lists A, then B.  A, the
# lowest node, leads the shard; B follows: it refuses writes, naming A, and
# holds everything A has, as members pull every origin from each other.
# When A is killed, C pulls region 0 from B, which relays A's batches C
# lacked (a shard of two nodes and no witness elects no new leader: B
# stays a follower).  Writes A committed while cut off reach B and C once A
# returns, and count once.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use TidalNode qw(wait_until);
use TidalProxy;

my $T = q{'2026-01-01 00:00:00+00'};
my @conf = ("listen_addresses = '127.0.0.1'", 'tidal.shard_id = 0');
my $A = TidalNode->new('memberA', node_id => 1, region_id => 0, extra => \@conf);
my $B = TidalNode->new('memberB', node_id => 2, region_id => 0, extra => \@conf);
my $C = TidalNode->new('regionC', node_id => 3, region_id => 1, extra => \@conf);
for my $n ($A, $B, $C)
{
	$n->append_conf('pg_hba.conf', "host all all 127.0.0.1/32 trust\n");
	$n->start;
	$n->safe_psql('postgres', 'CREATE EXTENSION tidal');
}

# A's links go through proxies, so that A can be cut off from everyone
my $dir = PostgreSQL::Test::Utils::tempdir('proxies');
my %proxy;
for my $to ([ 'B', $B ], [ 'C', $C ])
{
	$proxy{"A>$to->[0]"} = TidalProxy->start($dir, "A_to_$to->[0]",
		PostgreSQL::Test::Cluster::get_free_port(), $to->[1]->port);
	$proxy{"$to->[0]>A"} = TidalProxy->start($dir, "$to->[0]_to_A",
		PostgreSQL::Test::Cluster::get_free_port(), $A->port);
}
sub conn { return "host=127.0.0.1 port=$_[0] dbname=postgres"; }
my ($ret, $out, $err);
$A->safe_psql('postgres', sprintf(q{SELECT tidal.add_peer(0, '%s', 0, 2), tidal.add_peer(1, '%s')},
		conn($proxy{'A>B'}->{port}), conn($proxy{'A>C'}->{port})));
$B->safe_psql('postgres', sprintf(q{SELECT tidal.add_peer(0, '%s', 0, 1), tidal.add_peer(1, '%s')},
		conn($proxy{'B>A'}->{port}), conn($C->port)));
# C reaches region 0 at A, or at B when A does not answer
$C->safe_psql('postgres', sprintf(
		q{SELECT tidal.add_peer(0, 'host=127.0.0.1,127.0.0.1 port=%d,%d dbname=postgres connect_timeout=2')},
		$proxy{'C>A'}->{port}, $B->port));

is($A->safe_psql('postgres', q{SELECT string_agg(region_id || ':' || shard_id || ':' || coalesce(node_id::text, '-'), ' ' ORDER BY region_id, node_id) FROM tidal.peers}),
	'0:0:2 1:0:-', 'A has B as a member of its shard, and region 1');
($ret, $out, $err) = $A->psql('postgres', q{SELECT tidal.add_peer(0, 'host=x', 0)});
like($err, qr/is this node's own shard.*\n.*HINT:  Name the node_id/s, 'its own shard without a node is refused, with a hint');
($ret, $out, $err) = $A->psql('postgres', q{SELECT tidal.add_peer(1, 'host=x', 0, 5)});
like($err, qr/node_id names a member of this node's own shard/, 'a node of another region is not named by node');
($ret, $out, $err) = $A->psql('postgres', q{SELECT tidal.add_peer(0, 'host=x', 0, 1)});
like($err, qr/node 1 is this node/, 'nor is this node its own member');

ok(wait_until(30, sub { grep { $_->safe_psql('postgres', q{SELECT role FROM tidal.cluster WHERE is_local}) eq 'leader' } ($A, $B, $C) }),
	'a cluster leader is elected');
for my $n ($A, $B, $C)
{
	last if $n->psql('postgres', q{SELECT tidal.define_signal('view', '1 day')}) == 0;
}
ok(wait_until(30, sub { !grep { $_->safe_psql('postgres', q{SELECT count(*) FROM tidal.signal_defs}) ne '1' } ($A, $B, $C) }),
	'the definition reaches every node');

sub score
{
	my ($n, $e) = @_;
	return $n->safe_psql('postgres', qq{SELECT tidal.decay_score($e, 'view', $T)});
}
sub converged_on
{
	my ($nodes, %want) = @_;
	return wait_until(30, sub {
			for my $n (@$nodes)
			{
				for my $e (keys %want) { return 0 if score($n, $e) ne $want{$e}; }
			}
			return 1;
		});
}
sub converged { return converged_on([ $A, $B, $C ], @_); }
sub write_on
{
	my ($n, $e, $k) = @_;
	$n->safe_psql('postgres', qq{SELECT tidal.signal('view', $e, 1, $T) FROM generate_series(1, $k); SELECT tidal.seal()});
}

ok(wait_until(30, sub { $B->safe_psql('postgres', q{SELECT leader_node FROM tidal.shard_nodes WHERE is_local}) eq '1' }),
	'B follows A, the lowest node of the shard');
is($A->safe_psql('postgres', q{SELECT string_agg(node || ' ' || role, ', ' ORDER BY node) FROM tidal.shard_nodes}),
	'1 leader, 2 follower', 'tidal.shard_nodes on A: A leads, B follows');
($ret, $out, $err) = $B->psql('postgres', qq{SELECT tidal.signal('view', 20, 1, $T)},
	extra_params => [ '-v', 'VERBOSITY=verbose' ]);
like($err, qr/25006.*tidal.signal writes only on its shard's leader, and this node \(2\) is a follower.*\n.*HINT:  The shard's leader is node 1/s,
	'a write on the follower is refused with 25006 and a hint naming the leader');

write_on($A, 10, 100);
write_on($C, 30, 20);
ok(converged(10 => 100, 30 => 20), 'the writes of the leader and of region 1 count once on every node');
is($A->safe_psql('postgres', q{SELECT string_agg(origin_node || ':' || is_local, ' ' ORDER BY origin_node) FROM tidal.log_status WHERE origin_region = 0 AND last_batch > 0}),
	'1:true', 'only the leader writes an origin of region 0');
is($A->safe_psql('postgres', q{SELECT link || ' ' || role || ' ' || coalesce(health, '-') FROM tidal.topology WHERE node = 2}),
	'shard member follower healthy', 'tidal.topology on A shows B as a follower');

# A, cut off from everyone, commits writes nobody else has (within an
# election timeout: then it steps down, having no majority)
$_->set('blackhole') for values %proxy;
write_on($A, 10, 7);
sleep 1;
is(score($B, 10), '100', 'B does not have the writes A made while cut off');
$A->stop('immediate');
$_->set('pass') for values %proxy;

# B, alone, cannot win its shard's election (two nodes, no witness): it
# still serves reads, and gets region 1's writes
ok(wait_until(10, sub {
			($ret, $out, $err) = $B->psql('postgres', qq{SELECT tidal.signal('view', 20, 1, $T)});
			$err =~ /shard 0 of region 0 has none right now/ }),
	'with A dead, B soon refuses writes saying its shard has no leader');
is($ret, 3, 'nothing was written');
write_on($C, 30, 5);
ok(converged_on([ $B, $C ], 10 => 100, 30 => 25), 'B serves reads, and gets what region 1 writes');

# A returns: what it committed alone reaches B and C, and counts once
$A->start;
ok(wait_until(30, sub { score($B, 10) eq '107' && score($C, 10) eq '107' && score($A, 30) eq '25' }),
	"A's 7 writes made alone reach B and C after it returns, and A gets what C wrote meanwhile");
ok(converged(10 => 107, 30 => 25), 'every node counts every write once');

# a restart of B rebuilds the same state from its log of every origin
$B->restart;
is(join(' ', map { score($B, $_) } 10, 30), '107 25', 'B rebuilt from its log: the same scores');

$_->stop for values %proxy;
$_->stop for $A, $B, $C;
done_testing();
