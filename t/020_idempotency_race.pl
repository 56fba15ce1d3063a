# Two sessions write the same idempotency key at the same moment: the second
# waits for the first, and the write counts once, whichever commits.  Also a
# replicated record of the key arriving while a local write of it is in
# flight: the smaller HLC counts, once.
use strict;
use warnings;

use IPC::Run;
use Time::HiRes;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use TidalNode;

my $node = TidalNode->create_started('race');

# feed session B its input until its backend waits on a lock (30 s at most)
sub b_waits
{
	my ($b) = @_;
	for (1 .. 300)
	{
		$b->pump_nb;
		return 1 if $node->safe_psql('postgres', q{
			SELECT count(*) FROM pg_stat_activity
			 WHERE wait_event_type = 'Lock' AND query LIKE '%b wrote%'}) eq '1';
		Time::HiRes::sleep(0.1);
	}
	return 0;
}
$node->safe_psql('postgres', q{SELECT tidal.define_signal('view', '1 day')});

# session A: the first write of the key, its transaction left open
my ($a_in, $a_out, $a_err) = ('', '', '');
my $timer = IPC::Run::timeout(60);
my $a = IPC::Run::start([ 'psql', '-XAtq', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('postgres') ],
	'<', \$a_in, '>', \$a_out, '2>', \$a_err, $timer);
$a_in .= q{BEGIN;
SELECT 'a wrote ' || (tidal.signal('view', 1, 1, '2026-11-24', idempotency_key => 'k-1') IS NOT NULL);
};
$a->pump until $a_out =~ /a wrote/ || $timer->is_expired;
like($a_out, qr/a wrote true/, 'session A wrote the key, and has not committed');

# session B: the same key, in its own transaction; it must wait for A
my ($b_in, $b_out, $b_err) = ('', '', '');
my $b = IPC::Run::start([ 'psql', '-XAtq', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('postgres') ],
	'<', \$b_in, '>', \$b_out, '2>', \$b_err, $timer);
$b_in .= q{SELECT 'b wrote ' || (tidal.signal('view', 1, 1, '2026-11-24', idempotency_key => 'k-1') IS NOT NULL);
};
ok(b_waits($b), 'session B waits for session A on the key');

$a_in .= "COMMIT;\n\\q\n";
$a->finish;
$b_in .= "\\q\n";
$b->finish;
like($b_out, qr/b wrote true/, 'session B returns once A has committed');
is($node->safe_psql('postgres', q{SELECT tidal.decay_score(1, 'view', '2026-11-24')}), '1',
	'the key counts once');
is($node->safe_psql('postgres', q{SELECT count(*) FROM tidal.idempotency_keys WHERE key = 'k-1'}), '1',
	'one row for the key');

# the same with A rolling back: B's write is then the one that counts
($a_in, $a_out, $b_in, $b_out) = ('', '', '', '');
$a = IPC::Run::start([ 'psql', '-XAtq', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('postgres') ],
	'<', \$a_in, '>', \$a_out, '2>', \$a_err, $timer);
$a_in .= q{BEGIN;
SELECT 'a wrote ' || (tidal.signal('view', 2, 5, '2026-11-24', idempotency_key => 'k-2') IS NOT NULL);
};
$a->pump until $a_out =~ /a wrote/ || $timer->is_expired;
$b = IPC::Run::start([ 'psql', '-XAtq', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('postgres') ],
	'<', \$b_in, '>', \$b_out, '2>', \$b_err, $timer);
$b_in .= q{SELECT 'b wrote ' || (tidal.signal('view', 2, 7, '2026-11-24', idempotency_key => 'k-2') IS NOT NULL);
};
ok(b_waits($b), 'session B waits for session A again');
$a_in .= "ROLLBACK;\n\\q\n";
$a->finish;
$b_in .= "\\q\n";
$b->finish;
is($node->safe_psql('postgres', q{SELECT tidal.decay_score(2, 'view', '2026-11-24')}), '7',
	"after A's rollback, B's write counts, once");

$node->stop;
done_testing();
