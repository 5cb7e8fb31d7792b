#!/usr/bin/perl

# Forged DTLS records from a connected publisher's address and port (a
# raw socket, as an off-path attacker who knows the 5-tuple would send
# them) end nothing.  OpenSSL 3.0 does not survive a protected record
# shorter than its suite's nonce and tag (every later read fails), and
# with CBC suites any bad MAC is fatal: the server offers only AEAD
# suites and keeps from OpenSSL what cannot be the peer's (found by
# t/46-hostile-udp.t: one datagram ended the publisher, "DTLS error").
#
# After the forgeries the publisher's media still arrives, and its DTLS
# still works: its close_notify at the end is read ("DTLS closed by
# peer"), not an error.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Socket qw(inet_aton pack_sockaddr_in AF_INET SOCK_RAW IPPROTO_RAW);
use Test::More;
use Time::HiRes qw(sleep);
use WebRTCTest qw(skip_unless_peers);

skip_unless_peers('aiortc');

my $t = WebRTCTest->new(name => 'dtls-forged', workers => 1);
$t->write_conf($t->whep_conf);
$t->start;

# an IPv4/UDP datagram with a source of our choosing, through a raw socket
sub forge_udp {
    my ($src, $sport, $dst, $dport, $payload) = @_;
    socket(my $raw, AF_INET, SOCK_RAW, IPPROTO_RAW) or return 0;
    my $udp = pack('n n n n', $sport, $dport, 8 + length $payload, 0)
        . $payload;
    my $ip = pack('C C n n n C C n a4 a4', 0x45, 0, 20 + length $udp,
        0x1234, 0, 64, 17, 0, inet_aton($src), inet_aton($dst));
    my $n = send($raw, $ip . $udp, 0, pack_sockaddr_in(0, inet_aton($dst)));
    close $raw;
    return defined $n && $n > 0;
}

sub record {
    my ($type, $epoch, $seq, $body, $len) = @_;
    return pack('C n n a6 n', $type, 0xfefd, $epoch,
        substr(pack('Q>', $seq), 2), $len // length $body) . $body;
}

sub video_packets {
    my $v = WebRTCTest::track($t->publisher('cam') // {}, 'video');
    return $v ? $v->{packets} : 0;
}

my ($pub, $pid) = $t->spawn_publisher('aiortc', 'cam', '--seconds', 60,
    '--video-codec', 'vp8', '--close-no-delete');
ok($pid, 'publisher connected') or BAIL_OUT('no publisher');
my $s = $t->wait_session($pid);
my ($ip, $port) = ($s && $s->{remote} // '') =~ /^([\d.]+):(\d+)$/;
ok($port, "publisher's address from the status: " . ($s->{remote} // '-'))
    or BAIL_OUT('no address');

my @forged;
# protected records (epoch 1) of every type too short for any AEAD suite
for my $type (20 .. 23) {
    push @forged, record($type, 1, 1000 + $_, 'x' x $_) for 0 .. 24;
}
# a GCM-sized application record that does not authenticate
push @forged, record(23, 1, 2000, "\x42" x 64);
# an unknown content type, a lying length, a cut header, a record of
# another epoch, two records of which the second is short
push @forged, record(0x2d, 1, 2001, "\x11" x 12), record(23, 1, 2002, 'y' x 40, 400),
    substr(record(23, 1, 2003, 'z' x 40), 0, 9), record(21, 7, 2004, 'a' x 2),
    record(23, 1, 2005, 'b' x 40) . record(23, 1, 2006, 'c' x 3);

my $before = video_packets();
my $sent = 0;
for my $d (@forged) {
    $sent += forge_udp($ip, $port, '127.0.0.1', $t->udp_port, $d);
    sleep 0.002;
}
is($sent, scalar @forged, "$sent forged records sent from $ip:$port");

sleep 3;
my $p = $t->publisher('cam');
ok($p && $p->{id} eq $pid && ($p->{state} // '') eq 'connected',
    'the publisher is still connected');
cmp_ok(video_packets(), '>', $before + 30, 'and its media still arrives');
unlike($t->error_log, qr/DTLS (read failed|error)/, 'no DTLS error logged');

# its DTLS still works: aiortc's close_notify ends the session as such
$pub->signal('USR1');
ok(defined $t->wait_gone($pid, timeout => 10), 'publisher gone after it '
    . 'closed');
like($t->error_log, qr/session closed: DTLS closed by peer, session: $pid/,
    'its close_notify was read: "DTLS closed by peer"');
$pub->finish(timeout => 15);

$t->done;

done_testing;
