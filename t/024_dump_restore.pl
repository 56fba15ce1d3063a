# A pg_dump backup keeps everything tidal holds (issue 11, finding 7):
# signal definitions, the log (sealed batches and records not yet sealed),
# items, hides, profiles, tenants with their quotas and idempotency keys.
# Restored into a fresh instance with tidal preloaded, the hot state is
# rebuilt from the restored log on first use: every entity's decay_score
# and window_count are equal (1e-9) and tidal.retrieve returns the same
# items in the same order, for tenant 0 and another tenant.  Both the
# custom format (pg_restore) and the plain format (psql) are checked.
use strict;
use warnings;

use File::Temp qw(tempdir);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use TidalNode;

my $AT = '2026-01-10 12:00:00+00';
my @TENANTS = (0, 5);

my $src = TidalNode->create_started('dump_source');
$src->safe_psql('postgres', q{
	SELECT tidal.define_signal('view', '1 hour', '{1 hour, 1 day}');
	SELECT tidal.define_signal('like', '1 day', '{1 day}');
	SELECT tidal.define_signal('skip', '6 hours');
	SELECT tidal.register_tenant(5, 'acme', max_signals_per_sec => 100000, max_entities => 5000);
	SELECT tidal.register_tenant(0, 'default', max_entities => 20000);
	SELECT tidal.define_profile('mine', '{"terms": [{"signal": "view", "measure": "decay_score"},
	                                                {"signal": "like", "measure": "window_count", "window": "1 day", "weight": 2}],
	                                      "freshness": {"half_life": "2 days", "weight": 0.5}}');
	SELECT tidal.define_profile('popular', '{"terms": [{"signal": "like", "measure": "decay_score"}]}');
});
for my $t (@TENANTS)
{
	$src->safe_psql('postgres', qq{
		SELECT tidal.upsert_item(i, creator => i % 7, metadata => jsonb_build_object('n', i),
		                         created_at => timestamptz '2026-01-01' + i * interval '1 hour', tenant => $t)
		  FROM generate_series(1, 60) i;
		SELECT tidal.signal_batch('view', ARRAY(SELECT (g % 60 + 1)::bigint FROM generate_series(1, 600) g),
		                          ARRAY(SELECT (g % 5 + 1)::float8 FROM generate_series(1, 600) g),
		                          ARRAY(SELECT timestamptz '2026-01-10' + g * interval '61 seconds' FROM generate_series(1, 600) g),
		                          tenant => $t);
		SELECT tidal.signal('like', i, 1.5, timestamptz '2026-01-09 08:00' + i * interval '7 minutes', tenant => $t)
		  FROM generate_series(1, 60, 3) i;
		SELECT tidal.signal('view', 7, 2, '2026-01-10 09:00', idempotency_key => 'k-$t', tenant => $t);
		SELECT tidal.hide_item(1, 2, tenant => $t);
		SELECT tidal.hide_item(1, 3, tenant => $t);
		SELECT tidal.block_creator(1, 4, tenant => $t);
	});
}
# part of the log sealed into batches, the rest still pending
$src->safe_psql('postgres', 'SELECT tidal.seal()');
for my $t (@TENANTS)
{
	$src->safe_psql('postgres', qq{
		SELECT tidal.signal('like', i, 1, timestamptz '2026-01-10 11:00' + i * interval '1 second', tenant => $t)
		  FROM generate_series(2, 60, 4) i;});
}

# every entity's scores at a fixed time, and the rankings
sub snapshot
{
	my ($node) = @_;
	my %s;
	for my $t (@TENANTS)
	{
		$s{"scores $t"} = $node->safe_psql('postgres', qq{
			SELECT string_agg(format('%s|%s|%s|%s|%s', e,
			                         tidal.decay_score(e, 'view', '$AT', tenant => $t),
			                         tidal.window_count(e, 'view', '1 hour', '$AT', tenant => $t),
			                         tidal.window_count(e, 'view', '1 day', '$AT', tenant => $t),
			                         tidal.decay_score(e, 'like', '$AT', tenant => $t)), ';' ORDER BY e)
			  FROM generate_series(1, 61) e});
		for my $p ('mine', 'popular', 'trending')
		{
			$s{"retrieve $p $t"} = $node->safe_psql('postgres', qq{
				SELECT string_agg(item_id::text, ',' ORDER BY rank)
				  FROM tidal.retrieve(for_user => 1, profile => '$p', lim => 30, at => '$AT', tenant => $t)});
		}
		$s{"hidden $t"} = $node->safe_psql('postgres',
			"SELECT tidal.is_hidden(1, 2, tenant => $t) AND NOT tidal.is_hidden(1, 5, tenant => $t)");
	}
	$s{tenants} = $node->safe_psql('postgres',
		'SELECT string_agg(format(\'%s %s %s %s\', tenant_id, label, max_signals_per_sec, max_entities), \',\' ORDER BY tenant_id) FROM tidal.tenants');
	$s{signals} = $node->safe_psql('postgres',
		'SELECT string_agg(format(\'%s %s %s\', name, half_life, windows), \',\' ORDER BY name) FROM tidal.signals');
	$s{profiles} = $node->safe_psql('postgres',
		'SELECT string_agg(format(\'%s %s\', name, spec), \',\' ORDER BY name) FROM tidal.profile_defs');
	return \%s;
}

sub same_scores
{
	my ($a, $b, $what) = @_;
	my @ra = split /;/, $a;
	my @rb = split /;/, $b;
	is(scalar(@rb), scalar(@ra), "$what: as many entities");
	my $bad = 0;
	for my $i (0 .. $#ra)
	{
		my @fa = split /\|/, $ra[$i];
		my @fb = split /\|/, ($rb[$i] // '');
		for my $k (0 .. $#fa)
		{
			my $x = $fa[$k];
			my $y = $fb[$k] // 'missing';
			next if $y ne 'missing' && abs($x - $y) <= 1e-9 * (1 + abs($x));
			diag("$what: entity row $i field $k: $x before, $y after") if $bad++ < 5;
		}
	}
	is($bad, 0, "$what: every score equal within 1e-9");
}

my $before = snapshot($src);
like($before->{'scores 0'}, qr/\|[1-9]/, 'the source has scores');
like($before->{'retrieve mine 5'}, qr/,/, 'and rankings');

my $dir = tempdir(CLEANUP => 1);

sub compare
{
	my ($node, $how) = @_;
	my $after = snapshot($node);
	for my $t (@TENANTS)
	{
		same_scores($before->{"scores $t"}, $after->{"scores $t"}, "$how, tenant $t");
		for my $p ('mine', 'popular', 'trending')
		{
			is($after->{"retrieve $p $t"}, $before->{"retrieve $p $t"},
				"$how, tenant $t: retrieve with profile $p gives the same items in the same order");
		}
		is($after->{"hidden $t"}, 't', "$how, tenant $t: hides kept");
	}
	for my $k ('tenants', 'signals', 'profiles')
	{
		is($after->{$k}, $before->{$k}, "$how: $k kept");
	}
	# the restored node keeps writing: its log continues after the restored one
	$node->safe_psql('postgres', "SELECT tidal.signal('view', 61, 1, '$AT'); SELECT tidal.seal();");
	cmp_ok($node->safe_psql('postgres', "SELECT tidal.decay_score(61, 'view', '$AT')"), '>', 0,
		"$how: new writes count");
	# an idempotency key used before the dump still makes a retry count once
	my $score7 = $node->safe_psql('postgres', "SELECT tidal.decay_score(7, 'view', '$AT', tenant => 5)");
	$node->safe_psql('postgres',
		"SELECT tidal.signal('view', 7, 2, '2026-01-10 09:00', idempotency_key => 'k-5', tenant => 5)");
	is($node->safe_psql('postgres', "SELECT tidal.decay_score(7, 'view', '$AT', tenant => 5)"), $score7,
		"$how: a retried idempotent write does not count twice");
}

# custom format, restored with pg_restore into a fresh instance with tidal preloaded
$src->command_ok([ 'pg_dump', '-Fc', '-f', "$dir/tidal.dump", '-d', $src->connstr('postgres') ],
	'pg_dump -Fc');
my $dst = TidalNode->new('dump_restored');
$dst->start;
$dst->command_ok([ 'pg_restore', '--no-owner', '--exit-on-error', '-d', $dst->connstr('postgres'), "$dir/tidal.dump" ],
	'pg_restore into a fresh instance');
compare($dst, 'pg_restore');
my $idem = $dst->safe_psql('postgres', "SELECT tidal.decay_score(7, 'view', '$AT')");
$dst->restart;
is($dst->safe_psql('postgres', "SELECT tidal.decay_score(7, 'view', '$AT')"), $idem,
	'pg_restore: the same scores after a restart (rebuilt from the restored log)');

# plain format, restored with psql
$src->command_ok([ 'pg_dump', '-Fp', '-f', "$dir/tidal.sql", '-d', $src->connstr('postgres') ],
	'pg_dump -Fp');
my $plain = TidalNode->new('dump_plain');
$plain->start;
$plain->command_ok([ 'psql', '-X', '-v', 'ON_ERROR_STOP=1', '-q', '-d', $plain->connstr('postgres'), '-f', "$dir/tidal.sql" ],
	'psql restores the plain dump');
compare($plain, 'plain dump');

$src->stop;
$dst->stop;
$plain->stop;
done_testing();
