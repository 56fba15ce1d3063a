# DROP EXTENSION and CREATE EXTENSION again: the new copy starts empty, and
# no session keeps using definitions or hot state of the old one.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use TidalNode;

my $node = TidalNode->create_started('recreate');
$node->safe_psql('postgres', q{
	SELECT tidal.define_signal('view', '1 day');
	SELECT tidal.signal('view', 1, 5, '2026-01-01');});

# a long-lived session that has read (and cached) the old definitions
my $session = $node->background_psql('postgres', on_error_stop => 0);
is($session->query_safe("SELECT tidal.decay_score(1, 'view', '2026-01-01')"), '5',
	'the old copy scores entity 1');

$node->safe_psql('postgres', 'DROP EXTENSION tidal; CREATE EXTENSION tidal;');

$session->query("SELECT tidal.decay_score(1, 'view', '2026-01-01')");
like($session->{stderr}, qr/signal "view" does not exist/,
	'the session no longer knows the dropped signal');
$session->{stderr} = '';
$node->safe_psql('postgres', "SELECT tidal.define_signal('like', '1 day')");
is($session->query_safe("SELECT tidal.decay_score(1, 'like', '2026-01-01')"), '0',
	'a new signal starts with no events, even where the old copy had some');
is($node->safe_psql('postgres', 'SELECT entries FROM tidal.state_stats()'), '0',
	'the hot state of the old copy is gone');
is($node->safe_psql('postgres',
		'SELECT tidal.seal() + coalesce((SELECT sum(event_count) FROM tidal.log_batches), 0)'),
	'1', 'and so is its log: only the new definition is in it');
$session->quit;

$node->stop;
done_testing();
