# TidalCluster: N regions, each a PostgreSQL::Test::Cluster node with tidal
# (or, with shards => S, S nodes: one per shard), wired as peers through one
# TidalProxy per directed link, so that a test can partition and heal them
# with real processes and real sockets.
#
#   my $c = TidalCluster->new(3);              # name => 'x': nodes xregion0...
#   my $c = TidalCluster->new(3, shards => 2); # + the map: hash over 2 shards
#   my $c = TidalCluster->new(3, version => '0.7'); # an older extension, this library
#   my $c = TidalCluster->new(3, shards => 2, followers => 1); # + a follower per shard
#   $c->shard_leader(0, 1);                   # the node leading shard 1 of region 0
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
# With followers every node of a shard is reached through a proxy of its
# own: a shard's siblings and region peers list all of them in one
# connection string (the shard's first node first), and its members reach
# each other through proxies too, so that a test can cut any node off.
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
	my $followers = $opts{followers} // 0;
	my $self = bless { n => $n, shards => $shards, followers => $followers, nodes => [], grid => {},
		proxies => {} }, $class;
	my $dir = PostgreSQL::Test::Utils::tempdir('proxies');

	for my $i (0 .. $n - 1)
	{
		for my $s (0 .. $shards - 1)
		{
			for my $f (0 .. $followers)
			{
				my $node = TidalNode->new(($opts{name} // '') . "region$i" . ($shards > 1 ? "shard$s" : '')
					  . ($f > 0 ? "f$f" : ''),
					node_id => ($i * $shards + $s) * ($followers + 1) + $f + 1,
					region_id => $i,
					extra => [ "listen_addresses = '127.0.0.1'", "tidal.shard_id = $s", @{ $opts{extra} // [] } ]);
				$node->append_conf('pg_hba.conf', "host all all 127.0.0.1/32 trust\n");
				$node->start;
				$node->safe_psql('postgres', 'CREATE EXTENSION tidal' . ($opts{version} ? " VERSION '$opts{version}'" : ''));
				$self->{grid}{ $f > 0 ? "$i:$s:$f" : "$i:$s" } = $node;
				push @{ $self->{nodes} }, $node if $s == 0 && $f == 0;
			}
		}
	}

	# peers: the same shard of every other region, and the other shards of
	# the same region (through one proxy per link and node of the target
	# shard); and the other nodes of the same shard (members)
	my $proxy_to = sub {
		my ($key, $name, $target) = @_;
		$self->{proxies}{$key} //= TidalProxy->start($dir, $name, PostgreSQL::Test::Cluster::get_free_port(),
			$target->port);
		return $self->{proxies}{$key}->port;
	};
	for my $from (sort keys %{ $self->{grid} })
	{
		my ($i, $s, $f) = split /:/, $from;
		$f //= 0;
		for my $j (0 .. $n - 1)
		{
			for my $t (0 .. $shards - 1)
			{
				next if ($i != $j && $s != $t);
				if ($i == $j && $s == $t)
				{
					for my $g (0 .. $followers)
					{
						next if $g == $f;
						my $to = $g > 0 ? "$j:$t:$g" : "$j:$t";
						my $port = $proxy_to->("$from>$to", "member_${i}_${s}_${f}_to_$g", $self->{grid}{$to});
						$self->{grid}{$from}->safe_psql('postgres', sprintf(
								q{SELECT tidal.add_peer(%d, 'host=127.0.0.1 port=%d dbname=postgres', %d, %d)},
								$j, $port, $t, $self->node_id_of($j, $t, $g)));
					}
					next;
				}
				my @ports;
				for my $g (0 .. $followers)
				{
					my $to = $g > 0 ? "$j:$t:$g" : "$j:$t";
					my $key = $shards > 1 ? "$i:$s>$to" : ($g > 0 ? "$i>$j:$g" : "$i>$j");
					push @ports, $proxy_to->($key, "link_${i}_${s}_to_${j}_${t}_$g", $self->{grid}{$to});
				}
				my $conninfo = @ports > 1
				  ? sprintf('host=%s port=%s dbname=postgres connect_timeout=2', join(',', ('127.0.0.1') x @ports),
					join(',', @ports))
				  : "host=127.0.0.1 port=$ports[0] dbname=postgres";
				$self->{grid}{$from}->safe_psql('postgres',
					sprintf(q{SELECT tidal.add_peer(%d, '%s', %d)}, $j, $conninfo, $t));
			}
		}
	}
	# region 0 stands first in a fresh cluster; definitions are leader-only.
	# With followers the region whose shard 0 first has a leader stands
	# first: wait for the leader every region follows.
	my $leader = 0;
	if ($followers > 0)
	{
		$self->wait_until(30, sub {
				my %seen = map { $self->leader_of($_) => 1 } 0 .. $n - 1;
				($leader) = keys %seen;
				keys %seen == 1 && $leader ne '' })
		  or die 'the regions did not elect a leader';
	}
	else
	{
		$self->wait_until(30, sub { $self->leader_of(0) eq '0' })
		  or die 'region 0 did not become the leader';
	}
	if ($shards > 1)
	{
		# the map, before any signal: the default tenant's entities spread over the shards
		$self->{nodes}[$leader]->safe_psql('postgres', "SELECT tidal.set_shard_map(" . ($opts{map} // "'hash', $shards") . ")");
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
# (node_of(i, s, f): its follower f, with followers)
sub node { return $_[0]->{nodes}[ $_[1] ]; }
sub node_of { return $_[0]->{grid}{ $_[3] ? "$_[1]:$_[2]:$_[3]" : "$_[1]:$_[2]" }; }
sub node_id_of { my ($self, $i, $s, $f) = @_; return ($i * $self->{shards} + $s) * ($self->{followers} + 1) + ($f // 0) + 1; }
sub followers { return $_[0]->{followers}; }

# the node that leads shard s of region i now (asking its nodes), or undef
sub shard_leader
{
	my ($self, $i, $s) = @_;
	for my $f (0 .. $self->{followers})
	{
		my $node = $self->node_of($i, $s, $f);
		my ($rc, $role) = $node->psql('postgres', q{SELECT role FROM tidal.shard_nodes WHERE is_local});
		return $node if $rc == 0 && $role eq 'leader';
	}
	return undef;
}
# one node per region (shard 0 of each); all_nodes: every instance
sub nodes { return @{ $_[0]->{nodes} }; }
sub all_nodes { my ($self) = @_; return map { $self->{grid}{$_} } sort keys %{ $self->{grid} }; }
sub size { return $_[0]->{n}; }
sub shards { return $_[0]->{shards}; }

# the proxies of the links from region a to region b (every shard's)
sub links
{
	my ($self, $a, $b) = @_;
	return map { $self->{proxies}{$_} }
	  grep { $self->{shards} == 1 ? /^$a>$b(:\d+)?$/ : /^$a:\d+(:\d+)?>$b:\d+(:\d+)?$/ } keys %{ $self->{proxies} };
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
