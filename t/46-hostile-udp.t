#!/usr/bin/perl

# Hostile UDP while a stream plays: build/bench/udp-flood sends garbage
# and well-formed-but-wrong STUN, DTLS, RTP and RTCP (bench/udp-flood.c
# says what) to every worker's port, from many source ports and, a share
# of it, from the publisher's and the viewers' own addresses (a raw
# socket), while an OBS-shaped publisher (node-datachannel, real H.264)
# plays to whep-load viewers on both workers. Then:
#   - the master and the workers are alive with the same pids;
#   - the viewers receive packets in every 5 s window of the flood;
#   - each worker's private memory (smaps_rollup Private_*) at the end is
#     within 4 MiB of its level after the first 10 s (a third of the run
#     when it is shorter);
#   - the flood's achieved rate is at least half the target;
# and prints a summary line: rates, the kernel's UDP drops in the
# namespace (/proc/net/snmp), memory, the viewers' packets per window,
# the workers' CPU.
#
# make test runs it for 5 s at 20,000 datagrams/s; `make soak` for
# SOAK_SECONDS (60) at SOAK_RATE (100,000).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use JSON::PP;
use Test::More;
use Time::HiRes qw(time sleep);
use WebRTCTest qw(skip_unless_peers test_offer);

skip_unless_peers('ndc', 'ffmpeg');

my $bench = "$WebRTCTest::ROOT/build/bench";
for ('whep-load', 'udp-flood') {
    plan skip_all => "no $bench/$_ (make bench-tools)" unless -x "$bench/$_";
}

my $SECONDS = $ENV{SOAK_SECONDS} // 5;
my $RATE = $ENV{SOAK_RATE} // 20000;
my $VIEWERS = 4;
my $MEM_KB = 4096;
my $WINDOW = 5;
my $BASE_AT = $SECONDS >= 30 ? 10 : $SECONDS / 3;

my $t = WebRTCTest->new(name => 'hostile-udp', workers => 2);
$t->write_conf($t->whep_conf(reuseport => 1));
$t->start;

my $master = $t->master_pid;
my @workers = $t->worker_pids;
my @ports = map { $t->udp_port($_) } 0 .. $t->workers - 1;

my $h264 = $t->test_h264(size => '640x360');
my ($pub, $pid) = $t->spawn_publisher({ timeout => $SECONDS + 90 }, 'ndc',
    'soak', '--h264', $h264, '--seconds', $SECONDS + 60,
    '--connect-timeout', 15);
ok($pid, 'publisher connected') or BAIL_OUT('no publisher');
ok($t->wait_for(sub {
    my $v = WebRTCTest::track($t->publisher('soak') // {}, 'video');
    $v && $v->{keyframes} >= 1;
}, timeout => 20), 'the stream has a keyframe');

# viewers: one line per second with the packets of that second
my $view_json = $t->prefix . '/clients/viewers.json';
my $view_t0 = time;
my $view = $t->spawn_client({ timeout => $SECONDS + 90 }, "$bench/whep-load",
    '-u', $t->url('/whep/soak'), '-n', $VIEWERS, '-r', 20,
    '-d', $SECONDS + 15, '-w', 1, '-k', '-j', $view_json);
ok($t->wait_for(sub { scalar($t->viewers('soak')) == $VIEWERS
    && !grep { ($_->{state} // '') ne 'connected' } $t->viewers('soak') },
    timeout => 20), "$VIEWERS viewers connected");

my $st = $t->status;
my %on = map { $_->{worker} => 1 } $t->viewers('soak', $st);
note(sprintf 'viewers on %d of %d workers', scalar(keys %on), $t->workers);
my @sess = grep { $_ } ($t->publisher('soak', $st), $t->viewers('soak', $st));
my %sport = map { $_->{port} => 1 } @sess;
ok(!grep({ my $p = $_; !grep { $_ == $p } @ports } keys %sport),
    'the sessions are on the ports flooded (' . join(',', @ports) . ')');
my @peers = grep { /^127\.\d+\.\d+\.\d+:\d+$/ } map { $_->{remote} } @sess;

# a session of our own, never finished, for STUN with a real ufrag
my $r = $t->http('POST', '/whep/soak',
    headers => { 'Content-Type' => 'application/sdp' },
    body => test_offer('chromium-recvonly'));
my ($ufrag) = ($r->{body} // '') =~ /^a=ice-ufrag:(\S+?)\r?$/m;
is($r->{status}, 201, 'a half-open session for a real ufrag');

###############################################################################
# the flood, and what we watch meanwhile

sub private_kb {
    my ($pid) = @_;
    open my $fh, '<', "/proc/$pid/smaps_rollup" or return undef;
    my $kb = 0;
    while (my $l = <$fh>) {
        $kb += $1 if $l =~ /^Private_\w+:\s+(\d+) kB/;
    }
    return $kb;
}

sub cpu_s {
    my ($pid) = @_;
    open my $fh, '<', "/proc/$pid/stat" or return undef;
    my ($ut, $stm) = (split ' ', (<$fh> =~ /\)\s+(.*)/)[0])[11, 12];
    return ($ut + $stm) / 100;
}

sub udp_snmp {
    open my $fh, '<', '/proc/net/snmp' or return {};
    my @l = grep { /^Udp:/ } <$fh>;
    my @k = split ' ', $l[0];
    my @v = split ' ', $l[1];
    return { map { $k[$_] => $v[$_] } 1 .. $#k };
}

my $flood_json = $t->prefix . '/clients/flood.json';
my $snmp0 = udp_snmp();
my %cpu0 = map { $_ => cpu_s($_) } @workers;
my $f0 = time;
my $flood = $t->spawn_client({ timeout => $SECONDS + 30 }, "$bench/udp-flood",
    '-t', join(',', map { "127.0.0.1:$_" } @ports), '-r', $RATE,
    '-d', $SECONDS, '-S', $$, '-q', '-j', $flood_json,
    (@peers ? ('-s', join(',', @peers)) : ()),
    ($ufrag ? ('-u', $ufrag) : ()));

my (%mem_base, %mem, $alive);
while ($flood->running && time < $f0 + $SECONDS + 20) {
    sleep 0.5;
    if (!%mem_base && time >= $f0 + $BASE_AT) {
        %mem_base = map { $_ => private_kb($_) } @workers;
    }
    %mem = map { $_ => private_kb($_) } @workers;
    last if grep { !defined $mem{$_} } @workers;
}
my ($frc, undef, $ferr) = $flood->finish(timeout => 30);
my $f1 = time;
%mem = map { $_ => private_kb($_) } @workers;
my %cpu1 = map { $_ => cpu_s($_) } @workers;
my $snmp1 = udp_snmp();

my $f = eval {
    open my $fh, '<', $flood_json or die;
    local $/;
    decode_json(scalar <$fh>);
} // {};
is($frc, 0, 'udp-flood exit 0') or diag($ferr);

###############################################################################
# what held

ok(WebRTCTest::pid_alive($master) && $t->master_pid == $master,
    "master $master alive");
is_deeply([$t->worker_pids], \@workers, "workers @workers alive, the same");

# the viewers' packets in each window of the flood
my ($vrc, $vout, $verr) = $view->finish(timeout => $SECONDS + 60);
is($vrc, 0, 'whep-load: every viewer came up') or diag($verr);
my @win = (0) x int($SECONDS / $WINDOW + 0.999);
for (split /\n/, $vout) {
    my ($s, $p) = /^t=\s*(\d+) .* pkts\/s=(\d+)/ or next;
    my $at = $view_t0 + $s - 0.5 - $f0;      # the middle of that second
    next if $at < 0 || $at >= $SECONDS;
    $win[int($at / $WINDOW)] += $p;
}
ok(@win && !grep({ $_ == 0 } @win),
    "viewers got packets in every ${WINDOW} s window: @win");

my $vr = eval {
    open my $fh, '<', $view_json or die;
    local $/;
    decode_json(scalar <$fh>);
} // {};
is($vr->{auth_fail}, 0, 'every packet the viewers checked authenticates');

for my $w (@workers) {
    my ($b, $e) = ($mem_base{$w}, $mem{$w});
    ok(defined $b && defined $e && $e - $b <= $MEM_KB, sprintf
        'worker %d: private memory %s -> %s KiB (at %.0f s, at the end)',
        $w, $b // '?', $e // '?', $BASE_AT);
}

cmp_ok($f->{rate} // 0, '>=', $RATE / 2, sprintf
    'flood at %.0f datagrams/s (target %d)', $f->{rate} // 0, $RATE);

ok($t->publisher('soak') && ($t->publisher('soak')->{state} // '')
    eq 'connected', 'the publisher is still connected');

my %d = map { $_ => ($snmp1->{$_} // 0) - ($snmp0->{$_} // 0) }
    qw(InDatagrams InErrors RcvbufErrors NoPorts);
my $cpu = join ', ', map { sprintf '%d: %.0f %%', $_,
    100 * (($cpu1{$_} // 0) - ($cpu0{$_} // 0)) / ($f1 - $f0) } @workers;
my $summary = sprintf 'soak: %.0f s, %d datagrams at %.0f/s (target %d, '
    . '%d spoofed from %d peers, %d send errors); kernel UDP in the '
    . 'namespace: InDatagrams %d, InErrors %d, RcvbufErrors %d; worker '
    . 'private KiB %s; viewer packets per %d s: %s (lost %d of %d); '
    . 'worker CPU %s',
    $f->{seconds} // 0, $f->{sent} // 0, $f->{rate} // 0, $RATE,
    $f->{spoofed} // 0, scalar @peers, $f->{errors} // 0,
    @d{qw(InDatagrams InErrors RcvbufErrors)},
    join(', ', map { sprintf '%d: %s -> %s', $_, $mem_base{$_} // '?',
        $mem{$_} // '?' } @workers), $WINDOW, "@win",
    $vr->{lost} // -1, $vr->{expected} // -1, $cpu;
diag($summary);

$pub->signal('USR1');
$pub->finish(timeout => 20);

$t->done;

done_testing;
