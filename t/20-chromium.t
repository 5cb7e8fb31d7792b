#!/usr/bin/perl

# End to end: headless Chromium publishes through html/publish.html
# (t/clients/chromium_publish.js) to a 2-worker nginx. What a user sees
# in /webrtc/status while it publishes: the stream, connected, an Opus
# track and a video track whose counters grow, a keyframe, the picture
# size, the browser's address and User-Agent; after "Stop" (DELETE) the
# stream is gone. Once with the page's default codec, then with each
# codec of the page's #codec select that Chromium encodes.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes qw(time);
use WebRTCTest qw(skip_unless_peers);

skip_unless_peers('chromium');

my $t = WebRTCTest->new(name => 'chromium', workers => 2);
$t->write_conf($t->default_conf());
$t->start;

my %ports = map { $t->udp_port($_) => 1 } 0 .. $t->workers - 1;

# one publish run: returns the video codec Chromium used (or undef)
sub publish {
    my (%o) = @_;
    my $stream = $o{stream};
    my $want = $o{codec};
    my $label = "chromium " . ($want // 'default codec');
    my $t0 = time;
    my $codec;

    subtest $label => sub {
        my ($c, $id, $ev) = $t->spawn_publisher({ wait => 45 }, 'chromium',
            $stream, '--seconds', 40, '--timeout', 20,
            $want ? ('--codec', $want) : ());
        unless (ok($id, 'page says connected')) {
            $c->kill;
            return;
        }

        my $loc = $ev->{location} // '';
        like($loc, qr{^/whip/\Q$stream\E/[0-9a-f]+$}, "Location $loc");

        # the codec the browser really encodes, from its own stats
        my $st = $c->wait_event(
            sub { $_[0]{event} eq 'stats' && $_[0]{codec} }, timeout => 15);
        $codec = $st && $st->{codec};
        ok($codec, 'browser reports its video codec: ' . ($codec // 'none'));
        $codec = uc $codec if $codec;

        SKIP: {
            skip "Chromium does not encode $want here (sent $codec)", 5
                if $want && $codec && $codec ne uc $want
                && $want =~ /^(VP9|AV1)$/;
            if ($want) {
                is($codec, uc $want, "browser encodes $want");
            }

            my $p = $t->check_media($stream,
                name       => $label,
                audio      => 'opus',
                video      => $codec // qr/./,
                user_agent => qr/Chrome/,
                remote     => qr/^127\.0\.0\.1:\d+$/,
                timeout    => 20);

            is($p && $p->{id}, $id, 'status session id = Location id');
            ok($p && $ports{ $p->{port} // 0 },
                'media port is a worker port (' . ($p->{port} // '?') . ')');
            ok($p && grep({ $_ == ($p->{worker} // 0) } $t->worker_pids),
                'worker pid is a running worker');
        }

        # "Stop": the page sends DELETE
        $c->signal('USR1');
        my $del = $c->wait_event(
            sub { $_[0]{event} =~ /^(deleted|error)$/ }, timeout => 20);
        is($del && $del->{event}, 'deleted', 'page stopped')
            or diag(explain($del // 'no event'));
        is($del && $del->{status}, 200, 'DELETE answered 200');
        $t->check_ended($c, $id, stream => $stream);
    };

    note(sprintf '%s: %.1f s', $label, time - $t0);
    return $codec;
}

publish(stream => 'cam1');
publish(stream => 'vp8', codec => 'VP8');
publish(stream => 'vp9', codec => 'VP9');
publish(stream => 'av1', codec => 'AV1');

my $st = $t->status;
is($st && $st->{sessions}, 0, 'no session left');

$t->done;

done_testing;
