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
use WebRTCTest qw(skip_unless_netns skip_unless_module skip_unless_exec
    pid_alive);

skip_unless_netns();
skip_unless_module();
skip_unless_exec($ENV{WEBRTC_NODE} // 'node',
    $ENV{CHROMIUM} // '/usr/bin/chromium',
    $ENV{WEBRTC_PYTHON} // '/usr/bin/python3');
{
    my $py = $ENV{WEBRTC_PYTHON} // '/usr/bin/python3';
    plan(skip_all => 'aiortc not importable by ' . $py)
        if system($py, '-c', 'import aiortc') != 0;
}

my $T0 = time;
my $t = WebRTCTest->new(name => 'whep-reload', workers => 2);
$t->write_conf($t->whep_conf(reuseport => 1));
$t->start;

# an aiortc publisher (H264), connected; returns ($client, $id)
sub publish {
    my ($path, @extra) = @_;
    my $c = $t->spawn_client({ timeout => 120 },
        $t->client_command('aiortc_publish.py', '--url', $t->url($path),
            '--video-codec', 'h264', '--seconds', 100,
            '--connect-timeout', 15, @extra));
    my $e = $c->wait_event(sub { $_[0]{event} =~ /^(connected|error)$/ },
        timeout => 30);
    unless ($e && $e->{event} eq 'connected') {
        diag("publisher $path: ", explain([$c->events]), $c->stderr);
        return ($c, undef, $e);
    }
    my ($a) = grep { $_->{event} eq 'answer' } $c->events;
    return ($c, $t->session_id($a->{location}));
}

# a Chromium viewer that shows a first frame; returns ($client, $id)
sub watch {
    my ($stream) = @_;
    my $c = $t->spawn_client({ timeout => 120 },
        $t->client_command('chromium_watch.js', '--base', $t->url('/'),
            '--stream', $stream, '--seconds', 100, '--timeout', 20));
    my $e = $c->wait_event(sub { $_[0]{event} =~ /^(first_frame|error)$/ },
        timeout => 40);
    unless ($e && $e->{event} eq 'first_frame') {
        diag("viewer of $stream: ", explain([$c->events]), $c->stderr);
        return ($c, undef);
    }
    my ($cn) = grep { $_->{event} eq 'connected' } $c->events;
    return ($c, $t->session_id($cn->{location}));
}

sub stats_events {
    my ($c) = @_;
    return grep { $_->{event} eq 'stats' } $c->events;
}

# the next $n stats samples of a client (bounded); returns them
sub next_stats {
    my ($c, $n) = @_;
    my $have = () = stats_events($c);
    my $ok = $t->wait_for(sub { stats_events($c) >= $have + $n },
        timeout => $n + 5, interval => 0.1);
    my @s = stats_events($c);
    return @s[$have .. $#s];
}

###############################################################################
# reload while playing

subtest 'reload during playback' => sub {
    my ($pub, $pid) = publish('/whip/live');
    ok($pid, 'publisher connected') or return;
    my ($v1, $id1) = watch('live');
    ok($id1, 'viewer 1 plays') or return;
    my $s1 = $t->wait_session($id1);
    ok($s1, 'viewer 1 connected in status') or return;
    my $w1 = $s1->{worker};

    my @before = next_stats($v1, 2);
    my $t_reload = time;
    ok($t->reload, 'reload');
    my %new = map { $_ => 1 } $t->worker_pids;
    ok(!$new{$w1}, "viewer 1's worker $w1 is an old worker");
    ok(pid_alive($w1), "old worker $w1 still runs for its sessions");
    my @after = next_stats($v1, 4);
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
    my @v2 = next_stats($v2, 2);
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
    $pub->signal('USR1');
    my $d = $pub->wait_event('deleted', timeout => 15);
    is($d && $d->{status}, 200, 'publisher DELETE 200');
    $pub->finish(timeout => 15);
    ok($t->wait_for(sub { !pid_alive($w1) }, timeout => 10),
        "old worker $w1 exits once its sessions are gone");
};
note(sprintf 'reload: %.1f s', time - $T0);

###############################################################################
# publisher replaced: the viewer stays and continues

subtest 'publisher replaced, viewer follows' => sub {
    my ($a, $aid) = publish('/whip/swap');
    ok($aid, 'publisher A connected') or return;
    my ($v, $vid) = watch('swap');
    ok($vid, 'viewer plays A') or return;
    ok($t->wait_session($vid), 'viewer connected in status');
    my @s0 = next_stats($v, 2);
    cmp_ok($s0[-1]{framesDecoded}, '>', 0, 'frames decoded from A');

    $a->kill('KILL');
    my $t_kill = time;
    # webrtc_takeover_idle 2s: B may need a retry if it came too early
    sleep 2.5;
    my ($b, $bid);
    for my $try (1 .. 3) {
        my $e;
        ($b, $bid, $e) = publish('/whip/swap');
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

    my $mark = stats_events($v);
    my $atb = (stats_events($v))[-1];
    my $grew = $t->wait_for(sub {
        my @s = stats_events($v);
        return $s[-1]{framesDecoded} > $atb->{framesDecoded} + 30
            && @s > $mark + 1 ? $s[-1] : undef;
    }, timeout => 12, interval => 0.2);
    ok($grew, sprintf 'frames continue with B: %d -> %d, %.1f s after B '
        . 'connected', $atb->{framesDecoded},
        $grew ? $grew->{framesDecoded} : -1, time - $t_b)
        or diag(explain([stats_events($v)]));
    my @s1 = next_stats($v, 2);
    cmp_ok($s1[-1]{framesDecoded}, '>', $s1[0]{framesDecoded},
        'and keep growing');
    cmp_ok($s1[-1]{audioPacketsReceived}, '>', $s1[0]{audioPacketsReceived},
        'audio continues');
    is($s1[-1]{state}, 'connected', 'browser connected throughout');
    ok(!grep({ $_->{event} eq 'state' } $v->events),
        'no connection state change seen by the browser');
    my $r = $t->check_viewer('swap', $vid, audio => 'opus', video => 'H264',
        name => 'viewer after the takeover');
    is($r && $r->{id}, $vid, 'same viewer session id');

    $t->leave($v, 'viewer');
    $b->signal('USR1');
    my $d = $b->wait_event('deleted', timeout => 15);
    is($d && $d->{status}, 200, 'publisher B DELETE 200');
    $b->finish(timeout => 15);
};
note(sprintf 'replace: %.1f s', time - $T0);

ok($t->wait_for(sub { my $st = $t->status; $st && !$st->{sessions} },
    timeout => 10), 'no session left');

$t->done;
note(sprintf 'total %.1f s', time - $T0);

done_testing;
