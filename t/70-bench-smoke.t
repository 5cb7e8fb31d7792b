#!/usr/bin/perl

# The benchmark's load client (build/bench/whep-load, `make bench-tools`)
# for a few seconds: 5 WHEP viewers of an OBS-shaped node-datachannel
# publisher (real H.264 + Opus). Every viewer comes up (ICE, DTLS, SRTP),
# gets a keyframe (a join time is reported), sees no loss and no SRTP
# authentication failure on loopback, and the packets it counted are
# those /webrtc/status says the server sent to those viewers.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use JSON::PP;
use Test::More;
use WebRTCTest qw(skip_unless_peers);

skip_unless_peers('ndc', 'ffmpeg');

my $load = "$WebRTCTest::ROOT/build/bench/whep-load";
plan skip_all => "no $load (make bench-tools)" unless -x $load;

my $VIEWERS = 5;

my $t = WebRTCTest->new(name => 'bench-smoke', workers => 1);
$t->write_conf($t->whep_conf);
$t->start;

my $h264 = $t->test_h264(size => '640x360');
my ($pub, $pid) = $t->spawn_publisher('ndc', 'bench', '--h264', $h264,
    '--seconds', 40, '--connect-timeout', 15);
ok($pid, 'publisher connected');

# a keyframe in the ring, so that a join time exists
ok($t->wait_for(sub {
    my $v = WebRTCTest::track($t->publisher('bench') // {}, 'video');
    $v && $v->{keyframes} >= 1;
}, timeout => 20), 'the stream has a keyframe');

my $json = $t->prefix . '/clients/whep-load.json';
my ($rc, $out, $err) = $t->run_client({ timeout => 40 }, $load,
    '-u', $t->url('/whep/bench'), '-n', $VIEWERS, '-r', 50, '-d', 5,
    '-w', 1, '-s', 1, '-k', '-j', $json);
my $st = $t->status;
is($rc, 0, 'whep-load exit 0') or diag($out, $err);
note($out);

my $r = eval {
    open my $fh, '<', $json or die "$json: $!";
    local $/;
    decode_json(scalar <$fh>);
} // {};

is($r->{sessions_up}, $VIEWERS, "$VIEWERS sessions up");
cmp_ok($r->{packets} // 0, '>', 0, 'packets received');
is($r->{lost}, 0, 'no loss on loopback');
is($r->{gaps}, 0, 'no gap in any sequence');
is($r->{auth_fail}, 0, 'every packet authenticated (sample 1 in 1)');
cmp_ok($r->{auth_ok} // 0, '>=', $r->{packets} // 1,
    'every packet was checked');
is($r->{joined}, $VIEWERS, 'every viewer got a keyframe');
cmp_ok($r->{join_ms}{p50} // -1, '>', 0, 'join time p50 reported')
    and note("join ms: p50 $r->{join_ms}{p50}, p95 $r->{join_ms}{p95}");

# what the server says it sent to these viewers (-k: still listed)
my @viewers = $t->viewers('bench', $st);
is(scalar @viewers, $VIEWERS, "status lists $VIEWERS viewers");
my $sent = 0;
for my $v (@viewers) {
    $sent += $_->{packets} for @{ $v->{tracks} || [] };
}
note("server sent $sent packets, client counted $r->{packets}");
cmp_ok($r->{packets} // 0, '<=', $sent, 'client counted no more than sent');
# the status is read right after the client stops: the server may have
# sent a few more packets in between (at most ~0.1 s of media)
cmp_ok($r->{packets} // 0, '>=', $sent * 0.97 - 100,
    'client counted what the server sent');

$pub->signal('USR1');
$pub->finish(timeout => 20);

$t->done;

done_testing;
