# Online resharding: a range of the default tenant's entities moves from
# shard 0 to shard 1 in every region of a cluster of 3 regions x 2 shards,
# while clients write through every instance and read through two.
#
# The map starts as ranges: shard 0 holds (,1000), shard 1 [1000,). pgbench
# clients write to entities 0 .. 1999 through every instance, each write with
# a row in a plain table of that instance in the same transaction (what
# committed is what counts); keyed writes are retried through another
# instance. Mid-way the leader moves [500,1000) to shard 1, and at once the
# range's old shard in region 1 and its new shard in region 2 are killed
# (-9) and restarted: the one may die before or after its cut, the other
# before its handoff arrives. Afterwards every instance must read, for every
# entity, exactly the total committed (1e-9), score and window alike; no
# read through the running instances may fail; the old shard must hold no
# entry of the range in any region; and all of it must hold again after
# every instance restarts.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;

use TidalCluster;

my $T = '2026-06-01 00:00:00+00';    # every event's time: scores read at it are exact sums
# tidal.peer_timeout bounds how long a read of the moved range waits for its
# region's handoff: 10 s, for a machine whose two cores this load keeps busy
my $c = TidalCluster->new(3, name => 'reshard', shards => 2,
	map => q{'ranges', ranges => ARRAY['(,1000)', '[1000,)']::int8range[]},
	extra => [q{tidal.peer_timeout = '10s'}]);
my @all = map { my $r = $_; map { [ $r, $_, $c->node_of($r, $_) ] } 0, 1 } 0 .. 2;

$c->node(0)->safe_psql('postgres', q{SELECT tidal.define_signal('view', '1 hour', ARRAY['1 hour']::interval[])});
ok($c->wait_until(60, sub {
			!grep { $_->[2]->safe_psql('postgres', q{SELECT count(*) FROM tidal.signal_defs WHERE name = 'view'}) ne '1' } @all
		}),
	'the signal reaches every instance');
$_->[2]->safe_psql('postgres', 'CREATE TABLE written (entity bigint, weight float8)') for @all;

my $dir = PostgreSQL::Test::Utils::tempdir('reshard');
my $write_script = "$dir/write.sql";
PostgreSQL::Test::Utils::append_to_file($write_script, <<"EOS");
\\set e random(0, 1999)
\\set w random(1, 4)
BEGIN;
SELECT tidal.signal('view', :e, :w * 0.25, at => '$T');
INSERT INTO written VALUES (:e, :w * 0.25);
COMMIT;
EOS
my $read_script = "$dir/read.sql";
PostgreSQL::Test::Utils::append_to_file($read_script, <<"EOS");
\\set e random(0, 1999)
SELECT tidal.decay_score(:e, 'view', '$T'), tidal.window_count(:e, 'view', '1 hour', '$T');
EOS

# pgbench against one instance, in the background
my @benches;
sub bench
{
	my ($name, $node, $script, $secs, $rate) = @_;
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start(
		[ 'pgbench', '-n', '-f', $script, '-T', $secs, '-R', $rate, '-c', '1',
		  '-h', '127.0.0.1', '-p', $node->port, 'postgres' ],
		'>', \$out, '2>', \$err);
	push @benches, { name => $name, h => $h, out => \$out, err => \$err };
}

# writers through every instance; readers through both shards of region 0,
# which stay up (the range's old shard there cuts as the leader moves it)
bench("writer r$_->[0]s$_->[1]", $_->[2], $write_script, 24, 25) for grep { !($_->[0] == 1 && $_->[1] == 0) } @all;
bench('reader r0s0', $c->node_of(0, 0), $read_script, 24, 40);
bench('reader r0s1', $c->node_of(0, 1), $read_script, 24, 40);

# keyed writes, each retried through an instance of another region: counted once
my %keyed;
my $k = 0;
sub keyed_writes
{
	my ($n) = @_;
	for (1 .. $n)
	{
		$k++;
		my $e = 450 + 7 * $k;    # across the moved range's lower end
		my @via = ($all[ $k % 6 ][2], $all[ ($k + 3) % 6 ][2]);
		next if grep { $_ == $c->node_of(1, 0) || $_ == $c->node_of(2, 1) } @via;
		$_->safe_psql('postgres', "SELECT tidal.signal('view', $e, 1, at => '$T', idempotency_key => 'key-$k')") for @via;
		$keyed{$e} += 1;
	}
}

sleep 4;
keyed_writes(12);
# a keyed write counted by the range's old shard before the move: retried below, after it
$c->node_of(0, 0)->safe_psql('postgres', "SELECT tidal.signal('view', 777, 1, at => '$T', idempotency_key => 'before-move')");
$keyed{777} += 1;
is($c->node(0)->safe_psql('postgres', q{SELECT tidal.move_shard_range('[500,1000)', 1)}), '2',
	'the leader moves [500,1000) to shard 1 (map version 2)');
# at once: the old shard of region 1 dies (before or after its cut), and the new shard of region 2 (before its handoff arrives)
$c->node_of(1, 0)->stop('immediate');
$c->node_of(2, 1)->stop('immediate');
$c->node_of(1, 0)->start;
$c->node_of(2, 1)->start;
bench('writer r1s0 (after its restart)', $c->node_of(1, 0), $write_script, 10, 25);
keyed_writes(18);
# once every instance routes by the new map, the retries of that write reach the new shard: the key moved with the range
ok($c->wait_until(60, sub { !grep { $_->[2]->safe_psql('postgres', 'SELECT version FROM tidal.shards') ne '2' } @all }),
	'every instance routes by the new map');
$c->node_of($_, 1)->safe_psql('postgres', "SELECT tidal.signal('view', 777, 1, at => '$T', idempotency_key => 'before-move')")
  for 0 .. 2;

for my $b (@benches)
{
	eval { $b->{h}->finish; 1 } or note("$b->{name}: $@");
	my $aborted = ${ $b->{out} } =~ /aborted|number of failed transactions: [1-9]/ || ${ $b->{err} } =~ /aborted/;
	my ($done) = ${ $b->{out} } =~ /number of transactions actually processed: (\d+)/;
	if ($b->{name} =~ /r2s1/)
	{
		# killed mid-run: its connection broke; what it committed counts
		ok(($done // 0) > 0 || ${ $b->{err} } =~ /terminat|connection/, "$b->{name}: ran until its kill -9");
		next;
	}
	ok(!$aborted && ($done // 0) > 0, "$b->{name}: " . ($done // 0) . ' transactions, none failed')
	  or diag(${ $b->{out} } . ${ $b->{err} });
}

# what committed: every instance's table, and the keyed writes once each
my %total;
for my $x (@all)
{
	for my $row (split /\n/, $x->[2]->safe_psql('postgres', 'SELECT entity, sum(weight) FROM written GROUP BY entity'))
	{
		my ($e, $w) = split /\|/, $row;
		$total{$e} += $w;
	}
}
$total{$_} += $keyed{$_} for keys %keyed;
my $values = join(',', map { "($_, " . ($total{$_} // 0) . ')' } 0 .. 1999);
$_->[2]->safe_psql('postgres', "CREATE TABLE expected AS SELECT * FROM (VALUES $values) v(entity, total)") for @all;
my $moved_total = 0;
$moved_total += $total{$_} // 0 for 500 .. 999;
note("moved range: $moved_total of the weight; keyed writes: " . scalar(keys %keyed));

my $mismatch_sql = qq{
	SELECT count(*) FILTER (WHERE abs(tidal.decay_score(entity, 'view', '$T') - total) > 1e-9)
	       || ' ' || count(*) FILTER (WHERE abs(tidal.window_count(entity, 'view', '1 hour', '$T') - total) > 1e-9)
	  FROM expected};
# what each instance's log holds of the entities a node reads wrong (a failure's diagnosis)
sub events_of
{
	my ($n) = @_;
	my $wrong = $n->safe_psql('postgres', qq{SELECT string_agg(entity::text, ',') FROM expected
	                                          WHERE abs(tidal.decay_score(entity, 'view', '$T') - total) > 1e-9});
	return '' if $wrong eq '';
	return join("\n", map {
		"r$_->[0]s$_->[1]: " . $_->[2]->safe_psql('postgres', qq{
			SELECT string_agg((j->>'entity') || ' ' || (j->>'hlc') || ' ' || (j->>'weight'), '; ' ORDER BY j->>'entity', j->>'hlc')
			  FROM tidal.export_feedback('2000-01-01') j WHERE (j->>'entity')::bigint IN ($wrong)})
	} @all);
}

sub check_totals
{
	my ($when) = @_;
	for my $x (@all)
	{
		my ($r, $s, $n) = @$x;
		my $got;
		ok($c->wait_until(90, sub { $got = $n->safe_psql('postgres', $mismatch_sql); $got eq '0 0' }),
			"$when: region $r, shard $s reads every entity's exact total, score and window")
		  or diag("wrong (score, window): $got; "
			  . $n->safe_psql('postgres', qq{SELECT string_agg(entity || ': ' || tidal.decay_score(entity, 'view', '$T') || ' for ' || total, ', ')
			                                 FROM expected WHERE abs(tidal.decay_score(entity, 'view', '$T') - total) > 1e-9})
			  . "\n" . events_of($n));
	}
	for my $r (0 .. 2)
	{
		is($c->node_of($r, 0)->safe_psql('postgres', q{SELECT tidal.state_entries('[500,1000)')}), '0',
			"$when: region $r, shard 0 holds no entry of the moved range");
		cmp_ok($c->node_of($r, 1)->safe_psql('postgres', q{SELECT tidal.state_entries('[500,1000)')}), '>', 100,
			"$when: region $r, shard 1 holds the moved range");
	}
}
check_totals('after the move');

for my $r (0 .. 2)
{
	is($c->node_of($r, 0)->safe_psql('postgres', q{SELECT entities || ' ' || from_shard || '>' || to_shard || ' ' || (cut_at IS NOT NULL)::text FROM tidal.range_moves}),
		'[500,1000) 0>1 true', "region $r: shard 0 cut the move");
	is($c->node_of($r, 1)->safe_psql('postgres', q{SELECT entities || ' ' || (received_at IS NOT NULL)::text FROM tidal.range_moves}),
		'[500,1000) true', "region $r: shard 1 received its region's handoff");
	is($c->node_of($r, 1)->safe_psql('postgres', q{SELECT ranges::text || ' ' || range_shards::text FROM tidal.shards}),
		'{"(,500)","[500,)"} {0,1}', "region $r: the map gives the range to shard 1 (merged with its range)");
}

# A second move, [1500,1600) from shard 1 to shard 0, while a transaction on
# shard 1 of region 1 has written an event of the range and stays open: the
# cut there waits for it without holding up that node's other writers, and
# happens once it ends; the open write then counts once, at the new shard.
my ($in, $out, $err) = ('', '', '');
my $open = IPC::Run::start(
	[ 'psql', '-X', '-qAt', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-p', $c->node_of(1, 1)->port, 'postgres' ],
	'<', \$in, '>', \$out, '2>', \$err, IPC::Run::timeout(180));
$in .= "BEGIN; SELECT 'w' FROM tidal.signal('view', 1550, 1, at => '$T'); SELECT 'held';\n";
$open->pump until $out =~ /held/;
is($c->node(0)->safe_psql('postgres', q{SELECT tidal.move_shard_range('[1500,1600)', 0)}), '3',
	'the leader moves [1500,1600) to shard 0 (map version 3)');
ok($c->wait_until(5, sub { $c->node_of(1, 1)->safe_psql('postgres', 'SELECT version FROM tidal.shards') eq '3' })
	  || $c->node_of(1, 1)->safe_psql('postgres', q{SELECT count(*) FROM tidal.range_moves WHERE version = 3}) eq '0',
	'region 1, shard 1 learns the move, or waits to apply it, while the transaction is open');
my $timed_out;
my ($rc, $stdout, $stderr) = $c->node_of(1, 1)->psql('postgres',
	"SELECT 'ok' FROM tidal.signal('view', 1700, 1, at => '$T')", timeout => 60, timed_out => \$timed_out);
is($timed_out ? 'held up for 60 s' : $stdout, 'ok', 'another writer of that node is not held up by the waiting cut')
  or diag($stderr);
is($c->node_of(1, 1)->safe_psql('postgres', q{SELECT count(cut_at) FROM tidal.range_moves WHERE version = 3}), '0',
	'the cut waits while the transaction is open');
$in .= "COMMIT;\n\\q\n";
$open->finish;
ok($c->wait_until(60, sub {
			$c->node_of(1, 1)->safe_psql('postgres', q{SELECT count(cut_at) FROM tidal.range_moves WHERE version = 3}) eq '1' }),
	'once it ends, region 1, shard 1 cuts');
$_->[2]->safe_psql('postgres', 'UPDATE expected SET total = total + 1 WHERE entity IN (1550, 1700)') for @all;
check_totals('after a move held up by an open transaction');
is(join(' ', map { $c->node_of($_, 1)->safe_psql('postgres', q{SELECT tidal.state_entries('[1500,1600)')}) } 0 .. 2),
	'0 0 0', 'shard 1 holds nothing of [1500,1600) in any region');

# every instance restarts: its rebuild counts what its live state counted
for my $x (@all)
{
	$x->[2]->stop('immediate');
	$x->[2]->start;
}
check_totals('after every instance restarts');

$c->stop;
done_testing();
