#!/usr/bin/perl

# Simulcast switches on a lossy path: every viewer packet has a 20 %
# chance of being dropped on its way out (webrtc_debug_drop; NACK
# repairs it). A Chromium viewer of a three-layer Chromium publisher is
# pinned to q, f, h, f, q through the WHEP layer extension; each time it
# decodes the layer's size. (Pinned, not unpinned: unpinned, a viewer
# whose reports show this much loss may rightly be moved down a layer by
# the server; t/71 unpins on a clean path.) With H.264 a lost first packet of the new layer (its SPS and
# PPS) made the browser decode the new IDR at the old size, silently;
# the server now sends that packet twice.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes qw(time);
use WebRTCTest qw(skip_unless_peers);

skip_unless_peers('chromium');

my $t = WebRTCTest->new(name => 'simulcast-switch-loss', workers => 1);
$t->write_conf($t->whep_conf(http => 'webrtc_debug_drop 20;'));
$t->start;

my ($pub, $pid) = $t->spawn_publisher({ timeout => 150, wait => 40 },
    'chromium', 'sc', '--simulcast', '--seconds', 120, '--timeout', 20);
ok($pid, 'simulcast publisher connected') or BAIL_OUT('no publisher');

ok($t->wait_for(sub {
    my $p = $t->publisher('sc') or return;
    return 3 == grep { defined $_->{rid} && $_->{active} }
        @{ $p->{tracks} || [] };
}, timeout => 60, interval => 1), 'three active layers');

my $v = $t->spawn_client({ timeout => 120 },
    $t->client_command('chromium_watch.js', '--base', $t->url('/'),
        '--stream', 'sc', '--seconds', 100, '--timeout', 30));
my $c = $v->wait_event(sub { $_[0]{event} =~ /^(connected|error)$/ },
    timeout => 40);
ok($c && $c->{event} eq 'connected', 'viewer connected')
    or BAIL_OUT('no viewer');
my $layer = "$c->{location}/layer";

my %size = (q => '320x180', h => '640x360', f => '1280x720');
for my $rid (qw(q f h f q)) {
    my $n = scalar($v->events('stats'));
    my $t1 = time;
    my $r = $t->http('POST', $layer,
        body => qq({"mediaId":"1","encodingId":"$rid"}),
        headers => { 'Content-Type' => 'application/json' });
    is($r->{status}, 200, "pin $rid: 200");
    my $hit = $t->wait_for(sub {
        my @x = $v->events('stats');
        my ($h) = grep { ($_->{width} // 0) . 'x' . ($_->{height} // 0)
            eq $size{$rid} } @x[$n .. $#x];
        return $h;
    }, timeout => 15, interval => 0.2);
    ok($hit, sprintf '%s decoded (%.1f s)', $size{$rid}, time - $t1)
        or diag(explain([($v->events('stats'))[-2 .. -1]]));
    # a couple of seconds on it: still that size, frames going on
    sleep 2;
    my @x = $v->events('stats');
    ok(($x[-1]{width} // 0) . 'x' . ($x[-1]{height} // 0) eq $size{$rid}
        && $x[-1]{framesDecoded} > ($hit ? $hit->{framesDecoded} : 0),
        "still $size{$rid}, frames go on");
}

$t->leave($v, 'viewer');
$t->leave($pub, 'publisher');

$t->done;

done_testing;
