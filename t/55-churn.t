#!/usr/bin/perl

# Churn: 10,000 WHIP and WHEP sessions created and torn down by
# build/bench/whep-load's churn mode (-E), the first 1,000 and then the
# other 9,000, each 1,000 made of:
#   - 450 WHIP POST + DELETE (sendonly offers, a stream per publisher,
#     8 at a time);
#   - 550 WHEP sessions of one live stream (a node-datachannel publisher),
#     at most 48 at a time: 460 POST + DELETE; 25 ICE + DTLS, then
#     DELETE; 25 ICE + DTLS, then a DTLS close_notify; 20 ICE + DTLS, then
#     silence (consent expiry); 20 ICE checks, never DTLS (half-open:
#     setup timeout).
# A silent or half-open session keeps its place among the 48 until the
# server has ended it, so the server holds at most 48 + 8 sessions of the
# churn at any time, in the first 1,000 as later: the memory after the
# first 1,000 is a high-water mark the rest must not go beyond.
# After each part the registry is empty again (only the publisher); then
# the status's `ended` counts by reason are those of what was done, and
# each worker's private anonymous memory (RssAnon) is within 2 MiB of
# what it was after the first 1,000.
#
# Under the ASan build (make test-asan) the memory figure is not checked:
# ASan's quarantine and shadow memory grow with every allocation, and
# NGX_DEBUG_PALLOC makes every pool allocation a malloc, so RssAnon says
# nothing about our allocations there. What ASan checks instead is that
# nginx, stopped gracefully at the end, reports no leak at exit
# (LeakSanitizer, done() fails on any report).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use JSON::PP;
use Test::More;
use Time::HiRes qw(sleep time);
use WebRTCTest qw(skip_unless_peers);

skip_unless_peers('ndc', 'ffmpeg');

my $load = "$WebRTCTest::ROOT/build/bench/whep-load";
plan skip_all => "no $load (make bench-tools)" unless -x $load;

my $T0 = time;
my $ASAN = ($ENV{WEBRTC_NGINX} // '') =~ m{/asan/} ? 1 : 0;

my $ROUNDS = 10;
my $WHIP = 450;                 # per round
my $WHEP = 550;                 # per round, 50 of each 11th
# 110 = 92 + 5 + 5 + 4 + 4: per 550, 460, 25, 25, 20 and 20
my @MIX = ((('delete') x 92), (('up-delete', 'close') x 5),
    (('silent', 'halfopen') x 4));
my %PER = (delete => 92, 'up-delete' => 5, close => 5, silent => 4,
    halfopen => 4);
my $SETUP = 2;                  # webrtc_setup_timeout, s
my $CONSENT = 12;               # webrtc_consent_timeout, s: above the
                                # publisher's (libjuice) check interval
my $MIB = 1024;                 # KiB

my $t = WebRTCTest->new(name => 'churn', workers => 2, leak_check => 1);
$t->write_conf($t->whep_conf(reuseport => 1,
    http => "webrtc_setup_timeout ${SETUP}s;\n"
        . "    webrtc_consent_timeout ${CONSENT}s;"));
$t->start;

my $h264 = $t->test_h264(size => '320x180');
my ($pub, $pub_id) = $t->spawn_publisher({ timeout => 400 }, 'ndc', 'churn',
    '--h264', $h264, '--seconds', 380, '--connect-timeout', 15);
ok($pub_id, 'publisher connected') or BAIL_OUT('no publisher');
ok($t->wait_for(sub {
    my $v = WebRTCTest::track($t->publisher('churn') // {}, 'video');
    $v && $v->{keyframes} >= 1;
}, timeout => 20), 'the stream has a keyframe');

# one whep-load churn run in the background
sub churn {
    my ($name, $n, @args) = @_;
    my $json = $t->prefix . "/clients/$name.json";
    my $c = $t->spawn_client({ timeout => 200 }, $load, '-q', '-j', $json,
        '-n', $n, '-d', 180, '-L', ($CONSENT + 1) * 1000,
        '-K', ($SETUP + 1) * 1000, @args);
    return [$c, $json, $name];
}

sub churn_result {
    my ($run) = @_;
    my ($c, $json, $name) = @$run;
    my ($rc, $out, $err) = $c->finish;
    my $r = eval {
        open my $fh, '<', $json or die "$json: $!";
        local $/;
        decode_json(scalar <$fh>);
    } // {};
    is($rc, 0, "$name: every session ended as meant")
        or diag("$name: exit $rc\n$out\n$err");
    return $r;
}

# a round: the WHIP and the WHEP churn side by side; returns the
# client's counts by kind
my %done;
sub round {
    my ($label, $rounds) = @_;
    my $t1 = time;
    my @runs = (
        churn("$label-whip", $WHIP * $rounds, '-u', $t->url('/whip/c%d'),
            '-W', '-E', 'delete', '-r', 400, '-c', 8),
        churn("$label-whep", $WHEP * $rounds, '-u', $t->url('/whep/churn'),
            '-E', join(',', @MIX), '-r', 400, '-c', 48, '-h', 100),
    );
    for my $run (@runs) {
        my $r = churn_result($run);
        my $ends = $r->{ends} // {};
        for my $k (keys %$ends) {
            my $key = ($run->[2] =~ /whip/ ? 'whip ' : 'whep ') . $k;
            $done{$key} += $ends->{$k}{ok} // 0;
        }
        note("$run->[2]: " . encode_json($r));
    }
    note(sprintf '%s: %d sessions in %.1f s', $label,
        ($WHIP + $WHEP) * $rounds, time - $t1);
}

# the registry holds the publisher alone again: every silent and
# half-open session has expired
sub wait_quiet {
    my ($label) = @_;
    my $t1 = time;
    my $st;
    my $ok = $t->wait_for(sub {
        $st = $t->status;
        $st && $st->{sessions} == 1;
    }, timeout => $CONSENT + 15, interval => 0.5);
    ok($ok, sprintf '%s: only the publisher left after %.1f s', $label,
        time - $t1)
        or diag(encode_json($st // {}));
    return $st;
}

# a worker's private anonymous memory (heap, its own mappings), KiB; the
# shared zone is RssShmem and not counted
sub anon_kb {
    my ($pid) = @_;
    open my $fh, '<', "/proc/$pid/status" or return undef;
    while (my $l = <$fh>) {
        return $1 if $l =~ /^RssAnon:\s+(\d+)\s+kB/;
    }
    return undef;
}

sub memory {
    return { map { $_ => anon_kb($_) } $t->worker_pids };
}

###############################################################################

round('first', 1);
wait_quiet('after 1,000');
sleep 1;
my $m1 = memory();
note('after 1,000: ' . join ', ', map { "worker $_: $m1->{$_} KiB" }
    sort keys %$m1);

round('rest', $ROUNDS - 1);
my $st = wait_quiet('after 10,000');
sleep 1;
my $m2 = memory();
note('after 10,000: ' . join ', ', map { "worker $_: $m2->{$_} KiB" }
    sort keys %$m2);

my $total = 0;
$total += $_ for values %done;
is($total, ($WHIP + $WHEP) * $ROUNDS, "$total sessions ended as meant");

###############################################################################

subtest 'ended, by reason' => sub {
    my $e = $st->{ended} // {};
    note(encode_json($e));
    my %n = map { $_ => $WHEP * $ROUNDS * $PER{$_} / @MIX } keys %PER;
    is($e->{deleted}, $WHIP * $ROUNDS + $n{delete} + $n{'up-delete'},
        'deleted: POST + DELETE, DTLS + DELETE');
    is($e->{'DTLS closed by peer'}, $n{close},
        "DTLS closed by peer: $n{close}");
    is($e->{'consent expired'}, $n{silent}, "consent expired: $n{silent}");
    is($e->{'no DTLS within webrtc_setup_timeout'}, $n{halfopen},
        "no DTLS within webrtc_setup_timeout: $n{halfopen}");
    my @other = grep { !/^(deleted|DTLS closed by peer|consent expired|no DTLS within webrtc_setup_timeout)$/ } keys %$e;
    is_deeply(\@other, [], 'no other reason');
};

SKIP: {
    skip 'memory under ASan: its quarantine and NGX_DEBUG_PALLOC make'
        . ' RssAnon meaningless; LeakSanitizer checks at exit', 1 if $ASAN;

    subtest 'worker memory back within 2 MiB of its level after 1,000' => sub {
        for my $pid (sort keys %$m1) {
            ok(defined $m2->{$pid}, "worker $pid still there") or next;
            cmp_ok($m2->{$pid}, '<=', $m1->{$pid} + 2 * $MIB,
                sprintf 'worker %d: %d KiB after 1,000, %d KiB after'
                . ' 10,000 (%+d KiB)', $pid, $m1->{$pid}, $m2->{$pid},
                $m2->{$pid} - $m1->{$pid});
        }
    };
}

$t->leave($pub, 'publisher');
ok($t->wait_idle(timeout => 10), 'no session left');
is($t->status->{sessions}, 0, 'the status counts 0 sessions');

# QUIT: under ASan, LeakSanitizer reports at each process's exit
$t->done;

note(sprintf 'total %.1f s', time - $T0);

done_testing;
