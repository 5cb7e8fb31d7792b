#!/usr/bin/perl

# Instant start from the cached group of pictures. The publisher (aiortc)
# makes a keyframe only every 4 s and ignores PLI, like OBS; it logs the
# wall time of every keyframe it encodes. Viewers join in the middle of a
# GOP (1.5-2 s after a keyframe) and must show a picture long before the
# publisher's NEXT keyframe: the server replays the GOP since the last
# keyframe, it cannot get a new one. Viewers: aiortc (first decoded frame),
# Chromium with --warmup (first frame shown), node-datachannel (first
# keyframe received). All clocks are the same machine's wall clock.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use List::Util qw(first max);
use Test::More;
use Time::HiRes qw(time sleep);
use WebRTCTest qw(skip_unless_peers);

skip_unless_peers('chromium', 'aiortc');

my $GOP = 4;            # publisher keyframe interval, seconds
my $JOIN = 1.75;        # join this long after a keyframe
my $T0 = time;

my $t = WebRTCTest->new(name => 'whep-gop', workers => 2);
$t->write_conf($t->whep_conf(reuseport => 1));
$t->start;

my ($pub, $pid) = $t->spawn_publisher({ timeout => 120 }, 'aiortc', 'gop',
    '--video-codec', 'h264', '--keyframe-interval', $GOP, '--ignore-pli',
    '--seconds', 100, '--connect-timeout', 15);
ok($pid, 'publisher connected');
$t->check_media('gop', audio => 'opus', video => 'H264', timeout => 15,
    name => 'aiortc, keyframe every 4 s, PLI ignored');

sub keyframes {
    return map { $_->{wall} } $pub->events('keyframe');
}

# the publisher's first keyframe after $wall (waits for it, bounded)
sub next_keyframe {
    my ($wall) = @_;
    return $t->wait_for(sub { first { $_ > $wall } keyframes() },
        timeout => $GOP + 3, interval => 0.1);
}

sub prev_keyframe {
    my ($wall) = @_;
    my @k = grep { $_ <= $wall } keyframes();
    return $k[-1];
}

# one viewer of $kind joining mid-GOP, with @args.
#   o: spawn_viewer's options (the client's time limit, the wait for its
#      first picture);
#   times: sub($client, $first) returning ($post_wall, $detail) for the
#          viewer's first picture event $first.
# Aims the POST at $JOIN s after a keyframe, from a measured start-up
# delay, and retries (at most 6 times) when it lands too close to a
# keyframe. A viewer leaves with a DELETE (a killed one would linger
# until consent expiry).
my %startup = (aiortc => 1.0, chromium => 3.0, ndc => 0.4);

sub join_mid_gop {
    my ($kind, $o, $times, @args) = @_;

    subtest "$kind viewer joining mid-GOP" => sub {
        for my $try (1 .. 6) {
            # a fresh keyframe, then aim at $JOIN s after one
            my $n = () = keyframes();
            my $k = $t->wait_for(sub {
                my @k = keyframes();
                return @k > $n ? $k[-1] : undef;
            }, timeout => $GOP + 3, interval => 0.05);
            ok($k, 'publisher keyframe event') or return;
            my $at = $k + $JOIN - $startup{$kind};
            $at += $GOP while $at < time;
            sleep($at - time) if $at > time;

            my $spawned = time;
            my ($c, $id, $first) = $t->spawn_viewer($o, $kind, 'gop',
                '--seconds', 30, @args);
            my ($post, $detail) = $id && $first->{wall}
                ? $times->($c, $first) : ();
            unless (ok($post, "$kind: a first picture (try $try)")) {
                $c->kill;
                return;
            }
            my $shown = $first->{wall};
            $startup{$kind} = $post - $spawned;

            my $prev = prev_keyframe($post);
            my $next = next_keyframe($post);
            unless ($prev && $next) {
                fail('keyframes around the POST');
                $c->kill;
                return;
            }
            my ($since, $until) = ($post - $prev, $next - $post);
            if ($since < 0.5 || $until < 1.2) {
                note(sprintf '%s: POST %.2f s after a keyframe, %.2f s '
                    . 'before the next: not mid-GOP, again', $kind, $since,
                    $until);
                $t->leave($c, 'viewer left');
                next;
            }

            note(sprintf '%s: POST %.2f s after a keyframe, first picture '
                . '%.3f s after the POST, next keyframe %.2f s after the '
                . 'POST %s', $kind, $since, $shown - $post, $until,
                $detail // '');
            cmp_ok($shown, '<', $next - 0.5, sprintf
                'first picture (%.2f s after POST) well before the '
                . "publisher's next keyframe (%.2f s after POST)",
                $shown - $post, $until);
            my @between = grep { $_ > $post && $_ <= $shown } keyframes();
            is(scalar @between, 0,
                'no keyframe encoded between the POST and the picture');
            $t->leave($c, 'viewer left');
            return;
        }
        fail("$kind: no POST landed mid-GOP in 6 tries");
    };
}

###############################################################################

join_mid_gop('aiortc', { timeout => 60, wait => 20 }, sub {
    my ($c, $e) = @_;
    my $f = $c->event('frame');
    return ($e->{wall} - $e->{t},
        sprintf('(%dx%d, first frame key: %s)', $e->{width}, $e->{height},
            $f && $f->{key} ? 'yes' : 'no'));
}, '--connect-timeout', 10, '--frame-timeout', 10, '--frame-log');

join_mid_gop('chromium', { timeout => 90, wait => 40 }, sub {
    my ($c, $e) = @_;
    my $w = $c->event('warmup');
    return ($e->{wall} - $e->{ttffMs} / 1000,
        sprintf('(ttff %d ms, connected after %d ms, warm-up %d ms)',
            $e->{ttffMs}, $e->{connectMs} // -1, $w ? $w->{ms} : -1));
}, '--timeout', 15, '--warmup');

join_mid_gop('ndc', { timeout => 60, wait => 20 }, sub {
    my ($c, $e) = @_;
    return ($e->{wall} - $e->{t},
        "(first keyframe: $e->{codec}, NAL types @{$e->{nal_types} || []})");
}, '--connect-timeout', 10, '--frame-timeout', 10);

###############################################################################
# the publisher really ignored PLI: keyframes every 4 s, nothing else

my @k = keyframes();
my @gaps = map { $k[$_] - $k[$_ - 1] } 1 .. $#k;
cmp_ok(scalar @k, '>=', 4, scalar(@k) . ' keyframes encoded');
cmp_ok((sort { $a <=> $b } @gaps)[0] // 0, '>', $GOP - 0.5,
    'no extra keyframe: gaps ' . join(' ', map { sprintf '%.2f', $_ } @gaps));
my @pli = $pub->events('pli');
ok(!grep({ !$_->{ignored} } @pli), scalar(@pli)
    . ' PLI reached the publisher, all ignored');
note(scalar(@pli) . ' PLI forwarded to the publisher (at most 1/s)');
{
    my $p = WebRTCTest::track($t->publisher('gop'), 'video');
    note('server sent ' . ($p ? $p->{keyframe_requests} : '?')
        . ' keyframe requests to the publisher');
}

$t->leave($pub, 'publisher');
ok($t->wait_idle, 'no session left');

$t->done;
note(sprintf 'total %.1f s', time - $T0);

done_testing;
