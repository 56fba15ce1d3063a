# A session roams between regions: an agent writes seqnos 1-50 through region
# 0 and 51-80 through region 1, with retries, a duplicate through a third
# region, and a gap in each region that fills late.  Every instance of every
# region ends with the 80 writes applied once, in seqno order, and sees them
# within 2 s of the last one.
#
# Three regions of two shards each (six instances), a hash map: the writes
# go to entities of both shards, so each node's mark also moves with records
# it does not count (another shard's entity, left out of its copy of the
# batch).  Seqno n writes weight n for entity n % 10 + 1, at one time, so an
# entity's score is the exact sum of the seqnos that counted for it.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use TidalCluster;

my $T = '2026-06-01 00:00:00+00';
my $S = 'agent-7';
my $c = TidalCluster->new(3, shards => 2);
my @all = $c->all_nodes;
my $entry0 = $c->node_of(0, 0);    # the agent's way into region 0
my $entry1 = $c->node_of(1, 1);    # and into region 1, through the other shard
my $entry2 = $c->node_of(2, 0);

$c->node(0)->safe_psql('postgres', q{SELECT tidal.define_signal('rs_view', '1 hour')});
ok($c->wait_until(60, sub {
			!grep { $_->safe_psql('postgres', q{SELECT count(*) FROM tidal.signal_defs WHERE name = 'rs_view'}) ne '1' } @all
		}), 'the signal is defined on every instance');

sub write_seqno
{
	my ($node, $seqno, %opt) = @_;
	my $weight = $opt{weight} // $seqno;
	return $node->safe_psql('postgres', sprintf
		  q{SELECT coalesce(tidal.signal('rs_view', %d, %d, '%s', session => '%s', session_seqno => %d)::text, 'null')},
		$seqno % 10 + 1, $weight, $T, $S, $seqno);
}

# per entity, the sum of the seqnos in @seqnos: what its score must be
sub expected
{
	my %sum = map { $_ => 0 } 1 .. 10;
	$sum{ $_ % 10 + 1 } += $_ for @_;
	return join ' ', map { $sum{$_} } 1 .. 10;
}

sub scores
{
	my ($node) = @_;
	return $node->safe_psql('postgres', qq{
		SELECT string_agg(tidal.decay_score(e, 'rs_view', '$T')::text, ' ' ORDER BY e)
		  FROM generate_series(1, 10) e});
}

sub status
{
	my ($node) = @_;
	return $node->safe_psql('postgres', qq{SELECT applied_seqno || '/' || held FROM tidal.session_status('$S')});
}

# ---- region 0: seqnos 1-50, 37 late, 20 retried ----
write_seqno($entry0, $_) for 1 .. 36, 38 .. 50;
is(status($entry0), '36/13', 'region 0 applied 1-36 and holds 38-50 behind the gap at 37');
is(scores($entry0), expected(1 .. 36), 'what is held does not count yet');
write_seqno($entry0, 20, weight => 999);
is(scores($entry0), expected(1 .. 36), 'a retry of seqno 20, with another weight, is a no-op');

# every other instance also holds 38-50 until 37 comes
ok($c->wait_until(30, sub { !grep { status($_) ne '36/13' } @all }),
	'every instance stops at 36 and holds what follows')
  or diag(join ' ', map { status($_) } @all);

write_seqno($entry0, 37);
is(status($entry0), '50/0', 'seqno 37 fills the gap: region 0 applies 37-50 in one go');
is(scores($entry0), expected(1 .. 50), 'and counts each of 1-50 once');

# ---- the agent moves to region 1 ----
is($entry1->safe_psql('postgres', qq{SELECT tidal.await_session('$S', 50, '2 s')}), '50',
	'in region 1 the agent waits at most 2 s for its session: 50 writes applied');
write_seqno($entry1, 50, weight => 777);
is(scores($entry1), expected(1 .. 50), 'a retry of seqno 50 in region 1 changes nothing');

# seqnos 51-80 through region 1: 70 late; 60 written again through region 2
# (the agent's retry after a timeout), with another weight
write_seqno($entry1, $_) for 51 .. 59;
write_seqno($entry1, 60);
write_seqno($entry2, 60, weight => 5000);
write_seqno($entry1, $_) for 61 .. 69, 71 .. 80;
is(status($entry1), '69/10', 'region 1 holds 71-80 behind the gap at 70');
write_seqno($entry1, 70);
my $last_write = time;

# everyone, within 2 s: the mark at 80, nothing held, each seqno counted once
# (60 with the weight of its first copy, by HLC, whichever region took the other)
for my $n (@all)
{
	my $name = $n->name;
	my ($ok, $out, $err) = $n->psql('postgres', qq{SELECT tidal.await_session('$S', 80, '2 s')});
	is($out, '80', "$name: seqno 80 applied within 2 s") or diag($err);
}
ok(time - $last_write <= 4, 'all six within the wait');
my $want = expected(1 .. 80);
is(scores($_), $want, $_->name . ': each of the 80 writes counted once') for @all;
is(status($_), '80/0', $_->name . ': nothing held') for @all;

# the marks and the counts survive a crash: kill -9 and restart
my $victim = $c->node_of(2, 1);
$victim->stop('immediate');
$victim->start;
is(status($victim), '80/0', 'after a kill -9, the mark is still 80');
is(scores($victim), $want, 'and the rebuilt state counts each write once');
write_seqno($victim, 61, weight => 1);
write_seqno($entry0, 62, weight => 2);
$c->wait_until(1, sub { 0 });
is(scores($_), $want, $_->name . ': late retries anywhere change nothing') for @all;

# tidal.await_session waits for every shard of the region: here shard 1 of
# region 1 cannot pull shard 0's log, so it does not have a write taken there
my $s10 = $c->node_of(1, 0);
$c->link('1:1', '1:0')->set('refuse');
$s10->safe_psql('postgres', qq{SELECT tidal.signal('rs_view', 11, 1, '$T', session => 'agent-8', session_seqno => 1)});
is($s10->safe_psql('postgres', q{SELECT applied_seqno FROM tidal.session_status('agent-8')}), '1',
	'shard 0 of region 1 applied the write it took');
my ($rc, $got, $stderr) = $s10->psql('postgres', q{SELECT tidal.await_session('agent-8', 1, '300 ms')});
like($stderr, qr/shard 1 of this region has not yet.*\n.*DETAIL:  Shard 1 has applied the session up to seqno 0/s,
	'but its await_session waits for shard 1, which has not, and says so');
$c->link('1:1', '1:0')->set('pass');
is($s10->safe_psql('postgres', q{SELECT tidal.await_session('agent-8', 1, '10 s')}), '1',
	'once shard 1 has it too, await_session returns');

# An agent that never sends seqno 1: region 2 reports the gap after
# tidal.session_gap_timeout, and after tidal.session_ttl forgets the session
# and counts what it held, past the gap -- also after a restart.
my @region2 = ($c->node_of(2, 0), $c->node_of(2, 1));
for my $n (@region2)
{
	$n->append_conf('postgresql.conf', "tidal.session_gap_timeout = '200ms'\ntidal.session_ttl = '3s'\n");
	$n->reload;
}
$entry2->safe_psql('postgres', qq{SELECT tidal.signal('rs_view', 1, 1000, '$T', session => 'agent-gone', session_seqno => 2)});
is($entry2->safe_psql('postgres', q{SELECT applied_seqno || '/' || held FROM tidal.session_status('agent-gone')}), '0/1',
	'a write after a gap is held');
ok($c->wait_until(20, sub { slurp_file($entry2->logfile) =~ /session "agent-gone" of tenant 0 waits for seqno 1/ }),
	'the gap is reported in the server log');
ok($c->wait_until(30, sub {
			$entry2->safe_psql('postgres', q{SELECT last_write_at IS NULL FROM tidal.session_status('agent-gone')}) eq 't'
		}), 'the idle session expires');
like(slurp_file($entry2->logfile), qr/session "agent-gone" of tenant 0 expired waiting for seqno 1/,
	'its expiry names the seqno that never came');
my @with_gone = split / /, $want;
$with_gone[0] += 1000;
ok($c->wait_until(10, sub { scores($entry2) eq "@with_gone" }), 'and what it held counts')
  or diag(scores($entry2));
$_->restart for @region2;
is(scores($entry2), "@with_gone", 'the same after a restart of region 2');

$c->stop;
done_testing();
