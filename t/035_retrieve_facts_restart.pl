# tidal.retrieve reads the items' facts (creator, creation time, small
# metadata) from shared memory, which a restart empties: after kill -9 the
# rebuild loads them again from tidal.item_data, so that every retrieve
# option (max_per_creator, freshness, a metadata filter, blocked creators,
# NULL candidates) answers as before the crash and as the table says --
# with the committed writes, and without an aborted or an in-flight one.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use TidalNode;

# metadata above 64 bytes stays in the table only: the filter reads it there
my $node = TidalNode->new('facts', node_id => 4,
	extra => [ 'tidal.item_metadata_bytes = 64', 'tidal.snapshot_interval = 0' ]);
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION tidal;
	SELECT tidal.define_signal('view', '1 day');
	-- items 1..3000: creator i % 7, language by i % 3, every 10th with a long note;
	-- created over 30 days; item i has 1 + (i * 7919) % 50 views
	SELECT count(tidal.upsert_item(i, i % 7,
	         jsonb_build_object('lang', (ARRAY['en', 'fr', 'de'])[1 + i % 3])
	           || CASE WHEN i % 10 = 0 THEN jsonb_build_object('note', repeat('n', 100)) ELSE '{}' END,
	         '2026-06-01'::timestamptz - (i % 30) * interval '1 day'))
	  FROM generate_series(1, 3000) i;
	SELECT tidal.signal_batch('view', array_agg(i), NULL, array_agg('2026-06-01'::timestamptz))
	  FROM generate_series(1, 3000) i, generate_series(0, (i * 7919) % 50) n;
	SELECT tidal.block_creator(42, 5);
	SELECT tidal.snapshot();});
# after the snapshot: a committed change, an aborted one
$node->safe_psql('postgres', q{
	SELECT tidal.upsert_item(i, 1000 + i % 3, '{"lang": "en", "moved": true}', '2026-06-01')
	  FROM generate_series(2990, 3000) i;});
$node->safe_psql('postgres', q{
	BEGIN;
	SELECT tidal.upsert_item(i, 7, '{"lang": "xx"}', '2026-06-01') FROM generate_series(1, 3000, 2) i;
	ROLLBACK;});

my %queries = (
	per_creator => q{SELECT string_agg(item_id::text, ',' ORDER BY rank)
	                   FROM tidal.retrieve(NULL, ARRAY(SELECT generate_series(1, 3000)::bigint), 'popular',
	                                       max_per_creator => 1, lim => 30, at => '2026-06-01')},
	fresh       => q{SELECT string_agg(item_id::text, ',' ORDER BY rank)
	                   FROM tidal.retrieve(NULL, ARRAY(SELECT generate_series(1, 3000)::bigint), 'fresh',
	                                       lim => 30, at => '2026-06-01')},
	filter      => q{SELECT string_agg(item_id::text, ',' ORDER BY rank)
	                   FROM tidal.retrieve(NULL, NULL, 'popular', '{"lang": "en"}', lim => 40, at => '2026-06-01')},
	blocked     => q{SELECT string_agg(item_id::text, ',' ORDER BY rank)
	                   FROM tidal.retrieve(42, NULL, 'popular', lim => 40, at => '2026-06-01')},
	all_items   => q{SELECT count(*) || ':' || string_agg(item_id::text, ',' ORDER BY rank)
	                   FROM tidal.retrieve(NULL, NULL, 'popular', lim => 3001, at => '2026-06-01')},
);
# what the table says, in plain SQL
my %truth = (
	per_creator => q{SELECT string_agg(item_id::text, ',' ORDER BY s DESC, item_id) FROM (
	                   SELECT item_id, s FROM (
	                     SELECT item_id, tidal.decay_score(item_id, 'view', '2026-06-01') s,
	                            row_number() OVER (PARTITION BY creator
	                                               ORDER BY tidal.decay_score(item_id, 'view', '2026-06-01') DESC, item_id) rn
	                       FROM tidal.items) x
	                   WHERE rn = 1 ORDER BY s DESC, item_id LIMIT 30) y},
	filter      => q{SELECT string_agg(item_id::text, ',' ORDER BY s DESC, item_id) FROM (
	                   SELECT item_id, tidal.decay_score(item_id, 'view', '2026-06-01') s FROM tidal.items
	                    WHERE metadata @> '{"lang": "en"}' ORDER BY 2 DESC, 1 LIMIT 40) x},
	blocked     => q{SELECT string_agg(item_id::text, ',' ORDER BY s DESC, item_id) FROM (
	                   SELECT item_id, tidal.decay_score(item_id, 'view', '2026-06-01') s FROM tidal.items
	                    WHERE creator IS DISTINCT FROM 5 ORDER BY 2 DESC, 1 LIMIT 40) x},
);
my %before;
for my $k (sort keys %queries)
{
	$before{$k} = $node->safe_psql('postgres', $queries{$k});
	isnt($before{$k}, '', "$k: an answer before the crash");
	is($before{$k}, $node->safe_psql('postgres', $truth{$k}), "$k: the table's answer before the crash")
	  if $truth{$k};
}
like($before{all_items}, qr/^3000:/, 'NULL candidates rank all 3,000 items');

# in flight when the server dies: never counts
my $bg = $node->background_psql('postgres', on_error_stop => 1);
$bg->query_safe('BEGIN');
$bg->query_safe(q{SELECT tidal.upsert_item(i, 5, '{"lang": "en"}', '2026-06-01') FROM generate_series(1, 3000, 3) i});
$bg->query_safe(q{SELECT tidal.upsert_item(5000, 1, '{"lang": "en"}', '2026-06-01')});

# kill -9 the postmaster
$node->stop('immediate');
$bg->quit;
$node->start;

for my $k (sort keys %queries)
{
	is($node->safe_psql('postgres', $queries{$k}), $before{$k}, "$k: the same answer after kill -9 and the rebuild");
	is($node->safe_psql('postgres', $truth{$k}), $before{$k}, "$k: still the table's answer")
	  if $truth{$k};
}
is($node->safe_psql('postgres', 'SELECT items, complete FROM tidal.item_facts_stats()'), '3000|t',
	'shared memory holds the 3,000 committed items again');
like(slurp_file($node->logfile), qr/tidal rebuilt its hot state/, 'the server log says the state was rebuilt');

done_testing();
