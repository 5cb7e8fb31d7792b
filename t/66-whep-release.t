#!/usr/bin/perl

# A viewer without data channels frees its DTLS state once its keys work,
# keeping only a ready-made close_notify; what that changes must still
# behave (aiortc viewers: no data channel):
#   - a viewer that closes its connection without DELETE (close_notify,
#     which can no longer be authenticated) is gone within the 4 s grace
#     the server gives it to prove it is alive, logged "DTLS closed by
#     peer", long before the 30 s consent timeout;
#   - a forged alert from a live viewer's address and port (a raw socket)
#     ends nothing: the viewer keeps sending RTCP and consent checks, so
#     it stays connected and keeps decoding frames;
#   - the kept close_notify is what the viewer gets when its session ends
#     on the server's side (t/63-whep-loss.t: DTLS "closed" in aiortc).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use IO::Socket::INET;
use Socket qw(inet_aton pack_sockaddr_in AF_INET SOCK_RAW IPPROTO_RAW);
use Test::More;
use Time::HiRes qw(time sleep);
use WebRTCTest qw(skip_unless_peers stun_request);

skip_unless_peers('aiortc');

my $t = WebRTCTest->new(name => 'whep-release', workers => 1);
$t->write_conf($t->whep_conf);
$t->start;

my ($pub, $pid) = $t->spawn_publisher({ timeout => 120 }, 'aiortc', 'rel',
    '--video-codec', 'h264', '--seconds', 90, '--connect-timeout', 15);
ok($pid, 'publisher connected')
    or BAIL_OUT('no publisher: ' . $pub->stderr);

sub watch {
    my (@args) = @_;
    return $t->spawn_viewer({ wait => 20 }, 'aiortc', 'rel',
        '--connect-timeout', 10, '--frame-timeout', 10, @args);
}

###############################################################################

subtest 'close without DELETE: gone within the grace' => sub {
    my ($c, $id) = watch('--seconds', 3, '--close-no-delete');
    ok($id, 'viewer plays') or return;
    ok($t->wait_session($id), 'connected in status');
    my $e = $c->wait_event('closed', timeout => 15);
    ok($e, 'viewer closed its connection (close_notify, no DELETE)');
    my $t_close = time;
    my $gone = $t->wait_gone($id, timeout => 15);
    ok(defined $gone, sprintf 'session gone %.1f s after the close',
        time - $t_close);
    cmp_ok(time - $t_close, '<=', 4 + 3, 'within the 4 s grace + slack');
    like($t->error_log,
        qr/session closed: DTLS closed by peer.*\Q$id\E/,
        'error.log: "DTLS closed by peer"');
    $c->finish(timeout => 10);
};

subtest 'a forged alert ends nothing' => sub {
    my ($c, $id) = watch('--seconds', 40);
    ok($id, 'viewer plays') or return;
    my $s = $t->wait_session($id);
    ok($s, 'connected in status') or return;
    my ($ip, $port) = ($s->{remote} // '') =~ /^([\d.]+):(\d+)$/;
    ok($port, "viewer's address from the status: $s->{remote}") or return;
    sleep 2;        # its first SRTCP packets: the DTLS state is released

    # an alert record (content type 21, DTLS 1.2, epoch 1) from the
    # viewer's address and port, as an off-path forger would send it
    my $alert = pack('C n n a6 n', 21, 0xfefd, 1, "\0\0\0\0\0\x09", 26)
        . "\x55" x 26;
    my $sent = forge_udp($ip, $port, '127.0.0.1', $t->udp_port, $alert);
    ok($sent, 'forged alert sent from the viewer\'s address') or return;

    my @before = $c->events('stats');
    sleep 4 + 3;
    my @after = $c->events('stats');
    my $s2 = $t->session($id);
    ok($s2, 'viewer still in the status after the grace');
    is($s2 && $s2->{state}, 'connected', 'still connected');
    cmp_ok(@after ? $after[-1]{video_frames} : 0, '>',
        @before ? $before[-1]{video_frames} : 0,
        'and still decoding frames');
    unlike($t->error_log, qr/session closed:.*\Q$id\E/,
        'no close logged for it');

    $t->leave($c, 'viewer');
};

subtest 'a nomination from elsewhere does not move a playing viewer' => sub {
    my ($c, $id) = watch('--seconds', 30);
    ok($id, 'viewer plays') or return;
    my $s = $t->wait_session($id);
    ok($s, 'connected in status') or return;
    my $remote = $s->{remote};
    my $offer = $c->event('offer');
    my $answer = $c->event('answer');
    my ($ufrag) = ($answer->{sdp} // '') =~ /^a=ice-ufrag:(\S+?)\r?$/m;
    my ($pwd) = ($answer->{sdp} // '') =~ /^a=ice-pwd:(\S+?)\r?$/m;
    ok($ufrag && $pwd && $offer->{ice_ufrag}, 'both sides\' ICE ufrags')
        or return;

    # what the session's owner (who knows both) can send: a valid,
    # nominating check from another address, while media flows
    my $sock = IO::Socket::INET->new(Proto => 'udp',
        LocalAddr => '127.0.0.1') or die "udp: $!";
    my ($req) = stun_request(username => "$ufrag:$offer->{ice_ufrag}",
        key => $pwd, use_candidate => 1);
    send($sock, $req, 0, pack_sockaddr_in($t->udp_port,
        inet_aton('127.0.0.1')));
    my $rin = '';
    vec($rin, fileno($sock), 1) = 1;
    ok(select(my $rout = $rin, undef, undef, 1) > 0,
        'the check is valid: answered');

    my @before = $c->events('stats');
    sleep 2;
    my $s2 = $t->session($id);
    is($s2 && $s2->{remote}, $remote,
        'the session stays on its address (media flows there)');
    my @after = $c->events('stats');
    cmp_ok(@after ? $after[-1]{video_frames} : 0, '>',
        @before ? $before[-1]{video_frames} : 0,
        'and the viewer keeps decoding frames');
    $t->leave($c, 'viewer');
};

$t->leave($pub, 'publisher');
$t->done;

done_testing;

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
