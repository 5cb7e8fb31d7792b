#!/usr/bin/perl

# Bad input: the server must survive anything a client can send.
#
# Phases: malformed SDP offers, junk UDP datagrams (every RFC 7983 range,
# truncated and unauthenticated STUN, forged control messages, DTLS and
# RTP garbage), then random PATCH/DELETE/POST requests. After each phase
# the same workers must be alive and HTTP, the status page and a good
# offer must still work; at the end the error log must have no
# [alert]/[crit] and no crashed worker.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Compress::Zlib qw(crc32);
use Digest::SHA qw(hmac_sha1);
use IO::Socket::INET;
use JSON::PP;
use Socket qw(inet_aton inet_ntoa pack_sockaddr_in unpack_sockaddr_in);
use Test::More;
use Time::HiRes qw(sleep time);
use WebRTCTest qw(skip_unless_netns skip_unless_module test_offer
    stun_request);

skip_unless_netns();
skip_unless_module();

my $T0 = time;
my $SEED = $ENV{WEBRTC_SEED} // int(time);
srand($SEED);
note("random seed $SEED (WEBRTC_SEED=$SEED to repeat)");

my $chromium = test_offer('chromium');
my $obs = test_offer('obs');

###############################################################################
# the server

my $t = WebRTCTest->new(name => 'badinput', workers => 2);

$t->write_conf($t->default_conf(
    # sessions that never completed ICE keep a worker up after QUIT
    main => 'worker_shutdown_timeout 2s;',
    whip => 'webrtc_max_sdp_size 1m;'));
$t->start;

my @workers = $t->worker_pids;
is(scalar @workers, 2, 'two workers');

my $SDP = { 'Content-Type' => 'application/sdp' };
my $seq = 0;

sub post {
    my ($stream, $body, %o) = @_;
    return $t->http('POST', "/whip/$stream", headers => { %$SDP,
        %{ $o{headers} // {} } }, body => $body, timeout => $o{timeout} // 10);
}

# the server is still fine: same workers, status, a good offer
sub healthy {
    my ($phase) = @_;
    subtest "healthy after $phase" => sub {
        is_deeply([$t->worker_pids], \@workers, 'same worker pids alive');
        my $st = $t->status;
        ok($st && ref $st->{streams} eq 'ARRAY', 'status answers JSON');
        my $stream = 'health' . ++$seq;
        my $r = post($stream, $obs);
        is($r->{status}, 201, 'a good offer: 201');
        like($r->{body}, qr/^a=ice-lite/m, 'with an answer');
        my $loc = $r->{headers}{location} // '/none';
        is($t->http('DELETE', $loc)->{status}, 200, 'DELETE: 200');
        is($t->http('GET', '/whip/x')->{status}, 200, 'GET endpoint: 200');
    };
}

# a request with any bytes in its headers (HTTP::Tiny refuses some);
# returns { status, body } (status 599: no answer)
sub raw {
    my ($method, $path, $headers, $body) = @_;
    my $req = "$method $path HTTP/1.1\r\nHost: localhost\r\n"
        . join('', map { "$_->[0]: $_->[1]\r\n" } @$headers)
        . 'Content-Length: ' . length($body // '') . "\r\n"
        . "Connection: close\r\n\r\n" . ($body // '');
    my $resp = $t->http_raw($req, timeout => 10);
    my ($status) = $resp =~ m{^HTTP/1\.[01] (\d{3}) };
    my ($rbody) = $resp =~ /\r\n\r\n(.*)\z/s;
    my ($loc) = $resp =~ /^Location: ([^\r\n]*)/mi;
    return { status => $status // 599, body => $rbody // $resp,
        location => $loc };
}

# "<status> x<count>" for a hash of counts
sub hist {
    my ($h) = @_;
    return join ', ', map { "$_ x$h->{$_}" } sort keys %$h;
}

###############################################################################
# phase 1: malformed SDP

{
    my @corpus;

    # every prefix (step 37) of a real offer: a cut offer is refused or,
    # when what is left is a whole acceptable offer, answered
    for (my $n = 0; $n < length $chromium; $n += 37) {
        push @corpus, [ "prefix $n", substr($chromium, 0, $n), 'prefix' ];
    }

    for my $i (1 .. 40) {
        my $len = 1 + int(rand(3000));
        push @corpus, [ "random bytes $i ($len)",
            join('', map { chr(int(rand(256))) } 1 .. $len) ];
    }
    for my $i (1 .. 20) {
        my $len = 1 + int(rand(2000));
        push @corpus, [ "random printable lines $i",
            join('', map { chr(32 + int(rand(95))) . (rand() < 0.05
                ? "\r\n" : '') } 1 .. $len) ];
    }

    push @corpus, [ 'NULs', "\0" x 1000 ];
    (my $nul = $chromium) =~ s/a=ice-ufrag:b1jv/a=ice-ufrag:b1\0v/g;
    push @corpus, [ 'NUL inside the ufrag', $nul ];
    push @corpus, [ 'v=0 then NULs', "v=0\r\n" . ("\0" x 500) ];
    push @corpus, [ 'CR only line ends', $chromium =~ s/\r\n/\r/gr ];
    push @corpus, [ 'only line ends', "\r\n" x 5000 ];
    push @corpus, [ 'v=0 only', "v=0\r\n" ];
    push @corpus, [ 'v=1', $chromium =~ s/^v=0/v=1/r ];

    # a 60 KB a= line, within webrtc_max_sdp_size 1m
    (my $huge = $chromium) =~ s/(a=mid:0\r\n)/$1 . 'a=x-huge:' . ('h' x 60000) . "\r\n"/e;
    # an unknown attribute may be ignored, however long
    push @corpus, [ '60 KB attribute line', $huge, 'may pass' ];
    (my $hugefp = $chromium) =~ s/(a=fingerprint:sha-256 )/$1 . ('AB:' x 20000)/ge;
    (my $hugeufrag = $chromium) =~ s/(a=ice-ufrag:)b1jv/$1 . ('u' x 30000)/ge;

    # 10000 m-lines
    my $many = $chromium =~ s/(m=audio.*)\z//sr;
    $many .= "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:$_\r\n"
        . "a=rtpmap:111 opus/48000/2\r\n" for 0 .. 9999;
    push @corpus, [ '10000 m-lines', $many ];
    push @corpus, [ '10000 bare m-lines',
        "v=0\r\n" . ("m=video 9 UDP/TLS/RTP/SAVPF 96\r\n" x 10000) ];
    push @corpus, [ '5000 payload types',
        $chromium =~ s/^(m=video \S+ \S+) [^\r]*/$1 . join('', map { " $_" } 1 .. 5000)/mer ];
    push @corpus, [ '3000 rtpmaps for one pt',
        $chromium =~ s/(a=rtpmap:96 VP8\/90000\r\n)/$1 x 3000/er, 'may pass' ];

    # numbers out of range
    my %num = (
        'negative m= port'   => [ qr/^m=audio \d+/m, 'm=audio -1' ],
        'huge m= port'       => [ qr/^m=audio \d+/m,
                                  'm=audio 99999999999999999999999' ],
        'negative payload type' => [ qr/^m=audio (\S+) (\S+) 111\b/m,
                                  'm=audio 9 UDP/TLS/RTP/SAVPF -111' ],
        'huge payload types' => [ qr/^m=video (\S+) (\S+) [^\r]*/m,
            'm=video 9 UDP/TLS/RTP/SAVPF 4294967392 18446744073709551712 256' ],
        'rtpmap pt wraps to 111' => [ qr/^a=rtpmap:111 /m,
                                  'a=rtpmap:4294967407 ' ],
        'negative rtpmap pt' => [ qr/^a=rtpmap:111 /m, 'a=rtpmap:-111 ' ],
        'huge clock rate'    => [ qr{opus/48000/2},
                                  'opus/99999999999999999999/2' ],
        'negative clock rate'=> [ qr{opus/48000/2}, 'opus/-48000/2' ],
        'zero clock rate'    => [ qr{opus/48000/2}, 'opus/0/2' ],
        'huge channel count' => [ qr{opus/48000/2}, 'opus/48000/4294967297' ],
        'm= port with count' => [ qr/^m=audio \d+/m, 'm=audio 9/99999999999' ],
        'negative mid'       => [ qr/^a=group:BUNDLE 0 1/m,
                                  'a=group:BUNDLE -1 99999999999999999999' ],
    );
    for my $name (sort keys %num) {
        my ($re, $to) = @{ $num{$name} };
        (my $s = $chromium) =~ s/$re/$to/;
        # and in the video section too where the pattern matches there
        push @corpus, [ $name, $s,
            $name =~ /^(m= port with count|zero clock rate)$/ ? 'may pass' : '' ];
    }

    # chromium's audio section alone, with the breakage: must be refused
    # (the audio m-line is the only one, so it cannot be skipped)
    my ($head) = $chromium =~ /\A(.*?)m=audio/s;
    my ($audio) = $chromium =~ /(m=audio.*?)m=video/s;
    $head =~ s/BUNDLE 0 1/BUNDLE 0/;
    for my $name ('negative m= port', 'huge m= port', 'negative payload type',
        'rtpmap pt wraps to 111', 'negative rtpmap pt', 'huge clock rate',
        'negative clock rate')
    {
        my ($re, $to) = @{ $num{$name} };
        # opus only: no other codec to fall back on
        (my $a = $audio) =~ s/^(m=audio \S+ \S+) [^\r]*/$1 111/m;
        $a =~ s/^a=(?:rtpmap|fmtp|rtcp-fb):(?!111 )\d+ [^\r]*\r\n//mg;
        $a =~ s/$re/$to/;
        push @corpus, [ "audio only, $name", $head . $a ];
    }

    my (%hist, @bad, $n201, $r);
    my $t1 = time;
    for my $c (@corpus) {
        my ($name, $body, $kind) = @$c;
        my $stream = 'sdp' . ++$seq;
        $r = post($stream, $body, timeout => 10);
        my $s = $r->{status};
        $hist{$s}++;
        my $ok = $s >= 400 && $s < 500;
        # a prefix may be a whole offer already; some oddities are harmless
        $ok ||= $s == 201 && ($kind // '') =~ /^(prefix|may pass)$/
            && $r->{body} =~ /^a=ice-lite/m;
        if ($s == 201) {
            $n201++;
            $t->http('DELETE', $r->{headers}{location} // '/x');
        }
        push @bad, "$name: $s " . substr($r->{body}, 0, 80) =~ s/\s+$//r
            unless $ok;
    }
    ok(!@bad, scalar(@corpus) . ' malformed offers: 4xx (or 201 for a whole'
        . ' prefix or a harmless oddity), no 5xx, no timeout')
        or diag(join "\n", @bad);
    note(sprintf 'SDP corpus statuses: %s (%.1f s)', hist(\%hist), time - $t1);

    # values out of their grammar's bounds: a session made from them could
    # never connect, so refuse the offer at once
    $r = post('fp-huge', $hugefp);
    like($r->{status}, qr/^4\d\d$/,
        'sha-256 fingerprint of 20032 bytes (RFC 8122: 32): 4xx');
    $r = post('ufrag-huge', $hugeufrag);
    like($r->{status}, qr/^4\d\d$/,
        'ice-ufrag of 30000 chars (RFC 8839: at most 256): 4xx');

    # a big offer is not refused for its size under webrtc_max_sdp_size 1m
    $r = post('big-ok', $huge);
    isnt($r->{status}, 413, '60 KB offer within webrtc_max_sdp_size 1m: '
        . 'not 413 (' . $r->{status} . ')');

    healthy('malformed SDP');
}

###############################################################################
# phase 2: UDP

# STUN (RFC 5389): stun_request() from the harness
my $COOKIE = 0x2112A442;

# decode a STUN message: { type, tid, attrs => [[type, value, offset]] }
sub stun_parse {
    my ($m) = @_;
    return undef if length $m < 20;
    my ($type, $len, $cookie) = unpack('nnN', $m);
    return undef if $cookie != $COOKIE || length($m) != 20 + $len;
    my %r = (type => $type, tid => substr($m, 8, 12), attrs => []);
    my $off = 20;
    while ($off + 4 <= length $m) {
        my ($at, $al) = unpack('nn', substr($m, $off, 4));
        push @{ $r{attrs} }, [ $at, substr($m, $off + 4, $al), $off ];
        $off += 4 + $al + (4 - $al % 4) % 4;
    }
    return \%r;
}

sub stun_get {
    my ($p, $type) = @_;
    for my $a (@{ $p->{attrs} }) {
        return $a if $a->[0] == $type;
    }
    return undef;
}

sub udp_socket {
    my $s = IO::Socket::INET->new(Proto => 'udp', LocalAddr => '127.0.0.1')
        or die "udp socket: $!";
    return $s;
}

sub udp_send {
    my ($sock, $port, $data) = @_;
    return send($sock, $data, 0, pack_sockaddr_in($port, inet_aton('127.0.0.1')));
}

# every datagram that arrives within $timeout
sub udp_recv_all {
    my ($sock, $timeout) = @_;
    my @got;
    my $deadline = time + $timeout;
    while ((my $left = $deadline - time) > 0) {
        my $rin = '';
        vec($rin, fileno($sock), 1) = 1;
        last unless select($rin, undef, undef, $left) > 0;
        my $from = recv($sock, my $buf, 65536, 0);
        last unless defined $from;
        push @got, $buf;
    }
    return @got;
}

sub rand_bytes {
    my ($n) = @_;
    return join '', map { chr(int(rand(256))) } 1 .. $n;
}

{
    my @ports = map { $t->udp_port($_) } 0 .. $t->workers - 1;

    # a session to talk to
    my $r = post('udp1', $chromium);
    is($r->{status}, 201, 'session for the UDP tests: 201');
    my $ans = $r->{body};
    my ($ufrag) = $ans =~ /^a=ice-ufrag:(\S+?)\r?$/m;
    my ($pwd) = $ans =~ /^a=ice-pwd:(\S+?)\r?$/m;
    my ($port) = $ans =~ /^a=candidate:\S+ 1 udp \d+ 127\.0\.0\.1 (\d+) typ host/m;
    my ($id) = ($r->{headers}{location} // '') =~ m{/([0-9a-f]{32})$};
    ok($ufrag && $pwd && $port && $id, 'answer has ufrag, pwd, port');
    $ufrag //= 'none'; $pwd //= 'none'; $port //= $ports[0]; $id //= '0' x 32;
    my $client_ufrag = 'b1jv';    # chromium.sdp's a=ice-ufrag
    ok((grep { $_ == $port } @ports), "answer port $port is a worker port");

    # 1. random datagrams of every size and first byte, to every port
    my $junk = udp_socket();
    my %first;
    my @firsts = (0 .. 3, 4, 19, 20 .. 23, 63, 64, 79, 80, 127, 128, 129,
        144, 191, 192, 200, 254, 255);
    my $sent = 0;
    for my $p (@ports) {
        for my $i (0 .. 299) {
            my $len = $i < 3 ? $i : int(rand(1501));
            my $d = rand_bytes($len);
            substr($d, 0, 1) = chr($firsts[$i % @firsts]) if $len && $i % 3;
            $sent++ if defined udp_send($junk, $p, $d);
        }
        # truncated STUN: every prefix of a valid-looking request
        my ($req) = stun_request(username => "$ufrag:$client_ufrag",
            key => $pwd);
        for my $n (1 .. length($req) - 1) {
            $sent++ if defined udp_send($junk, $p, substr($req, 0, $n));
        }
        # STUN headers lying about their length
        for my $len (0, 4, 100, 65535) {
            my $m = pack('nnN', 0x0001, $len, $COOKIE) . rand_bytes(12)
                . rand_bytes(int(rand(40)));
            $sent++ if defined udp_send($junk, $p, $m);
        }
        # attributes running past the end, zero-length USERNAME
        $sent++ if defined udp_send($junk, $p, pack('nnN', 0x0001, 8, $COOKIE)
            . rand_bytes(12) . pack('nn', 0x0006, 2000) . 'abcd');
        my ($m0) = stun_request(username => '', key => $pwd);
        $sent++ if defined udp_send($junk, $p, $m0);
        my ($m1) = stun_request(username => ':::', key => $pwd);
        $sent++ if defined udp_send($junk, $p, $m1);
    }
    cmp_ok($sent, '>=', 600, "$sent junk datagrams sent to ports @ports");
    my @replies = udp_recv_all($junk, 0.3);
    is(scalar @replies, 0, 'no reply to junk');

    # 2. forged control message: a real session id with a made-up key
    my $forged = "\xffNWC" . rand_bytes(16) . $id;
    udp_send($junk, $_, $forged) for @ports;
    udp_send($junk, $_, "\xffNWC" . ("\0" x 16) . $id) for @ports;
    sleep 0.3;
    my $st = $t->status;
    ok((grep { ($_->{publisher}{id} // '') eq $id } @{ $st->{streams} }),
        'a forged control datagram does not end the session');

    # 3. well-formed STUN with wrong credentials: no answer
    my $peer = udp_socket();
    my ($wrong) = stun_request(username => "$ufrag:$client_ufrag",
        key => 'not-the-password-at-all!');
    udp_send($peer, $port, $wrong);
    is(scalar(udp_recv_all($peer, 0.3)), 0,
        'Binding request with a wrong password: no response in 300 ms');

    my ($unknown) = stun_request(username => "zzzzzzzz:$client_ufrag",
        key => $pwd);
    udp_send($peer, $port, $unknown);
    is(scalar(udp_recv_all($peer, 0.3)), 0,
        'Binding request with an unknown ufrag: no response');

    my ($wrongremote) = stun_request(username => "$ufrag:nope", key => $pwd);
    udp_send($peer, $port, $wrongremote);
    is(scalar(udp_recv_all($peer, 0.3)), 0,
        'Binding request naming another client ufrag: no response');

    my ($nomi) = stun_request(username => "$ufrag:$client_ufrag");
    udp_send($peer, $port, $nomi);
    is(scalar(udp_recv_all($peer, 0.3)), 0,
        'Binding request without MESSAGE-INTEGRITY: no response');

    my $p0 = $t->status;
    my ($pub) = grep { ($_->{publisher}{id} // '') eq $id }
        @{ $p0->{streams} };
    is($pub && $pub->{publisher}{state}, 'new',
        'session still "new" after bad checks');

    # 4. the right credentials: a Binding success response
    my ($good, $tid) = stun_request(username => "$ufrag:$client_ufrag",
        key => $pwd);
    udp_send($peer, $port, $good);
    my @resp = udp_recv_all($peer, 1);
    is(scalar @resp, 1, 'Binding request with the right credentials: '
        . 'one response');
    my $res = stun_parse($resp[0] // '');
    ok($res, 'response is a STUN message');
    $res //= { type => 0, tid => '', attrs => [] };
    is(sprintf('0x%04x', $res->{type}), '0x0101', 'Binding success (0x0101)');
    is(unpack('H*', $res->{tid}), unpack('H*', $tid), 'same transaction id');

    my $xma = stun_get($res, 0x0020);
    ok($xma, 'has XOR-MAPPED-ADDRESS');
    if ($xma) {
        my ($fam, $xport, $xaddr) = unpack('xCnN', $xma->[1]);
        my $mport = $xport ^ 0x2112;
        my $maddr = inet_ntoa(pack('N', $xaddr ^ $COOKIE));
        is($fam, 1, 'IPv4');
        is("$maddr:$mport", '127.0.0.1:' . $peer->sockport,
            'XOR-MAPPED-ADDRESS is our address and port');
    }
    my $mi = stun_get($res, 0x0008);
    ok($mi, 'response has MESSAGE-INTEGRITY');
    if ($mi) {
        my $raw = $resp[0];
        my $hdr = substr($raw, 0, 2) . pack('n', $mi->[2] + 24 - 20)
            . substr($raw, 4, 16);
        is(unpack('H*', $mi->[1]),
            unpack('H*', hmac_sha1($hdr . substr($raw, 20, $mi->[2] - 20),
                $pwd)), 'MESSAGE-INTEGRITY keyed with the server ice-pwd');
    }
    my $fp = stun_get($res, 0x8028);
    ok($fp, 'response has FINGERPRINT');
    if ($fp) {
        my $raw = $resp[0];
        is(unpack('N', $fp->[1]),
            (crc32(substr($raw, 0, $fp->[2])) ^ 0x5354554e) & 0xffffffff,
            'FINGERPRINT is right');
    }

    ok($t->wait_for(sub {
        my ($s) = grep { ($_->{publisher}{id} // '') eq $id }
            @{ $t->status->{streams} // [] };
        $s && $s->{publisher}{state} eq 'checking';
    }, timeout => 3, interval => 0.1), 'session state becomes "checking"');

    # 5. DTLS-looking garbage (first byte 22) from the peer and from an
    # unknown address: dropped
    for my $i (1 .. 50) {
        udp_send($peer, $port, "\x16" . rand_bytes(int(rand(300))));
        udp_send($junk, $port, "\x16" . rand_bytes(int(rand(300))));
    }
    is(scalar(udp_recv_all($junk, 0.3)), 0,
        'no reply to DTLS garbage from an unknown address');
    my @dtls_replies = udp_recv_all($peer, 0.1);
    note(scalar(@dtls_replies) . ' replies to DTLS garbage from the peer');
    ok((grep { ($_->{publisher}{id} // '') eq $id }
        @{ $t->status->{streams} // [] }),
        'session still there after DTLS garbage');

    # RTP/RTCP-looking datagrams from the peer before any DTLS: dropped
    for my $i (1 .. 50) {
        my $b = 128 + int(rand(64));
        my $b2 = $i % 2 ? 200 + int(rand(8)) : int(rand(128));
        udp_send($peer, $port, chr($b) . chr($b2) . rand_bytes(int(rand(1200))));
    }
    is(scalar(udp_recv_all($peer, 0.3)), 0, 'no reply to RTP before DTLS');

    # a second successful check still works after all that
    my ($good2, $tid2) = stun_request(username => "$ufrag:$client_ufrag",
        key => $pwd, use_candidate => 1);
    udp_send($peer, $port, $good2);
    my ($resp2) = udp_recv_all($peer, 1);
    my $res2 = stun_parse($resp2 // '');
    ok($res2 && $res2->{type} == 0x0101 && $res2->{tid} eq $tid2,
        'a nominating check after the garbage: Binding success');

    # the same check again from its source: a retransmission, answered;
    # replayed from another address: dropped, and the session stays put
    udp_send($peer, $port, $good2);
    ok(scalar(udp_recv_all($peer, 0.5)) == 1,
        'the same check from its source again: answered (retransmission)');
    my $thief = udp_socket();
    udp_send($thief, $port, $good2);
    is(scalar(udp_recv_all($thief, 0.5)), 0,
        'the same check replayed from another address: no answer');
    my ($pubr) = grep { ($_->{publisher}{id} // '') eq $id }
        @{ $t->status->{streams} // [] };
    is($pubr && $pubr->{publisher}{remote}, '127.0.0.1:' . $peer->sockport,
        'the session did not move to the replaying address');

    # a controlled (ICE-CONTROLLED) check against an ICE-lite server
    my ($ctl, $tid3) = stun_request(username => "$ufrag:$client_ufrag",
        key => $pwd, controlled => 1);
    udp_send($peer, $port, $ctl);
    my @r3 = udp_recv_all($peer, 0.5);
    note('ICE-CONTROLLED check: ' . join(',', map {
        my $p = stun_parse($_); $p ? sprintf('0x%04x', $p->{type}) : 'junk'
    } @r3));

    # full-size random datagrams from the peer's own address, in every range
    for my $i (0 .. 199) {
        my $d = rand_bytes(1 + int(rand(1500)));
        substr($d, 0, 1) = chr($firsts[$i % @firsts]);
        udp_send($peer, $port, $d);
    }
    udp_recv_all($peer, 0.3);

    # wrong credentials from the peer's address do not disturb the session
    udp_send($peer, $port, $wrong);
    is(scalar(udp_recv_all($peer, 0.3)), 0,
        'wrong password from the peer address: no response');

    healthy('UDP junk');
}

###############################################################################
# phase 3: random HTTP

sub uri_escape {
    my ($s) = @_;
    $s =~ s/([^A-Za-z0-9._~-])/sprintf('%%%02X', ord $1)/ge;
    return $s;
}

{
    my $r = post('victim', $chromium);
    is($r->{status}, 201, 'session for the PATCH tests');
    my $loc = $r->{headers}{location} // '/whip/victim/' . ('0' x 32);

    my @types = ('application/trickle-ice-sdpfrag', 'application/sdp',
        'text/plain', '', 'application/trickle-ice-sdpfrag; charset=x',
        'application/trickle-ice-sdpfragXXX', "\x7f", ';;;', 'a' x 4000);
    my (%hist, @bad);
    for my $i (1 .. 120) {
        my $type = $types[$i % @types];
        my $body = $i % 4 == 0 ? rand_bytes(int(rand(3000)))
            : $i % 4 == 1 ? join('', map { chr(97 + int(rand(26))) . '='
                . rand_bytes(int(rand(60))) =~ s/[\r\n]//gr . "\r\n" }
                1 .. 1 + int(rand(30)))
            : $i % 4 == 2 ? "a=candidate:" . rand_bytes(int(rand(200)))
                . "\r\n"
            : "a=mid:0\r\na=candidate:1 1 udp 1 127.0.0.1 "
                . (int(rand(2**33)) - 2**32) . " typ host\r\n";
        my $target = $i % 5 == 0 ? '/whip/victim/' . join('', map {
            sprintf '%x', int(rand(16)) } 1 .. 32) : $loc;
        my @h = length $type ? (['Content-Type', $type]) : ();
        push @h, ['If-Match', '*'] if $i % 7 == 0;
        push @h, ['If-Match', rand_bytes(10) =~ s/[\0\r\n]/x/gr]
            if $i % 11 == 0;
        my $r = raw('PATCH', $target, \@h, $body);
        $hist{ $r->{status} }++;
        push @bad, "PATCH $target [" . substr($type, 0, 40) . "] (" . length($body) . " bytes): $r->{status} "
            . substr($r->{body}, 0, 100)
            unless $r->{status} == 204
                || ($r->{status} >= 400 && $r->{status} < 500);
    }
    ok(!@bad, '120 random PATCHes: 204 or 4xx') or diag(join "\n", @bad);
    note('PATCH statuses: ' . hist(\%hist));
    is($t->http('GET', $loc)->{status}, 200, 'session survives the PATCHes');

    %hist = (); @bad = ();
    for my $i (1 .. 100) {
        my $id = $i % 3 == 0
            ? join('', map { sprintf '%x', int(rand(16)) } 1 .. 32)
            : $i % 3 == 1
            ? uri_escape(rand_bytes(1 + int(rand(80))) =~ s/\0/x/gr)
            : join('', map { sprintf '%x', int(rand(16)) }
                1 .. 1 + int(rand(70)));
        my $stream = $i % 2 ? 'victim' : uri_escape(rand_bytes(1 + int(rand(20)))
            =~ s/[\0\/]/x/gr);
        my $r = $t->http('DELETE', "/whip/$stream/$id");
        $hist{ $r->{status} }++;
        push @bad, "DELETE /whip/$stream/$id: $r->{status}"
            unless $r->{status} >= 400 && $r->{status} < 500;
    }
    ok(!@bad, '100 DELETEs of random ids: 4xx') or diag(join "\n", @bad);
    note('DELETE statuses: ' . hist(\%hist));
    is($t->http('GET', $loc)->{status}, 200,
        'session survives random DELETEs');

    # random stream names: '/', '%', '?', '#' and NUL are left out (they
    # change the path itself; see t/10-http.t for names with a slash)
    %hist = (); @bad = ();
    my @valid_chars = ('A' .. 'Z', 'a' .. 'z', '0' .. '9', '.', '_', '-');
    my @all_chars = grep { !/[\/%?#]/ } map { chr } 1 .. 255;
    for my $i (1 .. 80) {
        my @alpha = $i % 2 ? @valid_chars : @all_chars;
        my $name = join '', map { $alpha[rand @alpha] } 1 .. 1 + int(rand(70));
        my $valid = $name =~ /^[A-Za-z0-9._-]{1,64}$/ && $name !~ /^\.{1,2}$/;
        my $r = post(uri_escape($name), $obs);
        my $s = $r->{status};
        $hist{$s}++;
        if ($valid ? $s == 201 : ($s >= 400 && $s < 500)) {
            $t->http('DELETE', $r->{headers}{location}) if $s == 201;
            next;
        }
        push @bad, 'POST ' . ($valid ? 'valid' : 'invalid')
            . " name \"" . uri_escape($name) . "\": $s";
    }
    ok(!@bad, '80 POSTs with random stream names: 201 for valid names, 4xx'
        . ' for the others') or diag(join "\n", @bad);
    note('POST statuses: ' . hist(\%hist));

    # huge headers
    $r = post('hdr1', $obs, headers => { 'X-Junk' => 'j' x 20000 });
    cmp_ok($r->{status}, '>=', 400, "20 KB header: $r->{status}");
    cmp_ok($r->{status}, '<', 500, '20 KB header: 4xx');

    $r = post('hdr2', $obs, headers => { Authorization => 'Bearer ' . ('t' x 7000) });
    is($r->{status}, 201, '7 KB Authorization header without tokens: 201');
    $t->http('DELETE', $r->{headers}{location}) if $r->{status} == 201;

    my $ua = ('"\\' x 1500) . "\x01\x7f\xff";
    $r = raw('POST', '/whip/hdr3', [ [ 'User-Agent', $ua ],
        [ 'Content-Type', 'application/sdp' ] ], $obs);
    is($r->{status}, 201, '3 KB User-Agent of quotes, backslashes and control'
        . ' bytes: 201');
    my $st = $t->status;
    ok($st, 'status is still JSON with that User-Agent');
    my $sr = $t->http('GET', '/webrtc/status');
    ok(eval { JSON::PP->new->utf8->decode($sr->{body}); 1 },
        'status is valid UTF-8 JSON (a User-Agent with byte 0xff)')
        or diag($@);
    my ($s) = grep { $_->{name} eq 'hdr3' } @{ $st->{streams} // [] };
    like($s && $s->{publisher}{user_agent} // '', qr/^(\x22\x5c)+/,
        'user_agent shown (escaped in JSON, decoded back)');
    $t->http('DELETE', $r->{location}) if $r->{status} == 201;

    my $raw = $t->http_raw("POST /whip/hdr4 HTTP/1.1\r\nHost: x\r\n"
        . join('', map { "X-H$_: v\r\n" } 1 .. 2000)
        . "Content-Type: application/sdp\r\nContent-Length: 5\r\n"
        . "Connection: close\r\n\r\nv=0\r\n", timeout => 10);
    my ($code) = $raw =~ m{^HTTP/1\.[01] (\d+)};
    ok($code && $code >= 400 && $code < 500 || $code && $code == 201,
        '2000 headers: ' . ($code // 'no answer'));
    ok(defined $code, 'answered, no hang');

    $raw = $t->http_raw("POST /whip/cl HTTP/1.1\r\nHost: x\r\n"
        . "Content-Type: application/sdp\r\nContent-Length: 99999999999999999999\r\n"
        . "Connection: close\r\n\r\nv=0\r\n", timeout => 5);
    like($raw, qr{^HTTP/1\.1 4\d\d }, 'absurd Content-Length: 4xx');

    $raw = $t->http_raw("POST /whip/cl2 HTTP/1.1\r\nHost: x\r\n"
        . "Content-Type: application/sdp\r\nContent-Length: 100000\r\n"
        . "Connection: close\r\n\r\nv=0\r\n", timeout => 3);
    unlike($raw, qr{^HTTP/1\.1 5\d\d }, 'short body: no 5xx (client gives up)');

    $raw = $t->http_raw("POST /whip/ch HTTP/1.1\r\nHost: x\r\n"
        . "Content-Type: application/sdp\r\nTransfer-Encoding: chunked\r\n"
        . "Connection: close\r\n\r\nzz\r\nv=0\r\n0\r\n\r\n", timeout => 5);
    like($raw, qr{^HTTP/1\.1 4\d\d }, 'bad chunk size: 4xx');

    healthy('random HTTP');
}

###############################################################################
# half-open: a peer that answers ICE checks but never starts DTLS is
# closed at webrtc_setup_timeout, not kept alive by its checks

subtest 'half-open session: closed at webrtc_setup_timeout' => sub {
    my $h = WebRTCTest->new(name => 'halfopen', workers => 1);
    $h->write_conf($h->default_conf(http => 'webrtc_setup_timeout 2s;'));
    $h->start;

    my $r = $h->http('POST', '/whip/half1', headers => $SDP,
        body => $chromium);
    is($r->{status}, 201, 'POST: 201');
    my ($ufrag) = $r->{body} =~ /^a=ice-ufrag:(\S+?)\r?$/m;
    my ($pwd) = $r->{body} =~ /^a=ice-pwd:(\S+?)\r?$/m;
    my ($port) = $r->{body}
        =~ /^a=candidate:\S+ 1 udp \d+ 127\.0\.0\.1 (\d+) typ host/m;
    my ($id) = ($r->{headers}{location} // '') =~ m{/([0-9a-f]{32})$};

    # valid, nominating checks every 250 ms for 4 s; count the answers
    my $sock = udp_socket();
    my ($answered, $gone_at) = (0, undef);
    my $t0 = time;
    for my $i (1 .. 16) {
        my ($req) = stun_request(username => "$ufrag:b1jv", key => $pwd,
            use_candidate => 1);
        udp_send($sock, $port, $req);
        my @got = udp_recv_all($sock, 0.25);
        $answered++ if @got;
        my $st = $h->status;
        my ($s) = grep { $_->{name} eq 'half1' } @{ $st->{streams} // [] };
        $gone_at //= time - $t0 unless $s && $s->{publisher};
    }

    ok($answered >= 4, "its checks were answered at first ($answered)");
    ok(defined $gone_at && $gone_at < 3.5,
        sprintf('the session is gone after %.1f s (2 s timeout)',
            $gone_at // -1));
    like($h->error_log,
        qr/session closed: no DTLS within webrtc_setup_timeout.*\Q$id\E/,
        'error.log says why');
    $h->done;
};

cmp_ok(time - $T0, '<', 60, sprintf('under 60 s (%.1f s)', time - $T0));

$t->done;
done_testing;
