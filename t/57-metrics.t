#!/usr/bin/perl

# webrtc_metrics: Prometheus' text format for all workers, read with the
# Prometheus project's own parser (python3-prometheus-client,
# t/clients/prom_parse.py). An aiortc publisher with a data channel and
# an aiortc viewer on a 2-worker nginx: the session gauges by role and
# state, packet and byte counters that grow in and out, the setup time
# histogram, data channel messages; after the viewer leaves and its
# record is freed, the counters keep what it had (they never go back)
# and its end is counted by reason. "webrtc_metrics streams" adds a
# stream's viewers, publisher and bitrate; without it, no stream name.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use JSON::PP;
use IPC::Open2;
use Time::HiRes qw(sleep);
use WebRTCTest qw(skip_unless_peers);

skip_unless_peers('aiortc');
plan skip_all => 'no python3-prometheus-client'
    if system('/usr/bin/python3', '-c', 'import prometheus_client') != 0;

my $t = WebRTCTest->new(name => 'metrics', workers => 2);
$t->write_conf($t->whep_conf(
    server => 'location = /metrics { webrtc_metrics; } '
              . 'location = /metrics/streams { webrtc_metrics streams; }',
));
$t->start;

# { family => { type, samples => [[name, {labels}, value]] } }
sub scrape {
    my ($path) = @_;
    my $r = $t->http(GET => $path);
    return (undef, "HTTP $r->{status}") unless $r->{status} == 200;
    my $pid = open2(my $out, my $in, '/usr/bin/python3',
                    $t->client_path('prom_parse.py'));
    print $in $r->{body};
    close $in;
    local $/;
    my $json = <$out>;
    waitpid $pid, 0;
    my $m = eval { decode_json($json) } // { error => "no JSON: $json" };
    return (undef, $m->{error}) if $m->{error};
    return ($m, $r);
}

# the value of the sample $name with these labels (all of them given)
sub value {
    my ($m, $family, $name, %labels) = @_;
    for my $s (@{ $m->{$family}{samples} // [] }) {
        next unless $s->[0] eq $name;
        my $l = $s->[1];
        next unless keys %$l == keys %labels;
        next if grep { ($l->{$_} // "\0") ne $labels{$_} } keys %labels;
        return $s->[2];
    }
    return undef;
}

my ($m, $r) = scrape('/metrics');
ok($m, 'an idle server scrapes: ' . (ref $r ? 'parsed' : $r)) or BAIL_OUT;
like($r->{headers}{'content-type'}, qr{^text/plain; version=0\.0\.4},
     'Content-Type: text/plain; version=0.0.4');
is($m->{webrtc_sessions}{type}, 'gauge', 'webrtc_sessions is a gauge');
is($m->{webrtc_packets}{type}, 'counter', 'webrtc_packets_total a counter');
is($m->{webrtc_setup_seconds}{type}, 'histogram',
   'webrtc_setup_seconds a histogram');
is(value($m, 'webrtc_sessions', 'webrtc_sessions', role => 'publisher',
         state => 'connected'), 0, 'no publisher yet');

my $pctl = $t->control_file('publisher');
my ($pub, $pid) = $t->spawn_publisher(
    { timeout => 120, until => 'datachannel open' }, 'aiortc', 'cam1',
    '--datachannel', '--dc-label', 'chat', '--dc-control', $pctl,
    '--seconds', 90, '--connect-timeout', 15);
ok($pid, 'aiortc publishes with a data channel') or BAIL_OUT;

my ($v, $vid) = $t->spawn_viewer({ timeout => 60, wait => 40 }, 'aiortc',
    'cam1', '--seconds', 60, '--connect-timeout', 15, '--frame-timeout', 15);
ok($vid, 'an aiortc viewer decodes a frame') or BAIL_OUT;

WebRTCTest::send_command($pctl, { send => $_ }) for qw(hello world);

my ($m1, $m2);
ok($t->wait_for(sub {
    ($m1) = scrape('/metrics');
    return $m1
        && (value($m1, 'webrtc_sessions', 'webrtc_sessions',
                  role => 'viewer', state => 'connected') // 0) == 1
        && (value($m1, 'webrtc_datachannel_messages',
                  'webrtc_datachannel_messages_total', direction => 'in')
            // 0) >= 2;
}, timeout => 15), 'the viewer connected and two messages in');

is(value($m1, 'webrtc_sessions', 'webrtc_sessions', role => 'publisher',
         state => 'connected'), 1, 'one connected publisher');
is(value($m1, 'webrtc_streams', 'webrtc_streams'), 1, 'one stream');
is(value($m1, 'webrtc_sessions_created', 'webrtc_sessions_created_total',
         role => 'viewer'), 1, 'one viewer created');
is(value($m1, 'webrtc_setup_seconds', 'webrtc_setup_seconds_count'), 2,
   'two setups in the histogram');
is(value($m1, 'webrtc_setup_seconds', 'webrtc_setup_seconds_bucket',
         le => '+Inf'), 2, '+Inf bucket = count');
my $sum = value($m1, 'webrtc_setup_seconds', 'webrtc_setup_seconds_sum');
ok($sum > 0 && $sum < 20, "setup time sum $sum s");

sleep 2;
($m2) = scrape('/metrics');
for my $dir (qw(in out)) {
    for my $kind (qw(audio video)) {
        my ($a, $b) = map { value($_, 'webrtc_packets', 'webrtc_packets_total',
                                  direction => $dir, kind => $kind) // 0 }
                      $m1, $m2;
        cmp_ok($b, '>', $a, "$kind packets $dir grow ($a -> $b)");
    }
}
cmp_ok(value($m2, 'webrtc_bytes', 'webrtc_bytes_total', direction => 'out',
             kind => 'video'), '>', 0, 'video bytes out');
ok(!grep({ /^webrtc_stream_/ } keys %$m2), 'no per-stream series');

my ($ms) = scrape('/metrics/streams');
is(value($ms, 'webrtc_stream_viewers', 'webrtc_stream_viewers',
         stream => 'cam1'), 1, 'webrtc_metrics streams: cam1 has 1 viewer');
is(value($ms, 'webrtc_stream_published', 'webrtc_stream_published',
         stream => 'cam1'), 1, 'and its publisher');
cmp_ok(value($ms, 'webrtc_stream_bitrate_bits_per_second',
             'webrtc_stream_bitrate_bits_per_second', stream => 'cam1',
             kind => 'video') // 0, '>', 0, 'and a video bitrate');

# the viewer leaves: its counters stay in the sums after its record goes
$t->leave($v, 'viewer');
my ($m3) = scrape('/metrics');
my $out3 = value($m3, 'webrtc_packets', 'webrtc_packets_total',
                 direction => 'out', kind => 'video');
# a tombstone lives 10 s, the sweep frees it after that
sleep 13;
my ($m4) = scrape('/metrics');
my $out4 = value($m4, 'webrtc_packets', 'webrtc_packets_total',
                 direction => 'out', kind => 'video');
cmp_ok($out4, '>=', $out3, "video packets out after the viewer's record "
       . "was freed: $out3 -> $out4, not back");
is(value($m4, 'webrtc_sessions', 'webrtc_sessions', role => 'viewer',
         state => 'connected'), 0, 'no viewer');
my $ended = 0;
$ended += $_->[2] for @{ $m4->{webrtc_sessions_ended}{samples} // [] };
is($ended, 1, 'one session ended: ' . join(', ', map { "$_->[1]{reason}" }
   @{ $m4->{webrtc_sessions_ended}{samples} // [] }));

$pub->kill;
$t->done;
done_testing;
