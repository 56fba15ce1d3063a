# Randomized convergence: for each seed, a random schedule of writes at every
# region (signals, idempotent writes and their retries, a session's writes
# with gaps filled later and retries, hides and unhides, for
# the default tenant and for a tenant stored in one region), interleaved with
# cuts (refused or black-holed, one way or both), heals, one immediate restart
# of a random region, one or two kill -9s of the current leader (restarted a
# few steps later) and a migration of the tenant to another region, driven
# step by step on whichever region leads at the time.  Once healed, every
# region must converge to the same state, equal to a model computed here from
# the writes that committed; the tenant's data must be in its new region only;
# and exactly one region must lead.  One cluster serves every seed; each seed
# has its own entities, users and tenant.  Seeds are printed, and every
# failure names its seed; TIDAL_SEEDS="7 8" reruns some.
#
# t/036 runs the same schedules on regions of two shards each (it sets
# $main::SHARDS and @main::SEEDS, then runs this file): every write goes to a
# random shard of its region, and every instance, not only shard 0, must
# converge to the model. The map is then by ranges: each seed's block of
# entities [100 s, 100 s + 100) starts on shard 1 for its first half and
# shard 0 for its second, and at a random op the leader of the moment moves
# [100 s + 3, 100 s + 9) (three of the seed's five entities) to shard 0
# while the schedule goes on (online resharding); afterwards shard 1 must
# hold nothing of that range in any region.
#
# The model counts every committed write: a killed region comes back with
# its committed writes (PostgreSQL's own WAL) and ships them then.  The last
# write before each kill is made at the leader under tidal.commit_ack =
# quorum, and must be at one of the survivors at once, before the leader
# comes back.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

use TidalCluster;

our ($SHARDS, @SEEDS);
my $shards = $SHARDS // 1;
my @seeds = @SEEDS ? @SEEDS : $ENV{TIDAL_SEEDS} ? split(/[ ,]+/, $ENV{TIDAL_SEEDS}) : (1 .. 20);
my $ops_per_seed = 40;
my $at = '2026-11-24 12:00:00+00';
my $half_life = 7 * 86400;
my @steps = qw(begun preparing prepared dual_write finalizing finalized done);
my %step_no = map { $steps[$_] => $_ + 1 } 0 .. $#steps;

my $c = TidalCluster->new(3, shards => $shards,
	$shards > 1 ? (map => q{'ranges', ranges => ARRAY['(,0)', '[0,)']::int8range[]}) : ());
my @nodes = $c->nodes;

# the instance of region r that takes a write: any of its shards, for the
# default tenant and the registered one alike (a write of the registered
# tenant taken by shard 1 of a region that does not store it reaches the
# tenant's shard through shard 0 of that region, which relays it to the
# other regions -- also to the one the tenant moves to)
sub writer
{
	my ($r, $t) = @_;
	return $c->node_of($r, int(rand($shards)));
}
$nodes[0]->safe_psql('postgres', q{SELECT tidal.define_signal('view', '7 days', windows => '{1 hour}')});
ok($c->wait_until(10, sub { join(',', $c->query_all(q{SELECT count(*) FROM tidal.signals})) eq '1,1,1' }),
	'the signal is defined everywhere');
if ($shards > 1)
{
	# each seed's block: its first half on shard 1, its second on shard 0
	$nodes[0]->safe_psql('postgres', sprintf(q{SELECT tidal.move_shard_range('[%d,%d)', 0)}, 100 * $_ + 50, 100 * $_ + 100))
	  for @seeds;
	my $version = 1 + @seeds;
	ok($c->wait_until(60, sub { !grep { $_->safe_psql('postgres', 'SELECT version FROM tidal.shards') ne $version } $c->all_nodes }),
		"every instance has the map of each seed's block (version $version)");
}

# an HLC's text '(wall,logical,node)' as a comparable key
sub hlc_key
{
	my ($text) = @_;
	my ($w, $l, $n) = $text =~ /\((\d+),(\d+),(\d+)\)/ or die "bad hlc $text";
	return sprintf('%020d.%010d.%05d', $w, $l, $n);
}

# state of the seed being run, shared by the helpers below
my $seed;
my %up;             # region -> 1 while it runs
my $last_leader = 0;    # the region that last said it leads (asked first)
my @log;            # the seed's schedule, for failure messages

sub up_regions { return sort { $a <=> $b } grep { $up{$_} } keys %up; }

# give up on this seed's run: the schedule, then die naming the seed
sub fatal
{
	my ($msg) = @_;
	diag("seed $seed schedule: " . join('; ', @log));
	die "seed $seed: $msg\n";
}

# run sql at a region: (ok, stdout, SQLSTATE of the error or '', stderr)
sub try_sql
{
	my ($r, $sql) = @_;
	my ($rc, $out, $err) = $nodes[$r]->psql('postgres', $sql,
		extra_params => [ '-v', 'VERBOSITY=verbose' ]);
	my ($state) = ($err // '') =~ /ERROR:\s+([0-9A-Z]{5}):/;
	return ($rc == 0, $out, $state // '', $err // '');
}

# the region that leads now as the running regions see it (the latest term
# if two still say so), or undef; the last leader is asked first
sub current_leader
{
	my (%opts) = @_;
	my @order = ((grep { $_ == $last_leader } up_regions()), (grep { $_ != $last_leader } up_regions()));
	my ($best, $best_term);
	for my $r (@order)
	{
		my $row = $nodes[$r]->safe_psql('postgres',
			q{SELECT role || ' ' || term FROM tidal.cluster WHERE is_local});
		my ($role, $term) = split / /, $row;
		next unless $role eq 'leader';
		($best, $best_term) = ($r, $term) if !defined $best_term || $term > $best_term;
		last unless $opts{all};    # the last leader still says so: good enough
	}
	$last_leader = $best if defined $best;
	return $best;
}

# a leader-only call at whichever running region accepts it: (ok, stdout,
# region, SQLSTATE).  25006 (not the leader) moves on to the next region;
# another error is returned if its SQLSTATE is allowed, and fatal otherwise.
sub leader_try
{
	my ($sql, @allowed) = @_;
	my @order = ((grep { $_ == $last_leader } up_regions()), (grep { $_ != $last_leader } up_regions()));
	for my $r (@order)
	{
		my ($ok, $out, $state, $err) = try_sql($r, $sql);
		if ($ok)
		{
			$last_leader = $r;
			return (1, $out, $r, '');
		}
		next if $state eq '25006';
		return (0, undef, $r, $state) if grep { $_ eq $state } @allowed;
		fatal("region $r: unexpected error from the leader-only call $sql: $err");
	}
	return (0, undef, undef, '25006');
}

# the same, retried until a region accepts it (or timeout seconds pass)
sub leader_call
{
	my ($sql, $timeout, @allowed) = @_;
	my ($ok, $out, $r);
	$c->wait_until($timeout, sub { ($ok, $out, $r) = leader_try($sql, @allowed); $ok })
	  or fatal("no region accepted $sql within $timeout s (leaders: " . $c->leaders(up_regions()) . ')');
	return ($out, $r);
}

for my $s (@seeds)
{
	$seed = $s;
	srand($seed);
	note("seed $seed");
	my $base = $seed * 100;
	my @entities = map { $base + $_ } 1 .. 5;
	my @users = map { $base + 50 + $_ } 1 .. 3;
	my $tenant = 1000 + $seed;
	my %score;      # "tenant entity" -> model score at $at
	my %hour;       # "tenant entity" -> model window_count over the hour before $at
	my %keyed;      # "tenant key" -> [entity, weight, minutes ago] of the write
	my %hide;       # "user item" -> [max hide hlc key, max unhide hlc key]
	my %sess;       # seqno -> [entity, weight, minutes ago] of the seed's session write
	my $sess_next = 0;    # the session's highest seqno so far
	my @sess_gaps;  # seqnos skipped, not written yet
	%up = map { $_ => 1 } 0 .. 2;
	@log = ();
	my $restarted = 0;
	my $restart_at = 5 + int(rand($ops_per_seed - 10));

	# the tenant, stored in one region, and where it will move
	my $home = int(rand(3));
	my $target = ($home + 1 + int(rand(2))) % 3;
	my $mig_begin_at = 3 + int(rand(12));
	# one or two leader kills, the first usually while the tenant migrates
	my @kill_at = ($mig_begin_at + 1 + int(rand(12)));
	push @kill_at, 28 + int(rand(6)) if rand() < 0.3;
	my %revive_at;      # op -> region killed, to start again
	my $kills = 0;
	my @quorum_entities;

	my $signal_value = sub {
		my ($w, $minutes) = @_;
		return $w * 2**(-($minutes * 60) / $half_life);
	};
	my $count = sub {
		my ($t, $e, $w, $min) = @_;
		$score{"$t $e"} += $signal_value->($w, $min);
		# the hour's window: 10 buckets of 6 minutes, the last one holding $at (12:00)
		$hour{"$t $e"} += $w if $min <= 54;
	};

	my ($hlc) = leader_call(qq{SELECT tidal.register_tenant($tenant, 'acme$seed', required_regions => '{$home}')}, 20);
	push @log, "register tenant $tenant in {$home}";
	# every instance (each shard of every region) knows the tenant before any writes it
	ok($c->wait_until(10, sub {
				!grep { $_->safe_psql('postgres', "SELECT count(*) FROM tidal.tenants WHERE tenant_id = $tenant") ne '1' }
				  $c->all_nodes }),
		"seed $seed: tenant $tenant is registered everywhere");

	# ---- the migration, one step an op, on the leader of the moment ----
	my %mig = (id => undef, dual_ops => 2 + int(rand(5)), last_call => undef, redo => 0,
		early_checked => 0, gc_checked => 0, done => 0, retried => 0);
	my $mig_state_at = sub {
		my ($r) = @_;
		return $nodes[$r]->safe_psql('postgres',
			"SELECT coalesce((SELECT state FROM tidal.migrations WHERE id = $mig{id}), 'unknown')");
	};
	# one step call at region r: returns (ok, state); 25006 means r no longer leads
	my $step_call = sub {
		my ($r, $fn, @allowed) = @_;
		my ($ok, $out, $state, $err) = try_sql($r, "SELECT tidal.$fn($mig{id})");
		return (1, $out) if $ok;
		return (0, $state) if grep { $_ eq $state } ('25006', @allowed);
		fatal("region $r: tidal.$fn($mig{id}) failed unexpectedly: $err");
	};
	my $check_state = sub {
		my ($what, $got, $want) = @_;
		fatal("$what returned '$got', expected '$want' or later")
		  unless defined $step_no{$got} && $step_no{$got} >= $step_no{$want};
	};
	my %step_fn = (prepare => 'migration_prepare_target', dual => 'migration_enter_dual_write',
		finalize => 'migration_finalize', gc => 'migration_gc_source');
	my %step_reaches = (prepare => 'preparing', dual => 'dual_write', finalize => 'finalizing', gc => 'done');
	my $advance = sub {
		my ($final) = @_;
		return if $mig{done};
		my $L = current_leader();
		return unless defined $L;
		if (!defined $mig{id})
		{
			my ($ok, $out, $r) = leader_try("SELECT tidal.begin_tenant_migration($tenant, $target)");
			return unless $ok;
			$mig{id} = $out;
			push @log, "begin migration $out to $target at r$r";
			# a retry returns the same migration
			my ($ok2, $again) = try_sql($r, "SELECT tidal.begin_tenant_migration($tenant, $target)");
			fatal("begin_tenant_migration retried at region $r returned $again, not $mig{id}")
			  if $ok2 && $again ne $mig{id};
			$mig{last_call} = 'begin';
			return;
		}
		# after a leader kill: the last step called again, at the new leader
		if ($mig{redo} && $mig{last_call})
		{
			my $call = $mig{last_call};
			if ($call eq 'begin')
			{
				my ($ok, $out, $state) = try_sql($L, "SELECT tidal.begin_tenant_migration($tenant, $target)");
				if ($ok)
				{
					fatal("begin_tenant_migration at the new leader (region $L) returned $out, not $mig{id}")
					  unless $out eq $mig{id};
					push @log, "redo begin at r$L";
					$mig{redo} = 0;
				}
				elsif ($state ne '25006')
				{
					fatal("begin_tenant_migration at the new leader (region $L) failed with $state");
				}
				return;
			}
			my ($ok, $got) = $step_call->($L, $step_fn{$call}, '42704', '55000');
			if ($ok)
			{
				$check_state->("$step_fn{$call} called again at the new leader (region $L)", $got, $step_reaches{$call});
				push @log, "redo $call at r$L: $got";
				$mig{redo} = 0;
				$mig{retried}++;
			}
			else
			{
				push @log, "redo $call at r$L: $got";
			}
			return;
		}
		my $state = $mig_state_at->($L);
		my $call;
		if ($state eq 'unknown')
		{
			return;    # the leader has not learned of it yet
		}
		elsif ($state eq 'begun')
		{
			$call = 'prepare';
		}
		elsif ($state eq 'preparing')
		{
			# not yet allowed: finalize (55000, always) and dual write (55000
			# unless the target's report arrives just now)
			return if $mig{early_checked}++;
			my ($ok, $got) = $step_call->($L, 'migration_finalize', '55000');
			fatal("migration_finalize at region $L succeeded while the migration was $state ($got)") if $ok;
			push @log, "early finalize at r$L: $got";
			($ok, $got) = $step_call->($L, 'migration_enter_dual_write', '55000');
			if ($ok)
			{
				$check_state->('migration_enter_dual_write', $got, 'dual_write');
				$mig{last_call} = 'dual';
			}
			push @log, "early dual write at r$L: $got";
			return;
		}
		elsif ($state eq 'prepared')
		{
			$call = 'dual';
		}
		elsif ($state eq 'dual_write')
		{
			if ($mig{dual_ops} > 0 && !$final)
			{
				$mig{dual_ops}--;
				return if $mig{gc_checked}++;
				my ($ok, $got) = $step_call->($L, 'migration_gc_source', '55000');
				fatal("migration_gc_source at region $L succeeded while the migration was $state ($got)") if $ok;
				push @log, "early gc at r$L: $got";
				return;
			}
			$call = 'finalize';
		}
		elsif ($state eq 'finalizing')
		{
			return;    # the target reports finalized
		}
		elsif ($state eq 'finalized')
		{
			$call = 'gc';
		}
		elsif ($state eq 'done')
		{
			$mig{done} = 1;
			return;
		}
		else
		{
			fatal("region $L shows migration $mig{id} in state '$state'");
		}

		# the leader showed the state the step needs: only 25006 may stop it --
		# and 55000 for prepare when the leader is the target and cannot reach
		# a region that stores the tenant (since 0.6 the target fetches the
		# records its log lacks from one; the call is retried)
		my $cutover_sql = "SELECT coalesce(cutover::text, '') FROM tidal.migrations WHERE id = $mig{id}";
		my ($ok, $got) = $step_call->($L, $step_fn{$call}, $call eq 'prepare' ? ('55000') : ());
		if (!$ok)
		{
			push @log, "$call at r$L: $got";
			return;
		}
		$check_state->("$step_fn{$call} at region $L", $got, $step_reaches{$call});
		push @log, "$call at r$L: $got";
		$mig{last_call} = $call;
		# the calls are idempotent: finalize always, the others now and then, again
		if ($call eq 'finalize' || rand() < 0.3)
		{
			my $cutover = $nodes[$L]->safe_psql('postgres', $cutover_sql);
			my ($ok2, $again) = $step_call->($L, $step_fn{$call});
			if ($ok2)
			{
				$check_state->("$step_fn{$call} called again at region $L", $again, $step_reaches{$call});
				my $cutover2 = $nodes[$L]->safe_psql('postgres', $cutover_sql);
				fatal("migration_finalize called again at region $L took a new cut-over: $cutover -> $cutover2")
				  if $call eq 'finalize' && $cutover ne $cutover2;
				push @log, "again $call at r$L: $again";
				$mig{retried}++;
			}
		}
		return;
	};

	# the profile defined at the new leader after each kill
	my @profiles_pending;
	my @profiles;

	# sharded: the op from which the leader moves [base + 3, base + 9) to shard 0
	my $move_range = sprintf('[%d,%d)', $base + 3, $base + 9);
	my $move_at = $shards > 1 ? 3 + int(rand($ops_per_seed - 6)) : 0;
	my $moved = $shards == 1;
	my $move = sub {
		my ($ok, $out, $r, $state) = leader_try("SELECT tidal.move_shard_range('$move_range', 0)", '0A000');
		# 0A000: an earlier call moved it, though its answer was lost
		if ($ok || $state eq '0A000')
		{
			$moved = 1;
			push @log, "move $move_range to shard 0 at r$r";
		}
	};

	my $t0 = time();
	for my $op (1 .. $ops_per_seed)
	{
		$move->() if !$moved && $op >= $move_at;
		push @log, sprintf('[op %d %.2f]', $op, time() - $t0) if 1;
		# a killed leader comes back
		if (defined(my $r = $revive_at{$op}))
		{
			$nodes[$r]->start;
			$up{$r} = 1;
			push @log, "start r$r";
		}
		# kill -9 the leader, after a quorum write there
		if (@kill_at && $op == $kill_at[0])
		{
			# (only with every region up, so that two can elect a new leader)
			my $L = (grep { !$up{$_} } 0 .. 2) ? undef : current_leader(all => 1);
			if (!defined $L)
			{
				# a region is down, an election is under way, or the cuts leave
				# no majority: try at the next op
				$kill_at[0]++ if $op < $ops_per_seed - 2;
				shift @kill_at if $op >= $ops_per_seed - 2;
				push @log, 'no leader to kill';
			}
			else
			{
				shift @kill_at;
				my $qe = $base + 9 + $kills;
				# sharded: an entity of the leader's shard, whose region peers a quorum commit waits for
				$qe += 10 while $shards > 1
				  && $nodes[$L]->safe_psql('postgres', "SELECT tidal.shard_for($qe)") ne '0';
				push @quorum_entities, $qe;
				my ($ok, $out, $state, $err) = try_sql($L, qq{
					SET tidal.commit_ack = quorum;
					SET tidal.commit_ack_timeout = '2s';
					SELECT tidal.signal('view', $qe, 1, '$at');});
				fatal("region $L: the quorum write failed: $err") unless $ok;
				$count->(0, $qe, 1, 0);
				my $acked = $err !~ /WARNING/;
				$nodes[$L]->stop('immediate');
				$up{$L} = 0;
				$kills++;
				push @log, "kill leader r$L" . ($acked ? '' : ' (quorum write not acknowledged)');
				if ($acked)
				{
					# a majority applied it: one of the survivors at least has it now
					my @there = map { $nodes[$_]->safe_psql('postgres',
							"SELECT round(tidal.decay_score($qe, 'view', '$at')::numeric, 6)") } up_regions();
					ok(scalar(grep { $_ eq '1.000000' } @there),
						"seed $seed: a survivor of the kill of region $L has its last quorum write (@there)")
					  or diag("seed $seed schedule: " . join('; ', @log));
				}
				my $back = $op + 2 + int(rand(6));
				$back++ while $revive_at{$back};
				$revive_at{$back} = $L;
				$mig{redo} = 1 if defined $mig{id} && !$mig{done};
				push @profiles_pending, "p$seed-$kills";
			}
		}
		if ($op == $restart_at && !$restarted)
		{
			my @live = up_regions();
			my $r = $live[ int(rand(@live)) ];
			push @log, "restart $r";
			$nodes[$r]->stop('immediate');
			$nodes[$r]->start;
			$restarted = 1;
			next;
		}
		$advance->(0) if $op >= $mig_begin_at;
		if (@profiles_pending)
		{
			my $p = $profiles_pending[0];
			my ($ok, $out, $r) = leader_try(qq{SELECT tidal.define_profile('$p', '{"terms": [{"signal": "view"}]}')});
			if ($ok)
			{
				push @profiles, shift @profiles_pending;
				push @log, "define profile $p at r$r";
			}
		}

		my @live = up_regions();
		my $r = $live[ int(rand(@live)) ];
		my $node = writer($r, 0);
		my $dice = rand();
		if ($dice < 0.15)
		{
			# the seed's session: its next seqno, a seqno skipped (a gap, written
			# later), a gap filled, or a retry of a seqno written before --
			# each through any region
			my $roll = rand();
			my $n;
			if ($roll < 0.2)
			{
				push @sess_gaps, ++$sess_next;
				$sess{$sess_next} = [ $entities[ int(rand(@entities)) ], 1 + int(rand(3)), int(rand(600)) ];
				$count->(0, @{ $sess{$sess_next} });
				push @log, "session gap at $sess_next";
				next;
			}
			elsif ($roll < 0.4 && @sess_gaps)
			{
				$n = splice(@sess_gaps, int(rand(@sess_gaps)), 1);
			}
			elsif ($roll < 0.6 && $sess_next > 0)
			{
				$n = 1 + int(rand($sess_next));
				next if grep { $_ == $n } @sess_gaps;
			}
			else
			{
				$n = ++$sess_next;
				$sess{$n} = [ $entities[ int(rand(@entities)) ], 1 + int(rand(3)), int(rand(600)) ];
				$count->(0, @{ $sess{$n} });
			}
			my ($e, $w, $min) = @{ $sess{$n} };
			$node->safe_psql('postgres',
				"SELECT tidal.signal('view', $e, $w, timestamptz '$at' - interval '$min minutes', session => 's$seed', session_seqno => $n)");
			push @log, "session r$r seqno $n e$e";
		}
		elsif ($dice < 0.40)
		{
			my $t = rand() < 0.5 ? $tenant : 0;
			$node = writer($r, $t);
			my $e = $entities[ int(rand(@entities)) ];
			my $w = 1 + int(rand(3));
			my $min = int(rand(600));
			$node->safe_psql('postgres',
				"SELECT tidal.signal('view', $e, $w, timestamptz '$at' - interval '$min minutes', tenant => $t)");
			$count->($t, $e, $w, $min);
			push @log, "signal r$r t$t e$e w$w -$min";
		}
		elsif ($dice < 0.55)
		{
			# an idempotent write, or a retry of one (same key and arguments), anywhere
			my @keys = sort keys %keyed;
			my $tkey = (@keys && rand() < 0.5)
			  ? $keys[ int(rand(@keys)) ]
			  : (rand() < 0.5 ? $tenant : 0) . " s$seed-k$op";
			my ($t, $key) = split / /, $tkey;
			$node = writer($r, $t);
			my ($e, $w, $min) = @{ $keyed{$tkey} // [ $entities[ int(rand(@entities)) ], 1 + int(rand(3)), int(rand(600)) ] };
			$node->safe_psql('postgres',
				"SELECT tidal.signal('view', $e, $w, timestamptz '$at' - interval '$min minutes', idempotency_key => '$key', tenant => $t)");
			$count->($t, $e, $w, $min) unless $keyed{$tkey};
			$keyed{$tkey} = [ $e, $w, $min ];
			push @log, "keyed r$r t$t $key e$e";
		}
		elsif ($dice < 0.75)
		{
			my $u = $users[ int(rand(@users)) ];
			my $e = $entities[ int(rand(@entities)) ];
			my $hide = rand() < 0.6;
			my $fn = $hide ? 'hide_item' : 'unhide_item';
			my $hlc = $node->safe_psql('postgres', "SELECT tidal.$fn($u, $e)");
			my $slot = $hide{"$u $e"} //= [ '', '' ];
			my $k = hlc_key($hlc);
			my $i = $hide ? 0 : 1;
			$slot->[$i] = $k if $k gt $slot->[$i];
			push @log, "$fn r$r u$u e$e";
		}
		elsif ($dice < 0.90)
		{
			my ($a, $b) = (int(rand(3)), int(rand(3)));
			next if $a == $b;
			my $mode = rand() < 0.5 ? 'refuse' : 'blackhole';
			my $oneway = rand() < 0.5 ? 1 : 0;
			$c->cut($a, $b, mode => $mode, oneway => $oneway);
			push @log, "cut $a-$b $mode" . ($oneway ? ' oneway' : '');
		}
		else
		{
			$c->heal_all;
			push @log, 'heal';
		}
	}
	for my $r (grep { !$up{$_} } 0 .. 2)
	{
		$nodes[$r]->start;
		$up{$r} = 1;
		push @log, "start r$r";
	}
	$c->heal_all;
	push @log, 'heal all';
	# the session's gaps are filled at last, each through some region
	for my $n (@sess_gaps)
	{
		my ($e, $w, $min) = @{ $sess{$n} };
		writer(int(rand(3)), 0)->safe_psql('postgres',
			"SELECT tidal.signal('view', $e, $w, timestamptz '$at' - interval '$min minutes', session => 's$seed', session_seqno => $n)");
		push @log, "session gap $n filled";
	}

	# finish the migration (and the profiles) on the leader, whoever it is now
	$c->wait_until(60, sub { $advance->(1); $mig{done} })
	  or fatal("migration $mig{id} of tenant $tenant did not finish within 60 s of the heal; states: "
		  . join(' ', $c->query_all(
				"SELECT coalesce((SELECT state FROM tidal.migrations WHERE id = $mig{id}), 'unknown')")));
	for my $p (@profiles_pending)
	{
		my (undef, $r) = leader_call(qq{SELECT tidal.define_profile('$p', '{"terms": [{"signal": "view"}]}')}, 20);
		push @profiles, $p;
		push @log, "define profile $p at r$r";
	}

	# the move, if no leader took it during the schedule
	$c->wait_until(30, sub { $move->() unless $moved; $moved }) or fatal("no leader moved $move_range");

	# the model, and what every region says
	my $entity_list = join(',', @entities, @quorum_entities);
	my $state_sql = sub {
		my ($t) = @_;
		return qq{
			SELECT string_agg(e || '=' || round(tidal.decay_score(e, 'view', '$at', tenant => $t)::numeric, 6)
			                    || '/' || tidal.window_count(e, 'view', '1 hour', '$at', tenant => $t), ' ' ORDER BY e)
			  FROM unnest('{$entity_list}'::bigint[]) e};
	};
	my $expected_state = sub {
		my ($t, $stored) = @_;
		return join(' ', map {
				"$_="
				  . sprintf('%.6f', $stored ? $score{"$t $_"} // 0 : 0) . '/'
				  . ($stored ? $hour{"$t $_"} // 0 : 0)
		} sort { $a <=> $b } @entities, @quorum_entities);
	};
	my @pairs = sort keys %hide;
	my $hidden_sql = @pairs
	  ? 'SELECT ' . join(" || ' ' || ", map { my ($u, $e) = split / /; "tidal.is_hidden($u, $e)::text" } @pairs)
	  : q{SELECT ''};
	my $expected_hidden = join(' ', map { $hide{$_}[0] gt $hide{$_}[1] ? 'true' : 'false' } @pairs);
	my $tenant_sql = qq{SELECT stored_here || ' ' || home_region || ' ' || coalesce(migration_state, '-')
		|| ' ' || required_regions::text FROM tidal.tenants WHERE tenant_id = $tenant};
	my $session_sql = qq{SELECT applied_seqno || '/' || held FROM tidal.session_status('s$seed')};
	my $profile_list = join(',', map { "'$_'" } @profiles);
	my $profile_sql = @profiles
	  ? "SELECT count(*) FROM tidal.profiles WHERE name IN ($profile_list)"
	  : 'SELECT 0';
	my $expect = sub {
		my ($r, $shard) = @_;
		my $stored = $r == $target;
		# the tenant lives on shard 0 of its region; its other shards answer for it by asking there
		my $held_here = $stored && ($shard // 0) == 0;
		return join(' | ', $expected_state->(0, 1), $expected_hidden,
			($held_here ? 'true' : 'false') . " $target done {$target}",
			$expected_state->($tenant, $stored), scalar(@profiles), "$sess_next/0");
	};
	my $report = sub {
		my ($r, $shard) = @_;
		my $n = $c->node_of($r, $shard // 0);
		return join(' | ', $n->safe_psql('postgres', $state_sql->(0)), $n->safe_psql('postgres', $hidden_sql),
			$n->safe_psql('postgres', $tenant_sql), $n->safe_psql('postgres', $state_sql->($tenant)),
			$n->safe_psql('postgres', $profile_sql), $n->safe_psql('postgres', $session_sql));
	};

	my $converged = $c->wait_until(30, sub {
		for my $r (0 .. 2)
		{
			for my $s (0 .. $shards - 1)
			{
				return 0 unless $report->($r, $s) eq $expect->($r, $s);
			}
		}
		return 1;
	});
	ok($converged, "seed $seed: every region converges to the model, tenant $tenant in region $target alone");
	if ($shards > 1)
	{
		my @left = map { $c->node_of($_, 1)->safe_psql('postgres', "SELECT tidal.state_entries('$move_range')") } 0 .. 2;
		is("@left", '0 0 0', "seed $seed: shard 1 holds nothing of the moved range $move_range in any region");
	}
	if (!$converged)
	{
		diag("seed $seed schedule: " . join('; ', @log));
		for my $r (0 .. 2)
		{
			diag("seed $seed model $r:  " . $expect->($r));
			diag("seed $seed region $r, shard $_: " . $report->($r, $_) . "\n  model: " . $expect->($r, $_)) for 1 .. $shards - 1;
			diag("seed $seed region $r: " . $report->($r) . ' | marks '
				  . $nodes[$r]->safe_psql('postgres',
					  q{SELECT string_agg(origin_region || ':' || last_seq, ' ' ORDER BY 1) FROM tidal.log_status})
				  . ' | migration ' . $nodes[$r]->safe_psql('postgres',
					  "SELECT state || ' ' || coalesce(cutover::text, '') FROM tidal.migrations WHERE id = $mig{id}"));
		}
	}
	my $one_leader = $c->wait_until(20, sub {
		return 0 unless $c->leaders =~ /^(\d+):\d+$/;
		my $l = $1;
		return (grep { $c->leader_of($_) eq $l } 0 .. 2) == 3;
	});
	ok($one_leader, "seed $seed: exactly one leader, known to every region")
	  or diag("seed $seed: leaders '" . $c->leaders . "', as each region sees it: "
		  . join(' ', map { $c->leader_of($_) } 0 .. 2));
	note("DEBUG seed $seed schedule: " . join('; ', @log)) if 1;
	note("seed $seed: $kills leader kill(s), migration $mig{id} of tenant $tenant {$home} -> $target, "
		  . "$mig{retried} step(s) called again");
}

$c->stop;
done_testing();
