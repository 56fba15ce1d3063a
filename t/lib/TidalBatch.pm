# TidalBatch: encodes tidal log records and batches in Perl, byte for byte as
# docs/log-format.md describes them, so that a test can serve a node batches
# that tidal itself would never write (a fake peer, t/021).
#
#   my $rec = TidalBatch::define_signal(hlc => [$wall_ns, 0, 9], name => 'x',
#                                       half_life_us => 86400e6, windows => [5]);
#   my $batch = TidalBatch::batch(region => 7, batch_no => 1, first_seq => 1,
#                                 records => [$rec], events => 1);
package TidalBatch;

use strict;
use warnings;

my @crc_table = map {
	my $c = $_;
	$c = ($c & 1) ? (($c >> 1) ^ 0x82F63B78) : ($c >> 1) for 1 .. 8;
	$c;
} 0 .. 255;

sub crc32c
{
	my ($data) = @_;
	my $crc = 0xFFFFFFFF;
	$crc = $crc_table[ ($crc ^ $_) & 0xFF ] ^ ($crc >> 8) for unpack('C*', $data);
	return $crc ^ 0xFFFFFFFF;
}

# now, in ns since the Unix epoch
sub now_ns
{
	require Time::HiRes;
	return int(Time::HiRes::time() * 1e9);
}

sub record
{
	my (%o) = @_;
	my ($wall, $logical, $node) = @{ $o{hlc} // [ now_ns(), 0, 9 ] };
	return pack('C C v V q< l< l< q<', $o{kind}, $o{flags} // 0, 0, length($o{body}),
		$wall, $logical, $node, $o{tenant} // 0) . $o{body};
}

# kind 1: events are [entity, weight, at_us]
sub signal
{
	my (%o) = @_;
	my $body = pack('v/a*', $o{name}) . pack('V', scalar @{ $o{events} });
	$body .= pack('q< d< q<', @$_) for @{ $o{events} };
	return record(%o, kind => 1, body => $body);
}

# kind 1, a session's write (flags 0x02 | 0x10): key, then session and seqno
sub session_signal
{
	my (%o) = @_;
	my $body = pack('v/a*', $o{name}) . pack('v/a*', $o{key}) . pack('v/a*', $o{session})
	  . pack('q<', $o{seqno}) . pack('V', scalar @{ $o{events} });
	$body .= pack('q< d< q<', @$_) for @{ $o{events} };
	return record(%o, kind => 1, flags => 0x12, body => $body);
}

# kind 2
sub define_signal
{
	my (%o) = @_;
	my @w = @{ $o{windows} // [] };
	my $body = pack('v/a*', $o{name}) . pack('q<', $o{half_life_us})
	  . pack('v/a*', $o{entity_kind} // 'item') . pack('C', scalar @w);
	$body .= pack('q<', $_) for @w;
	return record(%o, kind => 2, body => $body);
}

# kind 3
sub item
{
	my (%o) = @_;
	my $body = pack('q< q< q<', $o{item}, 0, $o{created_at_us} // 0) . pack('V/a*', $o{metadata});
	return record(%o, kind => 3, body => $body);
}

# A batch of the given records; events: the sum of their events (kind 1: n,
# others: 1).  corrupt => 'payload' flips a payload byte after the checksum.
sub batch
{
	my (%o) = @_;
	my $payload = join('', @{ $o{records} });
	my $events = $o{events};
	my $first = $o{first_seq} // 1;
	my $head = 'TDLB' . pack('v v V V V V Q< Q< Q< V V Q<', 1, 72, $o{region}, $o{shard} // 0,
		$o{node} // 9, scalar @{ $o{records} }, $o{batch_no}, $first, $first + $events - 1,
		$events, crc32c($payload), length($payload));
	$head .= pack('V V', crc32c($head), 0);
	substr($payload, -1, 1) = chr(ord(substr($payload, -1, 1)) ^ 0xFF)
	  if ($o{corrupt} // '') eq 'payload';
	return $head . $payload;
}

1;
