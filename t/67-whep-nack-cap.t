#!/usr/bin/perl

# The NACK cap (README, Design: ICE): a viewer's NACKs are served at most
# 256 packets a second, and each packet at most once in 100 ms, so that
# a viewer cannot make the server an amplifier.
#
# Two viewers of an OBS-shaped publisher (node-datachannel, real H.264),
# both our load client (build/bench/whep-load), with
# webrtc_debug_drop 2 (the server drops 2 % of what it sends to viewers,
# not the retransmissions):
#   - a hostile one (-N 100: a hundred times a second, a NACK for its last
#     100 video packets, all of them received) gets back at most the cap
#     in packets it already had, and the status counts the rest as
#     nacks_refused;
#   - a normal one at the same time NACKs each packet it lost once: every
#     one is served (nothing refused, the lost packets recovered).

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

my $RATE = 256;         # NGX_WEBRTC_NACK_RATE
my $SECONDS = 8;        # the clients' run, set-up included
my $HOSTILE = '127.0.0.2';

my $t = WebRTCTest->new(name => 'whep-nack-cap', workers => 1);
$t->write_conf($t->whep_conf(http => 'webrtc_debug_drop 2;'));
$t->start;

my $h264 = $t->test_h264(size => '640x360');
my ($pub, $pid) = $t->spawn_publisher('ndc', 'cap', '--h264', $h264,
    '--seconds', 60, '--connect-timeout', 15);
ok($pid, 'publisher connected') or BAIL_OUT('no publisher');

ok($t->wait_for(sub {
    my $v = WebRTCTest::track($t->publisher('cap') // {}, 'video');
    $v && $v->{keyframes} >= 1;
}, timeout => 20), 'the stream has a keyframe');

sub load {
    my ($name, @args) = @_;
    my $json = $t->prefix . "/clients/$name.json";
    my $c = $t->spawn_client({ timeout => $SECONDS + 30 }, $load,
        '-u', $t->url('/whep/cap'), '-n', 1, '-d', $SECONDS, '-w', 1,
        '-k', '-q', '-j', $json, @args);
    return [$c, $json];
}

sub result {
    my ($name, $l) = @_;
    my ($c, $json) = @$l;
    my ($rc, $out, $err) = $c->finish(timeout => $SECONDS + 30);
    is($rc, 0, "$name: whep-load exit 0") or diag($out, $err);
    my $r = eval {
        open my $fh, '<', $json or die "$json: $!";
        local $/;
        decode_json(scalar <$fh>);
    } // {};
    note("$name: " . JSON::PP->new->canonical->encode(
        { map { $_ => $r->{$_} } qw(packets gaps recovered lost nacks dups
            flood_nacks) }));
    return $r;
}

my $hostile = load('hostile', '-B', $HOSTILE, '-N', '100:100');
my $normal = load('normal');

my $h = result('hostile', $hostile);
my $n = result('normal', $normal);
my $st = $t->status;

# the sessions are kept (-k): the status still has their counters
my ($hv) = grep { ($_->{remote} // '') =~ /^\Q$HOSTILE\E:/ }
    $t->viewers('cap', $st);
my ($nv) = grep { ($_->{remote} // '') !~ /^\Q$HOSTILE\E:/ }
    $t->viewers('cap', $st);
# the cap is the viewer's, for its tracks together
sub nack_counts {
    my ($v) = @_;
    my %n = (nacks => 0, nacks_refused => 0);
    for my $tr (@{ $v && $v->{tracks} || [] }) {
        $n{$_} += $tr->{$_} // 0 for keys %n;
        note("status: $tr->{kind}: nacks $tr->{nacks}, refused "
            . ($tr->{nacks_refused} // '-'));
    }
    return \%n;
}
my $hvt = nack_counts($hv);
my $nvt = nack_counts($nv);

# the cap is per second: over the whole run, the first second's budget
# and one per second after it
my $cap = $RATE * ($SECONDS + 1);

subtest 'a viewer that NACKs everything gets at most the cap' => sub {
    cmp_ok($h->{flood_nacks} // 0, '>=', 100 * 100 * ($SECONDS - 4),
        "it asked for $h->{flood_nacks} packets it had");
    cmp_ok($h->{dups} // 0, '>', 0, "some came back ($h->{dups})");
    cmp_ok($h->{dups} // 1e9, '<=', $cap,
        "at most $RATE a second came back: $h->{dups} in $SECONDS s");
    cmp_ok($hvt->{nacks} // 1e9, '<=', $cap,
        "status: it was resent $hvt->{nacks}");
    cmp_ok($hvt->{nacks_refused} // 0, '>=', $h->{flood_nacks} * 0.4,
        "status: the rest refused, nacks_refused $hvt->{nacks_refused}");
    is($h->{auth_fail}, 0, 'what came back authenticates');
};

subtest 'a viewer NACKing its lost packets meanwhile gets them all' => sub {
    cmp_ok($n->{gaps} // 0, '>', 0, "it saw gaps ($n->{gaps})");
    cmp_ok($n->{recovered} // 0, '>=', ($n->{gaps} // 0) - 2,
        "and recovered them ($n->{recovered})");
    cmp_ok($nvt->{nacks}, '>', 0, "status: it was resent $nvt->{nacks}");
    is($nvt->{nacks_refused}, 0, 'status: none refused');
    is($n->{dups}, 0, 'no packet twice');
};

$pub->signal('USR1');
$pub->finish(timeout => 20);

$t->done;

done_testing;
