# A transaction that has written tidal events and fails at COMMIT itself (a
# serialization failure, found by PostgreSQL after tidal has applied the
# events to the hot state at PRE_COMMIT) counts none of them: the hot state
# is rebuilt from the log, and events committed before and after it count.
use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use TidalNode;

my $node = TidalNode->create_started('abortcommit');
my $T = q{'2026-11-24'};
my $score = qq{SELECT tidal.decay_score(7, 'view', $T)};

$node->safe_psql('postgres', qq{
	SELECT tidal.define_signal('view', '1 day');
	SELECT tidal.signal('view', 7, 10, $T);
	CREATE TABLE public.acct (id int PRIMARY KEY, v int NOT NULL);
	INSERT INTO public.acct VALUES (1, 0), (2, 0);});
is($node->safe_psql('postgres', $score), '10', 'an event committed before counts');

# Write skew under SERIALIZABLE: A and B each read both rows and update one;
# B commits first, so A's COMMIT is the one that must fail.
my $timer = IPC::Run::timeout(60);
my ($a_in, $a_out, $a_err) = ('', '', '');
my $a = IPC::Run::start([ 'psql', '-XAtq', '-d', $node->connstr('postgres') ],
	'<', \$a_in, '>', \$a_out, '2>', \$a_err, $timer);
$a_in .= qq{BEGIN ISOLATION LEVEL SERIALIZABLE;
SELECT sum(v) FROM public.acct;
UPDATE public.acct SET v = v + 1 WHERE id = 1;
SELECT 'a wrote ' || (tidal.signal('view', 7, 1, $T) IS NOT NULL);
};
$a->pump until $a_out =~ /a wrote/ || $timer->is_expired;
like($a_out, qr/a wrote true/, 'A wrote an event in its serializable transaction');

$node->safe_psql('postgres', q{
	BEGIN ISOLATION LEVEL SERIALIZABLE;
	SELECT sum(v) FROM public.acct;
	UPDATE public.acct SET v = v + 1 WHERE id = 2;
	COMMIT;});

$a_in .= "COMMIT;\n\\q\n";
$a->finish;
like($a_err, qr/could not serialize access/, "A's COMMIT fails with a serialization failure");
is($node->safe_psql('postgres', 'SELECT v FROM public.acct WHERE id = 1'), '0', 'A committed nothing');

is($node->safe_psql('postgres', $score), '10', "A's event does not count");
is($node->safe_psql('postgres', q{SELECT tidal.seal() >= 0;
	SELECT sum(event_count) FROM tidal.log_batches}), "t\n2",
	"the log holds the definition and the one committed event, not A's");
$node->safe_psql('postgres', qq{SELECT tidal.signal('view', 7, 5, $T)});
is($node->safe_psql('postgres', $score), '15', 'an event committed after counts');

$node->restart;
is($node->safe_psql('postgres', $score), '15', 'and a restart rebuilds the same score');

$node->stop;
done_testing();
