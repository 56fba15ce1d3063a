# UAT step 1: 25 view signals written in region 0 reach regions 1 and 2
# within 2 seconds: the same decayed score everywhere, and no lag left.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

use TidalCluster;

my $c = TidalCluster->new(3);
my $r0 = $c->node(0);
$r0->safe_psql('postgres', q{
	SELECT tidal.define_signal('view', '7 days', ARRAY['1 hour', '24 hours']::interval[]);
	SELECT tidal.define_signal('like', '1 day');});
ok($c->wait_until(10, sub {
			join(',', $c->query_all(q{SELECT count(*) FROM tidal.signals})) eq '2,2,2' }),
	'the definitions reach every region');

my $at = '2026-11-24 12:00:00+00';
my $score_sql = qq{SELECT tidal.decay_score(42, 'view', '$at')};

# 25 writes, each its own transaction, at times spread over the last hour
my $writes = join("\n", map {
	sprintf(q{SELECT tidal.signal('view', 42, 1, timestamptz '%s' - interval '%d minutes');}, $at, 2 * $_)
} 1 .. 25);
$r0->safe_psql('postgres', $writes);
my $started = time();    # the 25 writes have committed
my $expected = $r0->safe_psql('postgres', $score_sql);

# one query per region: its score, and its largest lag to any peer
my $probe = qq{SELECT ($score_sql) || ' ' || (SELECT coalesce(max(lag_seqno), -1) FROM tidal.replication_status)};
my $converged = $c->wait_until(5, sub {
	my @answers = map { [ split / / ] } $c->query_all($probe);
	return (grep { abs($_->[0] - $expected) <= 1e-6 && $_->[1] eq '0' } @answers) == 3;
});
my $elapsed = time() - $started;
ok($converged, 'regions 1 and 2 report the same score, and lag_seqno 0 for every peer');
cmp_ok($elapsed, '<', 2, sprintf('within 2 s (%.3f s)', $elapsed));

my @scores = $c->query_all($score_sql);
note("scores: @scores; expected $expected");
is(sprintf('%.6f', $scores[1]), sprintf('%.6f', $expected), 'region 1 score');
is(sprintf('%.6f', $scores[2]), sprintf('%.6f', $expected), 'region 2 score');
is(join(',', $c->query_all(q{SELECT tidal.applied_seqno(0)})),
	join(',', ($r0->safe_psql('postgres', 'SELECT tidal.local_seqno()')) x 3),
	'every region has applied region 0 up to its last sequence number');
is(join(',', $c->query_all(q{SELECT string_agg(health, ',' ORDER BY region) FROM tidal.replication_status})),
	'healthy,healthy,healthy,healthy,healthy,healthy', 'every peer is healthy everywhere');

$c->stop;
done_testing();
