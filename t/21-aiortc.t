#!/usr/bin/perl

# End to end: aiortc 1.4 (t/clients/aiortc_publish.py) publishes Opus and
# a generated video pattern, once in H264 and once in VP8 at another
# size; /webrtc/status shows the session connected with growing
# counters, keyframes and the size aiortc encodes; DELETE ends it.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes qw(time);
use WebRTCTest qw(skip_unless_peers);

skip_unless_peers('aiortc');

my $t = WebRTCTest->new(name => 'aiortc', workers => 2);
$t->write_conf($t->default_conf(whip => 'webrtc_token s3cret;'));
$t->start;

sub publish {
    my (%o) = @_;
    my $stream = $o{stream};
    my $label = "aiortc $o{codec} $o{size}";
    my $t0 = time;

    subtest $label => sub {
        my ($c, $id) = $t->spawn_publisher('aiortc', $stream,
            '--token', 's3cret', '--video-codec', lc $o{codec},
            '--video-size', $o{size}, '--seconds', 40,
            '--connect-timeout', 15);
        unless (ok($id, 'client connected')) {
            $c->kill;
            return;
        }

        my $offer = $c->event('offer');
        is($c->event('answer')->{status}, 201, 'POST answered 201');
        my ($w, $h) = @{ $offer->{video_size} || [] };
        is("$w x $h", join(' x ', split /x/, $o{size}),
            "client encodes $o{size}");

        my $p = $t->check_media($stream,
            name       => $label,
            audio      => 'opus',
            video      => $o{codec},
            width      => $w,
            height     => $h,
            user_agent => qr{^aiortc/},
            timeout    => 20);
        is($p && $p->{id}, $id, 'status session id = Location id');

        $c->signal('USR1');
        my $del = $c->wait_event(
            sub { $_[0]{event} =~ /^(deleted|error)$/ }, timeout => 20);
        is($del && $del->{status}, 200, 'DELETE answered 200')
            or diag(explain($del // 'no event'));
        $t->check_ended($c, $id, stream => $stream);
    };

    note(sprintf '%s: %.1f s', $label, time - $t0);
}

publish(stream => 'cam-h264', codec => 'H264', size => '640x360');
publish(stream => 'cam-vp8', codec => 'VP8', size => '640x480');

my $st = $t->status;
is($st && $st->{sessions}, 0, 'no session left');

$t->done;

done_testing;
