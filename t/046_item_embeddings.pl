# Item embeddings replicate with their items (the item record carries them,
# flag 0x02): an item upserted with an embedding in region 0 has the same
# embedding in region 1, and a later upsert replaces it everywhere.  A
# region whose tidal.embedding_dimensions differs refuses such a batch with
# a clear error (tidal.replication_status), and applies nothing of it.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use TidalCluster;

my $c = TidalCluster->new(3, name => 'emb', extra => ['tidal.embedding_dimensions = 4']);
my ($r0, $r1, $r2) = $c->nodes;

# region 2 is configured with another length
$r2->append_conf('postgresql.conf', 'tidal.embedding_dimensions = 3');
$r2->restart;

$r0->safe_psql('postgres', q{SELECT tidal.upsert_item(7, 1, '{"topic": "hiking"}', '2026-01-01', embedding => '{0.5, 0.25, 0, 1}')});
ok($c->wait_until(20, sub { $r1->safe_psql('postgres', q{SELECT embedding FROM tidal.items WHERE item_id = 7}) eq '{0.5,0.25,0,1}' }),
	'an item upserted with an embedding in region 0 has it in region 1');
$r1->safe_psql('postgres', q{SELECT tidal.upsert_item(7, 1, '{"topic": "hiking"}', '2026-01-01', embedding => '{1, 0, 0, 0}')});
ok($c->wait_until(20, sub { $r0->safe_psql('postgres', q{SELECT embedding FROM tidal.items WHERE item_id = 7}) eq '{1,0,0,0}' }),
	'a later upsert in region 1 replaces it in region 0 (last writer wins)');

my $err;
ok($c->wait_until(20, sub {
			$err = $r2->safe_psql('postgres', q{SELECT string_agg(last_error, '; ') FROM tidal.replication_status WHERE quarantined});
			$err =~ /embedding has 4 dimensions, and tidal.embedding_dimensions is 3/ }),
	"region 2, configured for 3 dimensions, refuses the batch and says why ($err)");
is($r2->safe_psql('postgres', q{SELECT count(*) FROM tidal.items WHERE item_id = 7}), '0', 'and applies nothing of it');

$c->stop;
done_testing();
