#!/usr/bin/perl

# Cascading, the pull (webrtc_pull): an origin with an aiortc publisher
# and two edges whose WHEP locations pull from it.
#   - aiortc viewers on both edges decode frames; the first viewer of an
#     edge waits for the pull and gets its 201 once the origin answered;
#   - the origin's status lists exactly one pull session (a viewer with
#     the cascading User-Agent) per edge, however many viewers the edges
#     have and however many workers took their POSTs;
#   - a second publisher takes over on the origin (after
#     webrtc_takeover_idle): the edges' viewers keep their sessions and
#     decode frames again;
#   - after webrtc_pull_idle without viewers an edge stops its pull and
#     DELETEs its session on the origin;
#   - an edge whose origin is down answers 503 with Retry-After at once.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use IO::Socket::INET;
use IO::Select;
use Time::HiRes qw(time sleep);
use WebRTCTest qw(skip_unless_peers test_offer);

skip_unless_peers('aiortc');

my $UA = 'nginx-webrtc-cascade';

my $o = WebRTCTest->new(name => 'cascade-origin', workers => 2);
$o->write_conf($o->whep_conf(reuseport => 1,
    http => 'webrtc_takeover_idle 1s; webrtc_consent_timeout 10s;',
    server => 'location /events/ { webrtc_events; }'));
$o->start;

my $op = $o->http_port;
my @edges;

for my $n (1, 2) {
    my $e = WebRTCTest->new(name => "cascade-edge$n", workers => 2);
    $e->write_conf($e->whep_conf(reuseport => 1,
        whep => "webrtc_pull http://127.0.0.1:$op/whep/; "
                . 'webrtc_pull_idle 4s; webrtc_cascade_timeout 3s;',
        server => 'location /events/ { webrtc_events; }'));
    $e->start;
    push @edges, $e;
}

# the origin's viewers of cam1 that are edges' pulls
sub pulls {
    return grep { ($_->{user_agent} // '') eq $UA } $o->viewers('cam1');
}

my ($pub, $pub_id) = $o->spawn_publisher('aiortc', 'cam1', '--seconds', 200,
    '--video-codec', 'vp8', '--keyframe-interval', 1);
ok($pub_id, 'aiortc publishes to the origin') or BAIL_OUT('no publisher');
$o->check_media('cam1', audio => 'opus', video => qr/vp8/i, timeout => 20,
    name => 'origin publisher');

###############################################################################
# viewers on both edges

my @viewers;    # [ edge index, client, id ]
my %join;       # first frame after the first POST, s

for my $i (0, 1) {
    my $e = $edges[$i];
    my $t0 = time;
    my ($c, $id, $ff) = $e->spawn_viewer({ timeout => 150, wait => 40 },
        'aiortc', 'cam1', '--seconds', 120, '--connect-timeout', 20,
        '--frame-timeout', 20, '--max-retries', 0);
    ok($id, sprintf 'edge %d: the first viewer decodes a frame %.2f s after '
       . 'its POST', $i + 1, $ff && $ff->{t_play} // -1)
        or diag($e->error_log);
    push @viewers, [$i, $c, $id];
    $join{first} //= $ff && $ff->{t_play};
}

for my $i (0, 1) {
    my $e = $edges[$i];
    # a second viewer: the stream is live on the edge now
    my ($c, $id, $ff) = $e->spawn_viewer({ timeout => 150, wait => 30 },
        'aiortc', 'cam1', '--seconds', 120, '--frame-timeout', 15,
        '--max-retries', 0);
    ok($id, sprintf 'edge %d: a second viewer decodes a frame', $i + 1);
    push @viewers, [$i, $c, $id];
    $join{next} //= $ff && $ff->{t_play};
}

# figures for the README: join times through an edge and direct, and the
# CPU of the edge worker that holds the pull (and its share of viewers)
{
    my ($c, $id, $ff) = $o->spawn_viewer({ timeout => 60, wait => 30 },
        'aiortc', 'cam1', '--seconds', 5, '--frame-timeout', 15);
    $join{direct} = $ff && $ff->{t_play};
    $c->kill;
    note(sprintf 'first frame after the POST: direct %.2f s; through an '
         . 'edge, the viewer that starts the pull %.2f s, the next %.2f s',
         map { $join{$_} // -1 } qw(direct first next));

    my $p = $edges[0]->publisher('cam1');
    my $pid = $p && $p->{worker};
    my $ticks = sub {
        open my $fh, '<', "/proc/$_[0]/stat" or return 0;
        my @f = split / /, (split /\) /, <$fh>)[1];
        return $f[11] + $f[12];
    };
    if ($pid) {
        my $n = grep { $_->{worker} && $_->{worker} == $pid }
            $edges[0]->viewers('cam1');
        my $t0 = $ticks->($pid);
        sleep 5;
        my $t1 = $ticks->($pid);
        note(sprintf 'edge 1 worker %d (the pull and %d viewers): %.1f %% '
             . 'of a core over 5 s', $pid, $n, ($t1 - $t0) / 5);
    }
}

for my $v (@viewers) {
    my ($i, $c, $id) = @$v;
    $edges[$i]->check_viewer('cam1', $id, audio => 'opus', video => 'vp8',
        name => sprintf 'edge %d viewer', $i + 1);
}

{
    my @p = pulls();
    is(scalar @p, 2, 'the origin sees one pull session per edge')
        or diag(explain([$o->viewers('cam1')]));
    my %remote = map { ($_->{remote} // '') => 1 } @p;
    is(scalar keys %remote, 2, 'from two addresses: ' . join ' ',
       sort keys %remote);
}

# on the edge the pull is the stream's publisher, and its state is listed
for my $i (0, 1) {
    my $st = $edges[$i]->status;
    my $p = $edges[$i]->publisher('cam1', $st);
    is($p && $p->{user_agent}, 'nginx-webrtc-pull',
       sprintf 'edge %d: the publisher of cam1 is the pull', $i + 1);
    my @c = grep { $_->{stream} eq 'cam1' } @{ $st->{cascade} || [] };
    ok(@c == 1 && $c[0]{kind} eq 'pull' && $c[0]{state} eq 'connected'
       && $c[0]{url} eq "http://127.0.0.1:$op/whep/cam1"
       && $c[0]{attempts} >= 1,
       sprintf 'edge %d: status "cascade": the pull, connected', $i + 1)
        or diag(explain($st->{cascade}));
}

###############################################################################
# data channel messages of the origin's stream reach the edges' readers

{
    my @sse = map { $_->sse_open('/events/cam1') } @edges;
    sleep 0.5;
    my $r = $o->http('POST', '/events/cam1?label=chat',
        body => 'hello edges', headers => { 'Content-Type' => 'text/plain' });
    ok($r->{status} >= 200 && $r->{status} < 300,
       "a message POSTed to the origin: $r->{status}");
    for my $i (0, 1) {
        my @ev = $sse[$i]->wait_events(1, timeout => 10);
        ok(@ev && $ev[0]{event} eq 'chat' && $ev[0]{data} eq 'hello edges',
           sprintf 'edge %d: an event-stream reader gets it through the '
           . 'pull', $i + 1) or diag(explain(\@ev));
        $sse[$i]->close;
    }
}

###############################################################################
# the origin's publisher replaced: the edges' viewers stay

{
    $pub->signal('STOP');
    sleep 2;
    my ($pub2, $pub2_id) = $o->spawn_publisher('aiortc', 'cam1',
        '--seconds', 200, '--video-codec', 'vp8', '--keyframe-interval', 1);
    ok($pub2_id, 'a second publisher takes over on the origin');
    $pub->kill;
    $pub = $pub2;

    for my $v (@viewers) {
        my ($i, $c, $id) = @$v;
        my @s = $c->next_events('stats', 2, timeout => 15, interval => 0.2);
        my $a = $s[0];
        my @later = $c->next_events('stats', 3, timeout => 15,
                                    interval => 0.2);
        my $b = $later[-1];
        ok($a && $b && $b->{video_frames} > $a->{video_frames},
           sprintf 'edge %d viewer %s keeps decoding after the takeover '
           . '(%s -> %s frames)', $i + 1, substr($id // '', 0, 8),
           $a && $a->{video_frames} // '-', $b && $b->{video_frames} // '-');
        ok($edges[$i]->session($id), 'and keeps its session');
    }

    is(scalar(pulls()), 2, 'still one pull per edge on the origin');
}

###############################################################################
# many viewers at once for a stream the edge does not have yet: every one
# waits for the one pull and gets 201 (none a 404 or 409), on both workers

# POSTs of an offer sent at once, one connection each: the statuses
sub parallel_post {
    my ($port, $path, $n, $timeout) = @_;
    my $offer = test_offer('chromium-recvonly');
    my $sel = IO::Select->new;
    my (%buf, @status);
    for my $i (1 .. $n) {
        my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
                                      Proto => 'tcp', Timeout => 5) or next;
        $s->autoflush(1);
        print {$s} "POST $path HTTP/1.1\r\nHost: edge\r\n"
            . "Content-Type: application/sdp\r\nConnection: close\r\n"
            . 'Content-Length: ' . length($offer) . "\r\n\r\n$offer";
        $sel->add($s);
        $buf{fileno $s} = '';
    }
    my $t0 = time;
    while ($sel->count && time - $t0 < $timeout) {
        for my $s ($sel->can_read(0.05)) {
            my $k = sysread($s, my $b, 65536);
            if ($k) {
                $buf{fileno $s} .= $b;
                next;
            }
            push @status, $buf{fileno $s} =~ m{^HTTP/1\.\d (\d+)}
                ? $1 : 'none';
            $sel->remove($s);
            close $s;
        }
    }
    push @status, ('timeout') x $sel->count;
    return @status;
}

{
    my ($p2) = $o->spawn_publisher('aiortc', 'cam2', '--seconds', 60,
        '--video-codec', 'vp8');
    ok($o->wait_for(sub { $o->publisher('cam2') }, timeout => 15),
       'the origin has a second stream, cam2');
    my $t0 = time;
    my @st = parallel_post($edges[0]->http_port, '/whep/cam2', 12, 10);
    my %n;
    $n{$_}++ for @st;
    is_deeply(\%n, { 201 => 12 }, sprintf '12 POSTs at once for cam2 on '
              . 'edge 1: all 201 within %.2f s', time - $t0)
        or diag(explain(\%n));
    my @p = grep { ($_->{user_agent} // '') eq $UA } $o->viewers('cam2');
    is(scalar @p, 1, 'one pull of cam2 on the origin');
    $p2->kill;
}

###############################################################################
# the origin restarts: the edges pull again (backoff), their viewers stay

{
    $pub->kill;
    $o->stop;
    sleep 2;
    $o->start;
    my ($pub3, $pub3_id) = $o->spawn_publisher('aiortc', 'cam1',
        '--seconds', 200, '--video-codec', 'vp8', '--keyframe-interval', 1);
    ok($pub3_id, 'the restarted origin has a publisher again');
    $pub = $pub3;

    ok($o->wait_for(sub { pulls() == 2 }, timeout => 40),
       'both edges pull from the restarted origin');

    for my $v (@viewers) {
        my ($i, $c, $id) = @$v;
        my @s = $c->next_events('stats', 1, timeout => 15, interval => 0.2);
        my $a = $s[0];
        my @later = $c->next_events('stats', 3, timeout => 15,
                                    interval => 0.2);
        my $b = $later[-1];
        ok($a && $b && $b->{video_frames} > $a->{video_frames},
           sprintf 'edge %d viewer %s decodes again after the origin\'s '
           . 'restart (%s -> %s frames)', $i + 1, substr($id // '', 0, 8),
           $a && $a->{video_frames} // '-', $b && $b->{video_frames} // '-');
    }
}

###############################################################################
# the edge worker holding the pull dies (SIGKILL): the other worker takes
# the pull over for its viewers

{
    my $e = $edges[0];
    my $p = $e->publisher('cam1');
    my $pw = $p && $p->{worker};
    my $sid = sub { my $v = $_[0]; $e->session($v->[2]) };
    my ($other) = grep { $_->[0] == 0 && ($sid->($_) // {})->{worker}
                         && $sid->($_)->{worker} != $pw } @viewers;
    for my $try (1 .. 6) {
        last if $other;
        my ($c, $id) = $e->spawn_viewer({ timeout => 150, wait => 30 },
            'aiortc', 'cam1', '--seconds', 120, '--frame-timeout', 15);
        next unless $id;
        my $v = [0, $c, $id];
        push @viewers, $v;
        my $s = $e->wait_session($id);
        $other = $v if $s && $s->{worker} != $pw;
    }
    ok($pw && $other, "edge 1: a viewer on the worker that does not pull "
       . '(the pull in ' . ($pw // 'none') . ')');

    if ($pw && $other) {
        kill 'KILL', $pw;
        # its viewers are gone with it
        for my $v (grep { $_->[0] == 0 } @viewers) {
            my $s = $e->session($v->[2]);
            next if $v == $other;
            if (!$s || ($s->{worker} // 0) == $pw) {
                $v->[1]->kill;
                $v->[3] = 'gone';
            }
        }
        @viewers = grep { !$_->[3] } @viewers;

        my $np = $e->wait_for(sub {
            my $q = $e->publisher('cam1');
            return $q && $q->{worker} != $pw
                   && ($q->{state} // '') eq 'connected' ? $q : undef;
        }, timeout => 15);
        ok($np, 'edge 1: the pull is taken over by worker '
           . ($np ? $np->{worker} : 'none'));
        my $c = $other->[1];
        my @s = $c->next_events('stats', 1, timeout => 15, interval => 0.2);
        my @later = $c->next_events('stats', 3, timeout => 15,
                                    interval => 0.2);
        ok(@s && @later && $later[-1]{video_frames} > $s[0]{video_frames},
           'its viewer decodes again (' . ($s[0] && $s[0]{video_frames} // '-')
           . ' -> ' . ($later[-1] && $later[-1]{video_frames} // '-') . ')');
        # the dead worker's session on the origin cannot be DELETEd: it
        # ends with its consent
        ok($o->wait_for(sub { pulls() == 2 }, timeout => 15),
           'one pull per edge on the origin again, once the dead worker\'s '
           . 'session lost its consent');
    }
}

###############################################################################
# no viewers: the pull stops and DELETEs its origin session

for my $v (@viewers) {
    my ($i, $c) = @$v;
    $edges[$i]->leave($c, sprintf 'edge %d viewer', $i + 1);
}

ok($o->wait_for(sub { !pulls() }, timeout => 15),
   'no pull session on the origin once the edges are idle');
for my $i (0, 1) {
    ok($edges[$i]->wait_for(sub { !$edges[$i]->publisher('cam1') },
       timeout => 10), sprintf 'edge %d: the pull is gone', $i + 1);
}

###############################################################################
# a stream the origin does not have, and an origin that is down

{
    my $r = $edges[0]->http('POST', '/whep/nosuch',
        body => test_offer('chromium-recvonly'),
        headers => { 'Content-Type' => 'application/sdp' });
    is($r->{status}, 409, 'a stream the origin does not publish: 409');
    like($r->{headers}{'retry-after'} // '', qr/^\d+$/, 'with Retry-After');
}

$o->done;

{
    my $t0 = time;
    my $r = $edges[1]->http('POST', '/whep/cam1',
        body => test_offer('chromium-recvonly'),
        headers => { 'Content-Type' => 'application/sdp' });
    my $dt = time - $t0;
    is($r->{status}, 503, sprintf 'origin down: 503 in %.2f s', $dt);
    like($r->{headers}{'retry-after'} // '', qr/^\d+$/, 'with Retry-After');
    cmp_ok($dt, '<', 5, 'no hang');
}

# the master logs the killed worker at alert ("exited on signal 9")
$_->done(allow => qr/worker process \d+ exited on signal 9\b/) for @edges;
done_testing();
