# A follower's reads wait for a write with after => <the HLC the write
# returned>.  One region, two shards, each a leader and a follower (L0, F0;
# L1, F1):
#
#  - F0, cut off from L0, does not have L0's new write: a read with
#    after => fails after tidal.read_after_timeout (55000) rather than
#    answer without it, while a read without it answers what F0 has, and
#    last_query_stats() says F0 is a follower and how stale it may be;
#  - healed, the same read waits for the write and sees it;
#  - write on L0, read at once on F0 with after =>, 30 times: every read
#    sees its write;
#  - a write through L0 of an entity shard 1 owns (logged by L0, pulled by
#    shard 1) is seen by F1's read with after =>, and by F0's (which asks
#    shard 1).
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use TidalCluster;
use TidalUAT;

my $c = TidalCluster->new(1, name => 'ra', shards => 2, followers => 1);
define_schema($c);
my ($L0, $F0, $L1, $F1) = map { $c->node_of(0, @$_) } [0], [ 0, 1 ], [1], [ 1, 1 ];
for my $s (0, 1)
{
	my $want = $c->node_id_of(0, $s, 0);
	ok($c->wait_until(30, sub {
				$c->node_of(0, $s, 1)->safe_psql('postgres', q{SELECT leader_node FROM tidal.shard_nodes WHERE is_local}) eq $want }),
		"shard $s: node $want leads, its follower follows");
}
my %shard_of = map { $_ => $L0->safe_psql('postgres', "SELECT tidal.shard_for($_)") } 1 .. 60;
my ($Y) = grep { $shard_of{$_} == 0 } sort { $a <=> $b } keys %shard_of;    # owned by shard 0
my ($X) = grep { $shard_of{$_} == 1 } sort { $a <=> $b } keys %shard_of;    # owned by shard 1
my $AT = q{'2026-01-01 00:00:00+00'};
my $count = sub { my ($e, $after) = @_; return qq{SELECT tidal.window_count($e, 'view', '24 hours', $AT, after => '$after')}; };
my $write = sub { my ($node, $e) = @_; return $node->safe_psql('postgres', qq{SELECT tidal.signal('view', $e, 1, $AT)}); };

# ---- F0 cut off from L0: a read with after => fails rather than answer without the write
$write->($L0, $Y);
ok($c->wait_until(20, sub { $F0->safe_psql('postgres', "SELECT tidal.window_count($Y, 'view', '24 hours', $AT)") eq '1' }),
	'F0 has the first write');
my $cut = $c->{proxies}{'0:0:1>0:0'};
$cut->set('blackhole');
my $h = $write->($L0, $Y);
like($h, qr/^\(\d+,\d+,@{[ $c->node_id_of(0, 0, 0) ]}\)$/, "a write on L0 returns its HLC, which names L0 ($h)");
my ($rc, $out, $err) = $F0->psql('postgres', "SET tidal.read_after_timeout = '300ms';\n" . $count->($Y, $h));
isnt($rc, 0, 'F0, cut off, does not answer a read with after => the new write');
like($err, qr/ERROR:  the write at \Q$h\E is not visible on node @{[ $c->node_id_of(0, 0, 1) ]} after 300 ms/,
	'it says which write is not visible, and after how long');
is($F0->safe_psql('postgres', "SELECT tidal.window_count($Y, 'view', '24 hours', $AT)"), '1',
	'a read without after => answers what F0 has: without the new write');
sleep 1;
my $stats = $F0->safe_psql('postgres', qq{SELECT count(*) FROM tidal.retrieve(candidates => '{$Y}', at => $AT);
	SELECT s->>'role', s->>'leader_node', (s->>'staleness_ms')::bigint >= 500 FROM tidal.last_query_stats() s});
is((split /\n/, $stats)[1], 'follower|' . $c->node_id_of(0, 0, 0) . '|t',
	"F0's answers say it is a follower of L0, stale by at least the time it has been cut off");

# ---- healed: the same read waits for the write
$cut->set('pass');
is($F0->safe_psql('postgres', "SET tidal.read_after_timeout = '20s';\n" . $count->($Y, $h)), '2',
	'healed, the read with after => waits for the write and sees it');
$stats = $F0->safe_psql('postgres', qq{SELECT count(*) FROM tidal.retrieve(candidates => '{$Y}', at => $AT, after => '$h');
	SELECT (s->>'staleness_ms')::bigint < 5000, (s->>'after_wait_ms')::bigint >= 0 FROM tidal.last_query_stats() s});
is((split /\n/, $stats)[1], 't|t', "then F0's answers are fresh again, and say how long the read waited");
is($L0->safe_psql('postgres', qq{SELECT count(*) FROM tidal.retrieve(candidates => '{$Y}', at => $AT);
	SELECT s->>'role', s->>'staleness_ms' FROM tidal.last_query_stats() s}), "1\nleader|0",
	"the leader's answers are never stale");

# ---- write on the leader, read at once on the follower: every read sees its write
my @missed;
for my $i (3 .. 32)
{
	my $hi = $write->($L0, $Y);
	my $seen = $F0->safe_psql('postgres', "SET tidal.read_after_timeout = '20s';\n" . $count->($Y, $hi));
	push @missed, "$i: $seen" if $seen ne $i;
}
is(join(', ', @missed), '', '30 writes on L0, each read at once on F0 with after =>: every read sees its write');

# ---- a write through an entry instance of another shard's entity
my $hx = $write->($L0, $X);    # logged by L0, owned by shard 1
is($F1->safe_psql('postgres', "SET tidal.read_after_timeout = '20s';\n" . $count->($X, $hx)), '1',
	"F1 (shard 1's follower) sees a write of its entity made through L0, with after =>");
is($F0->safe_psql('postgres', "SET tidal.read_after_timeout = '20s';\n" . $count->($X, $hx)), '1',
	'and F0, which asks shard 1 for that entity, waits there for it');

finish_sessions();
$c->stop;
done_testing();
