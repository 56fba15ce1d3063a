# tidal watched the way operators already do (issue 13): Debian's
# prometheus-postgres-exporter, given contrib/prometheus/tidal_queries.yaml and
# logging in as the role contrib/prometheus/tidal_monitor_role.sql makes (on a
# server where PUBLIC was stripped of what tidal grants it), exports every
# metric docs/operations.md lists, with no query error and plausible values:
# two regions, a tenant with quotas, a snapshot, a compaction, and a cut link
# whose lag shows up per peer and goes back to zero once it heals.
use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use HTTP::Tiny;
use POSIX ();
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use TidalCluster;

my $REPO = abs_path(dirname(__FILE__) . '/..');
my $QUERIES = "$REPO/contrib/prometheus/tidal_queries.yaml";
my $ROLE_SQL = "$REPO/contrib/prometheus/tidal_monitor_role.sql";
my $DOCS = "$REPO/docs/operations.md";

# ---------------------------------------------------------------------------
# The exporter: Debian's package (scripts/setup.sh installs it). Missing, the
# test fails: CI must run it.
# ---------------------------------------------------------------------------
my ($exporter) = grep { -x } map { "$_/prometheus-postgres-exporter" }
  (split(/:/, $ENV{PATH} // ''), '/usr/bin');
if (!$exporter)
{
	fail('prometheus-postgres-exporter is not installed: install the Debian package '
		  . 'prometheus-postgres-exporter (bash scripts/setup.sh does, as root)');
	done_testing();
	exit 1;
}

# ---------------------------------------------------------------------------
# What the queries file defines and what the docs list must be the same.
# ---------------------------------------------------------------------------

# { metric => { usage => 'gauge'|'counter', labels => 'a,b' } } from the YAML
sub yaml_metrics
{
	my %m;
	my ($ns, $col, %labels, @cols);
	my $flush = sub {
		return unless $ns;
		for my $c (@cols)
		{
			next if $c->[1] eq 'label';
			$m{"${ns}_$c->[0]"} = { usage => $c->[1], labels => join(',', sort keys %labels) };
		}
	};
	open my $fh, '<', $QUERIES or die "$QUERIES: $!";
	while (my $line = <$fh>)
	{
		if ($line =~ /^([a-z_]+):\s*$/)
		{
			$flush->();
			($ns, %labels, @cols) = ($1);
		}
		elsif ($line =~ /^\s+- ([a-z_]+):\s*$/) { push @cols, [ $1, '' ]; }
		elsif ($line =~ /^\s+usage:\s*"([A-Z]+)"/)
		{
			$cols[-1][1] = lc $1;
			$labels{ $cols[-1][0] } = 1 if $1 eq 'LABEL';
		}
	}
	$flush->();
	return \%m;
}

# the same, from the table of docs/operations.md's "Monitoring with Prometheus"
sub doc_metrics
{
	my %m;
	my $in = 0;
	open my $fh, '<', $DOCS or die "$DOCS: $!";
	while (my $line = <$fh>)
	{
		$in = 1 if $line =~ /^## Monitoring with Prometheus/;
		last if $in && $line =~ /^## / && $line !~ /Monitoring with Prometheus/;
		next unless $in && $line =~ /^\|\s*`(tidal_[a-z_]+)`\s*\|\s*(\w+)\s*\|([^|]*)\|/;
		my ($name, $usage, $labels) = ($1, $2, $3);
		my @l = $labels =~ /`([a-z_]+)`/g;
		$m{$name} = { usage => $usage, labels => join(',', sort @l) };
	}
	return \%m;
}

my $yaml = yaml_metrics();
my $docs = doc_metrics();
cmp_ok(scalar(keys %$yaml), '>=', 30, 'the queries file defines the metrics (' . scalar(keys %$yaml) . ')');
is_deeply($docs, $yaml,
	'docs/operations.md lists every metric of the queries file, with its type and labels, and no other');

# ---------------------------------------------------------------------------
# Two regions; region 0 leads. PUBLIC loses what tidal grants it there, so
# that the monitor role has only what tidal_monitor_role.sql gives it.
# ---------------------------------------------------------------------------
my $c = TidalCluster->new(2, name => 'prom', extra => [ 'tidal.snapshot_interval = 0' ]);
my $n0 = $c->node(0);
ok($c->wait_until(60, sub {
			$n0->safe_psql('postgres', q{SELECT state = 'connected' AND health = 'healthy'
			  FROM tidal.replication_status WHERE region = 1}) eq 't' }),
	'region 0 is connected to region 1');

$n0->safe_psql('postgres', q{
	REVOKE CONNECT ON DATABASE postgres FROM PUBLIC;
	REVOKE USAGE ON SCHEMA tidal FROM PUBLIC;
	REVOKE SELECT ON tidal.replication_status, tidal.log_status, tidal.snapshots,
	                 tidal.tenants, tidal.cluster FROM PUBLIC;
	REVOKE EXECUTE ON FUNCTION tidal.state_stats(), tidal.local_seqno(), tidal._peer_status(),
	       tidal._peer_errors(), tidal._election_status(), tidal._tenant_usage(),
	       tidal._migration_step_name(int) FROM PUBLIC;
});
$n0->safe_psql('postgres', slurp_file($ROLE_SQL));
my ($ret, $out, $err) = $n0->psql('postgres', 'SELECT count(*) FROM tidal.batches',
	extra_params => [ '-U', 'tidal_monitor' ]);
isnt($ret, 0, 'the monitor role cannot read tidal\'s tables');
($ret, $out, $err) = $n0->psql('postgres', q{SELECT tidal.signal('x', 1)},
	extra_params => [ '-U', 'tidal_monitor' ]);
isnt($ret, 0, 'nor write a signal');

# ---------------------------------------------------------------------------
# The exporter, as this (unprivileged) user, on a free port.
# ---------------------------------------------------------------------------
my $port = PostgreSQL::Test::Cluster::get_free_port();
my $exporter_log = PostgreSQL::Test::Utils::tempdir('exporter') . '/exporter.log';
my $exporter_pid;
END
{
	if ($exporter_pid)
	{
		kill 'TERM', $exporter_pid;
		waitpid($exporter_pid, 0);
	}
}
{
	local $ENV{DATA_SOURCE_NAME} = sprintf('host=%s port=%d user=tidal_monitor dbname=postgres sslmode=disable',
		$n0->host, $n0->port);
	$exporter_pid = fork() // die "fork: $!";
	if ($exporter_pid == 0)
	{
		open STDOUT, '>', $exporter_log or POSIX::_exit(126);
		open STDERR, '>&', \*STDOUT or POSIX::_exit(126);
		exec($exporter, "--extend.query-path=$QUERIES", "--web.listen-address=127.0.0.1:$port",
			'--disable-default-metrics', '--disable-settings-metrics',
			'--no-collector.database', '--no-collector.bgwriter')
		  or POSIX::_exit(127);
	}
}
my $http = HTTP::Tiny->new(timeout => 30);

# { name => [ [ {labels}, value ], ... ] } of one scrape
my $last_content = '';
sub scrape
{
	my $res = $http->get("http://127.0.0.1:$port/metrics");
	return undef unless $res->{success};
	my %m;
	$last_content = $res->{content};
	for my $line (split /\n/, $res->{content})
	{
		next if $line =~ /^#/ || $line !~ /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
		my ($name, $labels, $value) = ($1, $2 // '', $3);
		my %l = $labels =~ /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
		push @{ $m{$name} }, [ \%l, $value ];
	}
	return \%m;
}

# the value of a metric on the series whose labels include %want (undef: none)
sub value
{
	my ($m, $name, %want) = @_;
	for my $s (@{ $m->{$name} // [] })
	{
		return $s->[1] unless grep { ($s->[0]{$_} // '') ne $want{$_} } keys %want;
	}
	return undef;
}

# a scrape with no query error: the exporter says so, and logs none
sub clean_scrape
{
	my ($what) = @_;
	my $m = scrape();
	ok($m, "$what: /metrics answers") or return {};
	note("$what:\n" . join("\n", grep { /^tidal_|^pg_exporter_last|^pg_up/ } split /\n/, $last_content));
	is(value($m, 'pg_up'), '1', "$what: the exporter reaches the server");
	is(value($m, 'pg_exporter_last_scrape_error'), '0', "$what: no query of the queries file failed");
	my @load = grep { $_->[1] ne '0' } @{ $m->{pg_exporter_user_queries_load_error} // [] };
	ok(!@load && $m->{pg_exporter_user_queries_load_error}, "$what: the queries file loaded");
	my @errors = grep { /error/i && /tidal_/ } split /\n/, slurp_file($exporter_log);
	is(join("\n", @errors), '', "$what: the exporter logs no error for tidal's namespaces");
	return $m;
}

ok($c->wait_until(30, sub { scrape() }), 'the exporter serves /metrics');

# Before any snapshot, tenant or compaction: the queries still run cleanly.
my $m = clean_scrape('a fresh cluster');
is(value($m, 'tidal_snapshot_count'), '0', 'no snapshot yet');
is(value($m, 'tidal_replication_lag_events', peer_region => '1'), '0', 'a lag row for peer 1, at zero');

# ---------------------------------------------------------------------------
# Data, a tenant with quotas, a snapshot, a compaction.
# ---------------------------------------------------------------------------
# definitions and registrations are the leader's: on a loaded machine the two
# regions may be electing one right now, so wait for it and ask it
ok( $c->wait_until(60, sub {
			my $leader = $c->leader_of(0);
			return 0 if $leader eq '';
			my ($ret) = $c->node($leader)->psql('postgres', q{
				BEGIN;
				SELECT tidal.define_signal('views', '1 day');
				SELECT tidal.register_tenant(5, 'acme', max_entities => 1000, max_storage_bytes => 10000000);
				COMMIT;}, on_error_stop => 1);
			return $ret == 0;
		}),
	'the leader defines the signal and registers the tenant');
ok($c->wait_until(30, sub {
			$n0->safe_psql('postgres', q{SELECT count(*) FROM tidal.signals WHERE name = 'views'}) eq '1' }),
	'region 0 has the definition');
ok($c->wait_until(30, sub {
			$c->node(1)->safe_psql('postgres', q{SELECT count(*) FROM tidal.tenants WHERE tenant_id = 5}) eq '1' }),
	'region 1 has the tenant');
$n0->safe_psql('postgres', q{
	SELECT tidal.signal('views', g, 1, tenant => 5) FROM generate_series(1, 200) g;
	SELECT tidal.signal('views', g) FROM generate_series(1, 50) g;
	SELECT tidal.seal();
});
$c->node(1)->safe_psql('postgres', q{
	SELECT tidal.signal('views', g) FROM generate_series(1001, 1010) g;
	SELECT tidal.seal();
});
ok($c->wait_until(60, sub {
			$n0->safe_psql('postgres', q{SELECT tidal.applied_seqno(1) >= 10}) eq 't' }),
	'region 0 has applied region 1\'s events');
# a session with a gap: seqno 2 held here behind seqno 1 (shipped before region 1 is caught up, below)
$n0->safe_psql('postgres', q{SELECT tidal.signal('views', 2001, session => 'agent', session_seqno => 2)});
is($n0->safe_psql('postgres', 'SELECT tidal.snapshot() > 0'), 't', 'a snapshot is taken');
$n0->safe_psql('postgres', 'SELECT tidal.compact()');
ok($c->wait_until(60, sub {
			$n0->safe_psql('postgres', q{SELECT lag_seqno = 0 FROM tidal.replication_status WHERE region = 1}) eq 't' }),
	'region 1 has caught up');

$m = clean_scrape('two regions with data');
my @missing = grep { !$m->{$_} } sort keys %$docs;
is("@missing", '', 'every metric the docs list is exported');

# replication, per peer
is(scalar(@{ $m->{tidal_replication_lag_seconds} // [] }), 1, 'one lag series: the one peer');
is(value($m, 'tidal_replication_lag_seconds', peer_region => '1'), '0', 'peer 1: no lag (seconds)');
is(value($m, 'tidal_replication_quarantined', peer_region => '1'), '0', 'peer 1: nothing quarantined');
is(value($m, 'tidal_replication_connected', peer_region => '1'), '1', 'peer 1: connected');
is(value($m, 'tidal_replication_health', peer_region => '1'), '0', 'peer 1: healthy');
cmp_ok(value($m, 'tidal_replication_batches_sent_total', peer_region => '1'), '>', 0, 'batches were shipped to peer 1');
cmp_ok(value($m, 'tidal_replication_batches_acknowledged', peer_region => '1'), '>', 0, 'and acknowledged');
cmp_ok(value($m, 'tidal_replication_last_contact_age_seconds', peer_region => '1'), '>=', 0, 'peer 1 was heard from');
# the log, per origin
cmp_ok(value($m, 'tidal_log_bytes', origin_region => '0', local => 'true'), '>', 0, 'the local log holds bytes');
cmp_ok(value($m, 'tidal_log_batches', origin_region => '0', local => 'true'), '>', 0, 'and batches');
cmp_ok(value($m, 'tidal_log_last_seq', origin_region => '0', local => 'true'), '>=', 250, 'and every event written');
ok(defined value($m, 'tidal_log_last_seq', origin_region => '1', local => 'false'), 'peer 1\'s origin has a row too');
my ($hold) = grep { $_->[0]{origin_region} eq '0' } @{ $m->{tidal_log_compaction_held} // [] };
ok($hold && $hold->[1] eq '1' && ($hold->[0]{held_by} // '') =~ /^(snapshot|retention|peer \d+)$/,
	'what holds the local log back is named (' . ($hold ? $hold->[0]{held_by} : 'none') . ')');
# snapshots
is(value($m, 'tidal_snapshot_count'), '1', 'one snapshot');
my $age = value($m, 'tidal_snapshot_newest_age_seconds');
ok(defined $age && $age >= 0 && $age < 3600, "the newest snapshot's age is plausible (" . ($age // 'none') . ' s)');
cmp_ok(value($m, 'tidal_snapshot_newest_bytes'), '>', 0, 'it has bytes');
cmp_ok(value($m, 'tidal_snapshot_newest_entries'), '>=', 250, 'and the entries written');
# hot state and tenants
cmp_ok(value($m, 'tidal_state_entries'), '>=', 250, 'hot-state entries');
cmp_ok(value($m, 'tidal_state_capacity'), '>', value($m, 'tidal_state_entries'), 'below capacity');
is(value($m, 'tidal_state_loaded'), '1', 'the hot state is loaded');
is(value($m, 'tidal_tenant_entities', tenant_id => '5'), '200', "tenant 5's entries");
cmp_ok(value($m, 'tidal_tenant_storage_bytes', tenant_id => '5'), '>', 0, "tenant 5's bytes");
is(value($m, 'tidal_tenant_quota_limit', tenant_id => '5', resource => 'entities'), '1000', "tenant 5's entity quota");
is(value($m, 'tidal_tenant_quota_used_ratio', tenant_id => '5', resource => 'entities'), '0.2', 'used at 20 %');
# sessions
is(value($m, 'tidal_sessions_count'), '1', 'one session');
is(value($m, 'tidal_sessions_held_writes'), '1', 'with one write held behind its gap');
# leadership
is(value($m, 'tidal_cluster_is_leader', region => '0'), '1', 'region 0 leads');
is(value($m, 'tidal_cluster_leader_region', region => '0'), '0', 'and names itself');
cmp_ok(value($m, 'tidal_cluster_term', region => '0'), '>=', 1, 'in a term >= 1');
is(value($m, 'tidal_cluster_regions', region => '0'), '2', 'of two regions');

# ---------------------------------------------------------------------------
# A cut link: region 0's writes wait for peer 1, and the lag shows it.
# ---------------------------------------------------------------------------
$c->cut(0, 1);
$n0->safe_psql('postgres', q{
	SELECT tidal.signal('views', g, 1, tenant => 5) FROM generate_series(1, 20) g;
	SELECT tidal.seal();
});
my $lagging = $c->wait_until(60, sub {
		my $s = scrape() or return 0;
		return ((value($s, 'tidal_replication_lag_events', peer_region => '1') // 0) >= 20
			  && (value($s, 'tidal_replication_lag_seconds', peer_region => '1') // 0) > 0);
	});
ok($lagging, 'with the link cut, peer 1\'s lag grows (events and seconds)');
$c->heal_all;
ok($c->wait_until(90, sub {
			my $s = scrape() or return 0;
			return (value($s, 'tidal_replication_lag_events', peer_region => '1') // -1) == 0
			  && (value($s, 'tidal_replication_lag_seconds', peer_region => '1') // -1) == 0;
		}),
	'healed, it goes back to zero');
clean_scrape('after the partition');

kill 'TERM', $exporter_pid;
is(waitpid($exporter_pid, 0), $exporter_pid, 'the exporter stops');
$exporter_pid = undef;
$c->stop;
done_testing();
