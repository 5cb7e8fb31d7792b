#!/usr/bin/perl

# WHEP playback where the kernel refuses UDP GSO: the namespace's loopback
# gets an MTU of 1100 (as on some tunnels), smaller than the server's video
# packets (aiortc fragments H.264 at 1300 bytes), so a GSO message of them
# (at the latest the cached GOP a new viewer gets) fails with EMSGSIZE.
# The worker must log that once at notice, then send packet by packet (the
# kernel fragments each), and a Chromium viewer must keep decoding frames.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes qw(time sleep);
use WebRTCTest qw(skip_unless_netns skip_unless_module skip_unless_exec);

skip_unless_netns();
skip_unless_module();
skip_unless_exec($ENV{WEBRTC_NODE} // 'node',
    $ENV{CHROMIUM} // '/usr/bin/chromium',
    $ENV{WEBRTC_PYTHON} // '/usr/bin/python3', 'ip');
{
    my $py = $ENV{WEBRTC_PYTHON} // '/usr/bin/python3';
    plan(skip_all => 'aiortc not importable by ' . $py)
        if system($py, '-c', 'import aiortc') != 0;
}

my $mtu = `ip -o link show lo` =~ /mtu (\d+)/ ? $1 : 65536;
system('ip', 'link', 'set', 'lo', 'mtu', 1100) == 0
    or plan(skip_all => 'cannot set the loopback MTU');
END { system('ip', 'link', 'set', 'lo', 'mtu', $mtu) if $mtu; }

my $t = WebRTCTest->new(name => 'whep-nogso', workers => 1);
$t->write_conf($t->whep_conf);
$t->start;

my $pub = $t->spawn_client({ timeout => 90 },
    $t->client_command('aiortc_publish.py', '--url', $t->url('/whip/small'),
        '--video-codec', 'h264', '--seconds', 60, '--connect-timeout', 15));
my $pe = $pub->wait_event(sub { $_[0]{event} =~ /^(connected|error)$/ },
    timeout => 30);
ok($pe && $pe->{event} eq 'connected', 'aiortc publisher connected')
    or diag(explain([$pub->events]), $pub->stderr);

my $v = $t->spawn_client({ timeout => 90 },
    $t->client_command('chromium_watch.js', '--base', $t->url('/'),
        '--stream', 'small', '--seconds', 40, '--timeout', 20));
my $first = $v->wait_event(sub { $_[0]{event} =~ /^(first_frame|error)$/ },
    timeout => 40);
ok($first && $first->{event} eq 'first_frame',
    'Chromium shows a first frame')
    or diag(explain([$v->events]), $v->stderr);

my @s;
if ($first && $first->{event} eq 'first_frame') {
    my $have = () = grep { $_->{event} eq 'stats' } $v->events;
    $t->wait_for(sub { (grep { $_->{event} eq 'stats' } $v->events)
        >= $have + 5 }, timeout => 12, interval => 0.2);
    @s = grep { $_->{event} eq 'stats' } $v->events;
    @s = @s[$have .. $#s];
}
cmp_ok(scalar @s, '>=', 5, 'five one-second samples');
my @fd = map { $_->{framesDecoded} } @s;
is(WebRTCTest::freeze_max(@s), 0, "frames decoded in every second: @fd");
cmp_ok(@fd ? $fd[-1] - $fd[0] : 0, '>=', 4 * 10,
    'about steady: ' . (@fd ? $fd[-1] - $fd[0] : 0) . ' frames in 4 s');

my @gso = grep { /UDP GSO refused/ } split /\n/, $t->error_log;
is(scalar @gso, 1, 'GSO refusal logged once');
like($gso[0] // '', qr/\[notice\].*\(90: Message too long\)/,
    'at notice, with the kernel\'s reason');

$t->leave($v, 'viewer');
$t->leave($pub, 'publisher');
$t->done;

done_testing;
