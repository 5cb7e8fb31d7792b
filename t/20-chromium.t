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
use WebRTCTest qw(skip_unless_netns skip_unless_module skip_unless_exec);

skip_unless_netns();
skip_unless_module();
skip_unless_exec($ENV{WEBRTC_NODE} // 'node',
    $ENV{CHROMIUM} // '/usr/bin/chromium');

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
        my @args = ('--base', $t->url('/'), '--stream', $stream,
            '--seconds', 40, '--timeout', 20);
        push @args, '--codec', $want if $want;
        my $c = $t->spawn_client({ timeout => 90 },
            $t->client_command('chromium_publish.js', @args));

        my $ev = $c->wait_event(
            sub { $_[0]{event} =~ /^(connected|error)$/ }, timeout => 45);
        unless (ok($ev && $ev->{event} eq 'connected',
            'page says connected'))
        {
            diag(explain($ev // 'no event'), $c->stderr);
            $c->kill;
            return;
        }

        my $loc = $ev->{location} // '';
        like($loc, qr{^/whip/\Q$stream\E/[0-9a-f]+$}, "Location $loc");
        my $id = $t->session_id($loc);

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

        my $gone = $t->wait_gone($id, timeout => 10);
        ok(defined $gone, sprintf 'session gone from status (%.1f s)',
            $gone // -1);
        ok(!$t->publisher($stream), "stream $stream no longer listed");

        my ($rc, $out, $err) = $c->finish(timeout => 20);
        is($rc, 0, 'client exit 0') or diag($err);
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
