#!/usr/bin/perl

# Simulcast (RFC 8853) end to end: headless Chromium publishes three
# layers (rids q, h, f: 320x180, 640x360, 1280x720 of a fake camera)
# through html/publish.html?simulcast=1. The answer names every layer
# (a=rid recv, a=simulcast:recv), so the browser sends all three; the
# status shows three active layers with their sizes; a Chromium viewer
# that asks for nothing decodes the top layer, 1280x720.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes qw(time);
use JSON::PP qw(decode_json);
use WebRTCTest qw(skip_unless_peers);
use HLSPlaylist;

skip_unless_peers('chromium', 'ffprobe');

my $t = WebRTCTest->new(name => 'simulcast', workers => 2);
$t->write_conf($t->whep_conf(
    http   => 'webrtc_hls_fragment 2s; webrtc_hls_part 300ms;',
    server => 'location /hls/ { webrtc_hls; }',
));
$t->start;

my $T0 = time;

# the first stats event of client $c after its first $n events that
# matches $cond, within $timeout s
sub stats_after {
    my ($c, $n, $cond, $timeout) = @_;
    return $t->wait_for(sub {
        my @e = $c->events;
        my ($hit) = grep { $_->{event} eq 'stats' && $cond->($_) }
            @e[$n .. $#e];
        return $hit;
    }, timeout => $timeout, interval => 0.2);
}

my ($pub, $pid) = $t->spawn_publisher({ timeout => 150, wait => 40 },
    'chromium', 'sc', '--simulcast', '--seconds', 120, '--timeout', 20);
ok($pid, 'simulcast publisher connected') or BAIL_OUT('no publisher');

# the layers in the status: three, every one active with its size
my %want = (q => 320, h => 640, f => 1280);
my $layers = $t->wait_for(sub {
    my $p = $t->publisher('sc') or return;
    my @l = grep { defined $_->{rid} } @{ $p->{tracks} || [] };
    return if @l != 3 || grep { !$_->{active} || !$_->{width} } @l;
    return \@l;
}, timeout => 60, interval => 1);
ok($layers, 'status shows three active layers')
    or diag(explain($t->publisher('sc')), explain([$pub->events('stats')]));
for my $l (@{ $layers || [] }) {
    is($l->{width}, $want{ $l->{rid} }, "layer $l->{rid}: width $l->{width}");
}
if ($layers) {
    my %rank = map { $_->{rid} => $_->{layer} } @$layers;
    is_deeply(\%rank, { f => 0, h => 1, q => 2 },
        'layers ranked by size: f, h, q');
}

note(sprintf 'layers up: %.1f s', time - $T0);

# an unconstrained viewer: the top layer
my $v = $t->spawn_client({ timeout => 120 },
    $t->client_command('chromium_watch.js', '--base', $t->url('/'),
        '--stream', 'sc', '--seconds', 100, '--timeout', 30));
my $c = $v->wait_event(sub { $_[0]{event} =~ /^(connected|error)$/ },
    timeout => 40);
ok($c && $c->{event} eq 'connected', 'viewer connected')
    or diag(explain($c // 'no event'), $v->stderr);
my $big = $v->wait_event(sub { $_[0]{event} eq 'stats'
    && ($_[0]{width} // 0) == 1280 }, timeout => 30);
ok($big, 'viewer decodes 1280x720')
    or diag(explain([$v->events('stats')]));
is($big && $big->{height}, 720, 'height 720');

note(sprintf 'top layer viewer: %.1f s', time - $T0);

# HLS packages the top layer only: every frame 1280x720
{
    my $pl = $t->wait_for(sub {
        my $r = $t->http(GET => '/hls/sc/index.m3u8');
        my $p = $r->{status} == 200 && HLSPlaylist::parse($r->{body});
        return $p && @{ $p->{segments} || [] } >= 1 ? $p : undef;
    }, timeout => 20, interval => 0.5);
    ok($pl, 'HLS playlist with a segment');
    my $media = $pl ? $t->http(GET => "/hls/sc/$pl->{maps}[0]")->{body} : '';
    $media .= $t->http(GET => "/hls/sc/$_->{uri}")->{body}
        for @{ $pl ? $pl->{segments} : [] };
    my $f = $t->prefix . '/hls.mp4';
    $t->write_file($f, $media);
    my $probe = qx{ffprobe -v error -select_streams v -show_entries frame=width,height -of json $f 2>&1};
    my $j = eval { decode_json($probe) } // {};
    my %sizes = map {; "$_->{width}x$_->{height}" => 1 } @{ $j->{frames} || [] };
    is_deeply([sort keys %sizes], ['1280x720'],
        'HLS frames: ' . scalar(@{ $j->{frames} || [] }) . ', all 1280x720')
        or diag($probe =~ s/\s+/ /gr =~ s/^(.{0,400}).*/$1/r);
}

# the WHEP layer extension: the 201 names it (a simulcast stream only)
{
    my $r = $t->http('POST', '/whep/sc', body => $t->test_offer('chromium-recvonly'),
        headers => { 'Content-Type' => 'application/sdp' });
    is($r->{status}, 201, 'canned WHEP offer: 201');
    my ($link) = grep { /whep:ext:core:layer/ } $t->header_values($r, 'Link');
    my $loc = $r->{headers}{location} // '';
    is($link, "<$loc/layer>; rel=\"urn:ietf:params:whep:ext:core:layer\"",
        'Link rel=urn:ietf:params:whep:ext:core:layer: ' . ($link // 'none'));
    my $d = $t->http('DELETE', $loc);
    is($d->{status}, 200, 'canned viewer deleted');
}

my $loc = $c && $c->{location};
my $layer = "$loc/layer";
my $json = { 'Content-Type' => 'application/json' };

# refusals, with reasons
{
    my @bad = (
        [400, '{"mediaId":"1",', 'bad JSON'],
        [400, '[1]', 'not an object'],
        [422, '{"mediaId":"1","encodingId":"x"}', 'unknown encodingId'],
        [422, '{"mediaId":"9","encodingId":"q"}', 'unknown mediaId'],
        [422, '{"mediaId":"1","encodingId":"q","spatialLayerId":0}', 'SVC'],
    );
    for my $b (@bad) {
        my $r = $t->http('POST', $layer, body => $b->[1], headers => $json);
        (my $why = $r->{body}) =~ s/\s+$//;
        is($r->{status}, $b->[0], "layer $b->[2]: $b->[0] ($why)");
    }
    (my $other = $layer) =~ s/[0-9a-f]{32}/'0' x 32/e;
    is($t->http('POST', $other, body => '{}', headers => $json)->{status},
        404, 'layer of an unknown session: 404');
    (my $whip = $layer) =~ s{^/whep/}{/whip/};
    is($t->http('POST', $whip, body => '{}', headers => $json)->{status},
        404, 'layer through the WHIP location: 404');
    is($t->http('GET', $layer)->{status}, 405, 'GET layer: 405');
}

# pin q: 320x180 within a keyframe interval
{
    my $t1 = time;
    my $n = scalar(my @e = $v->events);
    my $r = $t->http('POST', $layer,
        body => '{"mediaId":"1","encodingId":"q"}', headers => $json);
    is($r->{status}, 200, 'pin q: 200') or diag($r->{body});
    my $small = stats_after($v, $n, sub { ($_[0]{width} // 0) == 320 }, 15);
    ok($small, sprintf 'pinned viewer decodes 320x180 (%.1f s)', time - $t1)
        or diag(explain([($v->events('stats'))[-3 .. -1]]));
    is($small && $small->{height}, 180, 'height 180');
    my $vs = $t->wait_for(sub {
        my ($s) = grep { $_->{id} eq $t->session_id($loc) } $t->viewers('sc');
        my $vt = $s && WebRTCTest::track($s, 'video');
        return $vt && ($vt->{rid} // '') eq 'q' ? $vt : undef;
    }, timeout => 5);
    ok($vs, 'status: the viewer gets layer q');

    # it keeps decoding on the new layer: no freeze, frames go on
    $n = scalar(@e = $v->events);
    my $a = stats_after($v, $n, sub { 1 }, 5);
    my $b = $a && stats_after($v, $n + 3, sub { 1 }, 8);
    ok($a && $b && $b->{framesDecoded} > $a->{framesDecoded}
        && $b->{width} == 320, 'frames decoded on layer q '
        . ($a && $b ? "($a->{framesDecoded} -> $b->{framesDecoded})" : ''));
    is($b && $b->{freezeCount}, $a && $a->{freezeCount},
        'no freeze after the switch');

    # an empty body unpins: back to the top
    $t1 = time;
    $n = scalar(@e = $v->events);
    $r = $t->http('POST', $layer, body => '', headers => $json);
    is($r->{status}, 200, 'unpin: 200');
    my $back = stats_after($v, $n, sub { ($_[0]{width} // 0) == 1280 }, 15);
    ok($back, sprintf 'unpinned viewer back at 1280x720 (%.1f s)',
        time - $t1);
}

$t->leave($v, 'viewer');
$t->leave($pub, 'publisher');

$t->done;

done_testing;
