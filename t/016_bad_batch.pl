# A batch damaged on its way is rejected, logged and pulled again, never
# applied; receivers stopped with SIGTERM are started again and carry on.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use TidalCluster;
use TidalUAT;

my $c = TidalCluster->new(2, name => 'bad');
my ($r0, $r1) = $c->nodes;
# under load the first election may still be under way: wait for a leader
# (and follow it if leadership moves) before the leader-only call
ok(defined TidalUAT::leader_call($c, q{SELECT tidal.define_signal('view', '1 day')}),
	'the definition is made on the leader');
ok($c->wait_until(10, sub { $r1->safe_psql('postgres', 'SELECT count(*) FROM tidal.signals') eq '1' }),
	'the definition reaches region 1');

# region 1 cannot pull while region 0 seals a batch, which then gets damaged
$c->cut(1, 0, oneway => 1);
$r0->safe_psql('postgres', q{
	SELECT tidal.signal('view', 1, 5, '2026-11-24');
	SELECT tidal.seal();});
my $batch_no = $r0->safe_psql('postgres',
	q{SELECT max(batch_no) FROM tidal.batches WHERE origin_region = 0});
my $good = $r0->safe_psql('postgres',
	"SELECT encode(batch, 'hex') FROM tidal.batches WHERE origin_region = 0 AND batch_no = $batch_no");
# flip the last byte of the payload: its checksum no longer matches
$r0->safe_psql('postgres', qq{
	UPDATE tidal.batches
	   SET batch = set_byte(batch, length(batch) - 1, get_byte(batch, length(batch) - 1) # 255)
	 WHERE origin_region = 0 AND batch_no = $batch_no});

my $log_offset = -s $r1->logfile;
$c->heal_all;
ok($c->wait_until(10, sub {
			slurp_file($r1->logfile, $log_offset) =~ /rejected a tidal batch: batch payload checksum mismatch/ }),
	'region 1 rejects the damaged batch and says why');
sleep 1;
is($r1->safe_psql('postgres', q{SELECT tidal.decay_score(1, 'view', '2026-11-24')}), '0',
	'nothing of it was applied');
is($r1->safe_psql('postgres', 'SELECT tidal.applied_seqno(0)'), $r0->safe_psql('postgres',
		"SELECT first_seq - 1 FROM tidal.batches WHERE origin_region = 0 AND batch_no = $batch_no"),
	'and its high-water mark did not move');

# repaired at the source: pulled again, applied once
$r0->safe_psql('postgres',
	"UPDATE tidal.batches SET batch = decode('$good', 'hex') WHERE origin_region = 0 AND batch_no = $batch_no");
ok($c->wait_until(10, sub {
			$r1->safe_psql('postgres', q{SELECT tidal.decay_score(1, 'view', '2026-11-24')}) eq '5' }),
	'once repaired, the batch is pulled again and applied');

# receivers stopped with SIGTERM come back
my $pids = $r1->safe_psql('postgres',
	q{SELECT string_agg(pid::text, ',') FROM pg_stat_activity WHERE backend_type = 'tidal receiver'});
ok($pids ne '', "region 1 runs a receiver ($pids)");
$r1->safe_psql('postgres',
	q{SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE backend_type = 'tidal receiver'});
ok($c->wait_until(10, sub {
			my $now = $r1->safe_psql('postgres',
				q{SELECT string_agg(pid::text, ',') FROM pg_stat_activity WHERE backend_type = 'tidal receiver'});
			$now ne '' && $now ne $pids }),
	'a new receiver starts');
$r0->safe_psql('postgres', q{SELECT tidal.signal('view', 1, 2, '2026-11-24')});
ok($c->wait_until(10, sub {
			$r1->safe_psql('postgres', q{SELECT tidal.decay_score(1, 'view', '2026-11-24')}) eq '7' }),
	'and replication carries on');

$c->stop;
done_testing();
