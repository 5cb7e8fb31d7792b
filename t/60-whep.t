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
use WebRTCTest qw(skip_unless_netns skip_unless_module skip_unless_exec);

skip_unless_netns();
skip_unless_module();
skip_unless_exec($ENV{WEBRTC_NODE} // 'node',
    $ENV{CHROMIUM} // '/usr/bin/chromium', 'ffmpeg',
    $ENV{WEBRTC_PYTHON} // '/usr/bin/python3');

my $T0 = time;
my $t = WebRTCTest->new(name => 'whep', workers => 2);
$t->write_conf($t->whep_conf(reuseport => 1));
$t->start;

my %workers = map { $_ => 1 } $t->worker_pids;
is(scalar keys %workers, 2, 'two workers');

sub slurp {
    my ($f) = @_;
    open my $fh, '<', $f or die "$f: $!";
    local $/;
    return scalar <$fh>;
}

# the latest "stats" event of a client
sub last_stats {
    my ($c) = @_;
    my @s = grep { $_->{event} eq 'stats' } $c->events;
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
        my $n = () = grep { $_->{event} eq 'stats' } $c->events;
        # two fresh samples later (the client prints one per second)
        my $b = $t->wait_for(sub {
            my @s = grep { $_->{event} eq 'stats' } $c->events;
            return @s >= $n + int($gap) ? $s[-1] : undef;
        }, timeout => $gap + 5);
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
    $c->signal('USR1');
    my $d = $c->wait_event(sub { $_[0]{event} =~ /^(deleted|error)$/ },
        timeout => 15);
    is($d && $d->{status}, 200, "$label: DELETE 200")
        or diag(explain($d // 'no event'));
    ok(defined $t->wait_gone($id // '', timeout => 10),
        "$label: gone from status");
    my ($rc, undef, $err) = $c->finish(timeout => 15);
    is($rc, 0, "$label: client exit 0") or diag($err);
}

###############################################################################
# 409 before the publisher; a viewer that waits, then plays

my $recvonly = slurp($t->root . '/t/data/offers/chromium-recvonly.sdp');
{
    my $r = $t->http('POST', '/whep/cam1', body => $recvonly,
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
my $pub = $t->spawn_client({ timeout => 150 },
    $t->client_command('chromium_publish.js', '--base', $t->url('/'),
        '--stream', 'cam1', '--seconds', 120, '--timeout', 20));
my $pe = $pub->wait_event(sub { $_[0]{event} =~ /^(connected|error)$/ },
    timeout => 30);
ok($pe && $pe->{event} eq 'connected', 'publisher connected')
    or diag(explain($pe // 'no event'), $pub->stderr);
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

subtest 'aiortc viewer of a Chromium publisher' => sub {
    my $c = $t->spawn_client({ timeout => 60 },
        $t->client_command('aiortc_watch.py', '--url', $t->url('/whep/cam1'),
            '--seconds', 30, '--connect-timeout', 15, '--frame-timeout', 15));
    my $ff = $c->wait_event(sub { $_[0]{event} =~ /^(first_frame|error)$/ },
        timeout => 40);
    ok($ff && $ff->{event} eq 'first_frame', 'aiortc decodes a frame'
        . ($ff && $ff->{t} ? sprintf(' (%.2f s after its POST)', $ff->{t})
            : '')) or return diag(explain($ff), $c->stderr);
    my ($ans) = grep { $_->{event} eq 'answer' } $c->events;
    my $id = $t->session_id($ans->{location});
    my $s0 = $c->wait_event(sub { $_[0]{event} eq 'stats'
        && ($_[0]{audio_frames} // 0) > 0 }, timeout => 5);
    my $n = () = grep { $_->{event} eq 'stats' } $c->events;
    my $s1 = $t->wait_for(sub {
        my @s = grep { $_->{event} eq 'stats' } $c->events;
        return @s >= $n + 2 ? $s[-1] : undef;
    }, timeout => 6);
    ok($s0 && $s1, 'stats samples') or return;
    cmp_ok($s1->{video_frames}, '>', $s0->{video_frames},
        "decoded video frames grow ($s0->{video_frames} -> "
        . "$s1->{video_frames})");
    cmp_ok($s1->{audio_frames}, '>', $s0->{audio_frames},
        "decoded audio frames grow ($s0->{audio_frames} -> "
        . "$s1->{audio_frames})");
    $t->check_viewer('cam1', $id, audio => 'opus',
        video => $vcodec // qr/./, name => 'aiortc viewer', interval => 1);
    $c->signal('USR1');
    my $d = $c->wait_event('deleted', timeout => 15);
    is($d && $d->{status}, 200, 'DELETE 200');
    my ($rc, undef, $err) = $c->finish(timeout => 15);
    is($rc, 0, 'exit 0') or diag($err);
};

subtest 'node-datachannel viewer of a Chromium publisher' => sub {
    my $c = $t->spawn_client({ timeout => 60 },
        $t->client_command('ndc_watch.js', '--url', $t->url('/whep/cam1'),
            '--seconds', 30, '--connect-timeout', 15, '--frame-timeout', 15));
    my $k = $c->wait_event(
        sub { $_[0]{event} =~ /^(first_keyframe|error)$/ }, timeout => 30);
    ok($k && $k->{event} eq 'first_keyframe', 'a keyframe arrives'
        . ($k && defined $k->{t} ? " ($k->{t} s after the POST)" : ''))
        or return diag(explain($k), $c->stderr);
    my ($ans) = grep { $_->{event} eq 'answer' } $c->events;
    my $id = $t->session_id($ans->{location});
    my $s0 = $c->wait_event('stats', timeout => 3);
    my $n = () = grep { $_->{event} eq 'stats' } $c->events;
    my $s1 = $t->wait_for(sub {
        my @s = grep { $_->{event} eq 'stats' } $c->events;
        return @s >= $n + 2 ? $s[-1] : undef;
    }, timeout => 6);
    ok($s0 && $s1, 'stats samples') or return;
    cmp_ok($s1->{video_packets}, '>', $s0->{video_packets},
        "video packets grow ($s0->{video_packets} -> $s1->{video_packets})");
    cmp_ok($s1->{audio_packets}, '>', $s0->{audio_packets},
        "audio packets grow ($s0->{audio_packets} -> $s1->{audio_packets})");
    is($s1->{bad_packets}, 0, 'no malformed packet');
    is(scalar @{ $s1->{video_ssrcs} || [] }, 1, 'one video SSRC');
    $t->check_viewer('cam1', $id, audio => 'opus',
        video => $vcodec // qr/./, name => 'ndc viewer', interval => 1);
    $c->signal('USR1');
    my $d = $c->wait_event('deleted', timeout => 15);
    is($d && $d->{status}, 200, 'DELETE 200');
    my ($rc, undef, $err) = $c->finish(timeout => 15);
    is($rc, 0, 'exit 0') or diag($err);
};

note(sprintf 'aiortc, ndc viewers: %.1f s', time - $T0);

# the Chromium viewers leave (#stop: DELETE), then the publisher
stop_viewer($_->{c}, $_->{id}, "chromium viewer $_->{id}") for @viewers;
$pub->signal('USR1');
my $pd = $pub->wait_event(sub { $_[0]{event} =~ /^(deleted|error)$/ },
    timeout => 15);
is($pd && $pd->{status}, 200, 'publisher DELETE 200');
$pub->finish(timeout => 15);
note(sprintf 'chromium part: %.1f s', time - $T0);

###############################################################################
# profile-level-id of the answer = the stream's SPS

for my $profile (qw(baseline high)) {
    subtest "answer profile-level-id, $profile stream claimed as 42e01f"
        => sub {
        my $file = $t->test_h264_profile($profile);
        my $sps = WebRTCTest::h264_profile_level_id(slurp($file));
        ok($sps, "the file's SPS says $sps") or return;
        isnt($sps, '42e01f', 'differs from what the publisher claims');

        my $stream = "obs-$profile";
        my $pc = $t->spawn_client({ timeout => 60 },
            $t->client_command('ndc_publish.js', '--url',
                $t->url("/whip/$stream"), '--h264', $file, '--seconds', 40,
                '--connect-timeout', 15));
        my $e = $pc->wait_event(sub { $_[0]{event} =~ /^(connected|error)$/ },
            timeout => 20);
        ok($e && $e->{event} eq 'connected', 'publisher connected')
            or return diag(explain($e), $pc->stderr);
        my ($pans) = grep { $_->{event} eq 'answer' } $pc->events;
        my $claimed = WebRTCTest::sdp_fmtp($pans->{sdp}, 'video', 'H264');
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

        $pc->signal('USR1');
        my $d = $pc->wait_event('deleted', timeout => 15);
        is($d && $d->{status}, 200, 'publisher DELETE 200');
        $pc->finish(timeout => 15);
    };
}

ok($t->wait_for(sub { my $st = $t->status; $st && !$st->{sessions} },
    timeout => 10), 'no session left');
is(join(',', $t->worker_pids), join(',', sort { $a <=> $b } keys %workers),
    'same workers as at the start');

$t->done;
note(sprintf 'total %.1f s', time - $T0);

done_testing;
