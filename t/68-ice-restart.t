#!/usr/bin/perl

# ICE restart (RFC 9725 4.4.2; WHEP the same) at the HTTP and STUN level:
#   - PATCH with new ice-ufrag/ice-pwd: 428 without If-Match, 412 with a
#     stale or weak ETag, 200 with the server's new credentials and
#     candidates and a new ETag (the old one is then stale); "*" matches;
#     400/415 for malformed bodies; a session of the other location kind
#     is 404; for WHIP and WHEP sessions, on whichever worker the PATCH
#     lands (and once on purpose through the worker that does not own
#     the session);
#   - the owner worker swaps the credentials: the old ufrag stops
#     authenticating, the new one works;
#   - on a connected session (an aiortc publisher, DTLS up, media
#     flowing) the first nominating check with the new credentials from a
#     new address moves the path at once and media follows; a check that
#     does not nominate, or is not authenticated, moves nothing;
#   - webrtc_consent_timeout below 10 s is refused with the reason.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use IO::Socket::INET;
use Socket qw(pack_sockaddr_in inet_aton);
use Test::More;
use Time::HiRes qw(time sleep);
use WebRTCTest qw(skip_unless_peers test_offer stun_request);

skip_unless_peers('aiortc');

my $TRICKLE = { 'Content-Type' => 'application/trickle-ice-sdpfrag' };

my $t = WebRTCTest->new(name => 'ice-restart', workers => 2);
$t->write_conf($t->whep_conf(reuseport => 1));
$t->start;

sub post {
    my ($path, $body) = @_;
    return $t->http('POST', $path, body => $body,
        headers => { 'Content-Type' => 'application/sdp' });
}

sub summary {
    my ($r) = @_;
    return "$r->{status} $r->{body}";
}

# a restart fragment with the client's new credentials
sub restart_frag {
    my ($ufrag, $pwd) = @_;
    return "a=ice-options:trickle ice2\r\na=ice-ufrag:$ufrag\r\n"
        . "a=ice-pwd:$pwd\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n"
        . "a=candidate:1 1 udp 2122260223 127.0.0.1 40000 typ host\r\n"
        . "a=end-of-candidates\r\n";
}

sub patch {
    my ($loc, $body, %h) = @_;
    return $t->http('PATCH', $loc, body => $body,
        headers => { %$TRICKLE, %h });
}

sub rand_str {
    my ($n) = @_;
    my @c = ('a' .. 'z', 'A' .. 'Z', 0 .. 9);
    return join '', map { $c[rand @c] } 1 .. $n;
}

# the server's fragment: (ufrag, pwd, candidates)
sub parse_frag {
    my ($body) = @_;
    my ($u) = $body =~ /^a=ice-ufrag:(\S+)\r$/m;
    my ($p) = $body =~ /^a=ice-pwd:(\S+)\r$/m;
    my @c = $body =~ /^a=candidate:(.*)\r$/mg;
    return ($u, $p, @c);
}

# the checks of one ICE restart, on $loc whose current ETag is $etag;
# returns (new ETag, server ufrag, server pwd, client ufrag)
sub restart_ok {
    my ($loc, $etag, $name) = @_;
    my ($cu, $cp) = (rand_str(8), rand_str(24));
    my $r = patch($loc, restart_frag($cu, $cp), 'If-Match' => $etag);
    is($r->{status}, 200, "$name: 200") or diag(summary($r));
    like($r->{headers}{'content-type'} // '',
        qr{^application/trickle-ice-sdpfrag$}, "$name: sdpfrag body");
    my ($u, $p, @c) = parse_frag($r->{body});
    ok($u && $p, "$name: the server's new ice-ufrag and ice-pwd");
    like($r->{body}, qr/^a=ice-lite\r$/m, "$name: ice-lite");
    like($r->{body}, qr/^m=audio 9 UDP\/TLS\/RTP\/SAVPF 111\r\na=mid:0\r$/m,
        "$name: candidates under the client's mid");
    like($c[0] // '', qr/^1 1 udp \d+ 127\.0\.0\.1 \d+ typ host$/,
        "$name: a host candidate");
    like($r->{body}, qr/^a=end-of-candidates\r$/m, "$name: end-of-candidates");
    my $new = $r->{headers}{etag} // '';
    is($new, "\"$u\"", "$name: the new ETag") if $u;
    isnt($new, $etag, "$name: the ETag changed");
    return ($new, $u, $p, $cu, ($c[0] // '') =~ /(\d+) typ host$/);
}

###############################################################################
# STUN to a worker port from our own sockets

sub udp_socket {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', Proto => 'udp')
        or die "udp socket: $!";
    return $s;
}

# a check; returns the response's type (0x0101 success) or undef
sub check {
    my ($sock, $port, %a) = @_;
    my ($msg, $tid) = stun_request(%a);
    my $to = pack_sockaddr_in($port, inet_aton('127.0.0.1'));
    for (1 .. 3) {
        send($sock, $msg, 0, $to);
        my $deadline = time + 0.4;
        while (time < $deadline) {
            my $rin = '';
            vec($rin, fileno($sock), 1) = 1;
            last unless select($rin, undef, undef, $deadline - time) > 0;
            recv($sock, my $buf, 2048, 0);
            next unless length($buf) >= 20 && substr($buf, 8, 12) eq $tid;
            return unpack('n', $buf);
        }
    }
    return undef;
}

sub session_of {
    my ($id) = @_;
    return $t->session($id) // {};
}

###############################################################################
# HTTP on one kept-alive connection, to choose the worker a request hits
# (as in t/50-lifecycle.t)

sub _read_response {
    my ($s, $deadline) = @_;
    my $buf = '';
    my ($head, $len);
    while (time < $deadline) {
        if (!defined $head && $buf =~ /\r\n\r\n/) {
            ($head) = $buf =~ /^(.*?\r\n)\r\n/s;
            ($len) = $head =~ /^Content-Length:\s*(\d+)/mi;
            $len //= 0;
        }
        if (defined $head && length($buf) >= length($head) + 2 + $len) {
            my ($status) = $head =~ m{^HTTP/1\.[01] (\d{3})};
            my ($etag) = $head =~ /^ETag:\s*(\S+)\r$/mi;
            return { status => $status, etag => $etag,
                     body => substr($buf, length($head) + 2, $len) };
        }
        my $rin = '';
        vec($rin, fileno($s), 1) = 1;
        last unless select($rin, undef, undef, $deadline - time) > 0;
        my $n = sysread($s, $buf, 65536, length $buf);
        last unless $n;
    }
    return undef;
}

# PATCH $body to $loc through a worker other than $not: (response, pid)
sub patch_via_other_worker {
    my ($loc, $not, $body, $etag) = @_;
    for (1 .. 60) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
            PeerPort => $t->http_port, Proto => 'tcp', Timeout => 5)
            or next;
        my $deadline = time + 10;
        syswrite($s, "GET /webrtc/status HTTP/1.1\r\nHost: localhost\r\n\r\n");
        my $r = _read_response($s, $deadline) or next;
        my ($pid) = $r->{body} =~ /^\{"pid":(\d+)/;
        if (!$pid || $pid == $not) {
            close $s;
            next;
        }
        syswrite($s, "PATCH $loc HTTP/1.1\r\nHost: localhost\r\n"
            . "Content-Type: application/trickle-ice-sdpfrag\r\n"
            . "If-Match: $etag\r\nContent-Length: " . length($body)
            . "\r\nConnection: close\r\n\r\n$body");
        my $d = _read_response($s, $deadline);
        close $s;
        return ($d, $pid);
    }
    return ();
}

###############################################################################
# a publisher with media: the WHEP sessions need one, and it is the
# connected session whose path moves

my $offer = test_offer('chromium');
my $recvonly = test_offer('chromium-recvonly');

my ($pub, $pub_id, $up) = $t->spawn_publisher({ timeout => 120, wait => 30 },
    'aiortc', 'cam', '--video-codec', 'vp8', '--seconds', 90,
    '--connect-timeout', 15);
ok($pub_id, 'aiortc publisher connected') or BAIL_OUT('no publisher');
$t->check_media('cam', video => 'VP8', timeout => 15,
    name => 'publisher media');

###############################################################################
# HTTP: WHIP and WHEP sessions alike

for my $kind (qw(whip whep)) {
    subtest "$kind: PATCH preconditions and answers" => sub {
        my $r = $kind eq 'whip' ? post('/whip/rs1', $offer)
                                : post('/whep/cam', $recvonly);
        is($r->{status}, 201, 'session') or return diag(summary($r));
        my $loc = $r->{headers}{location};
        my $etag = $r->{headers}{etag};
        my $id = $t->session_id($loc);
        my ($ufrag0) = $r->{body} =~ /^a=ice-ufrag:(\S+)\r$/m;
        is($etag, "\"$ufrag0\"", '201: the ETag is the server ufrag');
        my $s0 = session_of($id);
        is($s0->{ice}{ufrag}, $ufrag0, 'status: ice.ufrag');
        is($s0->{ice}{restarts}, 0, 'status: no restart yet');

        my $frag = restart_frag(rand_str(8), rand_str(24));

        $r = patch($loc, $frag);
        is($r->{status}, 428, 'no If-Match: 428') or diag(summary($r));
        like($r->{body}, qr/^ICE restart requires If-Match$/m, '428 reason');

        $r = patch($loc, $frag, 'If-Match' => '"abcdefgh"');
        is($r->{status}, 412, 'another ETag: 412') or diag(summary($r));
        $r = patch($loc, $frag, 'If-Match' => "W/$etag");
        is($r->{status}, 412, 'the weak ETag: 412') or diag(summary($r));
        $r = patch($loc, $frag, 'If-Match' => 'nonsense');
        is($r->{status}, 412, 'not an ETag: 412');
        is(session_of($id)->{ice}{ufrag}, $ufrag0,
            'refused restarts changed nothing');

        # malformed bodies
        my %bad = (
            'ufrag without pwd' => "a=ice-ufrag:abcd\r\n",
            'pwd without ufrag' => "a=ice-pwd:" . rand_str(24) . "\r\n",
            'short ufrag' => "a=ice-ufrag:abc\r\na=ice-pwd:"
                . rand_str(24) . "\r\n",
            'short pwd' => "a=ice-ufrag:abcd\r\na=ice-pwd:abc\r\n",
            'bad ufrag char' => "a=ice-ufrag:ab\"cd\r\na=ice-pwd:"
                . rand_str(24) . "\r\n",
            'two ufrags' => "a=ice-ufrag:abcd\r\na=ice-ufrag:efgh\r\n"
                . "a=ice-pwd:" . rand_str(24) . "\r\n",
            'garbage' => "hello world\r\n",
            'NUL' => "a=mid:0\r\na=ice-ufrag:ab\0cd\r\n",
        );
        for my $what (sort keys %bad) {
            $r = patch($loc, $bad{$what}, 'If-Match' => $etag);
            is($r->{status}, 400, "malformed: $what: 400")
                or diag(summary($r));
        }
        $r = $t->http('PATCH', $loc, body => $frag,
            headers => { 'Content-Type' => 'application/sdp',
                         'If-Match' => $etag });
        is($r->{status}, 415, 'application/sdp: 415');
        $r = patch($loc, "a=mid:0\r\n", 'If-Match' => '*');
        is($r->{status}, 400, 'If-Match: * without credentials: 400');

        # the other location kind
        (my $other = $loc) =~ s{^/$kind/}{$kind eq 'whip' ? '/whep/' : '/whip/'}e;
        $r = patch($other, $frag, 'If-Match' => $etag);
        is($r->{status}, 404, 'through the other location kind: 404');

        # the restart
        my ($e1, $u1) = restart_ok($loc, $etag, 'restart');
        my $s1 = session_of($id);
        is($s1->{id}, $id, 'status: the same session');
        is($s1->{ice}{ufrag}, $u1, 'status: the new ufrag');
        is($s1->{ice}{restarts}, 1, 'status: one restart');

        $r = patch($loc, restart_frag(rand_str(8), rand_str(24)),
            'If-Match' => $etag);
        is($r->{status}, 412, 'the old ETag is stale: 412');
        $r = patch($loc, "a=mid:0\r\na=end-of-candidates\r\n",
            'If-Match' => $etag);
        is($r->{status}, 412, 'trickle with the old ETag: 412');
        $r = patch($loc, "a=mid:0\r\na=end-of-candidates\r\n",
            'If-Match' => $e1);
        is($r->{status}, 204, 'trickle with the new ETag: 204');
        $r = patch($loc, "a=mid:0\r\na=end-of-candidates\r\n");
        is($r->{status}, 204, 'trickle without If-Match: 204');

        # a list with the current tag; "*"; many restarts, landing on
        # either worker (new connections, reuseport)
        my ($e2) = restart_ok($loc, "\"zzzzzzzz\", $e1", 'If-Match list');
        my ($e3) = restart_ok($loc, '*', 'If-Match: *');
        my $e = $e3;
        my $ok = 0;
        for (1 .. 6) {
            my $r = patch($loc, restart_frag(rand_str(8), rand_str(24)),
                'If-Match' => $e);
            last unless $r->{status} == 200;
            $e = $r->{headers}{etag};
            $ok++;
        }
        is($ok, 6, '6 restarts in a row, each with the ETag before');
        is('"' . (session_of($id)->{ice}{restarts} // '') . '"', '"9"',
            'status: 9 restarts');
        is($t->http('GET', $loc)->{status}, 200, 'session alive');
        is($t->http('DELETE', $loc)->{status}, 200, 'DELETE');
        $r = patch($loc, $frag, 'If-Match' => '*');
        is($r->{status}, 404, 'restart of a deleted session: 404');
    };
}

###############################################################################
# the owner swaps: the old ufrag stops authenticating, the new one works

subtest 'a restart through a worker that does not own the session' => sub {
    my $r = post('/whip/rs3', $offer);
    is($r->{status}, 201, 'session') or return;
    my $loc = $r->{headers}{location};
    my $id = $t->session_id($loc);
    my $s = session_of($id);
    my ($cu, $cp) = (rand_str(8), rand_str(24));
    my ($p, $via) = patch_via_other_worker($loc, $s->{worker},
        restart_frag($cu, $cp), $r->{headers}{etag});
    ok($p, "PATCH through worker $via, the session is in $s->{worker}")
        or return;
    is($p->{status}, 200, 'the PATCH: 200') or diag("$p->{status} $p->{body}");
    my ($u, $pwd) = parse_frag($p->{body});
    is($p->{etag}, "\"$u\"", 'the new ETag');
    is(session_of($id)->{ice}{ufrag}, $u, 'status: the new ufrag');
    my $a = udp_socket();
    is(check($a, $s->{port}, username => "$u:$cu", key => $pwd) // 0, 0x0101,
        'the owner answers checks with the new credentials');
    $t->http('DELETE', $loc);
};

subtest 'old credentials stop, new ones work' => sub {
    my $r = post('/whip/rs2', $offer);
    is($r->{status}, 201, 'session') or return;
    my $loc = $r->{headers}{location};
    my $id = $t->session_id($loc);
    my $port = session_of($id)->{port};

    my ($e1, $u1, $p1, $c1, $cport) = restart_ok($loc, $r->{headers}{etag},
        'restart 1');
    is($cport, $port, "the candidate is the owner worker's port");
    my $a = udp_socket();
    is(check($a, $port, username => "$u1:$c1", key => $p1) // 0, 0x0101,
        'check with the new credentials: success');

    my ($e2, $u2, $p2, $c2) = restart_ok($loc, $e1, 'restart 2');
    my $b = udp_socket();
    ok(!defined check($b, $port, username => "$u1:$c1", key => $p1),
        'check with the old ufrag: no answer');
    ok(!defined check($b, $port, username => "$u2:$c1", key => $p2),
        "the new ufrag with the client's old one: no answer");
    is(check($b, $port, username => "$u2:$c2", key => $p2) // 0, 0x0101,
        'check with the new credentials: success');
    $t->http('DELETE', $loc);
};

###############################################################################
# a connected session moves to the new path at once after a restart

subtest 'restart moves a connected session to a new address' => sub {
    my $s = session_of($pub_id);
    my $port = $s->{port};
    my $remote0 = $s->{remote};
    ok($remote0, "the publisher's address: $remote0");

    my ($cu, $cp) = (rand_str(8), rand_str(24));
    my $loc = "/whip/cam/$pub_id";
    my $r = patch($loc, restart_frag($cu, $cp), 'If-Match' => '*');
    is($r->{status}, 200, 'restart of the connected publisher: 200')
        or return diag(summary($r));
    my ($u, $p) = parse_frag($r->{body});

    # not nominating, and nominating without the password: no move
    my $x = udp_socket();
    is(check($x, $port, username => "$u:$cu", key => $p) // 0, 0x0101,
        'a check without USE-CANDIDATE is answered');
    ok(!defined check($x, $port, username => "$u:$cu", key => rand_str(24),
            use_candidate => 1),
        'a nomination with a wrong password is not');
    ok(!defined check($x, $port, username => "$u:$cu", use_candidate => 1),
        'nor one without MESSAGE-INTEGRITY');
    sleep 0.3;
    is(session_of($pub_id)->{remote}, $remote0, 'the path did not move');

    # the nomination with the new credentials, while media still flows
    my $a = udp_socket();
    my $t0 = time;
    is(check($a, $port, username => "$u:$cu", key => $p,
            use_candidate => 1) // 0, 0x0101,
        'a nomination with the new credentials from a new port');
    my $to = '127.0.0.1:' . $a->sockport;
    ok($t->wait_for(sub { (session_of($pub_id)->{remote} // '') eq $to },
            timeout => 2, interval => 0.05),
        "the path moved to $to at once");
    cmp_ok(time - $t0, '<', 2, 'within the 2 s a quiet path would take');

    # the server's media and RTCP now come to the new port: RTCP (SRTCP
    # receiver reports) and DTLS are what a publisher's path carries back
    my ($got, $deadline) = (0, time + 5);
    while (!$got && time < $deadline) {
        my $rin = '';
        vec($rin, fileno($a), 1) = 1;
        last unless select($rin, undef, undef, $deadline - time) > 0;
        recv($a, my $buf, 2048, 0);
        my $b0 = ord($buf // "\0");
        $got = 1 if $b0 >= 128 && $b0 <= 191;
    }
    ok($got, 'SRTCP from the server on the new path');
    is(session_of($pub_id)->{id}, $pub_id, 'the same session');
};

$pub->kill;

###############################################################################
# consent timeout below 10 s: refused with the reason

{
    my $short = WebRTCTest->new(name => 'ice-restart-consent', workers => 1);
    $short->write_conf($short->default_conf(
        http => 'webrtc_consent_timeout 5s;'));
    ok(!eval { $short->start; 1 }, 'webrtc_consent_timeout 5s: refused');
    like($@, qr/"webrtc_consent_timeout" must be at least 10s: clients send/,
        'and says why');
    $short->stop if $short->{running};
}

$t->done;
done_testing;
