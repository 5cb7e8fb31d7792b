#!/usr/bin/perl

# ICE restart from a real browser while media flows: headless Chromium
# publishes (html/publish.html) and watches (html/watch.html) on a
# 2-worker nginx, and after a few seconds each page does what a WHIP/WHEP
# client does when its network changes (t/clients/* --restart-after):
# pc.restartIce(), a new offer, PATCH of its sdpfrag with If-Match: the
# ETag, the server's new ufrag/pwd/candidates into the remote description.
# Then: the PATCH was 200 with a new ETag; the server's status shows the
# same session id with a new ufrag and one restart; the browser's frames
# keep increasing (publisher: encoded, and the server's packet counters;
# viewer: decoded), without a new POST.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes qw(time sleep);
use WebRTCTest qw(skip_unless_peers);

skip_unless_peers('chromium');

my $t = WebRTCTest->new(name => 'ice-restart-chromium', workers => 2);
$t->write_conf($t->whep_conf(reuseport => 1));
$t->start;

sub session_of {
    my ($id) = @_;
    return $t->session($id) // {};
}

sub video_packets {
    my ($id) = @_;
    my $tr = WebRTCTest::track(session_of($id), 'video') or return 0;
    return $tr->{packets} // 0;
}

# the last value of $field in the client's stats events
sub last_stat {
    my ($c, $field) = @_;
    my @s = grep { $_->{event} eq 'stats' && defined $_->{$field} }
        $c->events;
    return @s ? $s[-1]{$field} : 0;
}

###############################################################################
# publisher

my ($pub, $pub_id, $ev) = $t->spawn_publisher({ wait => 45, timeout => 120 },
    'chromium', 'cam', '--seconds', 60, '--timeout', 20,
    '--restart-after', 4);
ok($pub_id, 'chromium publisher connected') or BAIL_OUT('no publisher');
my $etag0 = $ev->{etag};

ok($t->wait_for(sub { video_packets($pub_id) > 50 }, timeout => 15),
    'video reaches the server');
my $s0 = session_of($pub_id);
my ($ufrag0, $remote0) = ($s0->{ice}{ufrag}, $s0->{remote});
is($s0->{ice}{restarts}, 0, 'no restart yet');

subtest 'publisher: restartIce() while publishing' => sub {
    my $r = $pub->wait_event('restarted', timeout => 20);
    ok($r, 'the page restarted ICE (PATCH 200)')
        or return diag(explain([$pub->events]), $pub->stderr);
    isnt($r->{etag}, $etag0, "a new ETag ($r->{etag})");
    is($r->{restarts}, 1, 'one restart');

    my $s = session_of($pub_id);
    is($s->{id}, $pub_id, 'status: the same session');
    isnt($s->{ice}{ufrag}, $ufrag0, "status: a new ufrag ($s->{ice}{ufrag})");
    is("\"$s->{ice}{ufrag}\"", $r->{etag}, 'the ETag is the new ufrag');
    is($s->{ice}{restarts}, 1, 'status: one restart');

    # media on the new ICE session: the server counts more packets, the
    # browser encodes more frames, the page stays connected
    my $frames = last_stat($pub, 'framesEncoded');
    my $packets = video_packets($pub_id);
    ok($t->wait_for(sub { video_packets($pub_id) > $packets + 100 },
            timeout => 15),
        'the server keeps receiving video after the restart');
    ok($pub->wait_event(sub { $_[0]{event} eq 'stats'
            && ($_[0]{framesEncoded} // 0) > $frames + 30 }, timeout => 10),
        'the browser keeps encoding');
    is(last_stat($pub, 'state'), 'connected', 'the page is connected');

    # Chromium gathers new candidates (new ports) for the new ICE
    # session: its first nomination moves the path, although media kept
    # flowing on the old one until then
    ok($t->wait_for(sub { my $r = session_of($pub_id)->{remote};
            $r && $r ne $remote0 }, timeout => 5),
        "the path moved: $remote0 -> "
            . (session_of($pub_id)->{remote} // '?'));
};

###############################################################################
# viewer of that stream

subtest 'viewer: restartIce() while watching' => sub {
    my ($c, $id, $e) = $t->spawn_viewer({ wait => 45, timeout => 90 },
        'chromium', 'cam', '--seconds', 30, '--timeout', 20,
        '--restart-after', 4);
    ok($id, 'chromium viewer playing') or return;
    my $v0 = session_of($id);
    my $u0 = $v0->{ice}{ufrag};
    my $etag = $c->event('connected')->{etag};

    my $r = $c->wait_event('restarted', timeout => 20);
    ok($r, 'the page restarted ICE (PATCH 200)')
        or return diag(explain([$c->events]), $c->stderr);
    isnt($r->{etag}, $etag, "a new ETag ($r->{etag})");

    my $s = session_of($id);
    is($s->{id}, $id, 'status: the same viewer session');
    isnt($s->{ice}{ufrag}, $u0, 'status: a new ufrag');
    is($s->{ice}{restarts}, 1, 'status: one restart');

    my $frames = last_stat($c, 'framesDecoded');
    ok($c->wait_event(sub { $_[0]{event} eq 'stats'
            && ($_[0]{framesDecoded} // 0) > $frames + 30 }, timeout => 10),
        'the browser keeps decoding frames after the restart')
        or diag(explain([grep { $_->{event} ne 'stats' } $c->events]),
            $c->stderr);
    is(last_stat($c, 'state'), 'connected', 'the page is connected');
    $c->signal('USR1');
    ok($c->wait_event('deleted', timeout => 15), 'viewer stops (DELETE)');
};

$pub->signal('USR1');
ok($pub->wait_event('deleted', timeout => 15), 'publisher stops (DELETE)')
    or diag(explain([grep { $_->{event} ne 'stats' } $pub->events]),
        $pub->stderr);

$t->done;
done_testing;
