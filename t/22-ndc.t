#!/usr/bin/perl

# End to end: an OBS-shaped publisher on node-datachannel (libdatachannel,
# what OBS Studio's WHIP output is built on; t/clients/ndc_publish.js):
# an offer without candidates, OBS's User-Agent, real H264 from ffmpeg
# and Opus. /webrtc/status shows it connected (the server learnt the
# client's address from its STUN checks), H264 keyframes and the encoded
# size, growing counters; DELETE ends it.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes qw(time);
use WebRTCTest qw(skip_unless_peers);

skip_unless_peers('ndc', 'ffmpeg');

my $t = WebRTCTest->new(name => 'ndc', workers => 2);
$t->write_conf($t->default_conf(whip => 'webrtc_token obs-key;'));
$t->start;

my ($W, $H) = (640, 360);
my $h264 = $t->test_h264(size => "${W}x$H");

my $t0 = time;
my ($c, $id) = $t->spawn_publisher('ndc', 'obs', '--token', 'obs-key',
    '--h264', $h264, '--seconds', 40, '--connect-timeout', 15);
ok($id, 'client connected');

my $offer = $c->event('offer');
is($offer && $offer->{candidates}, 0, 'the offer had no candidates (OBS)');
my $answer = $c->event('answer');
is($answer && $answer->{status}, 201, 'POST answered 201');

my $p = $t->check_media('obs',
    name       => 'OBS-shaped publisher',
    audio      => 'opus',
    video      => 'H264',
    width      => $W,
    height     => $H,
    user_agent => qr/OBS-Studio/,
    timeout    => 20);
is($p && $p->{id}, $id, 'status session id = Location id');

$c->signal('USR1');
my $del = $c->wait_event(sub { $_[0]{event} =~ /^(deleted|error)$/ },
    timeout => 20);
is($del && $del->{status}, 200, 'DELETE answered 200')
    or diag(explain($del // 'no event'));

my $stats = $c->event('stats');
my ($v) = grep { $_->{kind} eq 'video' } @{ $stats->{tracks} || [] };
cmp_ok($v && $v->{keyframes}, '>=', 1, 'client sent keyframes');

$t->check_ended($c, $id, stream => 'obs');
note(sprintf 'publish: %.1f s', time - $t0);

$t->done;

done_testing;
