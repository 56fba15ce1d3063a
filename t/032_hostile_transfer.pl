# A peer that answers a state transfer with damaged or malformed parts
# cannot replace a region's state: tidal.transfer_state checks every part
# before it writes anything, refuses with an error that says why, and the
# region keeps its snapshots and its scores.  The fake peer is a plain
# PostgreSQL instance whose tidal._transfer serves rows this test crafts.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use TidalNode qw(wait_until);

my $FAKE = 7;

my $node = TidalNode->new('xferhostile', node_id => 1, region_id => 0,
	extra => [ "listen_addresses = '127.0.0.1'", "tidal.peer_timeout = '1s'",
		'tidal.auto_state_transfer = off', 'tidal.snapshot_interval = 0' ]);
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION tidal');
ok(wait_until(30, sub {
			$node->safe_psql('postgres', q{SELECT role FROM tidal.cluster WHERE is_local}) eq 'leader' }),
	'a node alone leads itself');
$node->safe_psql('postgres', q{
	SELECT tidal.define_signal('view', '1 day');
	SELECT tidal.signal_batch('view', ARRAY[1, 2, 3], ARRAY[1, 2, 3]::float8[],
	                          array_fill('2026-06-01'::timestamptz, ARRAY[3]));
	SELECT tidal.seal();
	SELECT tidal.snapshot();});
my $state_sql = q{SELECT string_agg(e || '=' || tidal.decay_score(e, 'view', '2026-06-01'), ',' ORDER BY e)
                    FROM generate_series(1, 3) e};
my $before = $node->safe_psql('postgres', $state_sql);
my $snaps_sql = q{SELECT string_agg(snapshot_id || ':' || covers, ' ' ORDER BY snapshot_id) FROM tidal.snapshots};
my $snaps = $node->safe_psql('postgres', $snaps_sql);

my $fake = PostgreSQL::Test::Cluster->new('fakexferpeer');
$fake->init;
$fake->append_conf('postgresql.conf', "listen_addresses = '127.0.0.1'\n");
$fake->start;
$fake->safe_psql('postgres', q{
	CREATE SCHEMA tidal;
	CREATE TABLE tidal.served (ord serial, part int, origin_region int, origin_shard int,
	                           batch_no bigint, last_seq bigint, data bytea, origin_node int NOT NULL DEFAULT 0);
	CREATE FUNCTION tidal._transfer(int)
	RETURNS TABLE (part int, origin_region int, origin_shard int, batch_no bigint, last_seq bigint, data bytea,
	               origin_node int)
	LANGUAGE sql AS $$ SELECT part, origin_region, origin_shard, batch_no, last_seq, data, origin_node
	                     FROM tidal.served ORDER BY ord $$;});
$node->safe_psql('postgres', sprintf(q{SELECT tidal.add_peer(%d, 'host=127.0.0.1 port=%d dbname=postgres')},
		$FAKE, $fake->port));

# a well-formed head: one mark and the newest HLC (logical, node, wall ns)
my $head = q{INSERT INTO tidal.served (part, origin_region, origin_shard, batch_no, last_seq, data) VALUES
	(1, 7, 0, 5, 50, NULL),
	(2, 0, 7, (extract(epoch FROM now()) * 1e9)::bigint, 1, NULL);};

sub refused
{
	my ($name, $rows, $why) = @_;
	$fake->safe_psql('postgres', "TRUNCATE tidal.served; $rows");
	my ($ret, $out, $err) = $node->psql('postgres', "SELECT tidal.transfer_state($FAKE)");
	isnt($ret, 0, "$name: refused");
	like($err, $why, "$name: says why");
	is($node->safe_psql('postgres', $snaps_sql), $snaps, "$name: the region keeps its snapshots");
	is($node->safe_psql('postgres', $state_sql), $before, "$name: and its scores");
}

refused('a damaged snapshot chunk',
	$head . q{INSERT INTO tidal.served (part, origin_region, origin_shard, batch_no, last_seq, data)
	          VALUES (3, 0, 0, 0, 0, '\x5444 4c53 0100 0100'::bytea || decode(repeat('00', 60), 'hex'));},
	qr/sent a damaged snapshot chunk/);
refused('a chunk that is not one at all',
	$head . q{INSERT INTO tidal.served (part, origin_region, origin_shard, batch_no, last_seq, data)
	          VALUES (3, 0, 0, 0, 0, 'hello');},
	qr/sent a damaged snapshot chunk: shorter than its header/);
refused('a mark with a negative batch',
	q{INSERT INTO tidal.served (part, origin_region, origin_shard, batch_no, last_seq, data) VALUES
	  (1, 7, 0, -5, 50, NULL), (2, 0, 7, 1, 1, NULL);},
	qr/sent a malformed mark/);
refused('a mark of a node out of range',
	q{INSERT INTO tidal.served (part, origin_region, origin_shard, batch_no, last_seq, data, origin_node) VALUES
	  (1, 7, 0, 5, 50, NULL, 70000), (2, 0, 7, 1, 1, NULL, 0);},
	qr/sent a malformed mark/);
refused('an origin marked twice',
	q{INSERT INTO tidal.served (part, origin_region, origin_shard, batch_no, last_seq, data) VALUES
	  (1, 7, 0, 5, 50, NULL), (1, 7, 0, 6, 60, NULL), (2, 0, 7, 1, 1, NULL);},
	qr/sent a malformed mark/);
refused('no hlc',
	q{INSERT INTO tidal.served (part, origin_region, origin_shard, batch_no, last_seq, data) VALUES
	  (1, 7, 0, 5, 50, NULL);},
	qr/without its snapshot's hlc/);
refused('an hlc far in the future',
	q{INSERT INTO tidal.served (part, origin_region, origin_shard, batch_no, last_seq, data) VALUES
	  (2, 0, 7, (extract(epoch FROM now() + interval '1 day') * 1e9)::bigint, 1, NULL);},
	qr/max_clock_offset|ahead/);
refused('a session mark with a control character in its id',
	$head . q{INSERT INTO tidal.served (part, origin_region, origin_shard, batch_no, last_seq, data)
	          VALUES (6, 0, 0, 0, 0, NULL), (4, 0, 0, 0, 3, E'a\\x01b'::bytea);},
	qr/a session id has no control characters/);
refused('a held session write that is no record',
	$head . q{INSERT INTO tidal.served (part, origin_region, origin_shard, batch_no, last_seq, data)
	          VALUES (6, 0, 0, 0, 0, NULL), (5, 0, 0, 0, 3, 'hello');},
	qr/sent a held session write that is not one/);
refused('an unknown part',
	$head . q{INSERT INTO tidal.served (part, origin_region, origin_shard, batch_no, last_seq, data)
	          VALUES (9, 0, 0, 0, 0, NULL);},
	qr/unknown part 9/);

# an answer of the wrong shape: the right columns, of the wrong types
$fake->safe_psql('postgres', q{
	DROP FUNCTION tidal._transfer(int);
	CREATE FUNCTION tidal._transfer(int)
	RETURNS TABLE (part text, origin_region text, origin_shard text, batch_no text, last_seq text, data text,
	               origin_node text)
	LANGUAGE sql AS $$ SELECT '1', '7', '0', '5', '50', 'x', '0' $$;});
my ($ret, $out, $err) = $node->psql('postgres', "SELECT tidal.transfer_state($FAKE)");
like($err, qr/malformed result/, 'an answer of the wrong shape is refused');
is($node->safe_psql('postgres', $state_sql), $before, 'the region still serves its scores');

# and a transfer from a region that is not a peer is refused before it asks
($ret, $out, $err) = $node->psql('postgres', 'SELECT tidal.transfer_state(9)');
like($err, qr/region 9 is not a peer/, 'a transfer from a region that is not a peer is refused');

$fake->stop;
$node->stop;
done_testing();
