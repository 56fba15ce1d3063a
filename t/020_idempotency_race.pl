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

my $timer = IPC::Run::timeout(60);

# Session A writes the key (entity, weight a_weight) in a transaction it
# leaves open; once it has, session B writes the same key (weight b_weight) in
# its own transaction, and must wait for A.  Then A ends with a_ends (COMMIT
# or ROLLBACK) and both quit.  Runs the assertions named a_wrote (if given)
# and b_waits, and returns B's output.
sub race
{
	my (%r) = @_;
	my ($a_in, $a_out, $a_err, $b_in, $b_out, $b_err) = ('', '', '', '', '', '');
	my $a = IPC::Run::start([ 'psql', '-XAtq', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('postgres') ],
		'<', \$a_in, '>', \$a_out, '2>', \$a_err, $timer);
	$a_in .= qq{BEGIN;
SELECT 'a wrote ' || (tidal.signal('view', $r{entity}, $r{a_weight}, '2026-11-24', idempotency_key => '$r{key}') IS NOT NULL);
};
	$a->pump until $a_out =~ /a wrote/ || $timer->is_expired;
	like($a_out, qr/a wrote true/, $r{a_wrote}) if $r{a_wrote};

	my $b = IPC::Run::start([ 'psql', '-XAtq', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('postgres') ],
		'<', \$b_in, '>', \$b_out, '2>', \$b_err, $timer);
	$b_in .= qq{SELECT 'b wrote ' || (tidal.signal('view', $r{entity}, $r{b_weight}, '2026-11-24', idempotency_key => '$r{key}') IS NOT NULL);
};
	ok(b_waits($b), $r{b_waits});

	$a_in .= "$r{a_ends};\n\\q\n";
	$a->finish;
	$b_in .= "\\q\n";
	$b->finish;
	return $b_out;
}

# A commits: its write is the one that counts
my $b_out = race(entity => 1, key => 'k-1', a_weight => 1, b_weight => 1, a_ends => 'COMMIT',
	a_wrote => 'session A wrote the key, and has not committed',
	b_waits => 'session B waits for session A on the key');
like($b_out, qr/b wrote true/, 'session B returns once A has committed');
is($node->safe_psql('postgres', q{SELECT tidal.decay_score(1, 'view', '2026-11-24')}), '1',
	'the key counts once');
is($node->safe_psql('postgres', q{SELECT count(*) FROM tidal.idempotency_keys WHERE key = 'k-1'}), '1',
	'one row for the key');

# the same with A rolling back: B's write is then the one that counts
race(entity => 2, key => 'k-2', a_weight => 5, b_weight => 7, a_ends => 'ROLLBACK',
	b_waits => 'session B waits for session A again');
is($node->safe_psql('postgres', q{SELECT tidal.decay_score(2, 'view', '2026-11-24')}), '7',
	"after A's rollback, B's write counts, once");

$node->stop;
done_testing();
