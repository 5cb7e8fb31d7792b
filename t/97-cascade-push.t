#!/usr/bin/perl

# Cascading, the push (webrtc_push): a stream published to instance A is
# forwarded to instance B's WHIP endpoint.
#   - an aiortc viewer on B decodes the frames of the publisher on A;
#   - A's status lists the push as a connected viewer of the stream
#     (User-Agent nginx-webrtc-push) sending packets; B's status lists it
#     as the stream's publisher (User-Agent nginx-webrtc-cascade);
#   - B restarted: the push reconnects (backoff) and a viewer on the new
#     B decodes again;
#   - the publisher on A leaves: the push DELETEs its session on B.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes qw(time sleep);
use WebRTCTest qw(skip_unless_peers);

skip_unless_peers('aiortc');

my $b = WebRTCTest->new(name => 'push-b', workers => 2);
$b->write_conf($b->whep_conf(reuseport => 1,
    server => 'location /events/ { webrtc_events; }'));
$b->start;

my $bp = $b->http_port;

my $a = WebRTCTest->new(name => 'push-a', workers => 2);
$a->write_conf($a->whep_conf(reuseport => 1,
    whip => "webrtc_push http://127.0.0.1:$bp/whip/;",
    server => 'location /events/ { webrtc_events; }'));
$a->start;

sub pushes {
    return grep { ($_->{user_agent} // '') eq 'nginx-webrtc-push' }
        $a->viewers('cam1');
}

my ($pub, $pub_id) = $a->spawn_publisher('aiortc', 'cam1', '--seconds', 200,
    '--video-codec', 'vp8', '--keyframe-interval', 1);
ok($pub_id, 'aiortc publishes to A') or BAIL_OUT('no publisher');

my $bpub = $b->wait_for(sub {
    my $p = $b->publisher('cam1');
    return $p && ($p->{state} // '') eq 'connected' ? $p : undef;
}, timeout => 15);
ok($bpub, 'B has a connected publisher of cam1');
is($bpub && $bpub->{user_agent}, 'nginx-webrtc-cascade',
   "B's publisher is A's push");

my ($v, $vid) = $b->spawn_viewer({ timeout => 120, wait => 30 }, 'aiortc',
    'cam1', '--seconds', 100, '--frame-timeout', 20);
ok($vid, 'a viewer on B decodes a frame');
$b->check_viewer('cam1', $vid, audio => 'opus', video => 'vp8',
    name => 'viewer on B');

{
    my $st = $a->status;
    my @c = grep { $_->{stream} eq 'cam1' } @{ $st->{cascade} || [] };
    ok(@c == 1 && $c[0]{kind} eq 'push' && $c[0]{state} eq 'connected'
       && $c[0]{url} eq "http://127.0.0.1:$bp/whip/cam1"
       && $c[0]{attempts} == 1,
       'A\'s status "cascade": the push, connected at the first attempt')
        or diag(explain($st->{cascade}));
}

my @p = pushes();
is(scalar @p, 1, "A's status lists one push of cam1");
$a->check_viewer('cam1', $p[0]{id}, audio => 'opus', video => 'vp8',
    name => 'the push on A') if @p;

# a data channel message of A's stream reaches B's readers

{
    my $sse = $b->sse_open('/events/cam1');
    sleep 0.5;
    my $r = $a->http('POST', '/events/cam1?label=chat',
        body => 'hello B', headers => { 'Content-Type' => 'text/plain' });
    is($r->{status}, 204, 'a message POSTed to A');
    my @ev = $sse->wait_events(1, timeout => 10);
    ok(@ev && $ev[0]{event} eq 'chat' && $ev[0]{data} eq 'hello B',
       "B's event-stream reader gets it through the push")
        or diag(explain(\@ev));
    $sse->close;
}

# B restarted: the push comes back

$v->kill;
$b->stop;
sleep 1;
$b->start;

$bpub = $b->wait_for(sub {
    my $p = $b->publisher('cam1');
    return $p && ($p->{state} // '') eq 'connected' ? $p : undef;
}, timeout => 30);
ok($bpub, 'after B restarted, the push publishes to it again');
{
    my $st = $a->status;
    my ($c) = grep { $_->{stream} eq 'cam1' } @{ $st->{cascade} || [] };
    cmp_ok($c && $c->{attempts} // 0, '>', 1,
           'the push reconnected after ' . ($c && $c->{attempts} // 0)
           . ' attempts');
}

($v, $vid) = $b->spawn_viewer({ timeout => 120, wait => 30 }, 'aiortc',
    'cam1', '--seconds', 100, '--frame-timeout', 20);
ok($vid, 'a viewer on the new B decodes a frame');

# the publisher leaves: the push ends and DELETEs its session on B

$a->leave($pub, 'publisher on A');
ok($b->wait_for(sub { !$b->publisher('cam1') }, timeout => 10),
   "the push's session on B is gone");
ok($a->wait_for(sub { !pushes() }, timeout => 10), 'and the push on A');
ok(!@{ $a->status->{cascade} || [] }, "A's status lists no push");

$v->kill;
$a->done;
$b->done;
done_testing();
