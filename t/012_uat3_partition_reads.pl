# UAT step 3: with regions 0 and 2 cut off from each other (region 1 still
# reaches both), region 0 keeps accepting writes and answering
# tidal.retrieve from its own state, and says the answer is degraded, with
# region 2 unreachable.  After the heal, the degradation is gone.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use TidalCluster;

my $c = TidalCluster->new(3);
my ($r0, $r1, $r2) = $c->nodes;
$r0->safe_psql('postgres', q{
	SELECT tidal.define_signal('view', '7 days', ARRAY['1 hour', '24 hours']::interval[]);
	SELECT tidal.define_signal('like', '1 day');
	SELECT tidal.upsert_item(7, 1, '{}');
	SELECT tidal.signal('view', 7) FROM generate_series(1, 10);});
ok($c->wait_until(10, sub {
			join(',', $c->query_all(q{SELECT tidal.window_count(7, 'view', '1 hour')})) eq '10,10,10' }),
	'10 seeded signals converge');

# retrieve and its stats, in one session
my $feed = q{SELECT string_agg(item_id::text, ',') FROM tidal.retrieve(candidates => '{7}');
             SELECT s->>'degraded' || ' ' || (s->'unreachable_regions')::text FROM tidal.last_query_stats() s;};
is($r0->safe_psql('postgres', $feed), "7\nfalse []", 'before the cut: not degraded');

$c->cut(0, 2);
$r0->safe_psql('postgres', q{SELECT tidal.signal('view', 7) FROM generate_series(1, 5)});
is($r0->safe_psql('postgres', q{SELECT tidal.window_count(7, 'view', '1 hour')}), '15',
	'region 0 accepts 5 more writes during the partition');

ok($c->wait_until(10, sub { $r0->safe_psql('postgres', $feed) eq "7\ntrue [2]" }),
	'region 0 still returns the item, degraded, with region 2 unreachable');
is($r0->safe_psql('postgres', $feed), "7\ntrue [2]", 'stats of region 0');
ok($c->wait_until(10, sub { $r2->safe_psql('postgres', $feed) eq "7\ntrue [0]" }),
	'region 2 says region 0 is unreachable');
is($r1->safe_psql('postgres', $feed), "7\nfalse []", 'region 1 reaches both and is not degraded');
is($r0->safe_psql('postgres', q{SELECT health FROM tidal.replication_status WHERE region = 1}),
	'healthy', 'region 0 sees region 1 healthy');

$c->heal_all;
ok($c->wait_until(10, sub { $r0->safe_psql('postgres', $feed) eq "7\nfalse []" }),
	'after the heal region 0 is no longer degraded');
ok($c->wait_until(10, sub {
			join(',', $c->query_all(q{SELECT tidal.window_count(7, 'view', '1 hour')})) eq '15,15,15' }),
	'and every region has all 15 signals');

$c->stop;
done_testing();
