#!/usr/bin/perl

# Simulcast on a narrow path, and back: inside the test's network
# namespace an HTB class on lo carries what goes to one Chromium viewer's
# port (a u32 filter on that port) at 250 kbit/s with a 20-packet queue
# (this kernel has neither netem nor tbf); the publisher's path is
# untouched. The top layer (about 2 Mbit/s, 0.4 on a loaded machine)
# does not fit: the viewer's receiver reports its loss and it moves down
# to a layer that fits and keeps decoding; the limit lifted, after quiet periods it climbs back
# to the top layer (1280x720).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes qw(time);
use WebRTCTest qw(skip_unless_peers);

skip_unless_peers('chromium');
plan skip_all => 'needs root and tc (run under tools/netns.sh)'
    unless $> == 0 && -x '/usr/sbin/tc'
    && system('tc qdisc show dev lo >/dev/null 2>&1') == 0;

my $t = WebRTCTest->new(name => 'simulcast-tc', workers => 1);
$t->write_conf($t->whep_conf());
$t->start;

sub tc { my $c = join ' ', 'tc', @_; is(system("$c 2>&1"), 0, $c) }

my ($pub, $pid) = $t->spawn_publisher({ timeout => 150, wait => 40 },
    'chromium', 'sc', '--simulcast', '--seconds', 140, '--timeout', 20);
ok($pid, 'simulcast publisher connected') or BAIL_OUT('no publisher');
ok($t->wait_for(sub {
    my $p = $t->publisher('sc') or return;
    return 3 == grep { defined $_->{rid} && $_->{active} }
        @{ $p->{tracks} || [] };
}, timeout => 60, interval => 1), 'three active layers');

my $v = $t->spawn_client({ timeout => 140 },
    $t->client_command('chromium_watch.js', '--base', $t->url('/'),
        '--stream', 'sc', '--seconds', 120, '--timeout', 30));
my $c = $v->wait_event(sub { $_[0]{event} =~ /^(connected|error)$/ },
    timeout => 40);
ok($c && $c->{event} eq 'connected', 'viewer connected')
    or BAIL_OUT('no viewer');
my $id = $t->session_id($c->{location});
my $s = $t->wait_session($id);
my ($port) = ($s && $s->{remote} // '') =~ /:(\d+)$/;
ok($port, "viewer's port $port");

sub layer {
    my ($want, $timeout) = @_;
    return $t->wait_for(sub {
        my $vs = $t->session($id);
        my $tr = $vs && WebRTCTest::track($vs, 'video');
        return $tr && ($tr->{rid} // '') eq $want ? $tr : undef;
    }, timeout => $timeout, interval => 0.5);
}

ok(layer('f', 10), 'the viewer starts on the top layer');

tc(qw(qdisc add dev lo root handle 1: htb default 10 r2q 1000));
tc(qw(class add dev lo parent 1: classid 1:10 htb rate 10gbit));
tc(qw(class add dev lo parent 1: classid 1:20 htb rate 250kbit ceil 250kbit));
tc(qw(qdisc add dev lo parent 1:20 handle 20: pfifo limit 20));
tc(qw(filter add dev lo parent 1: protocol ip prio 1 u32),
   "match ip dport $port 0xffff flowid 1:20");

my $t1 = time;
my $down = $t->wait_for(sub {
    my $vs = $t->session($id);
    my $tr = $vs && WebRTCTest::track($vs, 'video');
    return $tr && ($tr->{rid} // 'f') ne 'f' ? $tr : undef;
}, timeout => 40, interval => 0.5);
# a loaded machine makes Chromium encode its top layer below the limit:
# then the top layer fits, and staying on it is right
sub top_bps {
    my ($top) = grep { ($_->{rid} // '') eq 'f' }
                @{ ($t->publisher('sc') // {})->{tracks} // [] };
    return $top ? $top->{bitrate} // 0 : 0;
}
SKIP: {
    my $bps = top_bps();
    skip sprintf('the top layer is sent at %d kbit/s: it fits 250 kbit/s',
                 $bps / 1000), 1
        if !$down && $bps && $bps < 200_000;
    ok($down, sprintf 'at 250 kbit/s it moves down to %s (%.1f s)',
       $down ? $down->{rid} : 'nothing', time - $t1);
}

# it settles: ten seconds later it decodes a smaller picture, frames go on
sleep 10;
my $vs = $t->session($id);
my $tr = $vs && WebRTCTest::track($vs, 'video');
note('settled on ' . ($tr && $tr->{rid} // '?') . ', fraction_lost '
     . ($tr && $tr->{fraction_lost} // '?') . '/256');
my @st = $v->events('stats');
my $n = @st;
my $a = $t->wait_for(sub {
    my @x = $v->events('stats');
    return @x > $n + 2 ? $x[-1] : undef;
}, timeout => 10);
note('freezes while limited: ' . (($a && $a->{freezeCount} // 0)
     - ($st[-1] && $st[-1]{freezeCount} // 0)) . ' in the last stats');
my $topbps = top_bps();
SKIP: {
    skip sprintf('the top layer is sent at %d kbit/s: it fits 250 kbit/s',
                 $topbps / 1000), 1
        if $topbps && $topbps < 200_000;
    ok($a && ($a->{width} // 0) > 0 && $a->{width} < 1280
       && $a->{framesDecoded} > ($st[-1]{framesDecoded} // 0),
       'it decodes ' . ($a ? "$a->{width}x$a->{height}" : 'nothing')
       . ' and frames go on (the top layer at '
       . int($topbps / 1000) . ' kbit/s)');
}
ok($a && $a->{framesDecoded} > ($st[-1]{framesDecoded} // 0),
   'frames go on at 250 kbit/s');

tc(qw(filter del dev lo parent 1: prio 1));
$t1 = time;
my $f = layer('f', 70);
ok($f, sprintf 'the loss gone, it climbs back to f (%.1f s)', time - $t1);
$n = scalar($v->events('stats'));
my $big = $t->wait_for(sub {
    my @x = $v->events('stats');
    my ($h) = grep { ($_->{width} // 0) == 1280 } @x[$n .. $#x];
    return $h;
}, timeout => 15);
ok($big, 'and decodes 1280x720');

system('tc qdisc del dev lo root >/dev/null 2>&1');

$t->leave($v, 'viewer');
$t->leave($pub, 'publisher');

$t->done;

done_testing;
