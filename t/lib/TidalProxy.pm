# TidalProxy: a small TCP proxy for one directed link between two regions,
# in its own process, so a test can cut and heal the link.
#
#   my $p = TidalProxy->start($dir, 'link_0_to_2', $listen_port, $target_port);
#   $p->set('refuse');     # new and open connections are closed
#   $p->set('blackhole');  # connections are accepted but nothing is forwarded
#   $p->set('pass');       # heal
#   $p->stop;
#
# The mode lives in a file the proxy polls every 50 ms; set() waits until
# the proxy has taken it up.  On a cut, open connections are closed (refuse)
# or left hanging with their bytes dropped (blackhole), as a real network
# partition would.
package TidalProxy;

use strict;
use warnings;

use IO::Select;
use POSIX ();
use IO::Socket::INET;
use Time::HiRes qw(usleep time);

sub start
{
	my ($class, $dir, $name, $listen_port, $target_port) = @_;
	my $self = bless {
		mode_file => "$dir/$name.mode",
		ack_file => "$dir/$name.ack",
		name => $name,
		port => $listen_port,
	}, $class;
	_write($self->{mode_file}, 'pass');
	unlink $self->{ack_file};

	my $listener = IO::Socket::INET->new(
		LocalAddr => '127.0.0.1',
		LocalPort => $listen_port,
		Listen => 64,
		ReuseAddr => 1,
		Proto => 'tcp') or die "proxy $name cannot listen on $listen_port: $!";

	my $pid = fork();
	die "fork: $!" unless defined $pid;
	if ($pid == 0)
	{
		_run($self, $listener, $target_port);
		POSIX::_exit(0);    # not exit: the parent's END blocks (node teardown) must not run here
	}
	close $listener;
	$self->{pid} = $pid;
	$self->_await_ack('pass');
	return $self;
}

sub port { return $_[0]->{port}; }

sub set
{
	my ($self, $mode) = @_;
	die "unknown proxy mode $mode" unless $mode =~ /^(pass|refuse|blackhole)$/;
	_write($self->{mode_file}, $mode);
	$self->_await_ack($mode);
	return;
}

sub stop
{
	my ($self) = @_;
	return unless $self->{pid};
	kill 'TERM', $self->{pid};
	waitpid($self->{pid}, 0);
	delete $self->{pid};
	return;
}

sub DESTROY { $_[0]->stop; }

sub _write
{
	my ($file, $text) = @_;
	open my $fh, '>', "$file.tmp" or die "$file.tmp: $!";
	print $fh $text;
	close $fh;
	rename "$file.tmp", $file or die "rename $file: $!";
	return;
}

sub _read
{
	my ($file) = @_;
	open my $fh, '<', $file or return '';
	local $/;
	my $text = <$fh>;
	close $fh;
	return $text // '';
}

sub _await_ack
{
	my ($self, $mode) = @_;
	for (1 .. 500)
	{
		return if _read($self->{ack_file}) eq $mode;
		usleep(10_000);
	}
	die "proxy $self->{name} did not switch to $mode";
}

# The proxy process: forward bytes between accepted clients and the target.
sub _run
{
	my ($self, $listener, $target_port) = @_;
	$SIG{TERM} = sub { POSIX::_exit(0); };
	$SIG{PIPE} = 'IGNORE';
	my $mode = 'pass';
	my %other;    # fileno -> the socket at the other end of a forwarded pair
	my @pairs;    # [client, server] being forwarded
	my @held;     # black-holed sockets, kept open and ignored
	my $select = IO::Select->new($listener);
	my $next_poll = 0;

	my $unpair = sub {
		my ($pair, $keep) = @_;
		for my $x (@$pair)
		{
			delete $other{ fileno $x };
			$select->remove($x);
			if ($keep) { push @held, $x; } else { close $x; }
		}
		@pairs = grep { $_ != $pair } @pairs;
	};

	_write($self->{ack_file}, $mode);
	while (1)
	{
		if (time() >= $next_poll)
		{
			my $want = _read($self->{mode_file});
			if ($want ne '' && $want ne $mode)
			{
				$mode = $want;
				if ($mode eq 'pass')
				{
					close $_ for @held;
					@held = ();
				}
				else
				{
					my @all = @pairs;    # $unpair edits @pairs
					$unpair->($_, $mode eq 'blackhole') for @all;
				}
				_write($self->{ack_file}, $mode);
			}
			$next_poll = time() + 0.05;
		}

		for my $s ($select->can_read(0.05))
		{
			if ($s == $listener)
			{
				my $client = $listener->accept or next;
				if ($mode eq 'refuse')
				{
					close $client;
					next;
				}
				if ($mode eq 'blackhole')
				{
					push @held, $client;
					next;
				}
				my $server = IO::Socket::INET->new(
					PeerAddr => '127.0.0.1',
					PeerPort => $target_port,
					Proto => 'tcp');
				if (!$server)
				{
					close $client;
					next;
				}
				push @pairs, [ $client, $server ];
				$other{ fileno $client } = $server;
				$other{ fileno $server } = $client;
				$select->add($client, $server);
				next;
			}
			my $to = $other{ fileno $s } or next;
			my ($pair) = grep { $_->[0] == $s || $_->[1] == $s } @pairs;
			my $buf;
			my $n = sysread($s, $buf, 65536);
			if (!$n)
			{
				$unpair->($pair, 0) if $pair;
				next;
			}
			my $off = 0;
			while ($off < $n)
			{
				my $w = syswrite($to, $buf, $n - $off, $off);
				if (!defined $w)
				{
					$unpair->($pair, 0) if $pair;
					last;
				}
				$off += $w;
			}
		}
	}
}

1;
