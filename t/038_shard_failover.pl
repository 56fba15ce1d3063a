# UAT on 3 regions x 2 shards x (leader + follower): twelve instances.  Step 2
# played literally: a shard leader is killed (-9), its follower is promoted
# in under 10 s with every acknowledged write, writes through the same entry
# instance keep succeeding, and the old leader rejoins as a follower, its
# events that never left it counted once.  Steps 1, 3, 4 and 5 on the same
# cluster; the whole UAT in under 60 s.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

use TidalCluster;
use TidalUAT;

my $c = TidalCluster->new(3, name => 'fo', shards => 2, followers => 1);
define_schema($c);
for my $i (0 .. 2)
{
	for my $s (0, 1)
	{
		my $want = $c->node_id_of($i, $s, 0);
		ok($c->wait_until(30, sub {
					$c->node_of($i, $s, 1)->safe_psql('postgres', q{SELECT leader_node FROM tidal.shard_nodes WHERE is_local}) eq $want }),
			"region $i shard $s: node $want leads, its follower follows");
	}
}
my $uat_start = time();

my @items = (42, 301, 401, 402, 403, 501, 611 .. 640);
my %shard = map { $_ => $c->node(0)->safe_psql('postgres', "SELECT tidal.shard_for($_)") } @items;
my ($X) = grep { $shard{$_} == 1 } 611 .. 640;    # the item of step 2, on shard 1
note("step 2 writes item $X, owned by shard 1");

step1_propagation($c, item => 42);

# ---- step 2: shard 1 of region 0 loses its leader
my $AT = '2026-01-01 00:00:00+00';
my $L = $c->node_of(0, 1, 0);
my $F = $c->node_of(0, 1, 1);
my $entry = $c->node(0);    # shard 0 of region 0: where the application sends everything
my $count_sql = qq{SELECT tidal.window_count($X, 'view', '24 hours', '$AT')};
sub writes { my ($n, $k) = @_; return join('', map { qq{SELECT tidal.signal('view', $X, 1, '$AT');\n} } 1 .. $k); }

# acknowledged writes: on the shard's leader with commit_ack = 'shard', and
# through the entry instance (logged there, pulled by the owner)
my ($rc, $out, $err) = $L->psql('postgres',
	"SET tidal.commit_ack = 'shard';\n" . join('', map { "BEGIN;\n" . writes($L, 20) . "COMMIT;\n" } 1 .. 5));
is($rc, 0, 'step 2: 100 writes in 5 commits with commit_ack = shard returned on the leader of shard 1');
unlike($err, qr/WARNING/, 'step 2: none of them waited out tidal.commit_ack_timeout');
is($F->safe_psql('postgres', $count_sql), '100', 'step 2: the follower has all 100 as soon as they returned');
$entry->safe_psql('postgres', writes($entry, 20));
ok($c->wait_until(20, sub { $F->safe_psql('postgres', $count_sql) eq '120' }),
	'step 2: and the 20 sent through the entry instance');

# the leader, that nobody can pull from any more, commits 7 more, then dies
$_->set('blackhole') for map { $c->{proxies}{$_} } grep { />0:1$/ } keys %{ $c->{proxies} };
$L->safe_psql('postgres', writes($L, 7) . 'SELECT tidal.seal();');
is($F->safe_psql('postgres', $count_sql), '120', "step 2: the follower lacks the leader's 7 unshipped writes");
my $killed = time();
$L->stop('immediate');
ok($c->wait_until(10, sub { $F->safe_psql('postgres', q{SELECT role FROM tidal.shard_nodes WHERE is_local}) eq 'leader' }),
	'step 2: the follower is promoted');
my $promotion = time() - $killed;
cmp_ok($promotion, '<', 10, sprintf('step 2: within 10 s of the kill (%.2f s)', $promotion));
is($F->safe_psql('postgres', $count_sql), '120', 'step 2: every acknowledged write is on the promoted follower');

# the application goes on writing through the same entry instance
($rc, $out, $err) = $entry->psql('postgres', writes($entry, 10));
is($rc, 0, 'step 2: writes through the same entry instance keep succeeding');
ok($c->wait_until(20, sub { $F->safe_psql('postgres', $count_sql) eq '130' }),
	'step 2: and reach the new leader');

# the old leader comes back, as a follower; its 7 writes count once everywhere
$c->heal_all;
$L->start;
ok($c->wait_until(20, sub {
			$L->safe_psql('postgres', q{SELECT leader_node FROM tidal.shard_nodes WHERE is_local})
			  eq $c->node_id_of(0, 1, 1) }),
	'step 2: the old leader rejoins as a follower of the new one');
my @counts;
ok($c->wait_until(30, sub {
			@counts = map { $_->safe_psql('postgres', $count_sql) } $c->nodes, $L, $F;
			!grep { $_ ne '137' } @counts }),
	"step 2: every region counts 137 writes: the old leader's 7 unshipped ones once (@counts)");
($rc, $out, $err) = $L->psql('postgres', qq{SELECT tidal.signal('view', $X, 1, '$AT')});
like($err, qr/is a follower.*HINT:  The shard's leader is node @{[ $c->node_id_of(0, 1, 1) ]}/s,
	'step 2: the old leader refuses writes now, naming the new one');

# ---- steps 3 to 5
step3_partition_reads($c, item => 301);
step4_heal($c, items => [ 401, 402, 403 ]);
step5_tenant_migration($c, tenant => 42, item => 501);
my $uat = time() - $uat_start;
cmp_ok($uat, '<', 60, sprintf('the whole UAT (steps 1 to 5) on twelve instances in under 60 s (%.1f s)', $uat));

finish_sessions();
$c->stop;
done_testing();
