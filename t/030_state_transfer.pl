# State transfer: (c) a region that was down while its peers compacted past
# what it had applied holds their logs back only until
# tidal.max_peer_holdback; when it returns, its receiver learns that the
# peer compacted what it needs and brings it back by state transfer, with
# exact scores; (d) a fourth region (tidal.auto_state_transfer off) joins a
# running three-region cluster that keeps writing, receives a peer's state
# with tidal.transfer_state and converges exactly: every event counts once
# in every region, and the definitions, the tenant, items and hides arrive
# with it.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use TidalCluster;
use TidalNode;

my @settings = ('tidal.log_retention = 0', 'tidal.snapshot_interval = 0', 'tidal.max_peer_holdback = 3s');
my $c = TidalCluster->new(3, name => 'xfer', extra => \@settings);
my ($r0, $r1, $r2) = map { $c->node($_) } 0 .. 2;
my $T = q{'2026-06-01'};

$r0->safe_psql('postgres', q{
	SELECT tidal.define_signal('view', '1 day');
	SELECT tidal.register_tenant(7, 'acme');
	SELECT tidal.define_profile('views', '{"terms": [{"signal": "view"}]}');});

# n events of weight w for entities 1..100 (and tenant 7's 1..10), at T
sub write_sql
{
	my ($w) = @_;
	return qq{
		SELECT tidal.signal_batch('view', array_agg(e), array_fill(${w}::float8, ARRAY[100]),
		       array_fill(${T}::timestamptz, ARRAY[100])) FROM generate_series(1, 100) e;
		SELECT tidal.signal_batch('view', array_agg(e), array_fill(${w}::float8, ARRAY[10]),
		       array_fill(${T}::timestamptz, ARRAY[10]), tenant => 7) FROM generate_series(1, 10) e;};
}
# a region's view of everything: every score at T (the sum of the weights), items, hides
my $state_sql = qq{
	SELECT (SELECT string_agg(e || '=' || tidal.decay_score(e, 'view', $T), ',' ORDER BY e)
	          FROM generate_series(1, 100) e)
	    || ' t7:' || (SELECT string_agg(e || '=' || tidal.decay_score(e, 'view', $T, tenant => 7), ',' ORDER BY e)
	                    FROM generate_series(1, 10) e)
	    || ' items:' || (SELECT count(*) FROM tidal.items)
	    || ' hidden:' || (SELECT count(*) FROM tidal.hidden)
	    || ' profiles:' || (SELECT count(*) FROM tidal.profiles WHERE name = 'views')};
my $total = 0;

sub write_in
{
	my ($node, $w) = @_;
	$node->safe_psql('postgres', write_sql($w));
	$total += $w;
}

$c->wait_until(30, sub { $r2->safe_psql('postgres', q{SELECT count(*) FROM tidal.signals WHERE name = 'view'}) eq '1'
	  && $r2->safe_psql('postgres', q{SELECT count(*) FROM tidal.tenants WHERE tenant_id = 7}) eq '1' })
  or die 'the definitions did not reach region 2';
write_in($r0, 1);
write_in($r1, 2);
write_in($r2, 4);
$r0->safe_psql('postgres', q{SELECT tidal.upsert_item(i, 5, '{}', '2026-06-01') FROM generate_series(1, 3) i});
$r1->safe_psql('postgres', q{SELECT tidal.hide_item(42, 2)});

sub converged
{
	my (@nodes) = @_;
	return $c->wait_until(60, sub {
		my $want = $nodes[0]->safe_psql('postgres', $state_sql);
		!grep { $_->safe_psql('postgres', $state_sql) ne $want } @nodes;
	});
}
ok(converged($r0, $r1, $r2), 'three regions converge');
like($r0->safe_psql('postgres', $state_sql), qr/^1=$total,.*100=$total t7:1=$total,.*10=$total items:3 hidden:1 profiles:1$/,
	"every entity's score is the sum of every region's writes ($total)");

# an agent's session (entity 200): seqno n weighs n
sub session_write
{
	my ($node, $n) = @_;
	$node->safe_psql('postgres', qq{SELECT tidal.signal('view', 200, $n, $T, session => 'agent', session_seqno => $n)});
}
my $session_sql = qq{SELECT applied_seqno || '/' || held || ' ' || tidal.decay_score(200, 'view', $T)
                       FROM tidal.session_status('agent')};
session_write($r0, 1);
ok($c->wait_until(30, sub { $r2->safe_psql('postgres', $session_sql) eq '1/0 1' }), 'region 2 applied seqno 1 of the session');

# (c) region 2 goes down; the others write, snapshot and compact
$r0->safe_psql('postgres', 'SELECT tidal.compact()');    # region 2 heard: it holds the log from now on
$r2->stop('fast');
write_in($r0, 8);
write_in($r1, 16);
# the session goes on meanwhile: 2-5, and 7 before 6
session_write($r0, $_) for 2 .. 5;
session_write($r1, 7);
ok($c->wait_until(30, sub { $r0->safe_psql('postgres', $session_sql) eq '5/1 15' }),
	'region 0 applied seqnos 2-5 and holds 7');
for my $n ($r0, $r1)
{
	$n->safe_psql('postgres', 'SELECT tidal.seal(); SELECT tidal.snapshot(); SELECT tidal.snapshot()');
	$n->safe_psql('postgres', 'SELECT tidal.compact()');
}
is($r0->safe_psql('postgres', 'SELECT held_by FROM tidal.log_status WHERE is_local'), 'peer 2',
	'region 0 keeps the batches region 2 has not applied, and says so');
sleep(4);    # tidal.max_peer_holdback
$r0->safe_psql('postgres', 'SELECT tidal.compact()');
$r1->safe_psql('postgres', 'SELECT tidal.compact()');
isnt($r0->safe_psql('postgres', 'SELECT held_by FROM tidal.log_status WHERE is_local'), 'peer 2',
	'after tidal.max_peer_holdback, region 2 no longer holds the log back');
cmp_ok($r0->safe_psql('postgres', 'SELECT compacted_batch FROM tidal.log_status WHERE is_local'), '>',
	0, 'region 0 compacted its log past what region 2 had applied');

# a tenant's history before the compaction lives only in snapshots, which a
# migration does not carry: the leader refuses to move a tenant
my ($ret, $out, $err) = $r0->psql('postgres', 'SELECT tidal.begin_tenant_migration(7, 1, 0)');
like($err, qr/tenant 7 cannot migrate: this region's log has been compacted/,
	'after compaction, a tenant migration is refused instead of moving it without its past');

my $offset = -s $r2->logfile;
$r2->start;
ok(converged($r0, $r1, $r2), 'region 2 converges when it returns');
my $log = slurp_file($r2->logfile, $offset);
like($log, qr/needs batch \d+ of origin \d:0:\d+, which region \d has compacted/,
	'its receiver was told that the peer compacted what it needed');
like($log, qr/had compacted batches this region needed; received its state/, 'and it received the state');
# the session's marks and held writes came with the state
is($r2->safe_psql('postgres', $session_sql), '5/1 15',
	"region 2 took the session's mark (5) and its held write (7) with the state");
session_write($r1, 6);
ok($c->wait_until(30, sub { !grep { $_->safe_psql('postgres', $session_sql) ne '7/0 28' } $r0, $r1, $r2 }),
	'seqno 6 fills the gap in every region: 1-7 applied once')
  or diag(join ' | ', map { $_->safe_psql('postgres', $session_sql) } $r0, $r1, $r2);
write_in($r1, 32);    # the cluster writes on
ok(converged($r0, $r1, $r2), 'region 2 keeps up after the transfer');
like($r2->safe_psql('postgres', $state_sql), qr/^1=$total,.*100=$total t7:1=$total,/,
	"region 2's scores count every event once ($total)");

# (d) a fourth region joins the loaded cluster
my $r3 = TidalNode->new('xferregion3', node_id => 4, region_id => 3,
	extra => [ "listen_addresses = '127.0.0.1'", @settings, 'tidal.auto_state_transfer = off' ]);
$r3->append_conf('pg_hba.conf', "host all all 127.0.0.1/32 trust\n");
$r3->start;
$r3->safe_psql('postgres', 'CREATE EXTENSION tidal');
for my $i (0 .. 2)
{
	my $n = $c->node($i);
	$r3->safe_psql('postgres', sprintf(q{SELECT tidal.add_peer(%d, 'host=127.0.0.1 port=%d dbname=postgres')}, $i, $n->port));
	$n->safe_psql('postgres', sprintf(q{SELECT tidal.add_peer(3, 'host=127.0.0.1 port=%d dbname=postgres')}, $r3->port));
}
# writers keep writing in every region while it joins
my $bg = $r1->background_psql('postgres', on_error_stop => 1);
for my $w (64, 128)
{
	$bg->query_safe(write_sql($w));
	$total += $w;
}
ok( $c->wait_until(30, sub {
			$r3->safe_psql('postgres', q{SELECT count(*) FROM tidal.replication_status
			                             WHERE last_error LIKE '%has compacted%transfer_state%'}) ne '0' }),
	'region 3 cannot start from the compacted logs, and tidal.replication_status says how to begin');
cmp_ok($r3->safe_psql('postgres', 'SELECT tidal.transfer_state(1)'), '>', 0, 'region 3 receives region 1\'s state');
$bg->query_safe(write_sql(256));
$total += 256;
write_in($r3, 512);
$bg->quit;
ok(converged($r0, $r1, $r2, $r3), 'four regions converge');
like($r3->safe_psql('postgres', $state_sql),
	qr/^1=$total,.*100=$total t7:1=$total,.*10=$total items:3 hidden:1 profiles:1$/,
	"region 3 counts every event once ($total), with the items, hides and profiles");
is($r3->safe_psql('postgres', q{SELECT tidal.is_hidden(42, 2)}), 't', 'the hide arrived with the state');
is($r3->safe_psql('postgres', $session_sql), '7/0 28', "the session's mark arrived with the state");
session_write($r3, 8);
ok($c->wait_until(30, sub { !grep { $_->safe_psql('postgres', $session_sql) ne '8/0 36' } $r0, $r1, $r2, $r3 }),
	'the agent goes on through region 3: seqno 8 applied once everywhere');

# after a restart, region 3 rebuilds from the received snapshot and its log
$r3->stop('immediate');
$r3->start;
is($r3->safe_psql('postgres', $state_sql), $r0->safe_psql('postgres', $state_sql),
	'region 3 serves the same after kill -9 and a restart');
is($r3->safe_psql('postgres', $session_sql), '8/0 36', 'and the same session');

$r3->stop;
$c->stop;
done_testing();
