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
use WebRTCTest qw(skip_unless_peers);

skip_unless_peers('chromium');

my $t = WebRTCTest->new(name => 'simulcast', workers => 2);
$t->write_conf($t->whep_conf());
$t->start;

my $T0 = time;

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

$t->leave($v, 'viewer');
$t->leave($pub, 'publisher');

$t->done;

done_testing;
