# The whole UAT on ONE 3-region cluster, in order: step 1 (propagation
# within 2 s), step 2 (kill -9 of the leader: failover, then again with
# tidal.commit_ack = quorum; the killed regions rejoin), step 3 (degraded
# reads while regions 0 and 2 are cut), step 4 (CRDT merge after three kinds
# of partition) and step 5 (tenant 42 moves from region 0 to region 2 while a
# client writes and reads it).  Step 2 moves the leadership: later
# leader-only calls go to whoever leads then.  The issue bounds the whole
# run, cluster start included, to 60 s.
use strict;
use warnings;

use Time::HiRes qw(time);
my $started;
BEGIN { $started = Time::HiRes::time(); }

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use TidalCluster;
use TidalUAT;

my $c = TidalCluster->new(3, name => 'uat');
define_schema($c);
my $t = $started;
my @times;
my $lap = sub { my $now = time(); push @times, sprintf('%s %.1f s', $_[0], $now - $t); $t = $now; };
$lap->('cluster start and schema');

step1_propagation($c, item => 42);
$lap->('step 1');
is(TidalUAT::leader($c), '0', 'region 0 leads before step 2');
step2_failover($c, item => 201, quorum_item => 202);
$lap->('step 2');
step3_partition_reads($c, item => 301);
$lap->('step 3');
step4_heal($c, items => [ 401, 402, 403 ]);
$lap->('step 4');
step5_tenant_migration($c, tenant => 42, item => 501);
$lap->('step 5');

my $total = time() - $started;
note('times: ' . join(', ', @times));
note(sprintf('UAT steps 1 to 5 on one cluster: %.1f s in all', $total));
cmp_ok($total, '<', 60, sprintf('the whole UAT runs in under 60 s (%.1f s)', $total));

finish_sessions();
$c->stop;
done_testing();
