# TidalCluster: N regions, each a PostgreSQL::Test::Cluster node with tidal,
# wired as peers through one TidalProxy per directed link, so that a test can
# partition and heal them with real processes and real sockets.
#
#   my $c = TidalCluster->new(3);              # name => 'x': nodes xregion0...
#   $c->node(0)->safe_psql('postgres', ...);
#   $c->cut(0, 2);                                   # symmetric, refused
#   $c->cut(0, 2, oneway => 1, mode => 'blackhole'); # only 0 -> 2, hanging
#   $c->heal_all;
#   $c->stop;
#
# Link i -> j carries the connections region i opens to region j: its
# receiver pulling j's log.  Cutting it one way leaves j able to pull from i.
package TidalCluster;

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use TidalNode;
use TidalProxy;

sub new
{
	my ($class, $n, %opts) = @_;
	my $self = bless { n => $n, nodes => [], proxies => {} }, $class;
	my $dir = PostgreSQL::Test::Utils::tempdir('proxies');

	for my $i (0 .. $n - 1)
	{
		my $node = TidalNode->new(($opts{name} // '') . "region$i",
			node_id => $i + 1,
			region_id => $i,
			extra => [ "listen_addresses = '127.0.0.1'", @{ $opts{extra} // [] } ]);
		$node->append_conf('pg_hba.conf', "host all all 127.0.0.1/32 trust\n");
		$node->start;
		$node->safe_psql('postgres', 'CREATE EXTENSION tidal');
		push @{ $self->{nodes} }, $node;
	}
	for my $i (0 .. $n - 1)
	{
		for my $j (0 .. $n - 1)
		{
			next if $i == $j;
			my $proxy = TidalProxy->start($dir, "link_${i}_to_$j",
				PostgreSQL::Test::Cluster::get_free_port(), $self->{nodes}[$j]->port);
			$self->{proxies}{"$i>$j"} = $proxy;
			$self->{nodes}[$i]->safe_psql('postgres', sprintf(
					q{SELECT tidal.add_peer(%d, 'host=127.0.0.1 port=%d dbname=postgres')},
					$j, $proxy->port));
		}
	}
	# region 0 stands first in a fresh cluster; definitions are leader-only
	$self->wait_until(30, sub { $self->leader_of(0) eq '0' })
	  or die 'region 0 did not become the leader';
	return $self;
}

# the leader region as region i sees it ('' if none)
sub leader_of
{
	my ($self, $i) = @_;
	return $self->{nodes}[$i]->safe_psql('postgres',
		q{SELECT coalesce(leader_region::text, '') FROM tidal.cluster WHERE is_local});
}

# the regions whose own role is leader, and their terms, as "region:term ..."
sub leaders
{
	my ($self, @regions) = @_;
	@regions = (0 .. $self->{n} - 1) unless @regions;
	return join(' ', grep { $_ ne '' } map {
		$self->{nodes}[$_]->safe_psql('postgres',
			q{SELECT CASE WHEN role = 'leader' THEN region || ':' || term ELSE '' END
			    FROM tidal.cluster WHERE is_local})
	} @regions);
}

sub node { return $_[0]->{nodes}[ $_[1] ]; }
sub nodes { return @{ $_[0]->{nodes} }; }
sub size { return $_[0]->{n}; }

# Cut the link between regions a and b: both ways unless oneway (then only
# a -> b).  mode: 'refuse' (default) or 'blackhole'.
sub cut
{
	my ($self, $a, $b, %opts) = @_;
	my $mode = $opts{mode} // 'refuse';
	$self->{proxies}{"$a>$b"}->set($mode);
	$self->{proxies}{"$b>$a"}->set($mode) unless $opts{oneway};
	return;
}

sub heal
{
	my ($self, $a, $b) = @_;
	$self->{proxies}{"$a>$b"}->set('pass');
	$self->{proxies}{"$b>$a"}->set('pass');
	return;
}

sub heal_all
{
	my ($self) = @_;
	$_->set('pass') for values %{ $self->{proxies} };
	return;
}

# Run a query on every region; returns the list of answers.
sub query_all
{
	my ($self, $sql) = @_;
	return map { $_->safe_psql('postgres', $sql) } $self->nodes;
}

# Poll until code returns true or timeout (seconds) passes; returns the last result.
sub wait_until
{
	my ($self, $timeout, $code) = @_;
	return TidalNode::wait_until($timeout, $code, 0.05);
}

sub stop
{
	my ($self) = @_;
	$_->stop for values %{ $self->{proxies} };
	$_->stop for $self->nodes;
	return;
}

1;
