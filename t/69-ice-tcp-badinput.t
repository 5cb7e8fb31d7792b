#!/usr/bin/perl

# ICE-TCP from a raw socket, what an unauthenticated connection may cost:
#   - a frame length of 0, or above the largest packet (2048): closed at
#     once, logged at info;
#   - junk frames of a valid length, and STUN with wrong credentials:
#     not answered, closed at webrtc_setup_timeout like a connection
#     that sends nothing;
#   - more than 128 connections waiting for STUN in a worker: the rest
#     closed at once;
#   - a valid check (the answer's ufrag and pwd) gets a framed success
#     response on the same connection; the session's transport is tcp;
#     the connection's close ends the session;
#   - the workers keep their pids, nothing above info is logged.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use IO::Select;
use IO::Socket::INET;
use Test::More;
use Time::HiRes qw(sleep time);
use WebRTCTest qw(skip_unless_netns skip_unless_module test_offer
    stun_request);

skip_unless_netns();
skip_unless_module();

my $t = WebRTCTest->new(name => 'ice-tcp-bad', workers => 1);
$t->write_conf($t->default_conf(http => "webrtc_ice_tcp on;\n"
    . "    webrtc_setup_timeout 2s;"));
$t->start;

my @pids = $t->worker_pids;
my $port = $t->udp_port(0);

sub connect_tcp {
    return IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
        Proto => 'tcp', Timeout => 3);
}

# seconds until the server closes the connection (EOF), undef if not
# within $timeout; what it sent meanwhile in $$got
sub closed_in {
    my ($s, $timeout, $got) = @_;
    my $t0 = time;
    my $sel = IO::Select->new($s);
    while (time - $t0 < $timeout) {
        next unless $sel->can_read(0.1);
        my $n = sysread($s, my $buf, 65536);
        return time - $t0 if !$n;
        $$got .= $buf if $got;
    }
    return undef;
}

sub frame { pack('n', length $_[0]) . $_[0] }

{
    my $s = connect_tcp();
    ok($s, "TCP connect to the worker's media port $port");
    syswrite($s, "\x00\x00");
    my $dt = closed_in($s, 3);
    ok(defined $dt, sprintf 'length 0: closed (%.2f s)', $dt // -1);
}

{
    my $s = connect_tcp();
    syswrite($s, pack('n', 2049) . ('x' x 100));
    my $dt = closed_in($s, 3);
    ok(defined $dt, sprintf 'length 2049: closed (%.2f s)', $dt // -1);

    $s = connect_tcp();
    syswrite($s, "\xff\xff");
    $dt = closed_in($s, 3);
    ok(defined $dt, sprintf 'length 65535: closed (%.2f s)', $dt // -1);
}

{
    # frames of valid lengths: junk, DTLS- and RTP-shaped, a bad STUN
    my $s = connect_tcp();
    my $junk = join '', map { frame(chr($_) . ('j' x 2047)) } 1, 22, 128, 255;
    my ($bad) = stun_request(username => 'nope:nope', key => 'x' x 24);
    syswrite($s, $junk . frame($bad) . frame('x'));
    my $got = '';
    my $dt = closed_in($s, 5, \$got);
    ok(defined $dt && $dt > 1.5, sprintf 'junk frames and a bad STUN: '
        . 'kept until webrtc_setup_timeout (closed after %.2f s)', $dt // -1);
    is(length $got, 0, 'nothing answered');

    $s = connect_tcp();
    $dt = closed_in($s, 5);
    ok(defined $dt && $dt > 1.5, sprintf 'silent connection closed after '
        . '%.2f s', $dt // -1);
}

{
    # the cap of connections waiting for STUN
    my @s = grep { $_ } map { connect_tcp() } 1 .. 140;
    is(scalar @s, 140, '140 connections made (the kernel accepts them)');
    sleep 0.5;
    my $closed = 0;
    for my $s (@s) {
        my $sel = IO::Select->new($s);
        next unless $sel->can_read(0);
        $closed++ unless sysread($s, my $buf, 10);
    }
    cmp_ok($closed, '>=', 12, "over 128 waiting: $closed closed at once");
    cmp_ok($closed, '<=', 20, 'the first 128 kept');
    close $_ for @s;
}

{
    # a real check over TCP
    my $r = $t->http('POST', '/whip/tcp1', body => test_offer('chromium'),
        headers => { 'Content-Type' => 'application/sdp' });
    is($r->{status}, 201, 'WHIP POST 201');
    my $ans = $r->{body} // '';
    my ($ufrag) = $ans =~ /^a=ice-ufrag:(\S+?)\r?$/m;
    my ($pwd) = $ans =~ /^a=ice-pwd:(\S+?)\r?$/m;
    my ($tport) = $ans =~ /^a=candidate:\S+ 1 tcp \d+ \S+ (\d+) typ host tcptype passive/m;
    my ($id) = ($r->{headers}{location} // '') =~ m{/([0-9a-f]{32})$};
    is($tport, $port, 'TCP candidate on the port');

    my $s = connect_tcp();
    my ($req, $tid) = stun_request(username => "$ufrag:b1jv", key => $pwd,
        use_candidate => 1);
    # split in two writes: the reader joins a frame across reads
    my $f = frame($req);
    syswrite($s, substr($f, 0, 7));
    sleep 0.1;
    syswrite($s, substr($f, 7));
    my $got = '';
    my $sel = IO::Select->new($s);
    my $t0 = time;
    while (length $got < 22 && time - $t0 < 3) {
        last unless $sel->can_read(0.2) || length $got < 22;
        my $n = sysread($s, my $buf, 4096);
        last if defined $n && $n == 0;
        $got .= $buf if $n;
    }
    my ($len, $type) = unpack('nn', $got);
    is($type, 0x0101, 'a Binding success response, framed');
    is($len, length($got) - 2, "its frame length ($len)");
    is(substr($got, 2 + 8, 12), $tid, 'same transaction');

    my $sess = $t->wait_session($id, state => 'checking');
    is($sess && $sess->{transport}, 'tcp', 'status: transport tcp');

    close $s;
    my $gone = $t->wait_gone($id, timeout => 5);
    ok(defined $gone, 'the connection closed: the session ended');
    like($t->read_file('logs/error.log'),
        qr/session closed: ICE-TCP connection closed/,
        'logged: ICE-TCP connection closed');
}

my $log = $t->read_file('logs/error.log');
like($log, qr/\[info\].*ICE-TCP connection from .* closed: bad RFC 4571 frame length/,
    'bad frames logged at info');
like($log, qr/\[info\].*closed: no STUN check authenticated in time/,
    'the timeout logged at info');
is_deeply([$t->worker_pids], \@pids, 'the worker kept its pid');

$t->done;
done_testing;
