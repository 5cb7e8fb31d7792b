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
use WebRTCTest qw(skip_unless_netns skip_unless_module skip_unless_exec);

skip_unless_netns();
skip_unless_module();
skip_unless_exec($ENV{WEBRTC_NODE} // 'node', 'ffmpeg');

my $t = WebRTCTest->new(name => 'ndc', workers => 2);
$t->write_conf($t->default_conf(whip => 'webrtc_token obs-key;'));
$t->start;

my ($W, $H) = (640, 360);
my $h264 = $t->test_h264(size => "${W}x$H");

my $t0 = time;
my $c = $t->spawn_client({ timeout => 90 },
    $t->client_command('ndc_publish.js', '--url', $t->url('/whip/obs'),
        '--token', 'obs-key', '--h264', $h264, '--seconds', 40,
        '--connect-timeout', 15));

my $ev = $c->wait_event(sub { $_[0]{event} =~ /^(connected|error)$/ },
    timeout => 30);
ok($ev && $ev->{event} eq 'connected', 'client connected')
    or diag(explain($ev // 'no event'), $c->stderr);

my ($offer) = grep { $_->{event} eq 'offer' } $c->events;
is($offer && $offer->{candidates}, 0, 'the offer had no candidates (OBS)');
my ($answer) = grep { $_->{event} eq 'answer' } $c->events;
is($answer && $answer->{status}, 201, 'POST answered 201');
my $id = $t->session_id($answer && $answer->{location});

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

my ($stats) = grep { $_->{event} eq 'stats' } $c->events;
my ($v) = grep { $_->{kind} eq 'video' } @{ $stats->{tracks} || [] };
cmp_ok($v && $v->{keyframes}, '>=', 1, 'client sent keyframes');

my $gone = $id && $t->wait_gone($id, timeout => 10);
ok(defined $gone, sprintf 'session gone from status (%.1f s)', $gone // -1);
ok(!$t->publisher('obs'), 'stream no longer listed');

my ($rc, undef, $err) = $c->finish(timeout => 20);
is($rc, 0, 'client exit 0') or diag($err);
note(sprintf 'publish: %.1f s', time - $t0);

$t->done;

done_testing;
