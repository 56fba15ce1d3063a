# TidalNode: PostgreSQL::Test::Cluster nodes with tidal preloaded.
#
#   my $node = TidalNode->new('region0', node_id => 1);
#   $node->start;  $node->safe_psql('postgres', 'SELECT ...');
#
# Each node runs on a free port chosen by PostgreSQL::Test::Cluster and is
# stopped when the test ends.
#
#   use TidalNode qw(wait_until);
#   wait_until(10, sub { ... });   # poll until true, at most 10 s
package TidalNode;

use strict;
use warnings;

use Exporter 'import';
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Time::HiRes qw(time);

our @EXPORT_OK = qw(wait_until);

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

# Call code every interval seconds (default 0.1) until it returns true or
# timeout seconds pass; returns its last result.
sub wait_until
{
	my ($timeout, $code, $interval) = @_;
	my $deadline = time() + $timeout;
	while (1)
	{
		my $ok = $code->();
		return $ok if $ok || time() > $deadline;
		select(undef, undef, undef, $interval // 0.1);
	}
}

1;
