#!/usr/bin/perl

# How long recording holds a worker's event loop: one 2.5 Mbit/s H.264 +
# Opus publish (ndc_publish.js, the test pattern of run.sh) recorded with
# webrtc_record for 30 s; the notice at the end gives the number of
# writes and the longest (each write's time is also at debug level:
# "webrtc record ...: N bytes in T us").
#
#   make bench-tools; bench/run.sh encodes the media once, or:
#   tools/netns.sh perl bench/record-stall.pl [seconds] [media.h264]

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../t/lib";

use Test::More;
use WebRTCTest;

my $seconds = $ARGV[0] // 30;
my $media = $ARGV[1]
    // "$FindBin::Bin/../build/bench/media-1280x720-2500k-g4.h264";
-s $media or die "no $media: run bench/run.sh once, or encode it\n";

my $t = WebRTCTest->new(name => 'record-stall', workers => 1);
my $dir = $t->prefix . '/rec';
mkdir $dir;
chmod 0777, $dir;
$t->write_conf($t->default_conf(whip => "webrtc_record $dir;"));
$t->start;

my ($pub, $id) = $t->spawn_publisher({ timeout => $seconds + 30 }, 'ndc',
    'bench', '--seconds', $seconds, '--h264', $media);
$id or die "no publisher\n";
$pub->finish(timeout => $seconds + 20);
$t->wait_for(sub { $t->error_log =~ /recorded "/ }, timeout => 5);

my ($notice) = $t->error_log =~ /(recorded "[^\n]*)/;
$notice or die "no notice\n";
my ($bytes, $secs, $writes, $longest) = $notice
    =~ /: (\d+) bytes, ([\d.]+) s, (\d+) writes, the longest ([\d.]+) ms/;

printf "%s\n%.1f Mbit/s recorded, %d writes of %.0f kB on average "
    . "(one every %.0f ms), the longest %.3f ms\n", $notice,
    $bytes * 8 / $secs / 1e6, $writes, $bytes / $writes / 1000,
    $secs * 1000 / $writes, $longest;

$t->done;
done_testing;
