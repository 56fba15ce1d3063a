# Writes through any shard of a region reach the shard that owns the entity,
# exactly once, in every region.
#
# Three regions of two shards each (six instances). The cluster leader (region
# 0, shard 0) sets a hash map of two shards and defines a signal; both reach
# every node through the log. Then every instance takes writes for entities
# of both shards: single signals, batches that mix both shards' entities, and
# keyed writes retried through the other shard of the same region and through
# another region. Each
# entity's owner, in each region, must then hold exactly the total of its
# weights, the other shard none of it; after a kill -9 and restart of a shard
# that took forwarded writes, the same holds (its rebuild replays only what
# it owns). A node may peer only with its own shard elsewhere or another
# shard of its own region, and only shard 0 makes cluster-wide decisions.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use TidalNode qw(wait_until);

my $T = '2026-06-01 00:00:00+00';    # every event's time: scores read at it are exact sums
my (%node, @all);
my @regions = (0, 1, 2);
for my $r (@regions)
{
	for my $s (0, 1)
	{
		my $n = TidalNode->new("r${r}s$s",
			node_id => 10 * $r + $s + 1,
			region_id => $r,
			extra => [ "tidal.shard_id = $s", "listen_addresses = '127.0.0.1'" ]);
		$n->append_conf('pg_hba.conf', "host all all 127.0.0.1/32 trust\n");
		$n->start;
		$n->safe_psql('postgres', 'CREATE EXTENSION tidal');
		$node{"$r:$s"} = $n;
		push @all, [ $r, $s, $n ];
	}
}
sub conninfo { sprintf q{host=127.0.0.1 port=%d dbname=postgres}, $_[0]->port }

# peers: the same shard of the other regions, and the other shard of this region
for my $x (@all)
{
	my ($r, $s, $n) = @$x;
	$n->safe_psql('postgres', sprintf q{SELECT tidal.add_peer(%d, '%s')}, $_, conninfo($node{"$_:$s"}))
	  for grep { $_ != $r } @regions;
	$n->safe_psql('postgres', sprintf q{SELECT tidal.add_peer(%d, '%s', %d)}, $r, conninfo($node{"$r:" . (1 - $s)}), 1 - $s);
}

# refused: this node itself, and another shard of another region
my ($ok, $out, $err) = $node{'0:0'}->psql('postgres', q{SELECT tidal.add_peer(1, 'host=x', 1)});
like($err, qr/shard 1 of region 1 cannot be a peer of this node \(region 0, shard 0\)/,
	'a node cannot peer with another shard of another region');
($ok, $out, $err) = $node{'0:0'}->psql('postgres', q{SELECT tidal.add_peer(0, 'host=x', 0)});
like($err, qr/region 0, shard 0 is this node/, 'nor with itself');
is($node{'0:1'}->safe_psql('postgres', q{SELECT string_agg(region_id || ':' || shard_id, ' ' ORDER BY region_id, shard_id) FROM tidal.peers}),
	'0:0 1:1 2:1', 'tidal.peers names each peer by region and shard');

ok(wait_until(60, sub { $node{'0:0'}->safe_psql('postgres', q{SELECT role FROM tidal.cluster WHERE is_local}) eq 'leader' }),
	'region 0, shard 0 leads the cluster');
($ok, $out, $err) = $node{'0:1'}->psql('postgres', q{SELECT tidal.define_signal('view', '1 hour')});
like($err, qr/runs only on the leader, a node of shard 0, and this node is in shard 1/,
	'a node of shard 1 makes no cluster-wide decision');

$node{'0:0'}->safe_psql('postgres', q{SELECT tidal.set_shard_map('hash', 2)});
$node{'0:0'}->safe_psql('postgres', q{SELECT tidal.define_signal('view', '1 hour', ARRAY['1 hour']::interval[])});
ok( wait_until(60, sub {
			!grep {
				$_->[2]->safe_psql('postgres',
					q{SELECT (SELECT mode || shard_count || '@' || version FROM tidal.shards)
					       || (SELECT count(*) FROM tidal.signal_defs WHERE name = 'view')}) ne 'hash2@11'
			} @all
		}),
	'the shard map and the definition reach every node of every region');

# which shard owns which entity: the same answer everywhere
my @entities = (1 .. 40);
my %owner = map { $_ => $node{'0:0'}->safe_psql('postgres', "SELECT tidal.shard_for($_)") } @entities;
ok((grep { $owner{$_} == 0 } @entities) && (grep { $owner{$_} == 1 } @entities),
	'the entities fall on both shards');
is($node{'1:1'}->safe_psql('postgres', "SELECT string_agg(tidal.shard_for(e)::text, '' ORDER BY e) FROM generate_series(1, 40) e"),
	join('', map { $owner{$_} } @entities), 'every node routes every entity alike');

# writes through every instance, for entities of both shards
my %expect;
my $w = 0;
for my $x (@all)
{
	my ($r, $s, $n) = @$x;
	my $sql = '';
	for my $e (@entities)
	{
		$w++;
		my $weight = 1 + ($w % 7) / 4;    # exact in binary
		$sql .= "SELECT tidal.signal('view', $e, $weight, '$T');\n";
		$expect{$e} += $weight;
	}
	# one batch mixing both shards' entities, weights 0.5 each
	$sql .= "SELECT tidal.signal_batch('view', ARRAY[" . join(',', @entities) . "]::bigint[], "
	  . "array_fill(0.5::float8, ARRAY[40]), array_fill('$T'::timestamptz, ARRAY[40]));\n";
	$expect{$_} += 0.5 for @entities;
	$n->safe_psql('postgres', $sql);
}

# keyed writes, each sent three times: to each shard of region 0, then to
# shard 1 of region 2 (retries through another instance and another region)
for my $e (@entities)
{
	for my $k ('0:0', '0:1', '2:1')
	{
		$node{$k}->safe_psql('postgres', "SELECT tidal.signal('view', $e, 10, '$T', idempotency_key => 'k$e')");
	}
	$expect{$e} += 10;
}

my $expected_text = join(' ', map { "$_=" . (0 + $expect{$_}) } @entities);
sub owned_scores
{
	my ($r) = @_;
	my @got;
	for my $e (@entities)
	{
		push @got, "$e=" . $node{"$r:$owner{$e}"}->safe_psql('postgres', "SELECT tidal.decay_score($e, 'view', '$T')");
	}
	return join(' ', @got);
}
sub unowned_entries
{
	my ($r, $s) = @_;
	my @mine = grep { $owner{$_} == $s } @entities;
	return $node{"$r:$s"}->safe_psql('postgres', q{SELECT entries FROM tidal.state_stats()}) - scalar(@mine);
}
for my $r (@regions)
{
	my $got = '';
	wait_until(90, sub { ($got = owned_scores($r)) eq $expected_text });
	is($got, $expected_text, "region $r: each entity's owner holds exactly the weights written through every instance");
	is(unowned_entries($r, $_), 0, "region $r, shard $_ holds no event of the other shard's entities") for (0, 1);
}

# reads through either shard are answered by the owner
for my $r (@regions)
{
	for my $s (0, 1)
	{
		my $got = join(' ', map { "$_=" . $node{"$r:$s"}->safe_psql('postgres', "SELECT tidal.decay_score($_, 'view', '$T')") } @entities);
		is($got, $expected_text, "region $r, shard $s: decay_score of every entity is its owner's");
	}
}
my ($e1) = grep { $owner{$_} == 1 } @entities;
is($node{'0:0'}->safe_psql('postgres', "SELECT tidal.window_count($e1, 'view', '1 hour', '$T') || ' ' || tidal.velocity($e1, 'view', '1 hour', '$T')"),
	$node{'0:1'}->safe_psql('postgres', "SELECT tidal.window_count($e1, 'view', '1 hour', '$T') || ' ' || tidal.velocity($e1, 'view', '1 hour', '$T')"),
	'window_count and velocity through shard 0 are those of the owner, shard 1');

# read-your-writes: one session writes an entity of the other shard and reads it at once, 20 times
my $base = $node{'0:0'}->safe_psql('postgres', "SELECT tidal.decay_score($e1, 'view', '$T')");
my $script = join('', map { "SELECT 'w' FROM tidal.signal('view', $e1, 1, '$T');\nSELECT tidal.decay_score($e1, 'view', '$T');\n" } 1 .. 20);
my @seen = grep { $_ ne 'w' } split /\n/, $node{'0:0'}->safe_psql('postgres', $script);
is(join(' ', @seen), join(' ', map { $base + $_ } 1 .. 20),
	'a session that writes through shard 0 reads each of its writes at once, answered by shard 1');
$expect{$e1} += 20;
$expected_text = join(' ', map { "$_=" . (0 + $expect{$_}) } @entities);

# scatter-gather retrieve: the same answer as one instance holding everything
my $solo = TidalNode->new('solo', node_id => 99, region_id => 9);
$solo->start;
$solo->safe_psql('postgres', 'CREATE EXTENSION tidal');
$solo->safe_psql('postgres', q{SELECT tidal.define_signal('view', '1 hour', ARRAY['1 hour']::interval[])});
my $items_sql = join("\n", map { sprintf(q{SELECT tidal.upsert_item(%d, %d, '{"lang": "%s"}', '%s');}, $_, $_ % 4, $_ % 3 ? 'en' : 'fr', $T) } @entities)
  . "\nSELECT tidal.hide_item(7, 3); SELECT tidal.hide_item(7, 8);";
$node{'0:0'}->safe_psql('postgres', $items_sql);
$solo->safe_psql('postgres', $items_sql);
$solo->safe_psql('postgres', join("\n", map { "SELECT tidal.signal('view', $_, $expect{$_}, '$T');" } @entities));
ok(wait_until(60, sub {
			!grep { $_->[2]->safe_psql('postgres', q{SELECT count(*) FROM tidal.items}) ne '40' } @all }),
	'the items reach every node');
my @queries = (
	[ 'candidates', "SELECT string_agg(item_id || ':' || score, ' ' ORDER BY rank) FROM tidal.retrieve(candidates => ARRAY(SELECT generate_series(1, 40))::bigint[], at => '$T')" ],
	[ 'the whole catalogue', "SELECT string_agg(item_id || ':' || score, ' ' ORDER BY rank) FROM tidal.retrieve(lim => 25, at => '$T')" ],
	[ 'hides, max_per_creator and a filter', "SELECT string_agg(item_id || ':' || score, ' ' ORDER BY rank) FROM tidal.retrieve(7, ARRAY(SELECT generate_series(1, 40))::bigint[], filter => '{\"lang\": \"en\"}', max_per_creator => 2, lim => 7, at => '$T')" ],
	[ 'fresh', "SELECT string_agg(item_id || ':' || round(score::numeric, 9), ' ' ORDER BY rank) FROM tidal.retrieve(candidates => ARRAY(SELECT generate_series(1, 40))::bigint[], profile => 'fresh', lim => 10, at => '$T')" ]);
for my $q (@queries)
{
	my ($name, $sql) = @$q;
	my $want = $solo->safe_psql('postgres', $sql);
	for my $k ('0:0', '0:1', '1:1')
	{
		my $got = '';
		wait_until(30, sub { ($got = $node{$k}->safe_psql('postgres', $sql)) eq $want });
		is($got, $want, "retrieve ($name) through region $k gathered from both shards equals one instance's");
	}
}
is($node{'1:0'}->safe_psql('postgres', "SELECT count(*) FROM tidal.retrieve(lim => 25, at => '$T'); SELECT s->>'degraded' || ' ' || (s->'unreachable_shards')::text || ' ' || (s->>'candidates') FROM tidal.last_query_stats() s"),
	"25\nfalse [] 40", 'the stats count every shard\'s candidates and name no missing shard');
$solo->stop;

# tidal.topology: every instance, as region 0, shard 0 sees it
is($node{'0:0'}->safe_psql('postgres', q{SELECT string_agg(region || ':' || shard || ' ' || role || ' ' || link || ' ' || coalesce(health, '-'), ', ' ORDER BY region, shard) FROM tidal.topology}),
	'0:0 leader self healthy, 0:1 primary shard sibling healthy, 1:0 primary region peer healthy, 1:1 primary relayed -, '
	  . '2:0 primary region peer healthy, 2:1 primary relayed -',
	'tidal.topology lists every instance: itself, its sibling, its region peer, and the node whose writes reach it relayed');

# kill -9 of a shard right after it committed writes for the other shard:
# they are in its log, and reach their owner once it is back
my @e0 = grep { $owner{$_} == 0 } @entities;
$node{'1:1'}->safe_psql('postgres', join("\n", map { "SELECT tidal.signal('view', $_, 3, '$T');" } @e0));
$node{'1:1'}->stop('immediate');
$expect{$_} += 3 for @e0;
$expected_text = join(' ', map { "$_=" . (0 + $expect{$_}) } @entities);
$node{'1:1'}->start;
for my $r (@regions)
{
	my $got = '';
	wait_until(90, sub { ($got = owned_scores($r)) eq $expected_text });
	is($got, $expected_text, "region $r: writes for shard 0 committed on region 1, shard 1 right before its kill -9 count once");
}
is(unowned_entries(1, 1), 0, 'and the restarted shard rebuilt none of the other shard\'s events');

# more writes through the restarted node reach their owners in every region
$node{'1:1'}->safe_psql('postgres', join("\n", map { "SELECT tidal.signal('view', $_, 2, '$T');" } @entities));
$expect{$_} += 2 for @entities;
$expected_text = join(' ', map { "$_=" . (0 + $expect{$_}) } @entities);
for my $r (@regions)
{
	my $got = '';
	wait_until(90, sub { ($got = owned_scores($r)) eq $expected_text });
	is($got, $expected_text, "region $r: writes through the restarted node reach each owner once");
}

# a shard that does not answer: the retrieve is degraded and names it
$node{'1:1'}->stop('immediate');
is($node{'1:0'}->safe_psql('postgres', "SELECT count(*) > 0 FROM tidal.retrieve(lim => 25, at => '$T'); SELECT s->>'degraded' || ' ' || (s->'unreachable_shards')::text FROM tidal.last_query_stats() s"),
	"t\ntrue [1]", 'with shard 1 of region 1 down, a retrieve there is answered by shard 0 alone, degraded, naming shard 1');

$_->[2]->stop for @all;
done_testing();
