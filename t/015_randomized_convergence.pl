# Randomized convergence: for each seed, a random schedule of writes at every
# region (signals, idempotent writes and their retries, hides and unhides),
# interleaved with cuts (refused or black-holed, one way or both), heals and
# one immediate restart of a random region.  Once healed, every region must
# converge to the same state, equal to a model computed here from the writes
# that committed.  One cluster serves every seed; each seed has its own
# entities and users.  Seeds are printed; TIDAL_SEEDS="7 8" reruns some.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use TidalCluster;

my @seeds = $ENV{TIDAL_SEEDS} ? split(/[ ,]+/, $ENV{TIDAL_SEEDS}) : (1 .. 20);
my $ops_per_seed = 40;
my $at = '2026-11-24 12:00:00+00';
my $at_epoch = 1795521600;
my $half_life = 7 * 86400;

my $c = TidalCluster->new(3);
my @nodes = $c->nodes;
$nodes[0]->safe_psql('postgres', q{SELECT tidal.define_signal('view', '7 days')});
ok($c->wait_until(10, sub { join(',', $c->query_all(q{SELECT count(*) FROM tidal.signals})) eq '1,1,1' }),
	'the signal is defined everywhere');

# an HLC's text '(wall,logical,node)' as a comparable key
sub hlc_key
{
	my ($text) = @_;
	my ($w, $l, $n) = $text =~ /\((\d+),(\d+),(\d+)\)/ or die "bad hlc $text";
	return sprintf('%020d.%010d.%05d', $w, $l, $n);
}

for my $seed (@seeds)
{
	srand($seed);
	note("seed $seed");
	my $base = $seed * 100;
	my @entities = map { $base + $_ } 1 .. 5;
	my @users = map { $base + 50 + $_ } 1 .. 3;
	my %score;      # entity -> model score at $at
	my %keyed;      # key -> [entity, weight, minutes ago] of the write
	my %hide;       # "user item" -> [max hide hlc key, max unhide hlc key]
	my %up = map { $_ => 1 } 0 .. 2;
	my $restarted = 0;
	my $restart_at = 5 + int(rand($ops_per_seed - 10));
	my @log;

	my $signal_value = sub {
		my ($w, $minutes) = @_;
		return $w * 2**(-($minutes * 60) / $half_life);
	};

	for my $op (1 .. $ops_per_seed)
	{
		if ($op == $restart_at && !$restarted)
		{
			my $r = int(rand(3));
			push @log, "restart $r";
			$nodes[$r]->stop('immediate');
			$nodes[$r]->start;
			$restarted = 1;
			next;
		}
		my $r = int(rand(3));
		my $node = $nodes[$r];
		my $dice = rand();
		if ($dice < 0.40)
		{
			my $e = $entities[ int(rand(@entities)) ];
			my $w = 1 + int(rand(3));
			my $min = int(rand(600));
			$node->safe_psql('postgres',
				"SELECT tidal.signal('view', $e, $w, timestamptz '$at' - interval '$min minutes')");
			$score{$e} += $signal_value->($w, $min);
			push @log, "signal r$r e$e w$w -$min";
		}
		elsif ($dice < 0.55)
		{
			# an idempotent write, or a retry of one (same key and arguments), anywhere
			my @keys = sort keys %keyed;
			my $key = (@keys && rand() < 0.5) ? $keys[ int(rand(@keys)) ] : "s$seed-k$op";
			my ($e, $w, $min) = @{ $keyed{$key} // [ $entities[ int(rand(@entities)) ], 1 + int(rand(3)), int(rand(600)) ] };
			$node->safe_psql('postgres',
				"SELECT tidal.signal('view', $e, $w, timestamptz '$at' - interval '$min minutes', idempotency_key => '$key')");
			$score{$e} += $signal_value->($w, $min) unless $keyed{$key};
			$keyed{$key} = [ $e, $w, $min ];
			push @log, "keyed r$r $key e$e";
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
	$c->heal_all;

	# the model, and what every region says
	my $entity_list = join(',', @entities);
	my $state_sql = qq{
		SELECT string_agg(e || '=' || round(tidal.decay_score(e, 'view', '$at')::numeric, 6), ' ' ORDER BY e)
		  FROM unnest('{$entity_list}'::bigint[]) e};
	my $expected_state = join(' ', map { "$_=" . sprintf('%.6f', $score{$_} // 0) } @entities);
	my @pairs = sort keys %hide;
	my $hidden_sql = @pairs
	  ? 'SELECT ' . join(" || ' ' || ", map { my ($u, $e) = split / /; "tidal.is_hidden($u, $e)::text" } @pairs)
	  : q{SELECT ''};
	my $expected_hidden = join(' ', map { $hide{$_}[0] gt $hide{$_}[1] ? 'true' : 'false' } @pairs);

	my $converged = $c->wait_until(30, sub {
		for my $n (@nodes)
		{
			return 0 unless $n->safe_psql('postgres', $state_sql) eq $expected_state;
			return 0 unless $n->safe_psql('postgres', $hidden_sql) eq $expected_hidden;
		}
		return 1;
	});
	ok($converged, "seed $seed: every region converges to the model");
	if (!$converged)
	{
		diag("seed $seed schedule: " . join('; ', @log));
		diag("model:    $expected_state | $expected_hidden");
		diag("region $_: " . $nodes[$_]->safe_psql('postgres', $state_sql) . ' | '
			  . $nodes[$_]->safe_psql('postgres', $hidden_sql) . ' | marks '
			  . $nodes[$_]->safe_psql('postgres',
				  q{SELECT string_agg(origin_region || ':' || last_seq, ' ' ORDER BY 1) FROM tidal.log_status}))
		  for 0 .. 2;
	}
}

$c->stop;
done_testing();
