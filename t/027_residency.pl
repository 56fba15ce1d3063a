# Residency of raw events (issue 13): a tenant's records are shipped only to
# the regions that store it, and a region that stops storing it keeps none.
#
# Tenant 42 is stored in region 0 only, tenant 43 in regions 0 and 2, the
# default tenant everywhere.  42 is written in region 0 and through region 1
# (accepted there, logged, forwarded).  Regions 1 and 2 must then hold no
# raw event of 42 in any tidal table -- the log (tidal.log_records: every
# batch and tidal.pending), items, hides, idempotency keys -- while the
# other tenants converge exactly.  Region 1 must not relay a batch whose
# copy lacks 43's records to region 2, which stores 43.  Then 42 moves from
# region 0 to region 1: region 1 fetches the records its copies lacked from
# region 0 and has the exact score; after migration_gc_source region 0
# holds none of 42's raw events.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use TidalCluster;
use TidalUAT qw(:DEFAULT sql answers leader leader_call);

my $AT = $TidalUAT::AT;
my $HALF_LIFE = 7 * 86400;    # 'view' (define_schema)
my ($T, $U) = (42, 43);

my $c = TidalCluster->new(3, name => 'res');
define_schema($c);
my ($r0, $r1, $r2) = map { $c->node($_) } 0 .. 2;

# event i of an item: weight 1 at $AT - i minutes
my %expected;
my $write = sub {
	my ($node, $tenant, $item, @is) = @_;
	my $sql = join("\n", map {
		sprintf(q{SELECT tidal.signal('view', %d, 1, timestamptz '%s' - interval '%d minutes', idempotency_key => 'k%d-%d', tenant => %d);},
			$item, $AT, $_, $item, $_, $tenant)
	} @is);
	sql($node, $sql);
	$expected{$item} += 2**(-(60 * $_) / $HALF_LIFE) for @is;
	return;
};
my $score = sub {
	my ($node, $tenant, $item) = @_;
	return sql($node, qq{SELECT tidal.decay_score($item, 'view', '$AT', tenant => $tenant)});
};
my $exact = sub {
	my ($got, $want) = @_;
	return abs($got - $want) <= 1e-9 * abs($want);
};
my $converge = sub {
	my ($what) = @_;
	my @c = answers($c, q{SELECT tidal.await_convergence('30s')});
	my $ok = is(join(',', @c), 't,t,t', "$what: every region converges");
	TidalUAT::diag_replication($c, $what) unless $ok;
	return $ok;
};

# what a region holds of a tenant's raw events: full records of its data
# (signal events, items, hides) in its log -- batches and pending -- and rows
# of items, hides and idempotency keys.  Its registration and migration
# records (kinds 6 and 7) are the registry, which every region holds.
my $DATA = 'kind IN (1, 3, 4)';
my $raw_sql = sub {
	my ($tenant) = @_;
	return qq{SELECT (SELECT count(*) FROM tidal.log_records() WHERE tenant = $tenant AND $DATA AND NOT elided) || ' '
	              || (SELECT count(*) FROM tidal.item_data WHERE tenant = $tenant) || ' '
	              || (SELECT count(*) FROM tidal.hides WHERE tenant = $tenant) || ' '
	              || (SELECT count(*) FROM tidal.idempotency_keys WHERE tenant = $tenant) || ' '
	              || (SELECT count(*) FROM tidal.snapshot_chunks WHERE tenant = $tenant)};
};
my $none = '0 0 0 0 0';

# -- the tenants
ok(defined leader_call($c, qq{SELECT tidal.register_tenant($T, 'only-0', required_regions => '{0}')}),
	"tenant $T registered, stored in region 0");
ok(defined leader_call($c, qq{SELECT tidal.register_tenant($U, 'zero-and-two', required_regions => '{0,2}')}),
	"tenant $U registered, stored in regions 0 and 2");
ok($c->wait_until(20, sub {
			join(',', answers($c, qq{SELECT string_agg(CASE WHEN stored_here THEN 't' ELSE 'f' END, ' ' ORDER BY tenant_id) FROM tidal.tenants
			                          WHERE tenant_id IN ($T, $U)})) eq 't t,f f,f t' }),
	'every region knows both tenants and where they are stored');

# -- writes: 42 in region 0 and through region 1; 43 in region 0; tenant 0 everywhere
$write->($r0, $T, 7, 1 .. 40);
sql($r0, qq{SELECT tidal.upsert_item(7, 1, '{"a": 1}', tenant => $T)});
$write->($r1, $T, 7, 41 .. 60);
$write->($r0, $U, 8, 1 .. 30);
$write->($r0, 0, 9, 1 .. 30);
$write->($r1, 0, 9, 31 .. 60);
$write->($r2, 0, 9, 61 .. 90);
$converge->('after the writes') or BAIL_OUT('no convergence');

ok($exact->($score->($r0, $T, 7), $expected{7}), "region 0 has tenant ${T}'s exact score, writes of region 1 included");
is($score->($r1, $T, 7) . ' ' . $score->($r2, $T, 7), '0 0', "regions 1 and 2 have no state of tenant $T");
ok($exact->($score->($r0, $U, 8), $expected{8}) && $exact->($score->($r2, $U, 8), $expected{8}),
	"tenant $U: exact in regions 0 and 2");
is($score->($r1, $U, 8), '0', "tenant $U: no state in region 1");
my @s0 = answers($c, q{SELECT tidal.decay_score(9, 'view', '} . $AT . q{')});
ok((grep { $exact->($_, $expected{9}) } @s0) == 3, "the default tenant converges exactly everywhere (@s0)");

# -- regions 1 and 2 hold none of 42's raw events (region 1 forwarded its own
#    writes: its copy leaves them out once every peer has its batch)
is(sql($r2, $raw_sql->($T)), $none, "region 2 never received a raw event of tenant $T");
ok($c->wait_until(30, sub { sql($r1, $raw_sql->($T)) eq $none }),
	"region 1 holds no raw event of tenant $T once its forwarded writes reached every peer")
  or diag('region 1: ' . sql($r1, $raw_sql->($T)));
is(sql($r1, $raw_sql->($U)), $none, "region 1 holds no raw event of tenant $U");
is(sql($r0, qq{SELECT count(*) || ' ' || sum(events) FROM tidal.log_records() WHERE tenant = $T AND $DATA AND NOT elided}),
	'61 61', "region 0 holds all of tenant ${T}'s records (60 signal calls and the item)");
is(sql($r2, qq{SELECT count(*) || ' ' || sum(events) FROM tidal.log_records() WHERE tenant = $T AND elided}),
	'61 61', "region 2's log keeps their places as elided records (same sequence numbers)");
is(join(',', answers($c, q{SELECT sum(event_count) FROM tidal.log_batches})),
	join(',', (sql($r0, q{SELECT sum(event_count) FROM tidal.log_batches})) x 3),
	'every region holds the same batches, event counts included');

# -- what a peer is served
is(sql($r0, qq{SELECT count(*) FROM tidal._ship(1, 0, 0, '{}', '{}', '{}', '{}', '{}', 1000) s,
                    tidal._log_records(s.batch, true) r
              WHERE s.batch IS NOT NULL AND r.tenant = $T AND r.$DATA AND NOT r.elided}),
	'0', "region 0 serves region 1 no record of tenant $T");
my $first_gap = sql($r1, qq{SELECT coalesce(min(batch_no), 0) FROM tidal.log_records()
                            WHERE origin_region = 0 AND tenant = $U AND elided});
cmp_ok($first_gap, '>', 0, "region 1 holds batches of origin 0 without tenant ${U}'s records");
my $served = qq{tidal._ship(2, 0, 0, '{}', '{}', '{}', '{}', '{}', 1000) s};
is(sql($r1, qq{SELECT coalesce(max(s.batch_no), 0) < $first_gap FROM $served
                WHERE s.batch IS NOT NULL AND s.origin_region = 0}),
	't', "region 1 stops origin 0 for region 2 (which stores $U) at the first batch whose copy lacks ${U}'s records");
is(sql($r1, qq{SELECT count(*) FROM $served, tidal._log_records(s.batch, true) r
                WHERE s.batch IS NOT NULL AND r.tenant = $U AND r.elided}),
	'0', "region 1 relays region 2 no copy lacking ${U}'s records");
ok($c->wait_until(20, sub { $exact->($score->($r2, $U, 8), $expected{8}) }),
	"region 2 still has tenant ${U}'s exact score (from region 0)");

# -- snapshots: region 0's hold tenant $T, the others' never do
sql($_, 'SELECT tidal.seal(); SELECT tidal.snapshot()') for ($r0, $r1, $r2);
cmp_ok(sql($r0, qq{SELECT count(*) FROM tidal.snapshot_chunks WHERE tenant = $T}), '>', 0,
	"region 0's snapshot holds tenant ${T}'s state");
is(sql($r1, $raw_sql->($T)) . ' / ' . sql($r2, $raw_sql->($T)), "$none / $none",
	"regions 1 and 2 hold none of it, in their snapshots either");

# -- move 42 from region 0 to region 1
my $id = leader_call($c, qq{SELECT tidal.begin_tenant_migration($T, 1)});
like($id // '', qr/^\d+$/, "migration of tenant $T to region 1 begun") or BAIL_OUT('no migration');
my $state = sub { sql($c->node(leader($c)), "SELECT state FROM tidal.migrations WHERE id = $id") };
leader_call($c, "SELECT tidal.migration_prepare_target($id)");
ok($c->wait_until(30, sub { $state->() eq 'prepared' }), 'region 1 prepared')
  or TidalUAT::diag_replication($c, 'prepare');
ok($exact->($score->($r1, $T, 7), $expected{7}),
	"region 1 has tenant ${T}'s exact score: the records its copies lacked came from region 0");
is(sql($r1, qq{SELECT count(*) FROM tidal.item_data WHERE tenant = $T}), '1', 'and its item');
is(leader_call($c, "SELECT tidal.migration_enter_dual_write($id)"), 'dual_write', 'dual_write');
$write->($r0, $T, 7, 61 .. 70);
$write->($r1, $T, 7, 71 .. 80);
$converge->('after dual write');
like(leader_call($c, "SELECT tidal.migration_finalize($id)") // '', qr/^final/, 'finalizing');
ok($c->wait_until(30, sub { $state->() eq 'finalized' }), 'finalized') or TidalUAT::diag_replication($c, 'finalize');
is(leader_call($c, "SELECT tidal.migration_gc_source($id)"), 'done', 'migration_gc_source: done');
$converge->('after gc');

ok($c->wait_until(30, sub { sql($r0, $raw_sql->($T)) eq $none }),
	"after migration_gc_source region 0 holds no raw event of tenant $T")
  or diag('region 0: ' . sql($r0, $raw_sql->($T)));
is(sql($r2, $raw_sql->($T)), $none, "region 2 still holds none");
ok($exact->($score->($r1, $T, 7), $expected{7}), "region 1 has tenant ${T}'s exact score, all 80 writes");
is(sql($r1, qq{SELECT count(*) || ' ' || sum(events) FROM tidal.log_records() WHERE tenant = $T AND $DATA AND NOT elided}),
	'81 81', "region 1 holds every record of tenant $T");
ok($exact->($score->($r0, $U, 8), $expected{8}) && $exact->($score->($r2, $U, 8), $expected{8}),
	"tenant $U is unaffected");
@s0 = answers($c, q{SELECT tidal.decay_score(9, 'view', '} . $AT . q{')});
ok((grep { $exact->($_, $expected{9}) } @s0) == 3, "the default tenant is unaffected (@s0)");

# -- placements not yet known everywhere: tenant 44, stored everywhere, is
#    re-registered in region 0 only while region 1 pulls nothing (it still
#    thinks 44 is stored everywhere).  Region 2 learns it from region 0,
#    then pulls a write of 44 made in region 1, which region 1 sends in
#    full: region 2 keeps its copy without it.  And region 1, as it catches
#    up, gets copies without 44's records while it still stores 44.
my $W = 44;
ok(defined leader_call($c, qq{SELECT tidal.register_tenant($W, 'everywhere')}), "tenant $W registered everywhere");
ok($c->wait_until(20, sub { join(',', answers($c, qq{SELECT count(*) FROM tidal.tenants WHERE tenant_id = $W AND stored_here})) eq '1,1,1' }),
	"every region stores tenant $W");
$c->cut(1, 0, oneway => 1);
$c->cut(1, 2, oneway => 1);
# a write of 44 in region 0 that region 1 has not pulled: once 44 is
# re-registered, region 0 sends it to region 1 without its records, while
# region 1 still stores 44 -- region 1 gets them from a peer that has them
$write->($r0, $W, 10, 4 .. 6);
ok(defined leader_call($c, qq{SELECT tidal.register_tenant($W, 'only-0', required_regions => '{0}')}),
	"tenant $W re-registered in region 0 only, while region 1 pulls nothing");
ok($c->wait_until(20, sub { sql($r2, qq{SELECT stored_here FROM tidal.tenants WHERE tenant_id = $W}) eq 'f' }),
	"region 2 no longer stores tenant $W");
is(sql($r1, qq{SELECT stored_here FROM tidal.tenants WHERE tenant_id = $W}), 't', 'region 1 does not know yet');
$write->($r1, $W, 10, 1 .. 3);
sql($r1, q{SELECT tidal.seal()});
my $r1_seq = sql($r1, q{SELECT tidal.local_seqno()});
ok($c->wait_until(20, sub { sql($r2, q{SELECT tidal.applied_seqno(1)}) >= $r1_seq }),
	"region 2 has pulled region 1's write of tenant $W");
is(sql($r2, $raw_sql->($W)), $none, "region 2 keeps no raw event of tenant $W, which region 1 sent in full");
$c->heal_all;
$converge->('after the heal');
ok($exact->($score->($r0, $W, 10), $expected{10}), "region 0 has tenant ${W}'s exact score");
is(sql($r1, qq{SELECT stored_here FROM tidal.tenants WHERE tenant_id = $W}), 'f', 'region 1 has learned');
ok($c->wait_until(30, sub { sql($r1, $raw_sql->($W)) eq $none }),
	"region 1, once it learns, keeps none either (its own write, once every peer has it)")
  or diag('region 1: ' . sql($r1, $raw_sql->($W)));

finish_sessions();
$c->stop;
done_testing();
