# TidalNode: PostgreSQL::Test::Cluster nodes with tidal preloaded.
#
#   my $node = TidalNode->new('region0', node_id => 1);
#   $node->start;  $node->safe_psql('postgres', 'SELECT ...');
#
# Each node runs on a free port chosen by PostgreSQL::Test::Cluster and is
# stopped when the test ends.
package TidalNode;

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;

# Create (not start) a node with tidal preloaded and the extension's
# settings; extra => [lines] appends more configuration.
sub new
{
	my ($class, $name, %opts) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	my $conf = join("\n",
		"shared_preload_libraries = 'tidal'",
		"tidal.node_id = " . ($opts{node_id} // 1),
		"tidal.region_id = " . ($opts{region_id} // 0),
		"tidal.database = 'postgres'",
		"timezone = 'UTC'",
		@{ $opts{extra} // [] });
	$node->append_conf('postgresql.conf', "$conf\n");
	return $node;
}

# Start a new node and create the extension in database postgres.
sub create_started
{
	my ($class, $name, %opts) = @_;
	my $node = $class->new($name, %opts);
	$node->start;
	$node->safe_psql('postgres', 'CREATE EXTENSION tidal');
	return $node;
}

1;
