# Group sealing (issue 13): under concurrent writes the sealer gathers the
# commits of tidal.seal_group_delay into one batch -- one transaction, one
# NOTIFY, one pull by each peer -- instead of sealing a handful at every
# commit; a write to an idle log is still sealed (and shipped) at once, and
# tidal.seal() still seals on demand.  Every event is sealed exactly once,
# batch numbers stay gapless, and the peer counts every event once.
#
# The group delay is set far above its default (5 s), so that the test tells
# gathering from sealing at every commit whatever the machine's speed, and a
# write to an idle log that waited out the delay would show.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

use TidalCluster;
use TidalUAT;

my $c = TidalCluster->new(2, name => 'group',
	extra => [ 'tidal.seal_group_delay = 5s', 'synchronous_commit = off' ]);
my ($r0, $r1) = ($c->node(0), $c->node(1));
ok(defined TidalUAT::leader_call($c, q{SELECT tidal.define_signal('view', '1 hour', ARRAY['24 hours']::interval[])}),
	'the definition is made on the leader');
ok($c->wait_until(30, sub {
	join(',', map { $_->safe_psql('postgres', q{SELECT count(*) FROM tidal.signals WHERE name = 'view'}) } $r0, $r1) eq '1,1' }),
	'the definition reached both regions');

sub local_marks
{
	my ($node) = @_;
	return split /\|/, $node->safe_psql('postgres', q{
		SELECT coalesce(max(batch_no), 0), count(*), coalesce(sum(event_count), 0)
		  FROM tidal.log_batches WHERE origin_region = 0});
}

# 1. Concurrent writers for 4 s: 4 clients, one tidal.signal per transaction.
my ($b0, $n0, $e0) = local_marks($r0);
my $t0 = time();
$r0->pgbench('-n -c 4 -j 2 -T 4 -M prepared', 0, [qr/processed/], [qr/^$/],
	'4 clients write single events for 4 s',
	{ '027_signal' => q{\set e random(1, 1000)
SELECT tidal.signal('view', :e);
} });
my $load_s = time() - $t0;
ok($r0->poll_query_until('postgres', q{SELECT NOT EXISTS (SELECT 1 FROM tidal.pending)}),
	'the sealer seals the last group without a call to tidal.seal');
my ($b1, $n1, $e1) = local_marks($r0);
my $events = $e1 - $e0;
my $batches = $n1 - $n0;
cmp_ok($events, '>=', 200, "the writers committed $events events");
is($b1 - $b0, $batches, 'batch numbers stay gapless: one new number per new batch');
# sealing at every commit makes hundreds of batches; a group holds up to 1,024
# commits, so at most one batch per 1,024 events and per group delay (plus the
# first write, sealed at once as the log was idle, and slack)
cmp_ok($batches, '<=', int($events / 1024) + int($load_s / 5) + 4,
	"the $events events were sealed in $batches batches, not one per few commits");
cmp_ok($events / $batches, '>=', 50, 'a batch holds many commits under load');
is($r0->safe_psql('postgres', q{
	SELECT count(*) FROM (SELECT first_seq, last_seq,
	                             lag(last_seq) OVER (ORDER BY batch_no) AS prev
	                        FROM tidal.log_batches WHERE origin_region = 0) b
	 WHERE prev IS NOT NULL AND first_seq <> prev + 1}), '0',
	'sequence numbers are gapless across the batches');

# every event reaches region 1 once
my $total = $r0->safe_psql('postgres', q{SELECT sum(tidal.window_count(e, 'view', '24 hours')) FROM generate_series(1, 1000) e});
ok($c->wait_until(60, sub {
	$r1->safe_psql('postgres', q{SELECT sum(tidal.window_count(e, 'view', '24 hours')) FROM generate_series(1, 1000) e}) eq $total }),
	"region 1 counts the same $total events as region 0, each once");

# 2. A write to an idle log is sealed and shipped at once, not after the
# group delay (5 s).  Idle: longer than the delay since the last seal.
sleep 6;
$t0 = time();
$r0->safe_psql('postgres', q{SELECT tidal.signal('view', 5001)});
ok($c->wait_until(30, sub {
	$r1->safe_psql('postgres', q{SELECT tidal.window_count(5001, 'view', '24 hours')}) eq '1' }),
	'an idle write reaches region 1');
my $idle_s = time() - $t0;
cmp_ok($idle_s, '<', 2.5, sprintf('without waiting out the group delay of 5 s (%.2f s)', $idle_s));

# 3. tidal.seal() seals at once, within a group being gathered.
$r0->safe_psql('postgres', q{SELECT tidal.signal('view', 5002)});
$r0->safe_psql('postgres', q{SELECT tidal.signal('view', 5003)});
is($r0->safe_psql('postgres', q{SELECT tidal.seal() >= 0; SELECT count(*) FROM tidal.pending}), "t\n0",
	'tidal.seal() seals what waits for the group at once');

$c->stop;
done_testing();
