# A peer that misbehaves cannot crash, hang or poison a node (issue 11,
# finding 3).  A fake peer -- a plain PostgreSQL instance whose tidal._ship
# serves rows this test crafts -- hands the node damaged and hostile batches
# and answers of the wrong shape.  Each is refused and reported in
# tidal.replication_status; the node keeps serving reads and writes, its
# clock stays usable, it restarts without a crash loop or a hang (also with
# bad records already in its log), and it runs exactly one receiver per peer
# however often its sealer restarts (finding 8).
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use TidalBatch;
use TidalNode qw(wait_until);

my $FAKE = 7;	# the fake peer's region

my $node = TidalNode->new('hostile', node_id => 1, region_id => 0,
	extra => [ "listen_addresses = '127.0.0.1'", "tidal.peer_timeout = '1s'",
		"tidal.max_clock_offset = '500ms'" ]);
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION tidal');
ok(wait_until(30, sub {
			$node->safe_psql('postgres', q{SELECT role FROM tidal.cluster WHERE is_local}) eq 'leader' }),
	'a node alone leads itself');
$node->safe_psql('postgres', q{SELECT tidal.define_signal('view', '1 day')});

my $fake = PostgreSQL::Test::Cluster->new('fakepeer');
$fake->init;
$fake->append_conf('postgresql.conf', "listen_addresses = '127.0.0.1'\n");
$fake->start;
$fake->safe_psql('postgres', q{
	CREATE SCHEMA tidal;
	CREATE TABLE tidal.served (ord serial, origin_region int, origin_shard int, origin_node int DEFAULT 0,
	                           batch_no bigint, last_seq bigint, batch bytea);});

# the shape of a real tidal._ship, serving tidal.served
my $ship_args = 'int, int, int, int[], int[], int[], bigint[], bigint[], int';
my $real_ship = qq{
	CREATE FUNCTION tidal._ship($ship_args)
	RETURNS TABLE (origin_region int, origin_shard int, origin_node int, batch_no bigint, last_seq bigint,
	               batch bytea)
	LANGUAGE sql AS \$\$ SELECT origin_region, origin_shard, origin_node, batch_no, last_seq, batch
	                      FROM tidal.served ORDER BY ord \$\$};
sub ship_as
{
	my ($create) = @_;
	$fake->safe_psql('postgres', "DROP FUNCTION IF EXISTS tidal._ship($ship_args); $create");
}
ship_as($real_ship);

sub serve
{
	my (@batches) = @_;
	my $sql = 'TRUNCATE tidal.served;';
	for my $b (@batches)
	{
		my ($first, $last, $batch_no) = @{$b}{qw(first_seq last_seq batch_no)};
		$sql .= sprintf(q{INSERT INTO tidal.served (origin_region, origin_shard, batch_no, last_seq, batch)
		                  VALUES (%d, 0, %d, %d, '\x%s');}, $FAKE, $batch_no, $last, unpack('H*', $b->{bytes}));
	}
	$fake->safe_psql('postgres', $sql);
}

sub batch
{
	my (%o) = @_;
	my $events = $o{events} // 1;
	return { batch_no => 1, first_seq => 1, last_seq => $events,
		bytes => TidalBatch::batch(region => $FAKE, batch_no => 1, first_seq => 1, events => $events, %o) };
}

sub status
{
	my ($rc, $out, $err) = $node->psql('postgres',
		"SELECT quarantined || ' ' || coalesce(last_error, '') FROM tidal.replication_status WHERE region = $FAKE",
		timeout => 30);
	return $rc == 0 ? $out : "(could not read tidal.replication_status: $err)";
}

my $score = 0;
# the node still serves: a write, a read of it, and nothing of the fake's origin applied
sub still_serving
{
	my ($what) = @_;
	my ($rc, $out, $err) = $node->psql('postgres',
		q{SELECT tidal.signal('view', 1, 1, '2026-11-24') IS NOT NULL; SELECT tidal.decay_score(1, 'view', '2026-11-24')},
		timeout => 30);
	$score++;
	is("$rc $out", "0 t\n$score", "$what: the node still writes and reads") or diag($err);
	is($node->safe_psql('postgres', "SELECT tidal.applied_seqno($FAKE)"), '0',
		"$what: nothing of it was applied");
}

sub refused
{
	my ($what, $pattern, %o) = @_;
	my $seen = '';
	ok(wait_until(30, sub { ($seen = status()) =~ $pattern }),
		"$what: refused and reported in tidal.replication_status") or diag("status: $seen");
	like($seen, qr/^true /, "$what: the origin is quarantined") if $o{quarantined};
	still_serving($what);
}

$node->safe_psql('postgres',
	sprintf(q{SELECT tidal.add_peer(%d, 'host=127.0.0.1 port=%d dbname=postgres user=%s')},
		$FAKE, $fake->port, $ENV{USER} // 'tidal'));

my $view = sub {
	my (%o) = @_;
	return TidalBatch::signal(name => 'view', events => [ [ 1, 1, 1795996800000000 ] ], %o);
};

# ---- damaged batches ----
serve(batch(records => [ $view->() ], corrupt => 'payload'));
refused('a bad checksum', qr/checksum mismatch/);

{
	my $b = batch(records => [ $view->() ]);
	substr($b->{bytes}, -5) = '';
	serve($b);
	refused('a truncated batch', qr/length does not match/);
}

# ---- hostile records ----
# (and an event of it in the next batch: unchecked, the definition was
# stored, and applying the event made the hot state divide by zero in the
# commit callback -- a PANIC -- and the rebuild after it hang)
{
	my $def = batch(records => [ TidalBatch::define_signal(name => 'tiny', half_life_us => 86400e6, windows => [5]) ]);
	my $ev = TidalBatch::signal(name => 'tiny', events => [ [ 1, 1, 1795996800000000 ] ]);
	serve($def, { batch_no => 2, first_seq => 2, last_seq => 2,
		bytes => TidalBatch::batch(region => $FAKE, batch_no => 2, first_seq => 2, events => 1, records => [$ev]) });
}
refused('a definition with a 5 µs window', qr/unsupported window/);
is($node->safe_psql('postgres', q{SELECT count(*) FROM tidal.signals WHERE name = 'tiny'}), '0',
	'the definition was not stored');

serve(batch(records => [ TidalBatch::define_signal(name => 'slow', half_life_us => 0) ]));
refused('a definition with a zero half-life', qr/half-life/);

serve(batch(records => [ TidalBatch::define_signal(name => 'BAD NAME!', half_life_us => 86400e6) ]));
refused('a definition with a bad name', qr/invalid signal name/);

serve(batch(records => [ TidalBatch::signal(name => "view\0x", events => [ [ 1, 1, 0 ] ]) ]));
refused('a signal record with a bad name', qr/invalid signal name/);

serve(batch(records => [ $view->(events => [ [ 1, 9**9**9, 1795996800000000 ] ]) ]));
refused('an infinite weight', qr/weight must be a finite number/);

serve(batch(records => [ $view->(events => [ [ 1, 1, -9223372036854775000 ] ]) ]));
refused('a time out of range', qr/time.*out of (the )?range/);

serve(batch(records => [ $view->(tenant => -5) ]));
refused('a negative tenant', qr/invalid tenant/);

serve(batch(records => [ $view->(tenant => 424242) ]));
refused('an unregistered tenant', qr/tenant 424242 is not registered/);
serve(batch(records => [ TidalBatch::session_signal(name => 'view', key => "\x1eagent\x1f2", session => 'agent',
				seqno => 1, events => [ [ 1, 1, 1795996800000000 ] ]) ]));
refused("a session's write whose key is another seqno's", qr/keyed by its session and seqno/);
serve(batch(records => [ TidalBatch::session_signal(name => 'view', key => "\x1eagent\x1f0", session => 'agent',
				seqno => 0, events => [ [ 1, 1, 1795996800000000 ] ]) ]));
refused("a session's write with seqno 0", qr/malformed record/);

serve(batch(records => [ TidalBatch::item(item => 1, metadata => '{"a": ') ]));
refused('item metadata that is not JSON', qr/json/i);

serve(batch(records => [ $view->(hlc => [ 9223372036854775807, 2147483647, 9 ]) ]));
refused('the maximal HLC', qr/ahead of the local clock/, quarantined => 1);

serve(batch(records => [ $view->(hlc => [ TidalBatch::now_ns() + 3600e9, 0, 9 ]) ]));
refused('an HLC an hour ahead', qr/ahead of the local clock/, quarantined => 1);

# ---- answers of the wrong shape ----
# (the receiver names the 6 columns it selects, so a PostgreSQL peer answers
# this with an error; a server that is not PostgreSQL could send 3 columns,
# which remote_check_shape refuses the same way)
ship_as(qq{CREATE FUNCTION tidal._ship($ship_args)
           RETURNS TABLE (origin_region int, origin_shard int, batch_no bigint)
           LANGUAGE sql AS \$\$ SELECT 1, 2, 3::bigint \$\$});
refused('an answer with 3 columns', qr/answered with an error.*(origin_node|last_seq)|malformed answer.*columns/);

ship_as(qq{CREATE FUNCTION tidal._ship($ship_args)
           RETURNS TABLE (origin_region text, origin_shard text, origin_node text, batch_no text, last_seq text,
                          batch text)
           LANGUAGE sql AS \$\$ SELECT 'x', 'y', 'u', 'z', 'w', 'v' \$\$});
refused('an answer with columns of the wrong types', qr/malformed answer.*type/);

ship_as(qq{CREATE FUNCTION tidal._ship($ship_args)
           RETURNS TABLE (origin_region int, origin_shard int, origin_node int, batch_no bigint, last_seq bigint,
                          batch bytea)
           LANGUAGE sql AS \$\$ SELECT NULL::int, 0, 0, 1::bigint, 1::bigint, '\\x00'::bytea \$\$});
refused('an answer with NULLs', qr/malformed answer.*NULL/);

ship_as(qq{CREATE FUNCTION tidal._ship($ship_args)
           RETURNS TABLE (origin_region int, origin_shard int, origin_node int, batch_no bigint, last_seq bigint,
                          batch bytea)
           LANGUAGE sql AS \$\$ SELECT 7, 0, 0, 1::bigint, i::bigint, NULL::bytea FROM generate_series(1, 200000) i \$\$});
refused('an answer of 200,000 rows', qr/malformed answer.*rows/);

ship_as($real_ship);

# ---- one receiver per peer, however often the sealer restarts ----
for my $round (1 .. 3)
{
	my $old = $node->safe_psql('postgres',
		q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'tidal sealer'});
	$node->safe_psql('postgres', "SELECT pg_terminate_backend($old)") if $old ne '';
	ok(wait_until(30, sub {
				my $new = $node->safe_psql('postgres',
					q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'tidal sealer'});
				$new ne '' && $new ne $old }),
		"sealer restart $round");
	# the new sealer has had a round to launch receivers
	$node->safe_psql('postgres', q{SELECT tidal.signal('view', 1, 0, '2026-11-24')});
	$node->safe_psql('postgres', q{SELECT pg_sleep(0.5)});
}
is($node->safe_psql('postgres',
		q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'tidal receiver'}),
	'1', 'exactly one receiver for the one peer');

# ---- restarts: with bad records already in the log ----
my $tiny_def = q{INSERT INTO tidal.signal_defs (name, half_life, windows, entity_kind, defined_at)
                 VALUES ('tiny', '1 day', ARRAY['5 microseconds'::interval], 'item', tidal.hlc(1, 0, 1))};
my $poison = join(';', map { sprintf(q{INSERT INTO tidal.pending (record) VALUES ('\x%s')}, unpack('H*', $_)) }
	(TidalBatch::signal(name => 'tiny', events => [ [ 1, 1, 1795996800000000 ] ], hlc => [ 2, 0, 1 ]),
	 TidalBatch::signal(name => 'view', events => [ [ 2, 1, 1795996800000000 ] ],
		hlc => [ 9223372036854775807, 2147483647, 1 ])));
$node->safe_psql('postgres', "BEGIN; $tiny_def; $poison; COMMIT;");

my $offset = -s $node->logfile;
{
	local $ENV{PGCTLTIMEOUT} = 60;
	$node->restart;
}
my ($rc, $out, $err) = $node->psql('postgres',
	q{SELECT tidal.signal('view', 1, 1, '2026-11-24') IS NOT NULL; SELECT tidal.decay_score(1, 'view', '2026-11-24')},
	timeout => 60);
$score++;
is("$rc $out", "0 t\n$score", 'after a restart with bad records in its log, the node rebuilds and writes')
  or diag($err);
my $log = slurp_file($node->logfile, $offset);
unlike($log, qr/PANIC|was terminated by signal|server process .* exited with exit code/,
	'no crash on the way');
like($log, qr/WARNING:.*tidal skipped .*signal "tiny"/s, 'the bad definition is skipped, loudly');
like($log, qr/WARNING:.*ahead of the local clock/s, 'the far-future HLC in the log is not adopted, loudly');
is($node->safe_psql('postgres', q{SELECT tidal.hlc_wall_ns(tidal.hlc_now()) < 9000000000000000000}), 't',
	'the clock is not exhausted');

# a good batch, served by the peer, is applied
serve(batch(records => [ $view->(events => [ [ 5, 3, 1795996800000000 ] ]) ]));
ok(wait_until(30, sub { $node->safe_psql('postgres', "SELECT tidal.applied_seqno($FAKE)") eq '1' }),
	'a good batch from the same peer is applied');
is(status(), 'false ', 'and the peer is no longer quarantined');

$node->stop;
$fake->stop;
done_testing();
