#!/usr/bin/perl

# Simulcast under loss: every viewer packet has a 20 % chance of being
# dropped on its way out (webrtc_debug_drop). A Chromium viewer of a
# three-layer Chromium publisher reports that loss; the server moves it
# down a layer after two such reports, again after two more, and it ends
# on the smallest layer (320x180), still decoding. Without loss (the
# first viewer's reports while the drop is off are never sent: this
# server drops from the start) it would stay on the top layer, as
# t/71-simulcast.t shows.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes qw(time);
use WebRTCTest qw(skip_unless_peers);

skip_unless_peers('chromium');

my $t = WebRTCTest->new(name => 'simulcast-loss', workers => 1);
$t->write_conf($t->whep_conf(http => 'webrtc_debug_drop 20;'));
$t->start;

my ($pub, $pid) = $t->spawn_publisher({ timeout => 150, wait => 40 },
    'chromium', 'sc', '--simulcast', '--seconds', 120, '--timeout', 20);
ok($pid, 'simulcast publisher connected') or BAIL_OUT('no publisher');

ok($t->wait_for(sub {
    my $p = $t->publisher('sc') or return;
    my @l = grep { defined $_->{rid} && $_->{active} } @{ $p->{tracks} || [] };
    return @l == 3;
}, timeout => 60, interval => 1), 'three active layers');

my $v = $t->spawn_client({ timeout => 120 },
    $t->client_command('chromium_watch.js', '--base', $t->url('/'),
        '--stream', 'sc', '--seconds', 100, '--timeout', 30));
my $c = $v->wait_event(sub { $_[0]{event} =~ /^(connected|error)$/ },
    timeout => 40);
ok($c && $c->{event} eq 'connected', 'viewer connected')
    or diag(explain($c // 'no event'), $v->stderr);
my $t1 = time;

my $vt = $t->wait_for(sub {
    my ($s) = $t->viewers('sc');
    my $tr = $s && WebRTCTest::track($s, 'video');
    return $tr && ($tr->{rid} // '') eq 'q' ? $tr : undef;
}, timeout => 40, interval => 0.5);
ok($vt, sprintf 'the lossy viewer moved to layer q (%.1f s; loss %d/256)',
    time - $t1, $vt ? $vt->{fraction_lost} : -1)
    or diag(explain([$t->viewers('sc')]));

my $small = $v->wait_event(sub { $_[0]{event} eq 'stats'
    && ($_[0]{width} // 0) == 320 }, timeout => 15);
ok($small, 'it decodes 320x180') or diag(explain([$v->events('stats')]));

my @s = grep { ($_->{width} // 0) == 320 } $v->events('stats');
my $n = @s;
my $later = $v->wait_event(sub { $_[0]{event} eq 'stats'
    && ($_[0]{width} // 0) == 320 && $_[0]{framesDecoded}
    > ($s[-1]{framesDecoded} // 0) + 30 }, timeout => 10);
ok($later, 'and keeps decoding ('
    . ($later ? "$s[-1]{framesDecoded} -> $later->{framesDecoded}" : '') . ')');

$t->leave($v, 'viewer');
$t->leave($pub, 'publisher');

$t->done;

done_testing;
