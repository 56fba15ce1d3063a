# A rolling update from 0.7 to 0.8 on 3 regions, where an origin becomes
# (region, shard, node).  Each region runs this library on 0.7's SQL objects
# first: region 0 seals as 0.7 did (version-1 batches of origin (region,
# shard)), and replication waits for the update.  ALTER EXTENSION UPDATE
# files those batches under node 0, and the node then writes an origin of
# its own whose sequence continues its shard's.  Regions 0 and 1 are
# updated first and replicate between themselves while region 2 is not;
# once region 2 is updated every region holds every event exactly once.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use TidalCluster;

my $T = q{'2026-01-01 00:00:00+00'};
my $c = TidalCluster->new(3, name => 'roll', version => '0.7');
my @r = $c->nodes;

$r[0]->safe_psql('postgres', q{SELECT tidal.define_signal('view', '1 day')});
is($r[0]->safe_psql('postgres', q{SELECT extversion FROM pg_extension WHERE extname = 'tidal'}), '0.7',
	'the cluster runs 0.7 SQL objects');

sub write_events
{
	my ($i, $n) = @_;
	$r[$i]->safe_psql('postgres', qq{SELECT tidal.signal('view', 100 + $i, 1, $T) FROM generate_series(1, $n)});
	$r[$i]->safe_psql('postgres', q{SELECT tidal.seal()});
}
sub origins_of
{
	my ($i) = @_;
	return $r[$i]->safe_psql('postgres',
		q{SELECT string_agg(node || ':' || last_seq, ' ' ORDER BY node) FROM tidal.origins
		   WHERE region = current_setting('tidal.region_id')::int});
}
sub score
{
	my ($i, $e) = @_;
	return $r[$i]->safe_psql('postgres',
		qq{SELECT CASE WHEN EXISTS (SELECT FROM tidal.signal_defs WHERE name = 'view')
		               THEN tidal.decay_score($e, 'view', $T) ELSE 0 END});
}

# region 0 writes 5 events: on 0.7's objects its log is sealed as 0.7 did
write_events(0, 5);
is($r[0]->safe_psql('postgres',
		q{SELECT string_agg(region || ':' || shard || ':' || last_seq, ' ') FROM tidal.origins}),
	'0:0:6', 'region 0 sealed its 0.7 origin (region, shard): a definition and 5 events');
is($r[0]->safe_psql('postgres',
		q{SELECT string_agg(DISTINCT (get_byte(batch, 4) + 256 * get_byte(batch, 5))::text, ',') FROM tidal.batches}),
	'1', 'in format-1 batches');
sleep 2;
is(score(1, 100), '0', 'nothing replicates while the SQL objects are older than the library');

# update regions 0 and 1
sub update
{
	my ($i) = @_;
	$r[$i]->safe_psql('postgres', q{ALTER EXTENSION tidal UPDATE TO '0.8'});
	is($r[$i]->safe_psql('postgres', q{SELECT count(*) FILTER (WHERE origin_node <> 0) FROM tidal.batches}),
		'0', "region $i: its 0.7 batches belong to node 0 after the update");
}
update($_) for 0, 1;
ok($c->wait_until(30, sub { score(1, 100) eq '5' }),
	'region 1, updated, pulls the 0.7 origin of region 0 (node 0)');

write_events(0, 3);
my $node0 = $r[0]->safe_psql('postgres', q{SHOW tidal.node_id});
is(origins_of(0), "0:6 $node0:9",
	"region 0 writes its own origin (node $node0), whose sequence continues its shard's after 6");
is($r[0]->safe_psql('postgres', q{SELECT tidal.local_seqno()}), '9', 'local_seqno went on from 6 to 9');
write_events(1, 3);
my $node1 = $r[1]->safe_psql('postgres', q{SHOW tidal.node_id});
is(origins_of(1), "0:0 $node1:3",
	"region 1's 0.7 origin stayed empty; its first batches are node ${node1}'s, from 1");
ok($c->wait_until(30, sub { score(1, 100) eq '8' && score(0, 101) eq '3' }),
	'regions 0 and 1 replicate every origin of each other');
is(score(2, 100), '0', 'region 2, not updated yet, has nothing');

update(2);
ok($c->wait_until(30, sub { score(2, 100) eq '8' }), 'region 2, updated, pulls what it missed');
write_events(2, 3);
ok($c->wait_until(30, sub {
			!grep { my $i = $_; grep { score($i, $_->[0]) ne $_->[1] } ([100, 8], [101, 3], [102, 3]) } 0 .. 2 }),
	'after the last update every region counts every event once: 8, 3 and 3');

# a restart rebuilds the same state from the log of both formats
$r[1]->restart;
is(join(' ', map { score(1, $_) } 100 .. 102), '8 3 3',
	'region 1 rebuilt from version-1 and version-2 batches: the same scores');

$c->stop;
done_testing();
