# UAT step 4: regions 0 and 2 are partitioned; 50 signals are written in
# region 0 and 30 in region 2, and region 2 hides the item for user 100.
# After the heal, with no manual step (and again after tidal.reconcile()),
# every region has the analytical score of the 80 events, a 1-hour window
# count of 80, and no longer returns the item to user 100.  Played three
# times on one cluster, each with its own item and user: partition refused
# both ways, one way only, and black-holed.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use TidalCluster;

my $at = '2026-11-24 12:00:00+00';
my $at_epoch = 1795521600;    # $at in seconds since 1970
my $half_life = 7 * 86400;

sub events_sql
{
	my ($item, $offset, $n) = @_;
	# event i at (11:10 + i * 30 s), weight 1: all inside the last hour before $at
	return sprintf(q{SELECT tidal.signal('view', %d, 1, timestamptz '%s' - interval '50 minutes' + make_interval(secs => (%d + g) * 30))
	                   FROM generate_series(1, %d) g}, $item, $at, $offset, $n);
}

my $expected = 0;
$expected += 2**(-((3000 - ($_ * 30)) / $half_life)) for (1 .. 80);

my $c = TidalCluster->new(3);
my ($r0, $r1, $r2) = $c->nodes;
$r0->safe_psql('postgres', q{
	SELECT tidal.define_signal('view', '7 days', ARRAY['1 hour', '24 hours']::interval[]);
	SELECT tidal.define_signal('like', '1 day');
	SELECT tidal.upsert_item(i, 1, '{}') FROM generate_series(7, 9) i;});
ok($c->wait_until(10, sub { join(',', $c->query_all(q{SELECT count(*) FROM tidal.items})) eq '3,3,3' }),
	'the items reach every region');

my $item = 6;
for my $scenario (
	[ 'symmetric, refused', {} ],
	[ 'one way (0 cannot reach 2)', { oneway => 1 } ],
	[ 'one link black-holed', { oneway => 1, mode => 'blackhole' } ])
{
	my ($name, $cut) = @$scenario;
	my $user = 100 + ++$item;

	$c->cut(0, 2, %$cut);
	$r0->safe_psql('postgres', events_sql($item, 0, 50));
	$r2->safe_psql('postgres', events_sql($item, 50, 30));
	$r2->safe_psql('postgres', "SELECT tidal.hide_item($user, $item)");
	$c->heal_all;

	my $score_sql = qq{SELECT tidal.decay_score($item, 'view', '$at')};
	my $count_sql = qq{SELECT tidal.window_count($item, 'view', '1 hour', '$at')};
	my $feed_sql = qq{SELECT count(*) FROM tidal.retrieve($user, '{$item}')};
	my $converged = sub {
		my @scores = $c->query_all($score_sql);
		return (grep { abs($_ - $expected) <= 1e-6 } @scores) == 3
		  && join(',', $c->query_all($count_sql)) eq '80,80,80'
		  && join(',', $c->query_all($feed_sql)) eq '0,0,0';
	};
	ok($c->wait_until(20, $converged), "$name: every region converges by itself after the heal");
	my @scores = $c->query_all($score_sql);
	note("$name: scores @scores, analytical $expected");
	is(join(',', $c->query_all($count_sql)), '80,80,80', "$name: 1-hour window count is 80 everywhere");
	is(join(',', $c->query_all($feed_sql)), '0,0,0', "$name: user $user never gets the hidden item");
	is(join(',', $c->query_all("SELECT tidal.is_hidden($user, $item)")), 't,t,t',
		"$name: hidden everywhere");

	my @reconciled = $c->query_all(q{SELECT tidal.reconcile()->>'converged'});
	is(join(',', @reconciled), 'true,true,true', "$name: tidal.reconcile() reports convergence");
	ok($converged->(), "$name: and the state is the same after it");
}

$c->stop;
done_testing();
