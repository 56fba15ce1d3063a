# tidal.retrieve sees writes as PostgreSQL users expect: a session sees its
# own uncommitted signals and hides, other sessions see them once committed,
# a rolled-back hide never takes effect, and a crash loses nothing committed.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use TidalNode;

my $node = TidalNode->create_started('ryw');
$node->safe_psql('postgres', q{
	SELECT tidal.define_signal('view', '7 days');
	SELECT tidal.define_signal('like', '1 day');
	SELECT tidal.define_profile('feed', '{"terms": [{"signal": "view"}, {"signal": "like", "weight": 10}]}');
	SELECT tidal.upsert_item(i, 100 + i % 2, '{}', '2026-01-01') FROM generate_series(1, 5) i;
	-- item i has i views: the feed is 5, 4, 3, 2, 1
	SELECT tidal.signal_batch('view', array_agg(i), NULL, array_agg(now()))
	  FROM generate_series(1, 5) i, generate_series(1, i) n;});

my $feed = q{SELECT string_agg(item_id::text, ',' ORDER BY rank)
               FROM tidal.retrieve(%s, '{1,2,3,4,5}', 'feed')};
my $user_feed = sprintf($feed, '100');

my $writer = $node->background_psql('postgres', on_error_stop => 1);
my $reader = $node->background_psql('postgres', on_error_stop => 1);
is($reader->query_safe($user_feed), '5,4,3,2,1', 'the feed before any write');

# a signal: seen by its own transaction at once, by others after commit
$writer->query_safe('BEGIN');
$writer->query_safe(q{SELECT tidal.signal('like', 1, 1, user_id => 100)});
is($writer->query_safe($user_feed), '1,5,4,3,2', 'the writer sees its uncommitted like');
is($reader->query_safe($user_feed), '5,4,3,2,1', 'another session does not see it yet');
$writer->query_safe('COMMIT');
is($reader->query_safe($user_feed), '1,5,4,3,2', 'another session sees it right after commit');

# a hide: the same, and a rolled-back hide never takes effect
$writer->query_safe('BEGIN');
$writer->query_safe('SELECT tidal.hide_item(100, 5)');
is($writer->query_safe($user_feed), '1,4,3,2', 'the writer no longer gets the hidden item');
is($reader->query_safe($user_feed), '1,5,4,3,2', 'another session still gets it before commit');
$writer->query_safe('ROLLBACK');
is($writer->query_safe($user_feed), '1,5,4,3,2', 'after ROLLBACK the writer gets it again');
is($reader->query_safe($user_feed), '1,5,4,3,2', 'and the rolled-back hide never reached others');

$writer->query_safe('SELECT tidal.hide_item(100, 5)');
is($reader->query_safe($user_feed), '1,4,3,2', 'a committed hide is seen by another session');
is($reader->query_safe(sprintf($feed, '200')), '1,5,4,3,2', 'and applies to that user only');

# a savepoint rolled back inside a committed transaction
$writer->query_safe('BEGIN');
$writer->query_safe('SAVEPOINT s');
$writer->query_safe('SELECT tidal.hide_item(100, 4)');
$writer->query_safe(q{SELECT tidal.signal('like', 2, 1)});
$writer->query_safe('ROLLBACK TO SAVEPOINT s');
$writer->query_safe('SELECT tidal.block_creator(100, 101)');    # items 1, 3, 5
$writer->query_safe('COMMIT');
is($reader->query_safe($user_feed), '4,2', 'only the work outside the rolled-back savepoint counts');

$writer->quit;
$reader->quit;

# a crash keeps every committed signal, item and hide
$node->stop('immediate');
$node->start;
is($node->safe_psql('postgres', $user_feed), '4,2', 'the same feed after a crash and restart');
is($node->safe_psql('postgres', sprintf($feed, '200')), '1,5,4,3,2', 'for every user');

$node->stop;
done_testing();
