#!/usr/bin/perl

# WHEP with bad or unwelcome input, against an H.264 stream from an
# OBS-shaped publisher (node-datachannel):
#   - a viewer that cannot decode H.264 (offers only VP8): 422 naming the
#     codec, from node-datachannel and from a captured Chromium offer cut
#     down to VP8;
#   - a sendonly offer (a publisher's offer) to WHEP: 422; wrong content
#     type 415, empty body 400;
#   - a stream without a publisher: 409 with Retry-After (webrtc_retry_after);
#   - webrtc_max_viewers 1: the second viewer gets 503 with Retry-After,
#     and a place frees up when the first leaves;
#   - random datagrams, SRTCP-, RTP-, STUN- and DTLS-looking garbage from
#     random source ports to every worker port while a viewer plays: the
#     viewer keeps receiving, nothing crashes;
#   - 50 node-datachannel viewers joining and leaving quickly (some asking
#     for keyframes, some without audio or candidates): no session left
#     behind, no alert, the same workers, the publisher still live.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use IO::Socket::INET;
use Socket qw(pack_sockaddr_in inet_aton);
use Test::More;
use Time::HiRes qw(time sleep);
use WebRTCTest qw(skip_unless_peers test_offer);

skip_unless_peers('ndc', 'ffmpeg');

my $SEED = $ENV{WEBRTC_SEED} // time;
srand($SEED);
note("random seed $SEED (WEBRTC_SEED=$SEED to repeat)");

my $T0 = time;
my $t = WebRTCTest->new(name => 'whep-bad', workers => 2);
$t->write_conf($t->whep_conf(reuseport => 1,
    whep => 'webrtc_retry_after 3s;',
    server => <<'EOF'));
        location /whep1/ {
            webrtc_whep;
            webrtc_max_viewers 1;
            webrtc_retry_after 7s;
        }
EOF
$t->start;
my @workers = $t->worker_pids;
my @ports = map { $t->udp_port($_) } 0 .. $t->workers - 1;

sub post {
    my ($path, $body, $ct) = @_;
    return $t->http('POST', $path, body => $body,
        headers => { 'Content-Type' => $ct // 'application/sdp' });
}

# keep only these payload types in the video m-line of an offer
sub video_only_pts {
    my ($sdp, @keep) = @_;
    my %k = map { $_ => 1 } @keep;
    my @out;
    my $video = 0;
    for my $l (split /\r\n/, $sdp) {
        if ($l =~ /^m=(\w+) (\d+) (\S+) /) {
            $video = $1 eq 'video';
            $l = "m=video $2 $3 @keep" if $video;
        } elsif ($video && $l =~ /^a=(?:rtpmap|fmtp|rtcp-fb):(\d+) /) {
            next unless $k{$1};
        }
        push @out, $l;
    }
    return join("\r\n", @out) . "\r\n";
}

my $recvonly = test_offer('chromium-recvonly');
my $sendonly = test_offer('chromium');

###############################################################################
# before the publisher: 409

{
    my $r = post('/whep/cam', $recvonly);
    is($r->{status}, 409, 'no publisher yet: 409');
    is($r->{headers}{'retry-after'}, 3,
        'Retry-After: 3 (webrtc_retry_after 3s)');
    like($r->{body}, qr/\S/, 'with a reason: ' . ($r->{body} =~ s/\s+$//r));
    $r = post('/whep1/cam', $recvonly);
    is($r->{status}, 409, 'other location: 409');
    is($r->{headers}{'retry-after'}, 7, 'Retry-After: 7 there');
}

my $h264 = $t->test_h264;
my ($pub, $pub_id) = $t->spawn_publisher({ timeout => 120, wait => 20 },
    'ndc', 'cam', '--h264', $h264, '--seconds', 100, '--connect-timeout', 15);
ok($pub_id, 'publisher connected');
$t->check_media('cam', audio => 'opus', video => 'H264', timeout => 15,
    name => 'OBS-shaped publisher, H264');

###############################################################################
# offers the server cannot accept

subtest 'viewer without the stream codec: 422 naming it' => sub {
    my $vp8 = video_only_pts($recvonly, 96, 97);
    unlike($vp8, qr/H264/, 'cut-down Chromium offer has no H264');
    like($vp8, qr/^m=video \d+ \S+ 96 97\r$/m, 'video m-line: 96 97');
    my $r = post('/whep/cam', $vp8);
    is($r->{status}, 422, 'Chromium offer with only VP8: 422');
    like($r->{body}, qr/H264/i, 'body names H264: ' . ($r->{body} =~ s/\s+$//r));

    my ($rc, $out, $err) = $t->run_client({ timeout => 30 },
        $t->client_command('ndc_watch.js', '--url', $t->url('/whep/cam'),
            '--video-codec', 'vp8', '--seconds', 1, '--max-retries', 0));
    my ($e) = grep { $_->{event} eq 'error' } WebRTCTest::parse_events($out);
    is($e && $e->{status}, 422, 'node-datachannel offering only VP8: 422')
        or diag($out, $err);
    like($e && $e->{body} // '', qr/H264/i,
        'body names H264: ' . ($e && $e->{body} // ''));
    is($rc, 2, 'client exit 2 (HTTP error)');
};

subtest 'not a viewer offer' => sub {
    my $r = post('/whep/cam', $sendonly);
    is($r->{status}, 422, 'sendonly offer (a publisher\'s) to WHEP: 422');
    like($r->{body}, qr/\S/, 'reason: ' . ($r->{body} =~ s/\s+$//r));
    $r = post('/whep/cam', $recvonly, 'text/plain');
    is($r->{status}, 415, 'text/plain: 415');
    $r = post('/whep/cam', '');
    is($r->{status}, 400, 'empty body: 400');
    $r = post('/whep/cam', "v=0\r\nthis is not SDP\r\n");
    is($r->{status}, 400, 'garbage SDP: 400');
    $r = post('/whep/no%20such', $recvonly);
    is($r->{status}, 404, 'invalid stream name: 404');
    $r = $t->http('HEAD', '/whep/cam');
    is($r->{status}, 200, 'HEAD on the endpoint: 200');
    like($r->{headers}{'content-type'} // '', qr{^application/sdp},
        'HEAD: Content-Type application/sdp');
    my $st = $t->status;
    is(scalar $t->viewers('cam', $st), 0, 'no viewer session created');
};

###############################################################################
# webrtc_max_viewers 1

subtest 'webrtc_max_viewers 1: the second viewer gets 503' => sub {
    my ($v1, $v1_id) = $t->spawn_viewer({ timeout => 60, wait => 15 },
        'ndc', '/whep1/cam', '--seconds', 30, '--max-retries', 0);
    ok($v1_id, 'first viewer plays') or return;

    my $r = post('/whep1/cam', $recvonly);
    is($r->{status}, 503, 'second viewer (raw POST): 503');
    is($r->{headers}{'retry-after'}, 7, 'Retry-After: 7');
    $t->http('DELETE', $r->{headers}{location})
        if $r->{status} == 201 && $r->{headers}{location};

    my ($rc, $out) = $t->run_client({ timeout => 30 },
        $t->client_command('ndc_watch.js', '--url', $t->url('/whep1/cam'),
            '--seconds', 1, '--max-retries', 0));
    my ($e) = grep { $_->{event} eq 'error' } WebRTCTest::parse_events($out);
    is($e && $e->{status}, 503, 'second viewer (node-datachannel): 503');
    is(scalar $t->viewers('cam'), 1, 'one viewer in status');

    $t->leave($v1, 'first viewer leaves');
    ok($t->wait_for(sub { !$t->viewers('cam') }, timeout => 5),
        'no viewer left');
    $r = post('/whep1/cam', $recvonly);
    is($r->{status}, 201, 'then a new viewer gets 201');
    is($t->http('DELETE', $r->{headers}{location} // '/whep1/cam/x')
        ->{status}, 200, 'and leaves (DELETE 200)');
};

###############################################################################
# garbage datagrams while a viewer plays

sub rand_bytes {
    my ($n) = @_;
    return join '', map { chr(int(rand(256))) } 1 .. $n;
}

subtest 'garbage datagrams from random ports while a viewer plays' => sub {
    my ($v, $vid) = $t->spawn_viewer({ timeout => 60, wait => 15 },
        'ndc', 'cam', '--seconds', 30, '--max-retries', 0);
    ok($vid, 'viewer plays') or return;
    my $s0 = $v->wait_event('stats', timeout => 3);

    my ($sent, $socks) = (0, 0);
    my $deadline = time + 4;
    while (time < $deadline && $sent < 20000) {
        # a new socket: a new random source port
        my $s = IO::Socket::INET->new(Proto => 'udp',
            LocalAddr => '127.0.0.1') or next;
        $socks++;
        for (1 .. 40) {
            my $r = rand;
            my $d =
                $r < 0.25 ? rand_bytes(1 + int(rand(1400)))
              : $r < 0.45 ? "\x80" . chr(200 + int(rand(7)))   # SRTCP-ish
                            . rand_bytes(int(rand(200)))
              : $r < 0.6  ? chr(0x80 | int(rand(64))) . chr(int(rand(128)))
                            . rand_bytes(10 + int(rand(1200)))  # RTP-ish
              : $r < 0.75 ? pack('nnN', 0x0001, 8, 0x2112A442)  # STUN-ish
                            . rand_bytes(12) . rand_bytes(8)
              : $r < 0.9  ? "\x16\xfe\xfd" . rand_bytes(int(rand(300)))
              :             chr(int(rand(256)));
            for my $p (@ports) {
                $sent++ if defined send($s, $d, 0,
                    pack_sockaddr_in($p, inet_aton('127.0.0.1')));
            }
        }
        close $s;
    }
    note("$sent datagrams from $socks source ports");
    cmp_ok($sent, '>', 1000, "sent $sent garbage datagrams");

    my @s = $v->next_events('stats', 2, timeout => 6, interval => 0.2);
    my $s1 = @s >= 2 ? $s[-1] : undef;
    ok($s0 && $s1, 'viewer stats') or return;
    cmp_ok($s1->{video_packets}, '>', $s0->{video_packets},
        "viewer still receives video ($s0->{video_packets} -> "
        . "$s1->{video_packets})");
    is($s1->{bad_packets}, 0, 'no malformed packet reached the viewer');
    $t->check_viewer('cam', $vid, audio => 'opus', video => 'H264',
        name => 'viewer after the garbage', interval => 1);
    is(join(',', $t->worker_pids), join(',', @workers), 'same workers');

    $t->leave($v, 'viewer');
};

###############################################################################
# churn: 50 short viewers

subtest '50 viewers joining and leaving quickly' => sub {
    my $N = 50;
    my $PAR = 10;
    my (@done, @running);
    my $i = 0;
    my $t1 = time;
    my $deadline = time + 45;
    while ((@done + @running < $N || @running) && time < $deadline) {
        while (@running < $PAR && $i < $N) {
            $i++;
            my @extra;
            push @extra, '--request-keyframe' if $i % 3 == 0;
            push @extra, '--no-audio' if $i % 7 == 0;
            push @extra, '--no-candidates' if $i % 11 == 0;
            my $c = $t->spawn_client({ timeout => 30 },
                $t->client_command('ndc_watch.js', '--url',
                    $t->url('/whep/cam'), '--seconds', 0.3,
                    '--connect-timeout', 10, '--frame-timeout', 10,
                    '--max-retries', 0, @extra));
            push @running, { c => $c, n => $i };
        }
        my @still;
        for my $r (@running) {
            if ($r->{c}->running) {
                push @still, $r;
            } else {
                push @done, $r;
            }
        }
        @running = @still;
        sleep 0.1;
    }
    $_->{c}->kill for @running;
    note(sprintf '%d viewers in %.1f s', scalar @done, time - $t1);
    is(scalar @done, $N, "$N viewers ran within 45 s");

    my (%rc, @bad);
    for my $r (@done) {
        my ($rc, $out, $err) = $r->{c}->finish(timeout => 1);
        $rc{$rc}++;
        my @ev = WebRTCTest::parse_events($out);
        my ($k) = grep { $_->{event} eq 'first_keyframe' } @ev;
        my ($d) = grep { $_->{event} eq 'deleted' } @ev;
        push @bad, "viewer $r->{n}: rc $rc, "
            . ($k ? 'keyframe' : 'NO keyframe') . ', '
            . 'DELETE ' . ($d ? $d->{status} : 'none')
            . ($rc ? " " . join(' ', map { $_->{body} // '' }
                grep { $_->{event} eq 'error' } @ev) : '')
            unless $rc == 0 && $k && $d && $d->{status} == 200;
    }
    is(scalar @bad, 0, 'every viewer got a keyframe and left cleanly ('
        . join(', ', map { "rc $_: $rc{$_}" } sort keys %rc) . ')')
        or diag(join "\n", @bad[0 .. ($#bad < 9 ? $#bad : 9)]);

    my $left = $t->wait_for(sub {
        my $st = $t->status or return;
        return !$t->viewers('cam', $st) ? $st : undef;
    }, timeout => 5);
    ok($left, 'no viewer session left behind')
        or diag(explain([$t->viewers('cam')]));
    is($left && $left->{sessions}, 1, 'only the publisher remains');
    is(join(',', $t->worker_pids), join(',', @workers), 'same workers');
    $t->check_media('cam', audio => 'opus', video => 'H264', timeout => 5,
        name => 'publisher after the churn');
    my $p = $t->publisher('cam');
    is($p && $p->{id}, $pub_id, 'same publisher session');
};

$t->leave($pub, 'publisher');
ok($t->wait_idle, 'no session left');

$t->done;
note(sprintf 'total %.1f s', time - $T0);

done_testing;
