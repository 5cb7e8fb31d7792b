#!/usr/bin/perl

# ICE-TCP (RFC 6544, RFC 4571 framing) end to end, with webrtc_ice_tcp on
# and a 2-worker nginx:
#   - every answer carries a passive TCP host candidate on the worker's
#     media port number, below the UDP one in priority;
#   - with UDP open, Chromium publishes and plays over UDP (status:
#     transport udp);
#   - with UDP to the media ports dropped (nftables, in this test's
#     network namespace), a Chromium publisher and a Chromium viewer
#     connect over TCP (status: transport tcp) and the viewer decodes;
#   - a viewer whose browser is stopped (SIGSTOP) does not hold back a
#     second one: its drops are counted (tcp_dropped,
#     skipped_to_keyframe), the workers' memory stays bounded, and after
#     SIGCONT it decodes again from a keyframe.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes qw(time sleep);
use WebRTCTest qw(skip_unless_peers skip_unless_netns test_offer);

skip_unless_netns();
skip_unless_peers('chromium', 'nft');

my $t = WebRTCTest->new(name => 'ice-tcp', workers => 2);
$t->write_conf($t->whep_conf(reuseport => 1,
    http => 'webrtc_ice_tcp on;'));
$t->start;

my @ports = map { $t->udp_port($_) } 0 .. 3;   # a reload's range too
my %ports = map { $_ => 1 } @ports;

# a client's latest "stats" event
sub last_stats {
    my ($c) = @_;
    my @s = $c->events('stats');
    return $s[-1];
}

# the browser's frames decoded grow within $timeout seconds
sub decodes {
    my ($c, $label, $timeout) = @_;
    my $a = $t->wait_for(sub {
        my $s = last_stats($c);
        return $s && ($s->{framesDecoded} // 0) > 0 ? $s : undef;
    }, timeout => $timeout // 15);
    ok($a, "$label: frames decoded") or return diag($c->stderr);
    my $b = $t->wait_for(sub {
        my $s = last_stats($c);
        return $s && $s->{framesDecoded} > $a->{framesDecoded} + 10
            ? $s : undef;
    }, timeout => 10);
    ok($b, sprintf '%s: framesDecoded grows (%d -> %s)', $label,
        $a->{framesDecoded}, $b ? $b->{framesDecoded} : 'stuck');
}

# a client and every process below it (Chromium's network service runs
# in its own process group: stopping the client's group leaves it reading)
sub tree_pids {
    my ($root) = @_;
    my %kids;
    for my $stat (glob '/proc/[0-9]*/stat') {
        open my $fh, '<', $stat or next;
        my $line = <$fh> // next;
        my ($pid, $ppid) = $line =~ /^(\d+) \(.*\) \S+ (\d+)/s or next;
        push @{ $kids{$ppid} }, $pid;
    }
    my @all = ($root);
    for (my $i = 0; $i < @all; $i++) {
        push @all, @{ $kids{ $all[$i] } || [] };
    }
    return @all;
}

sub worker_rss_kb {
    my $kb = 0;
    for my $pid ($t->worker_pids) {
        open my $fh, '<', "/proc/$pid/status" or next;
        while (<$fh>) {
            $kb += $1 if /^VmRSS:\s+(\d+)/;
        }
    }
    return $kb;
}

###############################################################################
# the answer: a passive TCP candidate on the UDP port's number

{
    my $r = $t->http('POST', '/whip/probe',
        body => test_offer('chromium'),
        headers => { 'Content-Type' => 'application/sdp' });
    is($r->{status}, 201, 'WHIP POST 201');
    my $sdp = $r->{body} // '';
    my ($udp) = $sdp =~ /^a=candidate:\S+ 1 udp (\d+) 127\.0\.0\.1 (\d+) typ host\r$/m;
    my @tcp = $sdp =~ /^a=candidate:\S+ 1 tcp (\d+) 127\.0\.0\.1 (\d+) typ host tcptype passive\r$/m;
    my ($udp_port) = $sdp =~ /^a=candidate:\S+ 1 udp \d+ \S+ (\d+)/m;
    ok(@tcp, 'answer has a passive TCP host candidate')
        or diag($sdp);
    is($tcp[1], $udp_port, "on the UDP port's number ($udp_port)");
    cmp_ok($tcp[0] // 0, '<', $udp // 0, 'with a lower priority than UDP');

    my $loc = $r->{headers}{location};
    is($t->http('DELETE', $loc)->{status}, 200, 'probe deleted') if $loc;
}

###############################################################################
# UDP open: UDP it is

sub transport_of {
    my ($id) = @_;
    my $s = $t->wait_session($id, timeout => 20) or return 'none';
    return $s->{transport} // 'none';
}

{
    my ($pub, $pid) = $t->spawn_publisher({ timeout => 90, wait => 40 },
        'chromium', 'udp1', '--seconds', 60, '--timeout', 20);
    ok($pid, 'UDP: publisher connected');
    is(transport_of($pid // ''), 'udp', 'UDP: publisher transport udp');

    my ($v, $vid) = $t->spawn_viewer({ timeout => 90, wait => 40 },
        'chromium', 'udp1', '--seconds', 40, '--timeout', 20);
    ok($vid, 'UDP: viewer connected');
    is(transport_of($vid // ''), 'udp', 'UDP: viewer transport udp');
    decodes($v, 'UDP viewer');

    $t->leave($v, 'UDP viewer');
    $t->leave($pub, 'UDP publisher');
}

###############################################################################
# UDP to the media ports dropped: TCP

# the clients' UDP, not the workers' control datagrams to each other
# (from a media port to a media port: keyframe requests, wake-ups)
my $range = sprintf '%d-%d', $ports[0], $ports[-1];
my $rule = "udp sport != $range udp dport $range drop";
is(system('sh', '-c', "nft add table inet icetcp && "
    . "nft 'add chain inet icetcp in { type filter hook input priority 0; }' && "
    . "nft add rule inet icetcp in $rule"), 0, "nftables: $rule");

# a small receive buffer on the viewers' side, so that a stopped browser
# fills the server's buffer in seconds (this namespace only: put back at
# the end, the tests after this one share the namespace)
my $rmem = do {
    open my $fh, '<', '/proc/sys/net/ipv4/tcp_rmem';
    $fh ? scalar <$fh> : undef;
};
END {
    local $?;    # the test's exit status
    system('nft delete table inet icetcp 2>/dev/null');
    if (defined $rmem && open my $fh, '>', '/proc/sys/net/ipv4/tcp_rmem') {
        print $fh $rmem;
        close $fh;
    }
}
open my $rm, '>', '/proc/sys/net/ipv4/tcp_rmem';
ok($rm && print($rm "4096 32768 65536\n") && close($rm),
    'tcp_rmem 4096 32768 65536 in this namespace');

my ($pub, $pid) = $t->spawn_publisher({ timeout => 150, wait => 45 },
    'chromium', 'tcp1', '--seconds', 120, '--timeout', 30);
ok($pid, 'TCP: publisher connected');
is(transport_of($pid // ''), 'tcp', 'TCP: publisher transport tcp');
ok($ports{ ($t->session($pid // '') // {})->{port} // 0 },
    'TCP: on a worker port');
$t->check_media('tcp1', audio => 'opus', video => qr/./, timeout => 20,
    name => 'TCP publisher');

my ($v1, $v1id) = $t->spawn_viewer({ timeout => 120, wait => 45 },
    'chromium', 'tcp1', '--seconds', 100, '--timeout', 30);
ok($v1id, 'TCP: viewer 1 connected');
is(transport_of($v1id // ''), 'tcp', 'TCP: viewer 1 transport tcp');
decodes($v1, 'TCP viewer 1');

my ($v2, $v2id) = $t->spawn_viewer({ timeout => 120, wait => 45 },
    'chromium', 'tcp1', '--seconds', 100, '--timeout', 30);
ok($v2id, 'TCP: viewer 2 connected');
is(transport_of($v2id // ''), 'tcp', 'TCP: viewer 2 transport tcp');
decodes($v2, 'TCP viewer 2');

###############################################################################
# viewer 1 stopped: viewer 2 goes on, viewer 1 skips, memory is bounded

SKIP: {
    skip 'no TCP viewers', 10 unless $v1id && $v2id;

    my $rss0 = worker_rss_kb();
    my $before = $t->session($v1id);
    my $d0 = $before ? $before->{tcp_dropped} : 0;
    my @tree = tree_pids($v1->pid);
    ok(kill('STOP', @tree), 'viewer 1 stopped (SIGSTOP to its '
        . scalar(@tree) . ' processes)');
    my $t_stop = time;

    my $dropping = $t->wait_for(sub {
        my $s = $t->session($v1id) or return;
        return ($s->{tcp_dropped} // 0) > $d0 ? $s : undef;
    }, timeout => 40, interval => 0.5);
    ok($dropping, sprintf 'the server drops for the stopped viewer after '
        . '%.1f s (tcp_dropped %s)', time - $t_stop,
        $dropping ? $dropping->{tcp_dropped} : 'none')
        or diag(explain($t->session($v1id)));

    # viewer 2 meanwhile: decoding at its normal rate
    my $a = last_stats($v2);
    sleep 4;
    my $b = last_stats($v2);
    cmp_ok($b->{framesDecoded} - $a->{framesDecoded}, '>', 4 * 10,
        sprintf 'viewer 2 decodes while viewer 1 is stopped (%d frames in '
        . '4 s)', $b->{framesDecoded} - $a->{framesDecoded});

    # still stopped: after the skip the viewer resumes at the next
    # keyframe into an emptied buffer, which fills again, and so on
    my $s1 = $t->wait_for(sub {
        my $s = $t->session($v1id) or return;
        return ($s->{skipped_to_keyframe} // 0) >= 2 ? $s : undef;
    }, timeout => 40, interval => 0.5) // $t->session($v1id) // {};
    cmp_ok($s1->{skipped_to_keyframe} // 0, '>=', 2, sprintf
        'still stopped: skipped_to_keyframe %d, tcp_dropped %d (%.0f s '
        . 'stopped)', $s1->{skipped_to_keyframe} // 0,
        $s1->{tcp_dropped} // 0, time - $t_stop);
    my $rss1 = worker_rss_kb();
    cmp_ok($rss1 - $rss0, '<', 16 * 1024,
        sprintf 'workers\' memory bounded (%+d KiB)', $rss1 - $rss0);

    my $stopped = last_stats($v1);
    ok(kill('CONT', @tree), 'viewer 1 continued (SIGCONT)');
    my $resumed = $t->wait_for(sub {
        my $s = last_stats($v1);
        return $s && $s->{framesDecoded} > ($stopped->{framesDecoded} // 0) + 20
            ? $s : undef;
    }, timeout => 20);
    ok($resumed, sprintf 'viewer 1 decodes again (%d -> %s)',
        $stopped->{framesDecoded} // 0,
        $resumed ? $resumed->{framesDecoded} : 'stuck')
        or diag($v1->stderr);

    # it went on from a keyframe (the one the skip asked for), and plays on
    my $kf = $t->wait_for(sub {
        my $s = last_stats($v1);
        return $s && ($s->{keyFramesDecoded} // 0)
            > ($stopped->{keyFramesDecoded} // 0) ? $s : undef;
    }, timeout => 20);
    ok($kf, sprintf 'viewer 1 decoded a new keyframe (keyFramesDecoded '
        . '%d -> %s)', $stopped->{keyFramesDecoded} // 0,
        $kf ? $kf->{keyFramesDecoded} : 'none');
    my $x = last_stats($v1);
    sleep 3;
    my $y = last_stats($v1);
    cmp_ok($y->{framesDecoded} - $x->{framesDecoded}, '>', 3 * 8,
        sprintf 'viewer 1 plays on (%d frames in 3 s, freezes %d)',
        $y->{framesDecoded} - $x->{framesDecoded}, $y->{freezeCount} // 0)
        or diag(explain([(grep { defined } ($v1->events('stats'))[-8 .. -1]),
            $t->session($v1id)]));
}

$t->leave($v2, 'TCP viewer 2');
$t->leave($v1, 'TCP viewer 1');
$t->leave($pub, 'TCP publisher');

$t->done;
done_testing;
