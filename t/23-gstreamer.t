#!/usr/bin/perl

# End to end with GStreamer 1.22 webrtcbin (Debian 12's packages) on a
# 2-worker nginx (reuseport), WHIP and WHEP:
#   - GStreamer publishes H264 (x264enc, constrained baseline, an IDR
#     every 2 s) + Opus (t/clients/gst_publish.py): /webrtc/status shows
#     it connected with both tracks, growing counters, a keyframe and the
#     published size;
#   - a GStreamer viewer (t/clients/gst_watch.py) decodes its video at
#     that size and its audio; the status lists it, sending both;
#   - an aiortc viewer decodes the same stream (a second decoder's word
#     on what GStreamer sent through the server);
#   - a GStreamer viewer plays an aiortc publisher (H264 + Opus, another
#     size);
#   - every client's DELETE ends its session.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes qw(time);
use WebRTCTest qw(skip_unless_peers);

skip_unless_peers('gstreamer', 'aiortc');

my $T0 = time;
my $t = WebRTCTest->new(name => 'gstreamer', workers => 2);
$t->write_conf($t->whep_conf(reuseport => 1));
$t->start;

# a viewer client's own view: decoded video frames and audio buffers grow
# over a few stats samples (one a second), at the expected size
sub check_decoding {
    my ($c, $label, %o) = @_;
    my $min = $o{frames} // 30;
    subtest "$label: decodes video and audio" => sub {
        my $first = $c->event('first_frame');
        ok($first, 'first frame decoded') or return diag($c->stderr);
        is("$first->{width}x$first->{height}", $o{size},
            "first frame $o{size}");
        my @s = $c->next_events('stats', 3, timeout => 10);
        ok(@s >= 3, 'three stats samples') or return diag($c->stderr);
        my ($a, $b) = ($s[0], $s[-1]);
        cmp_ok($b->{video_frames}, '>', $a->{video_frames},
            "video frames grow ($a->{video_frames} -> $b->{video_frames})");
        cmp_ok($b->{video_frames}, '>', $min,
            "more than $min frames decoded");
        cmp_ok($b->{audio_frames}, '>', $a->{audio_frames},
            "audio frames grow ($a->{audio_frames} -> $b->{audio_frames})");
        is(($b->{width} // 0) . 'x' . ($b->{height} // 0), $o{size},
            "picture $o{size}");
    };
}

# ends a client with DELETE; its session leaves the status
sub stop_client {
    my ($c, $id, $label) = @_;
    my ($rc, undef, $err) = $t->leave($c, $label);
    ok(defined $t->wait_gone($id // '', timeout => 10),
        "$label: gone from status");
    is($rc, 0, "$label: client exit 0") or diag($err);
}

###############################################################################
# GStreamer publishes

my ($pub, $pid) = $t->spawn_publisher('gstreamer', 'gst',
    '--seconds', 150, '--video-size', '640x360', '--key-int-max', 60,
    '--connect-timeout', 15);
ok($pid, 'GStreamer publisher connected') or do { $t->done; done_testing;
    exit };
is($pub->event('answer')->{status}, 201, 'POST answered 201');
# webrtcbin's default offer: a UDP and two TCP host candidates (active,
# passive); the server takes the UDP one
is($pub->event('offer')->{candidates}, 3, 'offer with 3 candidates');

my $p = $t->check_media('gst',
    name       => 'GStreamer publisher',
    audio      => 'opus',
    video      => 'H264',
    width      => 640,
    height     => 360,
    user_agent => qr{^GStreamer/},
    timeout    => 20);
is($p && $p->{id}, $pid, 'status session id = Location id');
ok(scalar $pub->events('keyframe') >= 1,
    'the encoder made a keyframe (' . scalar($pub->events('keyframe'))
    . ' so far)');

###############################################################################
# a GStreamer viewer of it

{
    my ($v, $vid, $first) = $t->spawn_viewer('gstreamer', 'gst',
        '--seconds', 60, '--connect-timeout', 15);
    ok($vid, 'GStreamer viewer: first frame')
        and note(sprintf 'GStreamer viewer: first frame %.2f s after POST',
            $first->{t});
    if ($vid) {
        $t->check_viewer('gst', $vid, audio => 'opus', video => 'H264',
            name => 'GStreamer viewer');
        check_decoding($v, 'GStreamer viewer', size => '640x360');
        stop_client($v, $vid, 'GStreamer viewer');
    } else {
        $v->kill;
    }
}

###############################################################################
# an aiortc viewer of the same stream

{
    my ($v, $vid, $first) = $t->spawn_viewer('aiortc', 'gst',
        '--seconds', 60, '--connect-timeout', 15);
    ok($vid, 'aiortc viewer of GStreamer: first frame');
    if ($vid) {
        $t->check_viewer('gst', $vid, audio => 'opus', video => 'H264',
            name => 'aiortc viewer');
        check_decoding($v, 'aiortc viewer of GStreamer', size => '640x360');
        stop_client($v, $vid, 'aiortc viewer');
    } else {
        $v->kill;
    }
}

subtest 'GStreamer publisher leaves' => sub {
    $pub->signal('USR1');
    my $del = $pub->wait_event(
        sub { $_[0]{event} =~ /^(deleted|error)$/ }, timeout => 20);
    is($del && $del->{status}, 200, 'DELETE answered 200')
        or diag(explain($del // ['no event', $pub->events]));
    my @lost = $pub->events('disconnected');
    is(scalar @lost, 0, 'never disconnected') or diag(explain(\@lost));
    $t->check_ended($pub, $pid, stream => 'gst');
};

###############################################################################
# a GStreamer viewer of an aiortc publisher

{
    my ($apub, $aid) = $t->spawn_publisher('aiortc', 'aio',
        '--video-codec', 'h264', '--video-size', '320x240',
        '--seconds', 120, '--connect-timeout', 15);
    ok($aid, 'aiortc publisher connected');
    $t->check_media('aio', name => 'aiortc publisher', audio => 'opus',
        video => 'H264', width => 320, height => 240) if $aid;

    # (UDP candidates only, this time)
    my ($v, $vid) = $t->spawn_viewer('gstreamer', 'aio',
        '--seconds', 60, '--connect-timeout', 15, '--no-ice-tcp');
    ok($vid, 'GStreamer viewer of aiortc: first frame');
    if ($vid) {
        $t->check_viewer('aio', $vid, audio => 'opus', video => 'H264',
            name => 'GStreamer viewer of aiortc');
        check_decoding($v, 'GStreamer viewer of aiortc', size => '320x240');
        stop_client($v, $vid, 'GStreamer viewer of aiortc');
    } else {
        $v->kill;
    }
    if ($aid) {
        $t->leave($apub, 'aiortc publisher');
        $t->check_ended($apub, $aid, stream => 'aio');
    } else {
        $apub->kill;
    }
}

my $st = $t->status;
is($st && $st->{sessions}, 0, 'no session left');

$t->done;
note(sprintf 'file: %.1f s', time - $T0);

done_testing;
