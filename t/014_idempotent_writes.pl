# Idempotency keys across regions: a retry that lands on another region after
# the first write replicated counts once; two regions that accept the same
# key while partitioned converge on one write, the one with the smaller HLC,
# and keep it through a crash and restart.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use TidalCluster;

my $c = TidalCluster->new(3);
my ($r0, $r1, $r2) = $c->nodes;
$r0->safe_psql('postgres', q{SELECT tidal.define_signal('view', '1 day')});
ok($c->wait_until(10, sub { join(',', $c->query_all(q{SELECT count(*) FROM tidal.signals})) eq '1,1,1' }),
	'the definition reaches every region');

my $score = q{SELECT tidal.decay_score(1, 'view', '2026-11-24')};

# a retry on another region, after the first write replicated
my $first = $r0->safe_psql('postgres',
	q{SELECT tidal.signal('view', 1, 1, '2026-11-24', idempotency_key => 'order-1')});
ok($c->wait_until(10, sub { join(',', $c->query_all($score)) eq '1,1,1' }), 'the write replicates');
is($r1->safe_psql('postgres',
		q{SELECT tidal.signal('view', 1, 1, '2026-11-24', idempotency_key => 'order-1')}),
	$first, q{the retry in region 1 returns the first write's HLC});
$r0->safe_psql('postgres', 'SELECT tidal.await_convergence()');
$r1->safe_psql('postgres', 'SELECT tidal.await_convergence()');
is(join(',', $c->query_all($score)), '1,1,1', 'and counts once everywhere');

# the same key accepted on both sides of a partition
$c->cut(0, 1);
$c->cut(0, 2);
$c->cut(1, 2);
my $h0 = $r0->safe_psql('postgres',
	q{SELECT tidal.signal('view', 2, 10, '2026-11-24', idempotency_key => 'order-2')});
my $h1 = $r1->safe_psql('postgres',
	q{SELECT tidal.signal('view', 2, 20, '2026-11-24', idempotency_key => 'order-2')});
is(join(',', map { $_->safe_psql('postgres', q{SELECT tidal.decay_score(2, 'view', '2026-11-24')}) } $r0, $r1),
	'10,20', 'while partitioned, each region counts its own write');
$c->heal_all;

my $winner = $r0->safe_psql('postgres', qq{SELECT CASE WHEN '$h0'::tidal.hlc OPERATOR(pg_catalog.<) '$h1'::tidal.hlc THEN 10 ELSE 20 END});
my $score2 = q{SELECT tidal.decay_score(2, 'view', '2026-11-24')};
ok($c->wait_until(15, sub { join(',', $c->query_all($score2)) eq "$winner,$winner,$winner" }),
	"after the heal every region counts only the write with the smaller HLC ($winner)");

$r1->stop('immediate');
$r1->start;
is($r1->safe_psql('postgres', $score2), $winner, 'and a region rebuilt from its log after a crash agrees');
is($r1->safe_psql('postgres', $score), '1', 'including the first key');

$c->stop;
done_testing();
