# A restart after kill -9 loads the newest snapshot and replays only the log
# after it, with exact scores; a snapshot damaged on disk falls back to the
# one before it (and says so); compaction never removes what that fallback
# needs; with every snapshot damaged and the log compacted, reads refuse
# with an error instead of serving wrong scores.
#
# TIDAL_SNAPSHOT_EVENTS (default 10,000,000) events are written before the
# first snapshot, a tenth of that after it.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use TidalNode;

my $N1 = $ENV{TIDAL_SNAPSHOT_EVENTS} // 10_000_000;
my $N2 = int($N1 / 10);
my $ENTITIES = 100_000;
my $CALL = 200_000;    # events per tidal.signal_batch call

my $node = TidalNode->new('snap', node_id => 3,
	extra => [ 'tidal.max_entities = 300000', 'tidal.snapshot_interval = 0',
		'tidal.log_retention = 0' ]);
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION tidal;
	SELECT tidal.define_signal('view', '1 day', ARRAY['1 hour']::interval[]);});

# event i: entity i % ENTITIES, weight 1 + i % 7, at 2026-06-01 + i ms
sub write_events
{
	my ($from, $to) = @_;
	for (my $s = $from; $s <= $to; $s += $CALL)
	{
		my $e = $s + $CALL - 1 < $to ? $s + $CALL - 1 : $to;
		$node->safe_psql('postgres', qq{
			SELECT tidal.signal_batch('view', array_agg(i % $ENTITIES), array_agg(1 + i % 7)::float8[],
			       array_agg('2026-06-01'::timestamptz + i * interval '1 ms'))
			  FROM generate_series(${s}::bigint, $e) i});
	}
}

# what the score of an entity must be, from the formula, for events 1..n
sub truth_sql
{
	my ($n, $entities) = @_;
	return qq{
		SELECT e, sum((1 + i % 7) * power(2::float8,
		              -extract(epoch FROM '2026-06-05'::timestamptz
		                       - ('2026-06-01'::timestamptz + i * interval '1 ms'))::float8 / 86400)) AS expected
		  FROM unnest(ARRAY[$entities]::bigint[]) e,
		       LATERAL generate_series(CASE WHEN e = 0 THEN $ENTITIES ELSE e END, $n, $ENTITIES) i
		 GROUP BY e};
}
my $sample = '0, 1, 4242, 77777, 99999';

sub check_exact
{
	my ($n, $what) = @_;
	is($node->safe_psql('postgres', qq{
		SELECT bool_and(abs(tidal.decay_score(e, 'view', '2026-06-05') - expected) / expected < 1e-9)
		  FROM (} . truth_sql($n, $sample) . q{) t}), 't', "$what: sampled scores equal the formula (1e-9)");
	is($node->safe_psql('postgres', q{
		SELECT count(*) FILTER (WHERE abs(tidal.decay_score(entity, 'view', '2026-06-05') - score)
		                              > 1e-9 * abs(score))
		  FROM scores_before}), '0', "$what: every entity's score equals the one before (1e-9)");
}

sub rebuilt_from
{
	my ($offset) = @_;
	my $log = slurp_file($node->logfile, $offset);
	return $log =~ /rebuilt its hot state from snapshot (\d+) and (\d+) events/ ? ($1, $2) : ();
}

# (a) N1 events, a snapshot, N2 more, kill -9
write_events(1, $N1);
$node->safe_psql('postgres', 'SELECT tidal.seal()');
is($node->safe_psql('postgres', 'SELECT tidal.snapshot()'), '1', 'the first snapshot is taken');
is($node->safe_psql('postgres', 'SELECT entries, covers FROM tidal.snapshots'),
	"$ENTITIES|" . $node->safe_psql('postgres',
		q{SELECT format('0:0:%s:%s', origin_node, last_batch) FROM tidal.log_status WHERE is_local}),
	'it holds every entity and covers every sealed batch');
write_events($N1 + 1, $N1 + $N2);
$node->safe_psql('postgres', q{
	CREATE TABLE scores_before AS
	SELECT entity, tidal.decay_score(entity, 'view', '2026-06-05') AS score
	  FROM generate_series(0, } . ($ENTITIES - 1) . q{) entity});
check_exact($N1 + $N2, 'before the crash');

my $offset = -s $node->logfile;
$node->stop('immediate');
$node->start;
check_exact($N1 + $N2, 'after kill -9 and a restart');
my ($snap, $replayed) = rebuilt_from($offset);
is($snap, 1, 'the restart loaded snapshot 1');
ok(defined $replayed && $replayed <= $N2,
	"the restart replayed only the events after the snapshot (" . ($replayed // 'none') . " of " . ($N1 + $N2) . ")");

# compaction: the log goes up to the oldest snapshot kept, which is the fallback
is($node->safe_psql('postgres', 'SELECT tidal.snapshot()'), '2', 'a second snapshot is taken');
cmp_ok($node->safe_psql('postgres', 'SELECT tidal.compact()'), '>', 0, 'compaction removes batches');
is($node->safe_psql('postgres', q{
	SELECT s.covers = format('0:0:%s:%s', l.origin_node, l.compacted_batch) AND l.held_by = 'snapshot'
	  FROM tidal.log_status l, tidal.snapshots s WHERE l.is_local AND s.snapshot_id = 1}), 't',
	'it removed exactly what snapshot 1 covers, and says the snapshot holds the rest');

# (b) the newest snapshot damaged on disk: the one before it and the log after it
my $toast = $node->data_dir . '/' . $node->safe_psql('postgres', q{
	SELECT pg_relation_filepath(reltoastrelid) FROM pg_class WHERE oid = 'tidal.snapshot_chunks'::regclass});

sub damage_last_chunk
{
	my ($skip) = @_;    # how many chunk starts to skip from the end
	$node->stop('fast');
	open(my $fh, '+<:raw', $toast) or die "open $toast: $!";
	local $/;
	my $bytes = <$fh>;
	my @starts;
	push @starts, pos($bytes) - 4 while $bytes =~ /TDLS/g;
	my $at = $starts[ -1 - $skip ] + 100;
	seek($fh, $at, 0);
	print $fh "\xde\xad\xbe\xef";
	close $fh;
	$node->start;
}

$offset = -s $node->logfile;    # the sealer may rebuild as soon as the server starts
damage_last_chunk(0);
check_exact($N1 + $N2, 'with snapshot 2 damaged on disk');
my $log = slurp_file($node->logfile, $offset);
like($log, qr/tidal snapshot 2 cannot be used: payload checksum mismatch/,
	'the server log says snapshot 2 is damaged');
($snap, $replayed) = rebuilt_from($offset);
is($snap, 1, 'the rebuild fell back to snapshot 1');

# the next snapshot is folded from snapshot 1, and the damaged one goes:
# compaction never relies on it
$offset = -s $node->logfile;
is($node->safe_psql('postgres', 'SELECT tidal.snapshot()'), '3', 'a third snapshot is taken');
like(slurp_file($node->logfile, $offset), qr/dropped damaged snapshot 2/, 'the damaged snapshot is dropped');
is($node->safe_psql('postgres', q{SELECT string_agg(snapshot_id::text, ',' ORDER BY snapshot_id) FROM tidal.snapshots}),
	'1,3', 'snapshots 1 (its base) and 3 are kept');
check_exact($N1 + $N2, 'with snapshot 3');

# every snapshot damaged, and the log compacted: an error, not wrong scores
$node->safe_psql('postgres', q{SELECT tidal.compact()});
$node->safe_psql('postgres', q{
	UPDATE tidal.snapshot_chunks SET chunk = overlay(chunk placing '\xdeadbeef'::bytea from 200) WHERE chunk_no = 0});
my ($ret, $out, $err) = $node->psql('postgres', q{SELECT tidal.decay_score(1, 'view', '2026-06-05')});
isnt($ret, 0, 'with no usable snapshot and a compacted log, a read fails');
like($err, qr/no valid snapshot covers its compacted log/, '... saying why');

$node->stop;
done_testing();
