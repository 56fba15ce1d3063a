# TidalCluster: N regions, each a PostgreSQL::Test::Cluster node with tidal
# (or, with shards => S, S nodes: one per shard), wired as peers through one
# TidalProxy per directed link, so that a test can partition and heal them
# with real processes and real sockets.
#
#   my $c = TidalCluster->new(3);              # name => 'x': nodes xregion0...
#   my $c = TidalCluster->new(3, shards => 2); # + the map: hash over 2 shards
#   my $c = TidalCluster->new(3, version => '0.7'); # an older extension, this library
#   my $c = TidalCluster->new(3, shards => 2,  # or another map (set_shard_map's arguments)
#       map => q{'ranges', ranges => ARRAY['(,1000)', '[1000,)']::int8range[]});
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
	my $shards = $opts{shards} // 1;
	my $self = bless { n => $n, shards => $shards, nodes => [], grid => {}, proxies => {} }, $class;
	my $dir = PostgreSQL::Test::Utils::tempdir('proxies');

	for my $i (0 .. $n - 1)
	{
		for my $s (0 .. $shards - 1)
		{
			my $node = TidalNode->new(($opts{name} // '') . "region$i" . ($shards > 1 ? "shard$s" : ''),
				node_id => $i * $shards + $s + 1,
				region_id => $i,
				extra => [ "listen_addresses = '127.0.0.1'", "tidal.shard_id = $s", @{ $opts{extra} // [] } ]);
			$node->append_conf('pg_hba.conf', "host all all 127.0.0.1/32 trust\n");
			$node->start;
			$node->safe_psql('postgres', 'CREATE EXTENSION tidal' . ($opts{version} ? " VERSION '$opts{version}'" : ''));
			$self->{grid}{"$i:$s"} = $node;
			push @{ $self->{nodes} }, $node if $s == 0;
		}
	}

	# peers: the same shard of every other region, and the other shards of the same region
	for my $from (sort keys %{ $self->{grid} })
	{
		my ($i, $s) = split /:/, $from;
		for my $to (sort keys %{ $self->{grid} })
		{
			my ($j, $t) = split /:/, $to;
			next if $from eq $to || ($i != $j && $s != $t);
			my $key = $shards > 1 ? "$from>$to" : "$i>$j";
			my $proxy = TidalProxy->start($dir, "link_${i}_${s}_to_${j}_$t",
				PostgreSQL::Test::Cluster::get_free_port(), $self->{grid}{$to}->port);
			$self->{proxies}{$key} = $proxy;
			$self->{grid}{$from}->safe_psql('postgres', sprintf(
					q{SELECT tidal.add_peer(%d, 'host=127.0.0.1 port=%d dbname=postgres', %d)},
					$j, $proxy->port, $t));
		}
	}
	# region 0 stands first in a fresh cluster; definitions are leader-only
	$self->wait_until(30, sub { $self->leader_of(0) eq '0' })
	  or die 'region 0 did not become the leader';
	if ($shards > 1)
	{
		# the map, before any signal: the default tenant's entities spread over the shards
		$self->{nodes}[0]->safe_psql('postgres', "SELECT tidal.set_shard_map(" . ($opts{map} // "'hash', $shards") . ")");
		$self->wait_until(60, sub {
				!grep { $_->safe_psql('postgres', q{SELECT version FROM tidal.shards}) ne '1' } $self->all_nodes
			}) or die 'the shard map did not reach every node';
	}
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

# region i's node (shard 0 of it); node_of(i, s): shard s of region i
sub node { return $_[0]->{nodes}[ $_[1] ]; }
sub node_of { return $_[0]->{grid}{"$_[1]:$_[2]"}; }
# one node per region (shard 0 of each); all_nodes: every instance
sub nodes { return @{ $_[0]->{nodes} }; }
sub all_nodes { my ($self) = @_; return map { $self->{grid}{$_} } sort keys %{ $self->{grid} }; }
sub size { return $_[0]->{n}; }
sub shards { return $_[0]->{shards}; }

# the proxies of the links from region a to region b (every shard's)
sub links
{
	my ($self, $a, $b) = @_;
	return $self->{shards} == 1
	  ? ($self->{proxies}{"$a>$b"})
	  : map { $self->{proxies}{$_} } grep { /^$a:\d+>$b:\d+$/ } keys %{ $self->{proxies} };
}

# the proxy of the link from one instance to another ("region:shard" each),
# for a cut inside a region: TidalCluster::link('1:1', '1:0')->set('refuse')
sub link
{
	my ($self, $from, $to) = @_;
	return $self->{proxies}{ $self->{shards} > 1 ? "$from>$to" : ((split /:/, $from)[0] . '>' . (split /:/, $to)[0]) };
}

# Cut the link between regions a and b: both ways unless oneway (then only
# a -> b).  mode: 'refuse' (default) or 'blackhole'.
sub cut
{
	my ($self, $a, $b, %opts) = @_;
	my $mode = $opts{mode} // 'refuse';
	$_->set($mode) for $self->links($a, $b);
	unless ($opts{oneway}) { $_->set($mode) for $self->links($b, $a); }
	return;
}

sub heal
{
	my ($self, $a, $b) = @_;
	$_->set('pass') for $self->links($a, $b), $self->links($b, $a);
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
	$_->stop for $self->all_nodes;
	return;
}

1;
