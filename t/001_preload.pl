# tidal needs shared_preload_libraries: without it CREATE EXTENSION fails
# with a clear error and a hint; with it, the extension works.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use TidalNode;

my $plain = PostgreSQL::Test::Cluster->new('not_preloaded');
$plain->init;
$plain->start;

my ($ret, $out, $err) = $plain->psql('postgres', 'CREATE EXTENSION tidal');
isnt($ret, 0, 'CREATE EXTENSION fails when tidal is not preloaded');
like($err, qr/tidal must be loaded via shared_preload_libraries/, 'error names the requirement');
like($err, qr/HINT:\s+Add tidal to shared_preload_libraries in postgresql.conf and restart the server/,
	'hint says how to fix it');
is($plain->safe_psql('postgres', "SELECT count(*) FROM pg_extension WHERE extname = 'tidal'"),
	'0', 'nothing was created');
$plain->stop;

my $node = TidalNode->create_started('preloaded');
$node->safe_psql('postgres', "SELECT tidal.define_signal('view', '1 day')");
$node->safe_psql('postgres', "SELECT tidal.signal('view', 1, 2, now())");
is($node->safe_psql('postgres', "SELECT round(tidal.decay_score(1, 'view')::numeric, 3)"),
	'2.000', 'with tidal preloaded, signals are written and scored');

# the sealer worker seals committed events in the background
ok($node->poll_query_until('postgres', 'SELECT count(*) = 0 FROM tidal.pending',
		't'), 'the sealer emptied tidal.pending');
is($node->safe_psql('postgres', 'SELECT sum(event_count) FROM tidal.log_batches'),
	'2', 'definition and signal were sealed into the log');
my $workers = $node->safe_psql('postgres',
	"SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'tidal sealer'");
is($workers, '1', 'one sealer worker runs');

# it restarts after being terminated, and exits cleanly on shutdown
$node->safe_psql('postgres',
	"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE backend_type = 'tidal sealer'");
ok($node->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'tidal sealer'", 't'),
	'the sealer is restarted by the postmaster');
$node->stop('fast');
ok(!$node->log_contains('terminated by signal'), 'no process crashed');

done_testing();
