# After kill -9 of the postmaster and a restart, every committed event counts
# exactly once and no aborted or in-flight one counts at all: the hot state is
# rebuilt from tidal's durable log (sealed batches and pending records).
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use TidalNode;

my $node = TidalNode->create_started('crash', node_id => 7);
$node->safe_psql('postgres', q{
	SELECT tidal.define_signal('view', '7 days', ARRAY['1 hour', '24 hours']::interval[]);
	SELECT tidal.define_signal('like', '1 day');
	-- ground truth, written in the same transactions as the signals
	CREATE TABLE truth (entity bigint, name text, weight float8, at timestamptz);
});

# write(entity list, name, weight, at) in one transaction, with its truth rows
sub write_sql
{
	my ($name, $entities, $weight, $at) = @_;
	return qq{
		SELECT tidal.signal_batch('$name', ARRAY[$entities]::bigint[],
			array_fill(${weight}::float8, ARRAY[cardinality(ARRAY[$entities])]),
			array_fill('$at'::timestamptz, ARRAY[cardinality(ARRAY[$entities])]));
		INSERT INTO truth SELECT e, '$name', $weight, '$at' FROM unnest(ARRAY[$entities]::bigint[]) e;
	};
}

# 1. committed and sealed into batches
$node->safe_psql('postgres', write_sql('view', '1,2,3,3', 1.5, '2026-06-01 10:00'));
$node->safe_psql('postgres', "SELECT tidal.signal('like', 1, 2, '2026-06-01 10:10');
	INSERT INTO truth VALUES (1, 'like', 2, '2026-06-01 10:10');");
$node->safe_psql('postgres', 'SELECT tidal.seal()');
is($node->safe_psql('postgres', 'SELECT count(*) FROM tidal.pending'), '0', 'first writes sealed');

# hold the sealer off, so that later writes stay pending: sealing takes the
# origin's row lock, which this session keeps until the crash
my $blocker = $node->background_psql('postgres', on_error_stop => 1);
$blocker->query_safe('BEGIN');
$blocker->query_safe('SELECT * FROM tidal.origins FOR UPDATE');

# 2. committed but still pending (not yet sealed): one event per call, many calls
for my $i (1 .. 50)
{
	my $at = sprintf('2026-06-01 11:%02d', $i);
	$node->safe_psql('postgres', write_sql('view', "$i % 7 + 1", 0.5, $at));
}
$node->safe_psql('postgres', write_sql('like', '1,4', -1, '2026-06-01 09:00'));

# 3. aborted: never counts
$node->safe_psql('postgres', 'BEGIN; ' . write_sql('view', '1,2,3', 100, '2026-06-01 12:00') . ' ROLLBACK;');

# 4. in flight when the server dies: never counts
my $bg = $node->background_psql('postgres', on_error_stop => 1);
$bg->query_safe('BEGIN');
$bg->query_safe(write_sql('view', '1,5', 1000, '2026-06-01 12:30'));

my $pending = $node->safe_psql('postgres', 'SELECT count(*) FROM tidal.pending');
cmp_ok($pending, '>', 0, "committed records are pending at the crash ($pending)");

my $check = q{
	SELECT t.entity, t.name,
	       abs(tidal.decay_score(t.entity, t.name, '2026-06-02') - t.expected)
	         / greatest(abs(t.expected), 1e-300) < 1e-9 AS exact,
	       CASE WHEN t.name = 'view'
	            THEN tidal.window_count(t.entity, 'view', '24 hours', '2026-06-01 13:00') = t.n24
	            ELSE true END AS window_ok
	  FROM (SELECT entity, name,
	               sum(weight * power(2::float8,
	                   -extract(epoch FROM '2026-06-02'::timestamptz - at)::float8
	                   / CASE name WHEN 'view' THEN 7 * 86400 ELSE 86400 END)) AS expected,
	               sum(weight) AS n24
	          FROM truth GROUP BY 1, 2) t
	 ORDER BY 1, 2};
my $before = $node->safe_psql('postgres', $check);
unlike($before, qr/\|f/, 'before the crash, scores match the committed truth');
my $scores_sql = q{SELECT string_agg(format('%s/%s=%s', e, n, tidal.decay_score(e, n, '2026-06-02')), ' ' ORDER BY e, n)
	FROM generate_series(1, 8) e, unnest(ARRAY['view', 'like']) n};
my $scores_before = $node->safe_psql('postgres', $scores_sql);
my $hlc_before = $node->safe_psql('postgres', 'SELECT tidal.hlc_now()');
my $seq_before = $node->safe_psql('postgres', 'SELECT last_seq FROM tidal.log_status WHERE is_local');

# kill -9 the postmaster: no shutdown checkpoint, no chance to clean up
$node->stop('immediate');
$bg->quit;
$blocker->quit;
$node->start;

is($node->safe_psql('postgres', $check), $before, 'after the crash, every committed event counts exactly once');
is($node->safe_psql('postgres', $scores_sql), $scores_before,
	'scores are bit-for-bit those before the crash');
is($node->safe_psql('postgres', "SELECT tidal.decay_score(5, 'view', '2026-06-02') < 1000"),
	't', 'the in-flight transaction does not count');
is($node->safe_psql('postgres', 'SELECT (tidal.state_stats()).loaded'), 't', 'hot state is loaded');

# the log goes on where it stopped: gapless sequence numbers, a later clock
$node->safe_psql('postgres', 'SELECT tidal.seal()');
my $seq_after = $node->safe_psql('postgres', 'SELECT last_seq FROM tidal.log_status WHERE is_local');
cmp_ok($seq_after, '>', $seq_before, 'pending records were sealed after the restart');
is($node->safe_psql('postgres', q{
	SELECT bool_and(first_seq = prev + 1) FROM (
	  SELECT first_seq, lag(last_seq, 1, 0::bigint) OVER (ORDER BY batch_no) AS prev
	    FROM tidal.batches) b}), 't', 'batches stay gapless across the crash');
is($node->safe_psql('postgres', 'SELECT sum(event_count) FROM tidal.batches'),
	$node->safe_psql('postgres', 'SELECT count(*) + 2 FROM truth'),
	'the log holds exactly the committed events (plus the two definitions)');
is($node->safe_psql('postgres', "SELECT tidal.hlc_now() OPERATOR(pg_catalog.>) '$hlc_before'::tidal.hlc"), 't',
	'the clock continues above every timestamp issued before the crash');

# writes and reads go on normally
$node->safe_psql('postgres', write_sql('view', '8', 3, '2026-06-01 13:00'));
is($node->safe_psql('postgres', $check) =~ /\|f/ ? 'mismatch' : 'ok', 'ok', 'new writes count after recovery');

# a tenant's ranking right after a crash: the first call of the new server
# is a tidal.retrieve for the tenant, which must find it registered
$node->safe_psql('postgres', q{
	SELECT tidal.register_tenant(5, 'acme');
	SELECT tidal.define_profile('views', '{"terms": [{"signal": "view"}]}');
	SELECT tidal.upsert_item(i, tenant => 5) FROM generate_series(1, 3) i;
	SELECT tidal.signal('view', 2, 4, '2026-06-01 12:00', tenant => 5);
	SELECT tidal.signal('view', 3, 1, '2026-06-01 12:00', tenant => 5);});
$node->stop('immediate');
$node->start;
is($node->safe_psql('postgres',
		q{SELECT string_agg(item_id || ':' || round(score::numeric, 3), ',' ORDER BY rank)
		    FROM tidal.retrieve(profile => 'views', at => '2026-06-01 12:00', tenant => 5)}),
	'2:4.000,3:1.000,1:0.000', "the tenant's ranking is the first call after a crash");

$node->stop;
done_testing();
