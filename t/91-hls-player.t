#!/usr/bin/perl

# The watch page's HLS mode in a browser, on a 2-worker nginx:
#   - hls.js is served at /vendor/hls.min.js;
#   - an aiortc publisher (H.264 with a keyframe every 2 s, Opus) and
#     Chromium playing watch.html?mode=hls with hls.js (lowLatencyMode):
#     a picture with a size, frames decoded keep increasing for 6 s or
#     more, hls.js's latency behind live is reported (a positive number
#     below 10 s: LL-HLS is seconds, not the fraction of one of WebRTC;
#     the figure is in the test name and a diag);
#   - nginx -s reload while it plays: the frames keep increasing after it
#     (the old worker keeps the publisher, and packages it);
#   - no fatal hls.js error on the way.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes qw(time sleep);
use WebRTCTest qw(skip_unless_peers);

skip_unless_peers('chromium', 'aiortc');

my $t = WebRTCTest->new(name => 'hls-player', workers => 2);
$t->write_conf($t->default_conf(
    reuseport => 1,
    server    => 'location /hls/ { webrtc_hls; }',
));
$t->start;

# --- the page's script --------------------------------------------------

my $r = $t->http(GET => '/vendor/hls.min.js');
is($r->{status}, 200, 'GET /vendor/hls.min.js: 200');
like($r->{headers}{'content-type'} // '', qr{javascript},
     'served as JavaScript');
like($r->{body}, qr/lowLatencyMode/, 'it is hls.js');

# --- a publisher, and the page playing its HLS form ---------------------

my ($pub, $pub_id) = $t->spawn_publisher({ timeout => 150 }, 'aiortc', 'cam1',
    '--seconds', 120, '--video-codec', 'h264', '--keyframe-interval', 2);
ok($pub_id, 'aiortc publishes H.264 and Opus') or BAIL_OUT('no publisher');

my $c = $t->spawn_client({ timeout => 150 },
    $t->client_command('chromium_hls.js', '--base', $t->url(''),
        '--stream', 'cam1', '--seconds', 90, '--timeout', 30));

my $first = $c->wait_event('first_frame', timeout => 45);
ok($first, 'hls.js shows a first frame') or do {
    my ($rc, $out, $err) = $c->finish(timeout => 5);
    diag($out, $err);
    BAIL_OUT('no HLS playback');
};
diag(sprintf 'first frame %d ms after Play (hls.js %s, %s)',
     $first->{ttffMs}, $first->{version} // '?', $first->{engine} // '?');

sub median {
    my @v = sort { $a <=> $b } @_;
    return @v ? $v[$#v / 2] : undef;
}

sub frames { join ' ', map { $_->{framesDecoded} } @_ }

# frames decoded over n one-second samples: growing, and in both halves
sub check_playing {
    my ($what, @s) = @_;
    my $span = @s >= 2 ? $s[-1]{currentTime} - $s[0]{currentTime} : 0;
    my $mid = int($#s / 2);
    ok(@s >= 7 && $s[$mid]{framesDecoded} > $s[0]{framesDecoded}
       && $s[-1]{framesDecoded} > $s[$mid]{framesDecoded},
       sprintf('%s: frames decoded keep increasing (%d -> %d, %.1f s of media)',
               $what, $s[0]{framesDecoded} // 0, $s[-1]{framesDecoded} // 0, $span))
        or diag(frames(@s));
    cmp_ok($span, '>=', 5, "$what: playback advanced 5 s or more");
}

my @s = $c->next_events('stats', 8, timeout => 20);
check_playing('hls.js', @s);
ok($s[-1] && $s[-1]{width} > 0 && $s[-1]{height} > 0,
   sprintf 'picture %dx%d', $s[-1]{width} // 0, $s[-1]{height} // 0);

my @lat = grep { defined } map { $_->{latency} } @s;
my $lat = median(@lat);
ok(defined $lat && $lat > 0 && $lat < 10,
   sprintf 'hls.js latency behind live: %.2f s (median of %d samples)',
           $lat // -1, scalar @lat);
diag(sprintf 'hls.js latency %s s; buffered %s s; frames %s',
     join(' ', map { sprintf '%.2f', $_ } @lat),
     join(' ', map { sprintf '%.2f', $_->{buffered} } @s), frames(@s));

# --- nginx -s reload while it plays -------------------------------------

ok($t->reload, 'reload');
my @after = $c->next_events('stats', 8, timeout => 20);
check_playing('after the reload', @after);
is($after[-1] && $after[-1]{state}, 'playing', 'still playing');
ok(@after && $after[-1]{framesDecoded} > $s[-1]{framesDecoded},
   sprintf 'frames decoded across the reload (%d -> %d)',
           $s[-1]{framesDecoded}, $after[-1] ? $after[-1]{framesDecoded} : 0);
diag(sprintf 'after the reload: hls.js latency %s s',
     join(' ', map { defined $_->{latency} ? sprintf('%.2f', $_->{latency}) : '-' }
               @after));

# --- the end ------------------------------------------------------------

$c->signal('USR1');
my ($rc, $out, $err) = $c->finish(timeout => 20);
is($rc, 0, 'hls client exit 0') or diag($err);
my @errors = WebRTCTest::parse_events($out);
@errors = grep { $_->{event} eq 'error' } @errors;
is(scalar @errors, 0, 'no fatal hls.js error') or diag(explain(\@errors));
ok((grep { $_->{event} eq 'stopped' } WebRTCTest::parse_events($out)),
   'the page stopped');

$t->leave($pub, 'publisher');

$t->done;

done_testing;
