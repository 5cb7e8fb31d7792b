#!/usr/bin/perl

# WHEP playback across changes on the server side:
#   - nginx -s reload while a Chromium viewer plays: its frames keep
#     decoding across the reload (no freeze of 2 s or more), its session
#     stays on the old worker; a viewer that arrives after the reload lands
#     on a new worker and plays the same stream; the status lists both;
#   - the publisher is replaced: publisher A dies (SIGKILL), after
#     webrtc_takeover_idle publisher B takes the stream over; the viewer's
#     session stays (same id) and its frames continue with B.
# (webrtc_viewers_follow off: t/63-whep-loss.t)

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes qw(time sleep);
use WebRTCTest qw(skip_unless_peers pid_alive);

skip_unless_peers('chromium', 'aiortc');

my $T0 = time;
my $t = WebRTCTest->new(name => 'whep-reload', workers => 2);
$t->write_conf($t->whep_conf(reuseport => 1));
$t->start;

# an aiortc publisher (H264), connected; returns ($client, $id, $event)
sub publish {
    my ($stream) = @_;
    return $t->spawn_publisher({ timeout => 120 }, 'aiortc', $stream,
        '--video-codec', 'h264', '--seconds', 100, '--connect-timeout', 15);
}

# a Chromium viewer that shows a first frame; returns ($client, $id)
sub watch {
    my ($stream) = @_;
    return $t->spawn_viewer({ timeout => 120 }, 'chromium', $stream,
        '--seconds', 100, '--timeout', 20);
}

###############################################################################
# reload while playing

subtest 'reload during playback' => sub {
    my ($pub, $pid) = publish('live');
    ok($pid, 'publisher connected') or return;
    my ($v1, $id1) = watch('live');
    ok($id1, 'viewer 1 plays') or return;
    my $s1 = $t->wait_session($id1);
    ok($s1, 'viewer 1 connected in status') or return;
    my $w1 = $s1->{worker};

    my @before = $v1->next_events('stats', 2);
    my $t_reload = time;
    ok($t->reload, 'reload');
    my %new = map { $_ => 1 } $t->worker_pids;
    ok(!$new{$w1}, "viewer 1's worker $w1 is an old worker");
    ok(pid_alive($w1), "old worker $w1 still runs for its sessions");
    my @after = $v1->next_events('stats', 4);
    my @all = (@before, @after);
    cmp_ok(scalar @after, '>=', 4, 'stats samples after the reload');
    cmp_ok($after[-1]{framesDecoded}, '>', $before[-1]{framesDecoded},
        sprintf 'framesDecoded grows across the reload (%d -> %d in %.1f s)',
        $before[-1]{framesDecoded}, $after[-1]{framesDecoded},
        time - $t_reload);
    my $fz = WebRTCTest::freeze_max(@all);
    cmp_ok($fz, '<', 2, 'no freeze of 2 s or more around the reload ('
        . join(' ', map { $_->{framesDecoded} } @all) . ')');
    is($after[-1]{freezeCount}, $before[0]{freezeCount},
        "browser counted no freeze (freezeCount $after[-1]{freezeCount})");
    is($after[-1]{state}, 'connected', 'browser still connected');

    my $st = $t->status;
    my $s = $t->session($id1, $st);
    ok($s, 'viewer 1 still listed, same id');
    is($s && $s->{worker}, $w1, 'still on the old worker');
    is($s && $s->{state}, 'connected', 'state connected');

    # a new viewer goes to a new worker and plays the same stream
    my ($v2, $id2) = watch('live');
    ok($id2, 'viewer 2 (after the reload) plays') or return;
    my $s2 = $t->wait_session($id2);
    ok($s2 && $new{ $s2->{worker} // 0 }, 'viewer 2 on a new worker ('
        . ($s2 ? $s2->{worker} : '-') . ')');
    my @v2 = $v2->next_events('stats', 2);
    cmp_ok($v2[-1]{framesDecoded} // 0, '>', $v2[0]{framesDecoded} // 0,
        'viewer 2: framesDecoded grows');
    cmp_ok($v2[-1]{audioPacketsReceived} // 0, '>', 0,
        'viewer 2: audio received');
    my $vcodec = WebRTCTest::track($t->publisher('live'), 'video');
    $vcodec = $vcodec ? $vcodec->{codec} : qr/./;
    my $r1 = $t->check_viewer('live', $id1, audio => 'opus',
        video => $vcodec, name => 'viewer 1 (old worker)');
    my $r2 = $t->check_viewer('live', $id2, audio => 'opus',
        video => $vcodec, name => 'viewer 2 (new worker)');
    my @ids = sort map { $_->{id} } $t->viewers('live');
    is_deeply(\@ids, [sort $id1, $id2], 'status: both viewers under live');

    $t->leave($v2, 'viewer 2');
    $t->leave($v1, 'viewer 1');
    $t->leave($pub, 'publisher');
    ok($t->wait_for(sub { !pid_alive($w1) }, timeout => 10),
        "old worker $w1 exits once its sessions are gone");
};
note(sprintf 'reload: %.1f s', time - $T0);

###############################################################################
# publisher replaced: the viewer stays and continues

subtest 'publisher replaced, viewer follows' => sub {
    my ($a, $aid) = publish('swap');
    ok($aid, 'publisher A connected') or return;
    my ($v, $vid) = watch('swap');
    ok($vid, 'viewer plays A') or return;
    ok($t->wait_session($vid), 'viewer connected in status');
    my @s0 = $v->next_events('stats', 2);
    cmp_ok($s0[-1]{framesDecoded}, '>', 0, 'frames decoded from A');

    $a->kill('KILL');
    my $t_kill = time;
    # webrtc_takeover_idle 2s: B may need a retry if it came too early
    sleep 2.5;
    my ($b, $bid);
    for my $try (1 .. 3) {
        my $e;
        ($b, $bid, $e) = publish('swap');
        last if $bid;
        last unless $e && ($e->{status} // 0) == 409;
        note("B got 409, try $try");
        sleep 1;
    }
    ok($bid, sprintf 'publisher B connected %.1f s after A died',
        time - $t_kill) or return;
    my $t_b = time;
    my $p = $t->publisher('swap');
    is($p && $p->{id}, $bid, 'status: B publishes swap');
    ok(!$t->session($aid), 'A is gone');

    my $mark = $v->events('stats');
    my $atb = ($v->events('stats'))[-1];
    my $grew = $t->wait_for(sub {
        my @s = $v->events('stats');
        return $s[-1]{framesDecoded} > $atb->{framesDecoded} + 30
            && @s > $mark + 1 ? $s[-1] : undef;
    }, timeout => 12, interval => 0.2);
    ok($grew, sprintf 'frames continue with B: %d -> %d, %.1f s after B '
        . 'connected', $atb->{framesDecoded},
        $grew ? $grew->{framesDecoded} : -1, time - $t_b)
        or diag(explain([$v->events('stats')]));
    my @s1 = $v->next_events('stats', 2);
    cmp_ok($s1[-1]{framesDecoded}, '>', $s1[0]{framesDecoded},
        'and keep growing');
    cmp_ok($s1[-1]{audioPacketsReceived}, '>', $s1[0]{audioPacketsReceived},
        'audio continues');
    is($s1[-1]{state}, 'connected', 'browser connected throughout');
    ok(!$v->events('state'),
        'no connection state change seen by the browser');
    my $r = $t->check_viewer('swap', $vid, audio => 'opus', video => 'H264',
        name => 'viewer after the takeover');
    is($r && $r->{id}, $vid, 'same viewer session id');

    $t->leave($v, 'viewer');
    $t->leave($b, 'publisher B');
};
note(sprintf 'replace: %.1f s', time - $T0);

ok($t->wait_idle, 'no session left');

$t->done;
note(sprintf 'total %.1f s', time - $T0);

done_testing;
