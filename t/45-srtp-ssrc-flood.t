#!/usr/bin/perl

# Hostile peers with the session's own SRTP keys: libsrtp2 would keep a
# stream (half a KiB, searched linearly for every packet) for each SSRC
# that authenticates.  An aiortc publisher sends, besides its media, 2000
# packets each from its own SSRC, properly SRTP-protected; an aiortc
# viewer (AES-CM: libsrtp2) sends 2000 SRTCP receiver reports the same
# way.  The server accepts at most 8 SSRCs per session, drops the rest
# before decryption and counts them in /webrtc/status ("srtp"), logs
# that once at info, and media keeps flowing to the viewers.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use WebRTCTest qw(skip_unless_peers);

skip_unless_peers('aiortc');

my $FLOOD = 2000;
my $CAP = 8;

my $t = WebRTCTest->new(name => 'srtp-ssrc-flood', workers => 1);
$t->write_conf($t->whep_conf);
$t->start;

# the session's "srtp" record once its dropped packets reach $want
sub srtp_after_flood {
    my ($id, $want) = @_;
    my $last;
    my $ok = $t->wait_for(sub {
        my $s = $t->session($id) or return;
        $last = $s->{srtp};
        return $last && ($last->{ssrc_dropped} // 0) >= $want;
    }, timeout => 10);
    diag('last srtp record: ' . explain($last)) unless $ok;
    return $last // {};
}

# a viewer's decoded video frames grow over its next three stats lines
sub frames_grow {
    my ($c, $label) = @_;
    my @later = $c->next_events('stats', 3, timeout => 10);
    my ($a, $b) = @later == 3 ? @later[0, 2] : ();
    ok($a && $b && $b->{video_frames} > $a->{video_frames},
        sprintf '%s: video frames grow (%s -> %s)', $label,
        $a ? $a->{video_frames} : 'none', $b ? $b->{video_frames} : 'none');
}

my ($pub, $pid) = $t->spawn_publisher('aiortc', 'cam', '--seconds', 60,
    '--video-codec', 'vp8', '--ssrc-flood', $FLOOD,
    '--ssrc-flood-delay', 4);
ok($pid, 'publisher connected') or BAIL_OUT('no publisher');

my ($v1, $vid1) = $t->spawn_viewer('aiortc', 'cam', '--seconds', 60);
ok($vid1, 'viewer plays') or BAIL_OUT('no viewer');

subtest 'a publisher sends from 2000 SSRCs' => sub {
    ok($pub->wait_event('ssrc_flood', timeout => 20), 'flood sent');

    my $srtp = srtp_after_flood($pid, $FLOOD - $CAP);
    cmp_ok($srtp->{ssrcs} // 99, '<=', $CAP, "at most $CAP SSRCs accepted");
    cmp_ok($srtp->{ssrc_dropped} // 0, '>=', $FLOOD - $CAP,
        "packets of the others dropped ($srtp->{ssrc_dropped})");
    cmp_ok($srtp->{ssrc_dropped} // 0, '<=', $FLOOD, 'no more than sent');

    frames_grow($v1, 'viewer after the flood');
    $t->check_viewer('cam', $vid1, audio => 'opus', video => 'VP8');
};

subtest 'a viewer (AES-CM) sends SRTCP from 2000 SSRCs' => sub {
    my ($v2, $vid2) = $t->spawn_viewer('aiortc', 'cam', '--seconds', 60,
        '--ssrc-flood', $FLOOD);
    ok($vid2, 'second viewer plays') or return;
    ok($v2->wait_event('ssrc_flood', timeout => 20), 'flood sent');

    my $srtp = srtp_after_flood($vid2, $FLOOD - $CAP);
    cmp_ok($srtp->{ssrcs} // 99, '<=', $CAP, "at most $CAP SSRCs accepted");
    cmp_ok($srtp->{ssrc_dropped} // 0, '>=', $FLOOD - $CAP,
        "reports of the others dropped ($srtp->{ssrc_dropped})");

    frames_grow($v2, 'flooding viewer');
    frames_grow($v1, 'other viewer');
    $t->leave($v2, 'flooding viewer');
};

my $log = $t->error_log;
my @once = $log =~ /sends from more than $CAP SSRCs/g;
is(scalar @once, 2, 'logged once per session at info');

$t->leave($v1, 'viewer');
$t->leave($pub, 'publisher');

$t->done;

done_testing;
