#!/usr/bin/perl

# WHEP playback under loss, and viewers that end with their publisher:
#   - webrtc_debug_drop 5: the server drops 5 % of the packets it sends
#     to viewers (not the retransmissions); a Chromium viewer NACKs them,
#     the server answers from the stream's ring, and the picture keeps
#     going: frames decoded every second, nackCount > 0 in the browser,
#     nacks > 0 for that viewer in /webrtc/status;
#   - webrtc_viewers_follow off in the WHIP location: when the publisher
#     DELETEs, its viewers' sessions end (gone from the status) and the
#     clients see it: aiortc's DTLS transport closes (close_notify), the
#     browser's connection goes disconnected, then failed.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes qw(time sleep);
use WebRTCTest qw(skip_unless_peers);

skip_unless_peers('chromium', 'aiortc');

my $T0 = time;

sub publish {
    my ($t, $stream) = @_;
    return $t->spawn_publisher('aiortc', $stream, '--video-codec', 'h264',
        '--seconds', 80, '--connect-timeout', 15);
}

sub watch_chromium {
    my ($t, $stream) = @_;
    return $t->spawn_viewer('chromium', $stream, '--seconds', 60,
        '--timeout', 20);
}

###############################################################################
# loss: NACKs answered from the ring

subtest 'webrtc_debug_drop 5: NACK recovery' => sub {
    my $t = WebRTCTest->new(name => 'whep-loss', workers => 1);
    $t->write_conf($t->whep_conf(http => 'webrtc_debug_drop 5;'));
    $t->start;

    my ($pub, $pid) = publish($t, 'lossy');
    ok($pid, 'publisher connected') or return $t->done;
    my ($v, $vid) = watch_chromium($t, 'lossy');
    ok($vid, 'viewer shows a first frame despite the loss')
        or return $t->done;

    my @s = $v->next_events('stats', 6);
    cmp_ok(scalar @s, '>=', 6, 'six one-second samples');
    my @fd = map { $_->{framesDecoded} } @s;
    is(WebRTCTest::freeze_max(@s), 0,
        "frames decoded in every second: @fd");
    cmp_ok($fd[-1] - $fd[0], '>=', 5 * 10,
        sprintf 'about steady: %d frames in 5 s', $fd[-1] - $fd[0]);
    cmp_ok($s[-1]{nackCount}, '>', 0,
        "the browser sent NACKs ($s[-1]{nackCount})");
    note("browser: packetsLost $s[-1]{packetsLost}, nackCount "
        . "$s[-1]{nackCount}, pliCount $s[-1]{pliCount}, freezeCount "
        . "$s[-1]{freezeCount}");

    my $r = $t->check_viewer('lossy', $vid, audio => 'opus',
        video => 'H264', name => 'lossy viewer');
    my $vt = WebRTCTest::track($r, 'video');
    cmp_ok($vt && $vt->{nacks} // 0, '>', 0, 'status: video nacks '
        . ($vt && $vt->{nacks} // 'none') . ' for that viewer');
    note('status video track: ' . JSON::PP->new->canonical->encode($vt))
        if $vt;

    my @s2 = $v->next_events('stats', 2);
    cmp_ok($s2[-1]{framesDecoded}, '>', $fd[-1],
        "frames keep increasing ($fd[-1] -> $s2[-1]{framesDecoded})");
    is($s2[-1]{state}, 'connected', 'still connected');

    $t->leave($v, 'viewer');
    $t->leave($pub, 'publisher');
    $t->done;
};
note(sprintf 'loss: %.1f s', time - $T0);

###############################################################################
# webrtc_viewers_follow off

subtest 'webrtc_viewers_follow off: viewers end with the publisher' => sub {
    my $t = WebRTCTest->new(name => 'whep-nofollow', workers => 2);
    $t->write_conf($t->whep_conf(reuseport => 1,
        whip => 'webrtc_viewers_follow off;'));
    $t->start;

    my ($pub, $pid) = publish($t, 'nf');
    ok($pid, 'publisher connected') or return $t->done;
    my ($v, $vid) = watch_chromium($t, 'nf');
    ok($vid, 'Chromium viewer plays') or return $t->done;
    my ($a, $aid) = $t->spawn_viewer({ timeout => 60, wait => 20 },
        'aiortc', 'nf', '--seconds', 40, '--connect-timeout', 10,
        '--frame-timeout', 10);
    ok($aid, 'aiortc viewer plays') or return $t->done;
    $t->check_viewer('nf', $vid, audio => 'opus', video => 'H264',
        name => 'Chromium viewer', interval => 1);
    ok($t->wait_session($aid), 'aiortc viewer connected in status');

    $pub->signal('USR1');
    my $d = $pub->wait_event('deleted', timeout => 15);
    is($d && $d->{status}, 200, 'publisher DELETE 200');
    my $t_del = time;
    for my $id ($vid, $aid) {
        my $gone = $t->wait_gone($id, timeout => 10);
        ok(defined $gone, sprintf 'viewer %s gone from status %.1f s after '
            . 'the DELETE', $id, time - $t_del);
    }
    ok(!$t->publisher('nf') && !$t->viewers('nf'), 'stream nf not listed');

    my $ae = $a->wait_event('disconnected', timeout => 10);
    ok($ae, sprintf 'aiortc viewer: connection ended %.1f s after the '
        . 'DELETE (DTLS %s)', time - $t_del, $ae ? $ae->{dtls} : '-');
    is($ae && $ae->{dtls}, 'closed', 'aiortc: DTLS closed (close_notify)');

    my $dtls = $v->wait_event(sub { $_[0]{event} eq 'stats'
        && ($_[0]{dtlsState} // '') eq 'closed' }, timeout => 5);
    ok($dtls, 'browser: its DTLS transport is closed (close_notify)');
    # ICE: disconnected after a few seconds without answers, then failed
    my $end = $v->wait_event(sub {
        ($_[0]{event} eq 'state' && $_[0]{state} =~ /^(closed|failed)$/)
        || ($_[0]{event} eq 'error'
            && ($_[0]{message} // '') =~ /connection (closed|failed)/)
    }, timeout => 30);
    ok($end, sprintf 'browser: connection %s %.1f s after the DELETE',
        $end ? ($end->{state} // $end->{message}) : 'still not ended',
        time - $t_del)
        or diag(explain([grep { $_->{event} ne 'stats' } $v->events]));
    $_->finish(timeout => 10) for $v, $a, $pub;
    $t->done;
};

note(sprintf 'total %.1f s', time - $T0);

done_testing;
