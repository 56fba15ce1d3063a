# TidalUAT: the five user-acceptance steps of the regions and tenants issues,
# each a function that acts its step out on a TidalCluster of 3 regions and
# runs its Test::More assertions.  The steps take the ids they write to as
# parameters, so that they can run one after the other on one cluster.
#
#   my $c = TidalCluster->new(3);
#   define_schema($c);                        # view (7 d; 1 h, 24 h), like (1 d)
#   step1_propagation($c, item => 42);        # 25 writes reach everyone within 2 s
#   step2_failover($c, item => 201, quorum_item => 202);   # kill -9 the leader
#   step3_partition_reads($c, item => 7);     # degraded reads while 0 and 2 are cut
#   step4_heal($c, items => [7, 8, 9]);       # CRDT merge after three partitions
#   step5_tenant_migration($c, tenant => 42, item => 7);   # tenant 42: 0 -> 2
#   finish_sessions();
#   $c->stop;
#
#   play_alone(\&step1_propagation, item => 42);   # one step on a cluster of its own
#
# Leader-only calls go to whichever region leads at the time (leader_call):
# step 2 changes the leader.  Queries go through one long-lived psql session
# per region (sql, try_sql, answers) rather than one psql process per query,
# so that polling is cheap and timing bounds measure tidal, not process
# start-up; a session whose server restarted is replaced on its next use.
package TidalUAT;

use strict;
use warnings;

use Exporter 'import';
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

use TidalCluster;

our @EXPORT = qw(define_schema step1_propagation step2_failover step3_partition_reads
  step4_heal step5_tenant_migration finish_sessions play_alone);
our @EXPORT_OK = qw(sql try_sql answers leader leader_call);

# Every step's event times are fixed, relative to this instant.
our $AT = '2026-11-24 12:00:00+00';
my $VIEW_HALF_LIFE = 7 * 86400;    # seconds

# ---------------------------------------------------------------------------
# Sessions: one psql process per region, fed queries on its stdin.
# ---------------------------------------------------------------------------
{

	package TidalUAT::Session;

	sub new
	{
		my ($class, $node) = @_;
		my $self = bless { in => '', out => '', err => '', n => 0, dead => 0 }, $class;
		my $psql = $node->can('installed_command') ? $node->installed_command('psql') : 'psql';
		$self->{timeout} = IPC::Run::timeout(120);
		$self->{run} = IPC::Run::start(
			[ $psql, '-XAtq', '-v', 'ON_ERROR_STOP=0', '-d', $node->connstr('postgres'), '-f', '-' ],
			'<', \$self->{in}, '>', \$self->{out}, '2>', \$self->{err}, $self->{timeout});
		return $self;
	}

	# Returns (ok, stdout, stderr, died): ok unless psql reported an error or
	# exited (died: the session is unusable, e.g. its server restarted).
	sub query
	{
		my ($self, $sql) = @_;
		return (0, '', 'session closed', 1) if $self->{dead};
		my $tag = 'tidal_uat_done_' . ++$self->{n};
		$self->{out} = '';
		$self->{err} = '';
		$self->{in} .= "$sql\n;\n\\echo $tag\n\\warn $tag\n";
		$self->{timeout}->start(120);
		my $done = eval {
			until ($self->{out} =~ /^\Q$tag\E$/m && $self->{err} =~ /^\Q$tag\E$/m)
			{
				die "psql exited\n" unless $self->{run}->pumpable;
				$self->{run}->pump;
			}
			1;
		};
		my ($out, $err) = ($self->{out}, $self->{err});
		$self->{out} = '';
		$self->{err} = '';
		if (!$done)
		{
			$self->close;
			return (0, $out, $err . ($@ // ''), 1);
		}
		$out =~ s/\n?^\Q$tag\E\n//m;
		$err =~ s/^\Q$tag\E\n//m;
		chomp $out;
		return ($err !~ /\b(?:ERROR|FATAL|PANIC):/, $out, $err, 0);
	}

	sub close
	{
		my ($self) = @_;
		return if $self->{dead};
		$self->{dead} = 1;
		$self->{in} .= "\\q\n";
		eval { $self->{timeout}->start(10); $self->{run}->finish; 1 }
		  or eval { $self->{run}->kill_kill; 1 };
		return;
	}
}

my %sessions;    # node name -> TidalUAT::Session

# Run a query on a node: (ok, output, errors).  A session that died (its
# server was restarted since) is replaced and the query run once more.
sub try_sql
{
	my ($node, $query) = @_;
	my $name = $node->name;
	my @answer;
	for my $attempt (1, 2)
	{
		my $fresh = !$sessions{$name} || $sessions{$name}{dead};
		$sessions{$name} = TidalUAT::Session->new($node) if $fresh;
		my ($ok, $out, $err, $died) = $sessions{$name}->query($query);
		@answer = ($ok, $out, $err);
		last unless $died && !$fresh;
	}
	return @answer;
}

# Like safe_psql: the output, or die with the error.
sub sql
{
	my ($node, $query) = @_;
	my ($ok, $out, $err) = try_sql($node, $query);
	die sprintf("query failed in %s:\n%s\n%s", $node->name, $query, $err) unless $ok;
	return $out;
}

# The query's answer in every region, in region order.
sub answers
{
	my ($c, $query, @regions) = @_;
	@regions = (0 .. $c->size - 1) unless @regions;
	return map { sql($c->node($_), $query) } @regions;
}

# When a wait fails: what every region says of its peers and of its origins,
# so that the failure can be read from the test's output.
sub diag_replication
{
	my ($c, $what) = @_;
	for my $i (0 .. $c->size - 1)
	{
		my ($ok, $out, $err) = try_sql($c->node($i),
			q{SELECT 'peer ' || region || ': ' || state || ' ' || health || ' lag_seqno ' || lag_seqno
			         || ' sent ' || batches_sent || ' acked ' || batches_acknowledged
			         || ' applied ' || batches_applied || ' quarantined ' || quarantined
			         || coalesce(' last_error ' || last_error, '')
			    FROM tidal.replication_status
			  UNION ALL
			  SELECT 'origin ' || region || ':' || shard || ' batch ' || last_batch || ' seq ' || last_seq
			    FROM tidal.origins});
		diag("$what: region $i: " . ($ok ? "\n$out" : "no answer: $err"));
	}
	return;
}

sub finish_sessions
{
	$_->close for values %sessions;
	%sessions = ();
	return;
}

END { finish_sessions(); }

# ---------------------------------------------------------------------------
# Leadership
# ---------------------------------------------------------------------------

# The one region that leads, once exactly one of the given regions (default:
# all) says it is the leader and all of them agree on it; undef after the
# timeout (seconds, default 15).
sub leader
{
	my ($c, %opts) = @_;
	my @regions = @{ $opts{regions} // [ 0 .. $c->size - 1 ] };
	my $found;
	$c->wait_until($opts{timeout} // 15, sub {
		my (%leading, %known);
		for my $i (@regions)
		{
			my ($ok, $out) = try_sql($c->node($i),
				q{SELECT role || ' ' || coalesce(leader_region::text, '-') FROM tidal.cluster WHERE is_local});
			return 0 unless $ok;
			my ($role, $leader) = split / /, $out;
			$leading{$i} = 1 if $role eq 'leader';
			$known{$leader} = 1;
		}
		return 0 unless keys %leading == 1 && keys %known == 1;
		my ($l) = keys %leading;
		return 0 unless $known{$l};
		$found = $l;
		return 1;
	});
	return $found;
}

# Run a leader-only call on the current leader, again on the next one if
# leadership moved meanwhile (25006).  Returns its output (and, in list
# context, the region that ran it); undef, with a diagnostic, if it failed.
sub leader_call
{
	my ($c, $query, %opts) = @_;
	my $deadline = time() + ($opts{timeout} // 30);
	my $err = 'no leader';
	while (time() < $deadline)
	{
		my $l = leader($c, regions => $opts{regions}, timeout => $deadline - time());
		last unless defined $l;
		my ($ok, $out, $e) = try_sql($c->node($l), $query);
		return wantarray ? ($out, $l) : $out if $ok;
		$err = $e;
		last unless $e =~ /runs only on the leader|connection|server closed|psql exited/;
		select(undef, undef, undef, 0.1);
	}
	diag("leader-only call failed: $query\n$err");
	return;
}

# Try a leader-only call in each region until one accepts it (at most 10 s):
# the region that did, or undef.
sub _elected
{
	my ($c, $regions, $query) = @_;
	my $winner;
	$c->wait_until(10, sub {
		for my $i (@$regions)
		{
			my ($ok) = try_sql($c->node($i), $query);
			if ($ok) { $winner = $i; return 1; }
		}
		return 0;
	});
	return $winner;
}

# ---------------------------------------------------------------------------
# The schema
# ---------------------------------------------------------------------------

# view: 7-day half-life, 1 h and 24 h windows; like: 1-day half-life.
# Defined on the leader; returns once every region has both.
sub define_schema
{
	my ($c) = @_;
	leader_call($c, q{SELECT tidal.define_signal('view', '7 days', ARRAY['1 hour', '24 hours']::interval[])});
	leader_call($c, q{SELECT tidal.define_signal('like', '1 day')});
	my $all = join(',', ('2') x $c->size);
	return ok($c->wait_until(10, sub {
				join(',', answers($c, q{SELECT count(*) FROM tidal.signals WHERE name IN ('view', 'like')})) eq $all }),
		'the definitions reach every region');
}

# One step with its own cluster of 3 regions and the schema, then the end of
# the test: play_alone(\&step3_partition_reads, item => 7).
sub play_alone
{
	my ($step, %args) = @_;
	my $c = TidalCluster->new(3);
	define_schema($c);
	$step->($c, %args);
	finish_sessions();
	$c->stop;
	done_testing();
	return;
}

sub _signals_sql
{
	my ($item, $n, $step_secs, %opts) = @_;
	my $extra = $opts{tenant} ? ", tenant => $opts{tenant}" : '';
	return join("\n", map {
		sprintf(q{SELECT tidal.signal('view', %d, 1, timestamptz '%s' - interval '%d seconds'%s);},
			$item, $AT, $step_secs * $_, $extra)
	} 1 .. $n);
}

# ---------------------------------------------------------------------------
# Step 1: 25 view signals written in region 0 reach regions 1 and 2 within
# 2 seconds: the same decayed score everywhere, and no lag left.
# ---------------------------------------------------------------------------
sub step1_propagation
{
	my ($c, %opts) = @_;
	my $item = $opts{item} // 42;
	my $r0 = $c->node(0);
	my $score_sql = qq{SELECT tidal.decay_score($item, 'view', '$AT')};

	answers($c, 'SELECT 1');    # sessions open: connecting is not part of the 2 s

	# 25 writes, each its own transaction, at times spread over the last hour
	sql($r0, _signals_sql($item, 25, 120));
	my $started = time();    # the 25 writes have committed
	my $expected = sql($r0, $score_sql);

	# one query per region: its score, and its largest lag to any peer
	my $probe = qq{SELECT ($score_sql) || ' ' || (SELECT coalesce(max(lag_seqno), -1) FROM tidal.replication_status)};
	my $converged = $c->wait_until(5, sub {
		my @answers = map { [ split / / ] } answers($c, $probe);
		return (grep { abs($_->[0] - $expected) <= 1e-6 && $_->[1] eq '0' } @answers) == 3;
	});
	my $elapsed = time() - $started;
	ok($converged, 'step 1: regions 1 and 2 report the same score, and lag_seqno 0 for every peer');
	cmp_ok($elapsed, '<', 2, sprintf('step 1: within 2 s (%.3f s)', $elapsed));

	my @scores = answers($c, $score_sql);
	note("step 1: scores @scores; expected $expected");
	is(sprintf('%.6f', $scores[1]), sprintf('%.6f', $expected), 'step 1: region 1 score');
	is(sprintf('%.6f', $scores[2]), sprintf('%.6f', $expected), 'step 1: region 2 score');
	is(join(',', answers($c, q{SELECT tidal.applied_seqno(0)})),
		join(',', (sql($r0, 'SELECT tidal.local_seqno()')) x 3),
		'step 1: every region has applied region 0 up to its last sequence number');
	# region peers, shard siblings and (with followers) members of each node
	my $peers = ($c->size - 1) + ($c->shards - 1) + ($c->can('followers') ? $c->followers : 0);
	is(join(',', answers($c, q{SELECT string_agg(health, ',' ORDER BY region, shard) FROM tidal.replication_status})),
		join(',', ('healthy') x ($c->size * $peers)), 'step 1: every peer is healthy everywhere');
	return;
}

# ---------------------------------------------------------------------------
# Step 2: 100 signals written in the leader (region 0 in a fresh cluster)
# converge; kill -9 the leader: within 10 s (goal: 3 s) a new leader accepts
# a leader-only call, has applied at least what region 1 had of the old
# leader, and scores the item as before the crash.  Again with
# tidal.commit_ack = quorum and the kill right after the last COMMIT: all 100
# are there.  Each killed region restarts, rejoins as a follower and
# converges.
# ---------------------------------------------------------------------------

# Region $back restarted: it follows another region, and every region ends
# up with the same log (applied sequence numbers of every origin) and the
# same scores of the given items.
sub _rejoins
{
	my ($c, $back, $what, @items) = @_;
	ok($c->wait_until(15, sub {
				my ($ok, $out) = try_sql($c->node($back),
					q{SELECT role || ' ' || coalesce(leader_region::text, '-') FROM tidal.cluster WHERE is_local});
				return $ok && $out =~ /^follower (\d+)$/ && $1 != $back;
			}),
		"step 2: $what: region $back restarts and rejoins as a follower");
	my $l = leader($c);
	ok(defined $l && $l != $back, "step 2: $what: one leader, region " . ($l // 'none'));

	my $n = $c->size - 1;
	my $state = qq{SELECT (SELECT string_agg(tidal.applied_seqno(r)::text, ',' ORDER BY r) FROM generate_series(0, $n) r)}
	  . join('', map { qq{ || ' ' || tidal.decay_score($_, 'view', '$AT')} } @items);
	my @last;
	ok($c->wait_until(20, sub {
				@last = map { [ split / / ] } answers($c, $state);
				for my $a (@last[ 1 .. $#last ])
				{
					return 0 unless $a->[0] eq $last[0][0];
					return 0 if grep { abs($a->[$_] - $last[0][$_]) > 1e-6 } 1 .. $#$a;
				}
				return 1;
			}),
		"step 2: $what: and converges: same log and scores everywhere");
	note("step 2: $what: applied seqnos and scores per region: " . join('; ', map { "@$_" } @last));
	return;
}

sub step2_failover
{
	my ($c, %opts) = @_;
	my $item = $opts{item} // 201;
	my $qitem = $opts{quorum_item} // 202;
	my $score_sql = qq{SELECT tidal.decay_score($item, 'view', '$AT')};
	my $count_sql = qq{SELECT tidal.window_count($qitem, 'view', '1 hour', '$AT')};

	# -- with tidal.commit_ack = local (the default)
	my $old = leader($c);
	ok(defined $old, 'step 2: region ' . ($old // 'none') . ' leads') or return;
	my $node = $c->node($old);
	my @others = grep { $_ != $old } 0 .. $c->size - 1;

	sql($node, _signals_sql($item, 100, 30));
	# the sealer seals committed records moments after their commit: the
	# origin's own sequence number is read again on every poll
	my $last;
	ok($c->wait_until(20, sub {
				$last = sql($node, 'SELECT tidal.local_seqno()');
				join(',', answers($c, "SELECT tidal.applied_seqno($old)")) eq join(',', ($last) x $c->size) }),
		"step 2: 100 signals written in region $old converge (every region has applied all of region ${old}'s log)");
	is(join(',', answers($c, qq{SELECT tidal.window_count($item, 'view', '24 hours', '$AT')})), '100,100,100',
		'step 2: every region counts the 100 signals');
	my $noted = sql($c->node($others[0]), "SELECT tidal.applied_seqno($old)");
	my $before = sql($node, $score_sql);
	note("step 2: region $others[0] has applied region $old up to $noted; score before the crash $before");

	$node->stop('immediate');
	my $killed = time();
	my $new = _elected($c, \@others, qq{SELECT tidal.define_signal('uat2_probe_$item', '1 day')});
	my $failover = time() - $killed;
	ok(defined $new, 'step 2: a new leader is elected and accepts a leader-only call');
	cmp_ok($failover, '<', 10, sprintf('step 2: within 10 s of the kill (%.2f s; the goal is 3 s)', $failover));
	note(sprintf('step 2: failover in %.2f s: goal of 3 s %s', $failover, $failover < 3 ? 'met' : 'MISSED'));
	$new //= $others[0];
	cmp_ok(sql($c->node($new), "SELECT tidal.applied_seqno($old)"), '>=', $noted,
		"step 2: the new leader (region $new) has applied region $old up to at least $noted");
	my $after = sql($c->node($new), $score_sql);
	ok(abs($after - $before) <= 1e-6, "step 2: its score equals the pre-crash score ($after, $before)");

	$node->start;
	_rejoins($c, $old, 'commit_ack = local', $item);

	# -- again with tidal.commit_ack = quorum, the kill right after the last COMMIT
	my $lead = leader($c);
	ok(defined $lead, 'step 2: region ' . ($lead // 'none') . ' leads now') or return;
	$node = $c->node($lead);
	@others = grep { $_ != $lead } 0 .. $c->size - 1;
	my ($rc, $out, $err) = $node->psql('postgres',
		"SET tidal.commit_ack = quorum;\n" . _signals_sql($qitem, 100, 30));
	$node->stop('immediate');
	$killed = time();
	is($rc, 0, "step 2: 100 quorum commits returned in region $lead");
	unlike($err, qr/WARNING|ERROR/, 'step 2: none of them timed out');

	# a majority had applied each: a survivor has all 100 at once
	my @right_after = map { sql($c->node($_), $count_sql) } @others;
	ok((grep { $_ eq '100' } @right_after) >= 1, "step 2: a surviving region had all 100 at once (@right_after)");
	$new = _elected($c, \@others, qq{SELECT tidal.define_signal('uat2_probe_$qitem', '1 day')});
	$failover = time() - $killed;
	ok(defined $new, sprintf('step 2: a new leader (region %s) is elected within 10 s of the kill (%.2f s)',
			$new // 'none', $failover));
	$new //= $others[0];
	is(sql($c->node($new), $count_sql), '100', 'step 2: the new leader has all 100');
	ok($c->wait_until(10, sub {
				join(',', map { sql($c->node($_), $count_sql) } @others) eq '100,100' }),
		'step 2: and both survivors have them');

	$node->start;
	_rejoins($c, $lead, 'commit_ack = quorum', $item, $qitem);
	is(join(',', answers($c, $count_sql)), '100,100,100', 'step 2: every region has the 100 quorum writes');
	return;
}

# ---------------------------------------------------------------------------
# Step 3: with regions 0 and 2 cut off from each other (region 1 still
# reaches both), region 0 keeps accepting writes and answering
# tidal.retrieve from its own state, and says the answer is degraded, with
# region 2 unreachable.  After the heal, the degradation is gone.
# ---------------------------------------------------------------------------
sub step3_partition_reads
{
	my ($c, %opts) = @_;
	my $item = $opts{item} // 7;
	my ($r0, $r1, $r2) = $c->nodes;
	my $count_sql = qq{SELECT tidal.window_count($item, 'view', '1 hour')};

	sql($r0, qq{SELECT tidal.upsert_item($item, 1, '{}');
	            SELECT tidal.signal('view', $item) FROM generate_series(1, 10);});
	ok($c->wait_until(10, sub { join(',', answers($c, $count_sql)) eq '10,10,10' }),
		'step 3: 10 seeded signals converge');

	# retrieve and its stats, in one session
	my $feed = qq{SELECT string_agg(item_id::text, ',') FROM tidal.retrieve(candidates => '{$item}');
	              SELECT s->>'degraded' || ' ' || (s->'unreachable_regions')::text FROM tidal.last_query_stats() s;};
	# (a region restarted by an earlier step reaches its peers within seconds)
	$c->wait_until(10, sub { sql($r0, $feed) eq "$item\nfalse []" });
	is(sql($r0, $feed), "$item\nfalse []", 'step 3: before the cut: not degraded');

	$c->cut(0, 2);
	sql($r0, qq{SELECT tidal.signal('view', $item) FROM generate_series(1, 5)});
	is(sql($r0, $count_sql), '15', 'step 3: region 0 accepts 5 more writes during the partition');

	ok($c->wait_until(10, sub { sql($r0, $feed) eq "$item\ntrue [2]" }),
		'step 3: region 0 still returns the item, degraded, with region 2 unreachable');
	is(sql($r0, $feed), "$item\ntrue [2]", 'step 3: stats of region 0');
	ok($c->wait_until(10, sub { sql($r2, $feed) eq "$item\ntrue [0]" }),
		'step 3: region 2 says region 0 is unreachable');
	is(sql($r1, $feed), "$item\nfalse []", 'step 3: region 1 reaches both and is not degraded');
	is(sql($r0, q{SELECT health FROM tidal.replication_status WHERE region = 1}),
		'healthy', 'step 3: region 0 sees region 1 healthy');

	$c->heal_all;
	ok($c->wait_until(10, sub { sql($r0, $feed) eq "$item\nfalse []" }),
		'step 3: after the heal region 0 is no longer degraded');
	ok($c->wait_until(10, sub { join(',', answers($c, $count_sql)) eq '15,15,15' }),
		'step 3: and every region has all 15 signals');
	return;
}

# ---------------------------------------------------------------------------
# Step 4: regions 0 and 2 are partitioned; 50 signals are written in region
# 0 and 30 in region 2, and region 2 hides the item for user 100 + item.
# After the heal, with no manual step (and again after tidal.reconcile()),
# every region has the analytical score of the 80 events, a 1-hour window
# count of 80, and no longer returns the item to that user.  Played three
# times, one item each: partition refused both ways, one way only, and
# black-holed.
# ---------------------------------------------------------------------------
sub _events_sql
{
	my ($item, $offset, $n) = @_;
	# event i at (11:10 + i * 30 s), weight 1: all inside the last hour before $AT
	return sprintf(q{SELECT tidal.signal('view', %d, 1, timestamptz '%s' - interval '50 minutes' + make_interval(secs => (%d + g) * 30))
	                   FROM generate_series(1, %d) g}, $item, $AT, $offset, $n);
}

sub step4_heal
{
	my ($c, %opts) = @_;
	my @items = @{ $opts{items} // [ 7, 8, 9 ] };
	my ($r0, $r1, $r2) = $c->nodes;
	my $list = join(',', @items);

	my $expected = 0;
	$expected += 2**(-((3000 - ($_ * 30)) / $VIEW_HALF_LIFE)) for (1 .. 80);

	sql($r0, qq{SELECT tidal.upsert_item(i, 1, '{}') FROM unnest('{$list}'::bigint[]) i});
	ok($c->wait_until(10, sub {
				join(',', answers($c, qq{SELECT count(*) FROM tidal.items WHERE item_id = ANY ('{$list}')}))
				  eq join(',', (scalar @items) x 3) }),
		'step 4: the items reach every region');

	my @scenarios = (
		[ 'symmetric, refused', {} ],
		[ 'one way (0 cannot reach 2)', { oneway => 1 } ],
		[ 'one link black-holed', { oneway => 1, mode => 'blackhole' } ]);
	for my $k (0 .. $#scenarios)
	{
		my ($name, $cut) = @{ $scenarios[$k] };
		my $item = $items[$k];
		my $user = 100 + $item;

		$c->cut(0, 2, %$cut);
		sql($r0, _events_sql($item, 0, 50));
		sql($r2, _events_sql($item, 50, 30));
		sql($r2, "SELECT tidal.hide_item($user, $item)");
		$c->heal_all;

		my $score_sql = qq{SELECT tidal.decay_score($item, 'view', '$AT')};
		my $count_sql = qq{SELECT tidal.window_count($item, 'view', '1 hour', '$AT')};
		my $feed_sql = qq{SELECT count(*) FROM tidal.retrieve($user, '{$item}')};
		# (in a region of several shards, retrieve asks the item's shard, which may
		# hold the hide before the shard that answers is_hidden does)
		my $converged = sub {
			my @scores = answers($c, $score_sql);
			return (grep { abs($_ - $expected) <= 1e-6 } @scores) == 3
			  && join(',', answers($c, $count_sql)) eq '80,80,80'
			  && join(',', answers($c, $feed_sql)) eq '0,0,0'
			  && join(',', answers($c, "SELECT tidal.is_hidden($user, $item)")) eq 't,t,t';
		};
		ok($c->wait_until(20, $converged), "step 4: $name: every region converges by itself after the heal");
		my @scores = answers($c, $score_sql);
		note("step 4: $name: scores @scores, analytical $expected");
		is(join(',', answers($c, $count_sql)), '80,80,80', "step 4: $name: 1-hour window count is 80 everywhere");
		is(join(',', answers($c, $feed_sql)), '0,0,0', "step 4: $name: user $user never gets the hidden item");
		is(join(',', answers($c, "SELECT tidal.is_hidden($user, $item)")), 't,t,t',
			"step 4: $name: hidden everywhere");

		is(join(',', answers($c, q{SELECT tidal.reconcile()->>'converged'})), 'true,true,true',
			"step 4: $name: tidal.reconcile() reports convergence");
		ok($converged->(), "step 4: $name: and the state is the same after it");
	}
	return;
}

# ---------------------------------------------------------------------------
# Step 5: tenant 42, stored in region 0, gets 100 signals and moves to
# region 2 while a client keeps writing and reading it: 50 more signals
# during dual-write, reads throughout (at the tenant's home region), zero
# errors.  After finalize region 2 has all 150 (the analytical score); after
# GC region 0 has nothing of the tenant left; region 1 never held it.
# ---------------------------------------------------------------------------
sub step5_tenant_migration
{
	my ($c, %opts) = @_;
	my $tenant = $opts{tenant} // 42;
	my $item = $opts{item} // 7;
	my ($src, $bystander, $dst) = (0, 1, 2);
	my ($rs, $rb, $rd) = map { $c->node($_) } $src, $bystander, $dst;

	# event i (1..150) at $AT - i minutes, weight 1
	my $expected = 0;
	$expected += 2**(-(60 * $_) / $VIEW_HALF_LIFE) for 1 .. 150;
	my $write_sql = sub {
		my ($i) = @_;
		return sprintf(q{SELECT tidal.signal('view', %d, 1, timestamptz '%s' - interval '%d minutes', idempotency_key => 'uat5-%d', tenant => %d);},
			$item, $AT, $i, $i, $tenant);
	};
	my $read_sql = qq{SELECT tidal.decay_score($item, 'view', '$AT', tenant => $tenant) || ' '
	                      || tidal.window_count($item, 'view', '24 hours', '$AT', tenant => $tenant)};
	my $tenant_sql = sub {
		my ($cols) = @_;
		return qq{SELECT $cols FROM tidal.tenants WHERE tenant_id = $tenant};
	};
	# what a region holds of the tenant: stored_here, entities, score, count,
	# rows of items, hides and idempotency keys
	my $holdings_sql = $tenant_sql->('stored_here, entities') . qq{;
		SELECT ($read_sql);
		SELECT (SELECT count(*) FROM tidal.item_data WHERE tenant = $tenant) || ' '
		    || (SELECT count(*) FROM tidal.hides WHERE tenant = $tenant) || ' '
		    || (SELECT count(*) FROM tidal.idempotency_keys WHERE tenant = $tenant)};
	my $nothing = "f|0\n0 0\n0 0 0";

	# region 1 must never hold the tenant: checked after every phase
	my @bystander_held;
	my $bystander_check = sub {
		my ($phase) = @_;
		my $h = sql($rb, $holdings_sql);
		push @bystander_held, "$phase: $h" unless $h eq $nothing;
	};

	# the client: writes in region 0, reads at the tenant's home region; every
	# read must see every write made so far
	my %client = (home => $src, written => 0, reads => 0, writes => 0, errors => 0, stale => 0);
	my $read = sub {
		my ($ok, $out, $err) = try_sql($c->node($client{home}), $read_sql);
		$client{reads}++;
		if (!$ok)
		{
			$client{errors}++;
			diag("step 5: client read in region $client{home} failed: $err");
			return;
		}
		my (undef, $count) = split / /, $out;
		if ($count != $client{written})
		{
			$client{stale}++;
			diag("step 5: client read in region $client{home} saw $count events, $client{written} written");
		}
		return;
	};
	my $write = sub {
		my ($i) = @_;
		my ($ok, $out, $err) = try_sql($rs, $write_sql->($i));
		$client{writes}++;
		if ($ok) { $client{written}++; }
		else { $client{errors}++; diag("step 5: client write $i failed: $err"); }
		return;
	};

	# -- the tenant, its 100 signals and one item in region 0
	ok(defined leader_call($c, qq{SELECT tidal.register_tenant($tenant, 'acme', required_regions => '{$src}')}),
		"step 5: tenant $tenant registered on the leader with required_regions {$src}");
	ok($c->wait_until(10, sub { join(',', answers($c, $tenant_sql->('stored_here'))) eq 't,f,f' }),
		"step 5: every region knows tenant $tenant; only region $src stores it");
	$write->($_) for 1 .. 100;
	sql($rs, qq{SELECT tidal.upsert_item($item, 1, '{}', tenant => $tenant)});
	my $converged = sql($rs, q{SELECT tidal.await_convergence('30s')});
	is($converged, 't', 'step 5: the 100 writes reach every region');
	diag_replication($c, 'step 5') if $converged ne 't';
	$read->();
	is(sql($rs, $holdings_sql), "t|1\n" . sql($rs, "SELECT ($read_sql)") . "\n1 0 100",
		'step 5: region 0 holds the tenant: its state, its item and its 100 idempotency keys');
	$bystander_check->('after the first 100 writes');
	is(sql($rd, $holdings_sql), $nothing, 'step 5: region 2 does not hold it yet');

	# -- begin, prepare the target
	my $id = leader_call($c, qq{SELECT tidal.begin_tenant_migration($tenant, $dst)});
	like($id // '', qr/^\d+$/, 'step 5: migration ' . ($id // 'none') . " to region $dst begun") or return;
	$read->();
	like(leader_call($c, "SELECT tidal.migration_prepare_target($id)") // '', qr/^(preparing|prepared)$/,
		'step 5: the target is preparing');
	$read->();
	my $state_at_leader = sub {
		my ($l) = leader($c);
		return defined $l ? sql($c->node($l), "SELECT state FROM tidal.migrations WHERE id = $id") : '';
	};
	ok($c->wait_until(30, sub { $read->(); $state_at_leader->() eq 'prepared' }),
		"step 5: region $dst loads the tenant from its log and reports prepared");
	is(sql($rd, $tenant_sql->('stored_here')), 't', 'step 5: region 2 stores the tenant now');
	my @here = split / /, sql($rd, $read_sql);
	my @there = split / /, sql($rs, $read_sql);
	ok($here[1] == $there[1] && abs($here[0] - $there[0]) <= 1e-6,
		"step 5: with the same score and count as region 0 (@here; @there)");
	is(sql($rd, "SELECT count(*) FROM tidal.item_data WHERE tenant = $tenant AND item = $item"), '1',
		'step 5: and the item');
	$bystander_check->('after prepared');

	# -- dual write: 50 more signals, read after every five
	is(leader_call($c, "SELECT tidal.migration_enter_dual_write($id)"), 'dual_write', 'step 5: dual_write');
	for my $i (101 .. 150)
	{
		$write->($i);
		$read->() if $i % 5 == 0;
	}
	is(sql($rs, q{SELECT tidal.await_convergence('30s')}), 't',
		'step 5: the client waits until its 50 dual-write signals are everywhere');
	# await_convergence covers this node's peers; with shards, the tenant's
	# shard in region 2 may be a peer of region 0's other shard and get the
	# writes one relay later
	my $got;
	ok($c->wait_until(10, sub { $got = (split / /, sql($rd, $read_sql))[1]; $got eq '150' }),
		"step 5: during dual write the target applies them too (" . ($got // '?') . ' of 150)');
	$bystander_check->('after dual write');

	# -- finalize: the cut-over; the target reports finalized
	like(leader_call($c, "SELECT tidal.migration_finalize($id)") // '', qr/^(finalizing|finalized)$/,
		'step 5: finalizing');
	ok($c->wait_until(30, sub { $read->(); $state_at_leader->() eq 'finalized' }),
		"step 5: region $dst reports finalized");
	is(sql($rd, $tenant_sql->('home_region')), $dst, "step 5: region $dst says it is the tenant's home now");
	ok($c->wait_until(10, sub { sql($rs, $tenant_sql->('home_region')) eq $dst }),
		"step 5: so does region $src");
	$client{home} = $dst;
	$read->();
	my ($score, $count) = split / /, sql($rd, $read_sql);
	is($count, '150', 'step 5: after finalize region 2 has all 150 signals');
	ok(abs($score - $expected) <= 1e-6,
		"step 5: and the analytical score ($score, analytical $expected)");
	$bystander_check->('after finalized');

	# -- GC: region 0 deletes its copy
	is(leader_call($c, "SELECT tidal.migration_gc_source($id)"), 'done', 'step 5: done');
	ok($c->wait_until(20, sub {
				$read->();
				join(',', answers($c, $tenant_sql->(q{required_regions::text || '|' || migration_state}))) eq
				  join(',', ("{$dst}|done") x 3);
			}),
		"step 5: every region has the tenant in {$dst}, migration done");
	is(sql($rs, $holdings_sql), $nothing,
		'step 5: after GC region 0 has no data for the tenant: score 0, no rows in any tidal table');
	my @held = split /\n/, sql($rd, $holdings_sql);
	is($held[0], 't|1', 'step 5: region 2 stores the tenant (one state)');
	($score, $count) = split / /, $held[1];
	ok($count == 150 && abs($score - $expected) <= 1e-6, "step 5: with all 150 signals ($held[1])");
	$read->();
	$bystander_check->('after GC');

	is_deeply(\@bystander_held, [], 'step 5: region 1 never held the tenant (stored_here false, score 0, no rows)');
	note("step 5: client: $client{writes} writes, $client{reads} reads");
	is($client{errors}, 0, "step 5: the client saw zero errors ($client{writes} writes, $client{reads} reads)");
	is($client{stale}, 0, 'step 5: and every read at the home region saw every write made so far');
	return;
}

1;
