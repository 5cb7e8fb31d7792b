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
use WebRTCTest qw(skip_unless_peers);

skip_unless_peers('chromium', 'aiortc', 'ip');

my $mtu = `ip -o link show lo` =~ /mtu (\d+)/ ? $1 : 65536;
system('ip', 'link', 'set', 'lo', 'mtu', 1100) == 0
    or plan(skip_all => 'cannot set the loopback MTU');
END { system('ip', 'link', 'set', 'lo', 'mtu', $mtu) if $mtu; }

my $t = WebRTCTest->new(name => 'whep-nogso', workers => 1);
$t->write_conf($t->whep_conf);
$t->start;

my ($pub, $pid) = $t->spawn_publisher('aiortc', 'small',
    '--video-codec', 'h264', '--seconds', 60, '--connect-timeout', 15);
ok($pid, 'aiortc publisher connected');

my ($v, $vid) = $t->spawn_viewer('chromium', 'small', '--seconds', 40,
    '--timeout', 20);
ok($vid, 'Chromium shows a first frame');

my @s = $vid ? $v->next_events('stats', 5, timeout => 12, interval => 0.2)
    : ();
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
