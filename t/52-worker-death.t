#!/usr/bin/perl

# A worker killed with SIGKILL (a crash) while a stream plays:
#   - a worker with viewers only: within 5 s its sessions are gone from
#     the status and the stream's viewer count is right again; the
#     publisher keeps publishing;
#   - the publisher's worker: within 5 s the publisher is gone from the
#     status, a new publisher gets 201 at once, and a viewer on the
#     surviving worker plays the new publisher.
# aiortc publishers (H.264) and viewers, two workers, reuseport.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes qw(sleep time);
use WebRTCTest qw(skip_unless_peers pid_alive);

skip_unless_peers('aiortc');

my $T0 = time;

my $t = WebRTCTest->new(name => 'worker-death', workers => 2);
$t->write_conf($t->whep_conf(reuseport => 1,
    main => 'worker_shutdown_timeout 2s;'));
$t->start;

sub publish {
    return $t->spawn_publisher({ timeout => 120 }, 'aiortc', 'wd',
        '--video-codec', 'h264', '--seconds', 100, '--connect-timeout', 15);
}

# a viewer on a worker other than $avoid (up to 8 tries: reuseport
# picks); the viewers that land on $avoid leave again (DELETE)
sub viewer_not_on {
    my ($avoid) = @_;
    for my $try (1 .. 8) {
        my ($c, $id) = $t->spawn_viewer({ timeout => 120, wait => 20 },
            'aiortc', 'wd', '--seconds', 100, '--connect-timeout', 10,
            '--frame-timeout', 10);
        next unless $id;
        my $s = $t->wait_session($id) or next;
        return ($c, $id, $s->{worker}) if ($s->{worker} // 0) != $avoid;
        $c->signal('USR1');
        $c->wait_event('deleted', timeout => 15);
        $c->finish(timeout => 15);
    }
    return;
}

sub sessions_of {
    my ($pid) = @_;
    my $st = $t->status or return -1;
    my $n = 0;
    for my $s (@{ $st->{streams} // [] }) {
        $n++ for grep { $_ && ($_->{worker} // 0) == $pid }
            $s->{publisher}, @{ $s->{viewers} // [] };
    }
    return $n;
}

my ($pub, $pub_id) = publish();
ok($pub_id, 'publisher connected') or BAIL_OUT('no publisher');
my $pw = $t->wait_session($pub_id)->{worker};
ok($pw, "publisher on worker $pw");

###############################################################################

subtest 'SIGKILL of a worker with viewers only' => sub {
    my ($v, $vid, $vw) = viewer_not_on($pw);
    ok($vid, "a viewer on the other worker ($vw)") or return;
    is(scalar $t->viewers('wd'), 1, 'one viewer listed');

    kill 'KILL', $vw;
    my $t0 = time;
    my $clean = $t->wait_for(sub { sessions_of($vw) == 0 }, timeout => 8,
        interval => 0.2);
    ok($clean, sprintf 'its sessions gone from the status after %.1f s',
        time - $t0);
    cmp_ok(time - $t0, '<', 5, 'within 5 s');
    is(scalar $t->viewers('wd'), 0, 'no viewer listed');
    like($t->error_log, qr/session \Q$vid\E of stream "wd" ended: its worker \Q$vw\E died/,
        'error.log says why');

    my $p1 = WebRTCTest::track($t->publisher('wd'), 'video');
    sleep 1.5;
    my $p2 = WebRTCTest::track($t->publisher('wd'), 'video');
    ok($p1 && $p2 && $p2->{packets} > $p1->{packets},
        'the publisher keeps publishing');
    $v->kill;
};

###############################################################################

subtest 'SIGKILL of the publisher\'s worker' => sub {
    $t->wait_for(sub { scalar(my @w = $t->worker_pids) == 2 },
        timeout => 10);
    my ($v, $vid, $vw) = viewer_not_on($pw);
    ok($vid, "a viewer on the other worker ($vw)") or return;

    kill 'KILL', $pw;
    my $t0 = time;
    my $clean = $t->wait_for(sub { !$t->publisher('wd') }, timeout => 8,
        interval => 0.2);
    ok($clean, sprintf 'the publisher gone from the status after %.1f s',
        time - $t0);
    cmp_ok(time - $t0, '<', 5, 'within 5 s');
    is(sessions_of($pw), 0, 'nothing of the dead worker listed');
    ok($t->session($vid), 'the viewer on the surviving worker stays');
    $pub->kill;

    my $t1 = time;
    my ($pub2, $pub2_id) = publish();
    ok($pub2_id, sprintf 'a new publisher connects (%.1f s)', time - $t1);
    $t->check_viewer('wd', $vid, audio => 'opus', video => 'H264',
        name => 'the surviving viewer, with the new publisher');
    $v->kill;
    $pub2->kill;
};

$pub->kill;

# the master logs the killed workers at alert ("exited on signal 9"): that
# is this test's doing, not a failure
$t->done(allow => qr/worker process \d+ exited on signal 9\b/);

note(sprintf 'total %.1f s', time - $T0);

done_testing;
