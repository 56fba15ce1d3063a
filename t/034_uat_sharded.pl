# UAT steps 1, 3, 4 and 5 on a cluster of 3 regions of 2 shards each (six
# instances; the default tenant's entities spread by a hash map). Every call
# goes to shard 0 of its region, as an application that knows one address per
# region would send it: writes and reads of entities shard 1 owns are
# forwarded there, and tidal.retrieve gathers every shard's part. Step 1:
# propagation within 2 s; step 3: reads and retrieve during a partition,
# degraded (region 2 unreachable) but answered; step 4: CRDT merge after
# three kinds of partition (every link between regions 0 and 2 cut, for
# both shards); step 5: tenant 42 (on shard 0) moves from region 0 to
# region 2 while a client writes and reads it.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use TidalCluster;
use TidalUAT;

my $c = TidalCluster->new(3, name => 'sharded', shards => 2);
define_schema($c);

# the items the steps use fall on both shards
my @items = (42, 301, 401, 402, 403, 501);
my %shard = map { $_ => $c->node(0)->safe_psql('postgres', "SELECT tidal.shard_for($_)") } @items;
note(join(' ', map { "item $_ on shard $shard{$_}" } @items));
ok((grep { $shard{$_} == 0 } @items) && (grep { $shard{$_} == 1 } @items), 'the steps\' items fall on both shards');

step1_propagation($c, item => 42);
step3_partition_reads($c, item => 301);
step4_heal($c, items => [ 401, 402, 403 ]);
step5_tenant_migration($c, tenant => 42, item => 501);

# every instance, shard 1 included, ends with the same log as its region peers
for my $s (0, 1)
{
	my @logs = map {
		$c->node_of($_, $s)->safe_psql('postgres',
			q{SELECT string_agg(region || ':' || shard || '=' || last_seq, ' ' ORDER BY region, shard) FROM tidal.origins WHERE last_seq > 0})
	} 0 .. 2;
	ok($c->wait_until(20, sub {
				@logs = map {
					$c->node_of($_, $s)->safe_psql('postgres',
						q{SELECT string_agg(region || ':' || shard || '=' || last_seq, ' ' ORDER BY region, shard) FROM tidal.origins WHERE last_seq > 0})
				} 0 .. 2;
				$logs[0] eq $logs[1] && $logs[1] eq $logs[2]
			}),
		"shard $s: the three regions hold the same log ($logs[0])");
}

finish_sessions();
$c->stop;
done_testing();
