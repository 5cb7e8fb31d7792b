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
use WebRTCTest qw(skip_unless_netns skip_unless_module skip_unless_exec);

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

sub publish {
    my ($t, $path) = @_;
    my $c = $t->spawn_client({ timeout => 90 },
        $t->client_command('aiortc_publish.py', '--url', $t->url($path),
            '--video-codec', 'h264', '--seconds', 80,
            '--connect-timeout', 15));
    my $e = $c->wait_event(sub { $_[0]{event} =~ /^(connected|error)$/ },
        timeout => 30);
    unless ($e && $e->{event} eq 'connected') {
        diag("publisher $path: ", explain([$c->events]), $c->stderr);
        return ($c, undef);
    }
    my ($a) = grep { $_->{event} eq 'answer' } $c->events;
    return ($c, $t->session_id($a->{location}));
}

sub watch_chromium {
    my ($t, $stream) = @_;
    my $c = $t->spawn_client({ timeout => 90 },
        $t->client_command('chromium_watch.js', '--base', $t->url('/'),
            '--stream', $stream, '--seconds', 60, '--timeout', 20));
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

sub next_stats {
    my ($t, $c, $n) = @_;
    my $have = () = stats_events($c);
    $t->wait_for(sub { stats_events($c) >= $have + $n },
        timeout => $n + 5, interval => 0.1);
    my @s = stats_events($c);
    return @s[$have .. $#s];
}

###############################################################################
# loss: NACKs answered from the ring

subtest 'webrtc_debug_drop 5: NACK recovery' => sub {
    my $t = WebRTCTest->new(name => 'whep-loss', workers => 1);
    $t->write_conf($t->whep_conf(http => 'webrtc_debug_drop 5;'));
    $t->start;

    my ($pub, $pid) = publish($t, '/whip/lossy');
    ok($pid, 'publisher connected') or return $t->done;
    my ($v, $vid) = watch_chromium($t, 'lossy');
    ok($vid, 'viewer shows a first frame despite the loss')
        or return $t->done;

    my @s = next_stats($t, $v, 6);
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

    my @s2 = next_stats($t, $v, 2);
    cmp_ok($s2[-1]{framesDecoded}, '>', $fd[-1],
        "frames keep increasing ($fd[-1] -> $s2[-1]{framesDecoded})");
    is($s2[-1]{state}, 'connected', 'still connected');

    $v->signal('USR1');
    my $d = $v->wait_event(sub { $_[0]{event} =~ /^(deleted|error)$/ },
        timeout => 15);
    is($d && $d->{status}, 200, 'viewer DELETE 200');
    $pub->signal('USR1');
    $d = $pub->wait_event('deleted', timeout => 15);
    is($d && $d->{status}, 200, 'publisher DELETE 200');
    $_->finish(timeout => 15) for $v, $pub;
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

    my ($pub, $pid) = publish($t, '/whip/nf');
    ok($pid, 'publisher connected') or return $t->done;
    my ($v, $vid) = watch_chromium($t, 'nf');
    ok($vid, 'Chromium viewer plays') or return $t->done;
    my $a = $t->spawn_client({ timeout => 60 },
        $t->client_command('aiortc_watch.py', '--url', $t->url('/whep/nf'),
            '--seconds', 40, '--connect-timeout', 10,
            '--frame-timeout', 10));
    my $af = $a->wait_event(sub { $_[0]{event} =~ /^(first_frame|error)$/ },
        timeout => 20);
    ok($af && $af->{event} eq 'first_frame', 'aiortc viewer plays')
        or return $t->done;
    my ($aa) = grep { $_->{event} eq 'answer' } $a->events;
    my $aid = $t->session_id($aa->{location});
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
