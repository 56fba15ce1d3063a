# Users' interests and the bandit's counts are replicated and rebuilt like
# scores (issue 16).  Events of one user written in two regions, on items
# of two topics, give the same tidal.interests and tidal.arms in both (the
# signal record carries what the event adds, so a region that has a newer
# embedding of an item adds what the writer saw); the same seed explores
# the same arms in both; after a snapshot, a compaction and a kill -9, a
# region rebuilds the same model from the snapshot's interest chunks.  A
# region of two shards refuses what needs a user's whole model (0A000).
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use TidalCluster;
use TidalUAT;

my $c = TidalCluster->new(2, name => 'interests',
	extra => ['tidal.embedding_dimensions = 4', 'tidal.log_retention = 0', 'tidal.snapshot_interval = 0']);
my ($r0, $r1) = $c->nodes;

ok(defined TidalUAT::leader_call($c, q{SELECT tidal.define_signal('view', '1 day');
	SELECT tidal.define_signal('save', '7 days', polarity => 1);
	SELECT tidal.define_signal('skip', '7 days', polarity => -1);
	SELECT tidal.define_profile('forage', '{"terms": [{"measure": "interest"}]}')}),
	'signals with a polarity and an interest profile are defined on the leader');

$r0->safe_psql('postgres', q{
	SELECT tidal.upsert_item(i, 1, jsonb_build_object('topic', CASE WHEN i <= 5 THEN 'jazz' WHEN i <= 10 THEN 'hiking' ELSE 'baking' END),
	                         '2026-01-01',
	                         embedding => CASE WHEN i <= 5 THEN ARRAY[1, 0.1 * i, 0, 0] WHEN i <= 10 THEN ARRAY[0, 1, 0.1 * i, 0]
	                                           ELSE ARRAY[0, 0, 1, 0.1 * i] END::real[])
	  FROM generate_series(1, 15) i});
ok($c->wait_until(30, sub { $r1->safe_psql('postgres', q{SELECT count(*) FROM tidal.items WHERE embedding IS NOT NULL}) eq '15' }),
	'the items and their embeddings reach region 1');
ok($c->wait_until(30, sub { $r1->safe_psql('postgres', q{SELECT count(*) FROM tidal.profiles WHERE name = 'forage'}) eq '1' }),
	'so does the profile');

# user 42 reacts in both regions
$r0->safe_psql('postgres', q{SELECT tidal.signal('save', 1, at => '2026-03-01', user_id => 42);
	SELECT tidal.signal('save', 2, at => '2026-03-01 01:00', user_id => 42);
	SELECT tidal.signal('view', 11, at => '2026-03-01', user_id => 42)});
$r1->safe_psql('postgres', q{SELECT tidal.signal('save', 6, at => '2026-03-01 02:00', user_id => 42);
	SELECT tidal.signal('skip', 12, at => '2026-03-01', user_id => 42);
	SELECT tidal.signal('save', 3, at => '2026-03-01 03:00', user_id => 42)});

my $model = q{SELECT string_agg(arm || ':' || round(mass::numeric, 6) || ':' ||
                                array_to_string(array(SELECT round(x::numeric, 4) FROM unnest(centroid) x), ','), ' ' ORDER BY arm)
                FROM tidal.interests(42, at => '2026-03-02')};
my $arms = q{SELECT string_agg(arm || ':' || round(successes::numeric, 6) || '/' || round(failures::numeric, 6), ' ' ORDER BY arm)
               FROM tidal.arms(42, at => '2026-03-02')};
my $explore = q{SELECT string_agg(item_id || ':' || coalesce(label, '-'), ' ' ORDER BY rank)
                  FROM tidal.retrieve(42, profile => 'forage', lim => 6, explore => 2, seed => 11, at => '2026-03-02')};

ok($c->wait_until(30, sub { $r0->safe_psql('postgres', $model) eq $r1->safe_psql('postgres', $model)
			  && $r0->safe_psql('postgres', $model) =~ /hiking.*jazz/ }),
	'both regions have the same interests, from events written in both: ' . $r0->safe_psql('postgres', $model));
like($r0->safe_psql('postgres', $model), qr/^hiking:0\.\d+:[^ ]+ jazz:2\.\d+:/,
	'jazz (three saves) and hiking (one save), decayed to the read time');
is($r1->safe_psql('postgres', $arms), $r0->safe_psql('postgres', $arms),
	'and the same bandit counts: ' . $r0->safe_psql('postgres', $arms));
is($r1->safe_psql('postgres', $explore), $r0->safe_psql('postgres', $explore),
	'the same seed ranks and explores the same in both: ' . $r0->safe_psql('postgres', $explore));
like($r0->safe_psql('postgres', $explore), qr/^\d+:match \d+:match \d+:match \d+:match \d+:\S+ \d+:\S+$/,
	'four matches, then two slots drawn by Thompson sampling');
is($r0->safe_psql('postgres', q{SELECT string_agg(label, ' ') FROM tidal.retrieve(42, profile => 'forage', filter => '{"topic": "baking"}',
	                                                                             lim => 2, explore => 2, seed => 11, at => '2026-03-02')}),
	'exploring exploring', 'slots from an arm that is not an interest are labelled exploring');

# what an event adds is what its writer saw: a later embedding changes later events only
my $before = $r0->safe_psql('postgres', $model);
$r1->safe_psql('postgres', q{SELECT tidal.upsert_item(1, 1, '{"topic": "jazz"}', '2026-01-01', embedding => '{0, 0, 0, 1}')});
ok($c->wait_until(30, sub { $r0->safe_psql('postgres', q{SELECT embedding FROM tidal.items WHERE item_id = 1}) eq '{0,0,0,1}' }),
	'item 1 gets a new embedding, everywhere');
is($r0->safe_psql('postgres', $model), $before, 'the interests its earlier events made do not change');

# a snapshot, a compaction and a kill -9: rebuilt from the snapshot's interest chunks
$c->wait_until(30, sub {
	$_->safe_psql('postgres', 'SELECT tidal.seal(); SELECT tidal.snapshot(); SELECT tidal.snapshot()') for ($r0, $r1);
	$r0->safe_psql('postgres', 'SELECT tidal.compact()');
	$r0->safe_psql('postgres', q{SELECT count(*) FROM tidal.log_batches}) eq '0' });
is($r0->safe_psql('postgres', q{SELECT count(*) FROM tidal.log_batches}), '0', 'region 0 compacted its whole log');
$r0->stop('immediate');
$r0->start;
is($r0->safe_psql('postgres', $model), $before, 'after kill -9, region 0 rebuilds the same interests without the log');
is($r0->safe_psql('postgres', $arms), $r1->safe_psql('postgres', $arms), 'and the same bandit counts');
$c->stop;

# two shards: each counts the interests of its own items; not gathered yet, so refused
my $s = TidalCluster->new(1, name => 'interests_sharded', shards => 2, extra => ['tidal.embedding_dimensions = 4']);
my $n = $s->node_of(0, 0);
my ($ok, $out, $err) = TidalUAT::try_sql($n, q{SELECT * FROM tidal.interests(42)});
ok(!$ok && $err =~ /needs the user's whole model/, 'a region of two shards refuses tidal.interests with a reason');
($ok, $out, $err) = TidalUAT::try_sql($n, q{SELECT * FROM tidal.retrieve(42, lim => 3, explore => 1)});
ok(!$ok && $err =~ /explore needs the user's whole model/, 'and explore');
is($n->safe_psql('postgres', q{SELECT count(*) FROM tidal.retrieve(42, lim => 3)}), '0', 'a plain retrieve still works there');
$s->stop;

done_testing();
