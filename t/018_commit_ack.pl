# tidal.commit_ack = quorum: COMMIT returns once a majority of the regions
# have applied the transaction's events, so killing the leader right after
# the last COMMIT loses nothing; cut off from the majority, COMMIT returns
# after tidal.commit_ack_timeout with a WARNING that says so.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use TidalCluster;

my $c = TidalCluster->new(3, name => 'ack');
my ($r0, $r1, $r2) = $c->nodes;
$r0->safe_psql('postgres', q{SELECT tidal.define_signal('view', '7 days')});
ok($c->wait_until(10, sub { join(',', $c->query_all(q{SELECT count(*) FROM tidal.signals})) eq '1,1,1' }),
	'the definition reaches every region');

# 100 writes, each its own transaction, then kill -9 at once
my $writes = join("\n", ('SET tidal.commit_ack = quorum;',
		map { qq{SELECT tidal.signal('view', 7, 1, '2026-11-24');} } 1 .. 100));
my ($rc, $out, $err) = $r0->psql('postgres', $writes);
$r0->stop('immediate');
is($rc, 0, '100 quorum commits returned');
unlike($err, qr/WARNING/, 'none of them timed out');

# a majority had applied each: the survivors have all 100 between them, and
# once they converge, each has them
my $count = q{SELECT tidal.decay_score(7, 'view', '2026-11-24')};
my @right_after = map { $_->safe_psql('postgres', $count) } $r1, $r2;
ok((grep { $_ eq '100' } @right_after) >= 1, "a surviving region had all 100 at once (@right_after)");
ok($c->wait_until(10, sub { join(',', map { $_->safe_psql('postgres', $count) } $r1, $r2) eq '100,100' }),
	'and both survivors have them after converging');

# cut off from the majority: a WARNING after the timeout, committed locally
$r0->start;
ok($c->wait_until(10, sub { $r0->safe_psql('postgres', $count) eq '100' }), 'region 0 is back with all 100');
$c->cut(0, 1, mode => 'blackhole');
$c->cut(0, 2, mode => 'blackhole');
($rc, $out, $err) = $r0->psql('postgres', q{
	SET tidal.commit_ack = quorum;
	SET tidal.commit_ack_timeout = '300ms';
	SELECT tidal.signal('view', 7, 1, '2026-11-24');});
is($rc, 0, 'the commit succeeds');
like($err, qr/WARNING:  tidal.commit_ack = quorum: committed locally, but only 1 of 3 regions have applied it/,
	'with a WARNING saying the quorum was not reached');
is($r0->safe_psql('postgres', $count), '101', 'the write is committed locally');
$c->heal_all;
ok($c->wait_until(10, sub { join(',', $c->query_all($count)) eq '101,101,101' }), 'and reaches everyone after the heal');

# local (the default) does not wait
$c->cut(0, 1, mode => 'blackhole');
$c->cut(0, 2, mode => 'blackhole');
($rc, $out, $err) = $r0->psql('postgres', q{SELECT tidal.signal('view', 7, 1, '2026-11-24');});
unlike($err, qr/WARNING/, 'with commit_ack = local a cut-off region commits without waiting');
$c->heal_all;

$c->stop;
done_testing();
