#!/usr/bin/perl

# WHEP playback end to end, what a viewer sees:
#   - a WHEP POST before the stream has a publisher: 409 with
#     Retry-After; a Chromium viewer started first keeps retrying and
#     plays as soon as a Chromium publisher arrives (3 s later);
#   - Chromium viewers on BOTH workers of a 2-worker nginx (reuseport):
#     their decoded frames and received audio packets grow, and
#     /webrtc/status lists them under the stream, connected, with the
#     publisher's codecs and growing counters;
#   - aiortc and node-datachannel viewers of the same Chromium stream;
#   - the WHEP answer's H.264 profile-level-id is the one of the stream's
#     SPS, not the publisher's claim (an OBS-shaped publisher claims
#     42e01f and sends baseline, then high profile).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes qw(time sleep);
use WebRTCTest qw(skip_unless_peers test_offer);

skip_unless_peers('chromium', 'ffmpeg', 'aiortc');

my $T0 = time;
my $t = WebRTCTest->new(name => 'whep', workers => 2);
$t->write_conf($t->whep_conf(reuseport => 1));
$t->start;

my %workers = map { $_ => 1 } $t->worker_pids;
is(scalar keys %workers, 2, 'two workers');

# the latest "stats" event of a client
sub last_stats {
    my ($c) = @_;
    my @s = $c->events('stats');
    return $s[-1];
}

# a Chromium viewer's own view: frames decoded and audio packets grow
# over $gap seconds
sub check_playing {
    my ($c, $label, $gap) = @_;
    $gap //= 2.5;
    subtest "$label: the browser decodes video and receives audio" => sub {
        my $a = $t->wait_for(sub {
            my $s = last_stats($c);
            return $s && ($s->{framesDecoded} // 0) > 0 ? $s : undef;
        }, timeout => 10);
        ok($a, 'frames decoded: ' . ($a ? $a->{framesDecoded} : 'none'))
            or return diag($c->stderr);
        # fresh samples later (the client prints one per second)
        my @later = $c->next_events('stats', int($gap),
            timeout => $gap + 5, interval => 0.2);
        my $b = @later >= int($gap) ? $later[-1] : undef;
        ok($b, 'later stats sample') or return;
        cmp_ok($b->{framesDecoded}, '>', $a->{framesDecoded},
            "framesDecoded grows ($a->{framesDecoded} -> $b->{framesDecoded})");
        cmp_ok($a->{audioPacketsReceived}, '>', 0,
            "audio packets received ($a->{audioPacketsReceived})");
        cmp_ok($b->{audioPacketsReceived}, '>', $a->{audioPacketsReceived},
            "audioPacketsReceived grows ($a->{audioPacketsReceived} -> "
            . "$b->{audioPacketsReceived})");
        cmp_ok($b->{width} // 0, '>', 0, "picture $b->{width}x$b->{height}");
        is($b->{state}, 'connected', 'connectionState connected');
    };
}

# stop a viewer through its page (#stop: DELETE) and check it is gone
sub stop_viewer {
    my ($c, $id, $label) = @_;
    my ($rc, undef, $err) = $t->leave($c, $label);
    ok(defined $t->wait_gone($id // '', timeout => 10),
        "$label: gone from status");
    is($rc, 0, "$label: client exit 0") or diag($err);
}

###############################################################################
# 409 before the publisher; a viewer that waits, then plays

{
    my $r = $t->http('POST', '/whep/cam1',
        body => test_offer('chromium-recvonly'),
        headers => { 'Content-Type' => 'application/sdp' });
    is($r->{status}, 409, 'WHEP POST without publisher: 409');
    like($r->{headers}{'retry-after'} // '', qr/^\d+$/,
        'with Retry-After: ' . ($r->{headers}{'retry-after'} // 'none'));
    cmp_ok($r->{headers}{'retry-after'} // 0, '>', 0, 'Retry-After > 0');
}

my $v1 = $t->spawn_client({ timeout => 120 },
    $t->client_command('chromium_watch.js', '--base', $t->url('/'),
        '--stream', 'cam1', '--seconds', 100, '--timeout', 40));
my $w = $v1->wait_event(sub { $_[0]{event} =~ /^(waiting|error|connected)$/ },
    timeout => 30);
is($w && $w->{event}, 'waiting', 'viewer started first: waiting (409)')
    or diag(explain($w // 'no event'), $v1->stderr);
is($w && $w->{httpStatus}, 409, 'the page saw 409');
ok($w && defined $w->{retryAfter}, 'the page saw Retry-After: '
    . ($w && $w->{retryAfter} // 'none'));
my $t_wait = time;

sleep 3;
my ($pub, $pid) = $t->spawn_publisher({ timeout => 150, wait => 30 },
    'chromium', 'cam1', '--seconds', 120, '--timeout', 20);
ok($pid, 'publisher connected');
my $p = $t->check_media('cam1', audio => 'opus', video => qr/./,
    timeout => 20, name => 'chromium publisher');
my $vcodec = WebRTCTest::track($p, 'video');
$vcodec = $vcodec && $vcodec->{codec};
note("stream codec: " . ($vcodec // 'none'));

my $c1 = $v1->wait_event(sub { $_[0]{event} =~ /^(connected|error)$/ },
    timeout => 30);
ok($c1 && $c1->{event} eq 'connected', sprintf
    'waiting viewer connected %.1f s after the publisher started',
    time - $t_wait - 3)
    or diag(explain($c1 // 'no event'), $v1->stderr);
cmp_ok($c1 && $c1->{retries} // 0, '>=', 1,
    'after ' . ($c1 && $c1->{retries} // 0) . ' retries');
my $ff = $v1->wait_event(sub { $_[0]{event} =~ /^(first_frame|error)$/ },
    timeout => 30);
ok($ff && $ff->{event} eq 'first_frame', 'waiting viewer shows a frame'
    . ($ff && $ff->{ttffMs} ? " ($ff->{ttffMs} ms after its POST)" : ''))
    or diag(explain($ff // 'no event'));

note(sprintf 'waiting viewer plays: %.1f s', time - $T0);

###############################################################################
# viewers on both workers

my @viewers;    # { c, id, worker }
{
    my $id = $t->session_id($c1 && $c1->{location});
    my $s = $id && $t->wait_session($id);
    push @viewers, { c => $v1, id => $id, worker => $s && $s->{worker} };
}
my %on = map { ($_->{worker} // 0) => $_ } @viewers;
for my $try (1 .. 4) {
    last if keys %on >= 2;
    # two at a time: each lands on a worker chosen by the kernel
    my @new = map {
        $t->spawn_client({ timeout => 120 },
            $t->client_command('chromium_watch.js', '--base', $t->url('/'),
                '--stream', 'cam1', '--seconds', 100, '--timeout', 30))
    } 1 .. 2;
    for my $c (@new) {
        my $e = $c->wait_event(sub { $_[0]{event} =~ /^(connected|error)$/ },
            timeout => 40);
        unless ($e && $e->{event} eq 'connected') {
            diag('extra viewer: ', explain($e // 'no event'), $c->stderr);
            $c->kill;
            next;
        }
        my $id = $t->session_id($e->{location});
        my $s = $t->wait_session($id);
        my $v = { c => $c, id => $id, worker => $s && $s->{worker} };
        push @viewers, $v;
        $on{ $v->{worker} // 0 } //= $v;
    }
}
delete $on{0};
is(scalar(grep { $workers{$_} } keys %on), 2,
    'viewers on both workers (' . join(', ', sort keys %on) . ') after '
    . scalar(@viewers) . ' viewers')
    or diag(explain([map { [$_->{id}, $_->{worker}] } @viewers]));

for my $wk (sort keys %on) {
    my $v = $on{$wk};
    check_playing($v->{c}, "viewer on worker $wk");
    my $rec = $t->check_viewer('cam1', $v->{id}, audio => 'opus',
        video => $vcodec // qr/./, name => "viewer on worker $wk");
    is($rec && $rec->{worker}, $wk, "status: held by worker $wk");
}
{
    my @listed = $t->viewers('cam1');
    is(scalar @listed, scalar @viewers,
        'status lists every viewer under cam1 (' . scalar(@listed) . ')');
}

note(sprintf 'viewers on both workers: %.1f s', time - $T0);

###############################################################################
# aiortc and node-datachannel viewers of the Chromium stream

# the second of two fresh stats samples of a client (bounded), or undef
sub two_more_stats {
    my ($c) = @_;
    my @s = $c->next_events('stats', 2, timeout => 6, interval => 0.2);
    return @s >= 2 ? $s[-1] : undef;
}

subtest 'aiortc viewer of a Chromium publisher' => sub {
    my ($c, $id, $ff) = $t->spawn_viewer({ timeout => 60, wait => 40 },
        'aiortc', 'cam1', '--seconds', 30, '--connect-timeout', 15,
        '--frame-timeout', 15);
    ok($id, 'aiortc decodes a frame'
        . ($ff && $ff->{t} ? sprintf(' (%.2f s after its POST)', $ff->{t})
            : '')) or return;
    my $s0 = $c->wait_event(sub { $_[0]{event} eq 'stats'
        && ($_[0]{audio_frames} // 0) > 0 }, timeout => 5);
    my $s1 = two_more_stats($c);
    ok($s0 && $s1, 'stats samples') or return;
    cmp_ok($s1->{video_frames}, '>', $s0->{video_frames},
        "decoded video frames grow ($s0->{video_frames} -> "
        . "$s1->{video_frames})");
    cmp_ok($s1->{audio_frames}, '>', $s0->{audio_frames},
        "decoded audio frames grow ($s0->{audio_frames} -> "
        . "$s1->{audio_frames})");
    $t->check_viewer('cam1', $id, audio => 'opus',
        video => $vcodec // qr/./, name => 'aiortc viewer', interval => 1);
    my ($rc, undef, $err) = $t->leave($c, 'aiortc viewer');
    is($rc, 0, 'exit 0') or diag($err);
};

subtest 'node-datachannel viewer of a Chromium publisher' => sub {
    my ($c, $id, $k) = $t->spawn_viewer({ timeout => 60, wait => 30 },
        'ndc', 'cam1', '--seconds', 30, '--connect-timeout', 15,
        '--frame-timeout', 15);
    ok($id, 'a keyframe arrives'
        . ($k && defined $k->{t} ? " ($k->{t} s after the POST)" : ''))
        or return;
    my $s0 = $c->wait_event('stats', timeout => 3);
    my $s1 = two_more_stats($c);
    ok($s0 && $s1, 'stats samples') or return;
    cmp_ok($s1->{video_packets}, '>', $s0->{video_packets},
        "video packets grow ($s0->{video_packets} -> $s1->{video_packets})");
    cmp_ok($s1->{audio_packets}, '>', $s0->{audio_packets},
        "audio packets grow ($s0->{audio_packets} -> $s1->{audio_packets})");
    is($s1->{bad_packets}, 0, 'no malformed packet');
    is(scalar @{ $s1->{video_ssrcs} || [] }, 1, 'one video SSRC');
    $t->check_viewer('cam1', $id, audio => 'opus',
        video => $vcodec // qr/./, name => 'ndc viewer', interval => 1);
    my ($rc, undef, $err) = $t->leave($c, 'ndc viewer');
    is($rc, 0, 'exit 0') or diag($err);
};

note(sprintf 'aiortc, ndc viewers: %.1f s', time - $T0);

# the Chromium viewers leave (#stop: DELETE), then the publisher
stop_viewer($_->{c}, $_->{id}, "chromium viewer $_->{id}") for @viewers;
$t->leave($pub, 'publisher');
note(sprintf 'chromium part: %.1f s', time - $T0);

###############################################################################
# profile-level-id of the answer = the stream's SPS

for my $profile (qw(baseline high)) {
    subtest "answer profile-level-id, $profile stream claimed as 42e01f"
        => sub {
        my $file = $t->test_h264(profile => $profile);
        my $sps = WebRTCTest::h264_profile_level_id($t->read_file($file));
        ok($sps, "the file's SPS says $sps") or return;
        isnt($sps, '42e01f', 'differs from what the publisher claims');

        my $stream = "obs-$profile";
        my ($pc, $pid) = $t->spawn_publisher({ timeout => 60, wait => 20 },
            'ndc', $stream, '--h264', $file, '--seconds', 40,
            '--connect-timeout', 15);
        ok($pid, 'publisher connected') or return;
        my $claimed = WebRTCTest::sdp_fmtp($pc->event('answer')->{sdp},
            'video', 'H264');
        note("WHIP answer fmtp: " . ($claimed // 'none'));
        # the server knows the profile once it has seen an SPS
        ok($t->wait_for(sub {
            my $tr = WebRTCTest::track($t->publisher($stream), 'video');
            return $tr && $tr->{keyframes} && $tr->{width};
        }, timeout => 10), 'server saw a keyframe');

        my $c = $t->spawn_client({ timeout => 60 },
            $t->client_command('ndc_watch.js', '--url',
                $t->url("/whep/$stream"), '--video-codec', 'h264',
                '--seconds', 1, '--connect-timeout', 10,
                '--frame-timeout', 10));
        my $ans = $c->wait_event(sub { $_[0]{event} =~ /^(answer|error)$/ },
            timeout => 20);
        is($ans && $ans->{status}, 201, 'WHEP POST 201')
            or return diag(explain($ans));
        my $fmtp = WebRTCTest::sdp_fmtp($ans->{sdp}, 'video', 'H264');
        my ($plid) = ($fmtp // '') =~ /profile-level-id=([0-9a-fA-F]{6})/;
        is(lc($plid // ''), $sps,
            "WHEP answer profile-level-id = the SPS's ($sps); fmtp: "
            . ($fmtp // 'none'));
        like($fmtp // '', qr/packetization-mode=1/, 'packetization-mode=1');
        my $k = $c->wait_event(
            sub { $_[0]{event} =~ /^(first_keyframe|error)$/ }, timeout => 15);
        ok($k && $k->{event} eq 'first_keyframe',
            'the viewer receives a keyframe')
            or diag(explain($k), $c->stderr);
        my ($rc, undef, $err) = $c->finish(timeout => 20);
        is($rc, 0, 'viewer exit 0') or diag($err);

        $t->leave($pc, 'publisher');
    };
}

ok($t->wait_idle, 'no session left');
is(join(',', $t->worker_pids), join(',', sort { $a <=> $b } keys %workers),
    'same workers as at the start');

$t->done;
note(sprintf 'total %.1f s', time - $T0);

done_testing;
