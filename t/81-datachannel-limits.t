#!/usr/bin/perl

# Data channels: other peers, limits and bad input, on a 2-worker nginx
# with webrtc_data_max_message 1k and webrtc_data_rate 20:
#   - node-datachannel (libdatachannel, "UDP/DTLS/SCTP webrtc-datachannel")
#     publishes a data-only stream, sends text and binary messages that an
#     SSE reader gets in order, and receives a POSTed message;
#   - aiortc data-only publishers (legacy "DTLS/SCTP 5000" offers):
#     a message over 1k is dropped (not in SSE) and counted, exactly 1k
#     passes, the channel stays up; POST over 1k is 413;
#   - a flood beyond 20 messages a second: some dropped, counted, one
#     info line in error.log, POST in that second 429, the stream works
#     again the next second; another stream is unaffected meanwhile;
#   - bad input from inside a real association (aiortc, through its own
#     SCTP and DTLS): invalid DCEP messages, a message on a stream no
#     channel was opened on, an unknown PPID, SCTP packets with a bad
#     CRC, bogus chunks, an ABORT with a wrong verification tag, random
#     bytes instead of SCTP: no crash, no alert, the channel keeps
#     working; a message on a closed channel is not delivered;
#   - nginx -s reload and -s quit with an SSE reader connected: the
#     reader's response ends cleanly, no [alert] ("open socket left").
# Not covered: an SCTP association from a peer that skips DTLS (the
# server accepts SCTP only inside an authenticated DTLS session).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use JSON::PP;
use MIME::Base64 qw(encode_base64);
use Test::More;
use Time::HiRes qw(time sleep);
use WebRTCTest qw(skip_unless_peers pid_alive send_command);

skip_unless_peers('ndc', 'aiortc');

my $T0 = time;

my $t = WebRTCTest->new(name => 'datachannel-limits', workers => 2);
$t->write_conf($t->whep_conf(reuseport => 1,
    http   => "webrtc_data_max_message 1k;\n    webrtc_data_rate 20;",
    whep   => 'webrtc_events_url /events/;',
    server => "location /events/ { webrtc_events; }"));
$t->start;

sub log_lines {
    my ($re) = @_;
    return grep { $_ =~ $re } split /\n/, $t->error_log;
}

# a data-only aiortc publisher on $stream with a control file; waits until
# its channel is open. Returns ($client, $control_file, $session_id).
sub aiortc_publisher {
    my ($stream) = @_;
    my $ctl = $t->control_file($stream);
    my ($c, $id) = $t->spawn_publisher({ until => 'datachannel open' },
        'aiortc', $stream, '--no-audio', '--no-video', '--datachannel',
        '--dc-label', 'chat', '--dc-control', $ctl, '--seconds', 80,
        '--connect-timeout', 15);
    return ($c, $ctl, $id);
}

sub data_of {
    my ($id) = @_;
    my $s = $t->session($id) or return {};
    return $s->{data} // {};
}

# wait until the n-th "dc_sent" event of a client
sub wait_sent {
    my ($c, $n) = @_;
    $t->wait_for(sub { $n <= grep { $_->{event} eq 'dc_sent' } $c->events },
        timeout => 10, interval => 0.05);
    my @s = grep { $_->{event} eq 'dc_sent' } $c->events;
    return $s[$n - 1];
}

###############################################################################
# node-datachannel

subtest 'node-datachannel publisher: messages both ways' => sub {
    my $sse = $t->sse_open('/events/ndc1');
    is($sse->status, 200, 'SSE reader on ndc1 (before the stream exists)');

    my $c = $t->spawn_client({ timeout => 60 },
        $t->client_command('ndc_dc.js', '--url', $t->url('/whip/ndc1'),
            '--label', 'chat', '--messages', 12, '--interval', 20,
            '--expect', 1, '--seconds', 2, '--connect-timeout', 15));
    my $off = $c->wait_event('offer', timeout => 15);
    is(scalar @{ $off ? $off->{media} : [] }, 1, 'the offer: one m= line');
    like($off && $off->{media}[0], qr{^application \d+ UDP/DTLS/SCTP$},
        'm=application ... UDP/DTLS/SCTP (webrtc-datachannel)')
        or diag(explain($off));
    ok($c->wait_event('open', timeout => 20), 'its "chat" channel is open')
        or diag(explain([$c->events]), $c->stderr);
    my $sent = $c->wait_event('sent', timeout => 10);
    is_deeply($sent && [@$sent{qw(count failed)}], [12, 0], 'sent 12');

    my @e = $sse->wait_events(12, timeout => 10);
    is_deeply([map { [$_->{event}, $_->{data}] } @e],
        [map { ['chat', $_ % 4 ? "ndc $_"
            : encode_base64(pack('NN', 0, $_), '')] } 1 .. 12],
        'SSE: the 12 messages in order, label chat, binary in base64');

    my $r = $t->http('POST', '/events/ndc1?label=chat',
        headers => { 'Content-Type' => 'text/plain' }, body => 'to ndc');
    is($r->{status}, 204, 'POST to ndc1: 204');
    my $m = $c->wait_event('message', timeout => 10);
    is_deeply($m && [@$m{qw(label binary data)}],
        ['chat', JSON::PP::false, 'to ndc'],
        'node-datachannel got the POSTed message on "chat"');

    my ($rc, $out, $err) = $c->finish(timeout => 20);
    is($rc, 0, 'node-datachannel exit 0 (DELETE 200)') or diag($out, $err);
    $sse->close;
};

###############################################################################
# limits

my ($p1, $ctl1, $id1) = aiortc_publisher('lim1');
my ($p2, $ctl2, $id2) = aiortc_publisher('lim2');
ok($id1 && $id2, 'two aiortc data-only publishers (lim1, lim2) connected')
    or BAIL_OUT('no publishers');
my $sse1 = $t->sse_open('/events/lim1');
my $sse2 = $t->sse_open('/events/lim2');
my $nsent1 = 0;

subtest 'webrtc_data_max_message 1k' => sub {
    my $d0 = data_of($id1);
    send_command($ctl1, { text_size => 2000 });
    send_command($ctl1, { binary_size => 1025 });
    send_command($ctl1, { binary_size => 1024, byte => 0x41 });
    send_command($ctl1, { send => 'small after big' });
    $nsent1 += 4;
    wait_sent($p1, $nsent1);

    my @e = $sse1->wait_events(2, timeout => 10);
    $sse1->poll(0.5);
    @e = $sse1->events;
    is_deeply([map { $_->{data} } @e],
        [encode_base64('A' x 1024, ''), 'small after big'],
        'SSE: the 1024-byte message and the next small one, not the two'
        . ' over 1k');
    my $d1 = $t->wait_for(sub {
        my $d = data_of($id1);
        ($d->{dropped} // 0) >= ($d0->{dropped} // 0) + 2 ? $d : undef
    }, timeout => 5);
    is(($d1 // data_of($id1))->{dropped}, ($d0->{dropped} // 0) + 2,
        'publisher status: dropped +2');
    cmp_ok(data_of($id1)->{messages_in}, '>=', 4, 'messages_in counts them');

    is($t->http('POST', '/events/lim1?label=chat',
        headers => { 'Content-Type' => 'application/octet-stream' },
        body => 'x' x 1025)->{status}, 413, 'POST of 1025 bytes: 413');
    is($t->http('POST', '/events/lim1?label=chat',
        headers => { 'Content-Type' => 'text/plain' },
        body => 'y' x 1024)->{status}, 204, 'POST of 1024 bytes: 204');
    my $m = $p1->wait_event(sub { $_[0]{event} eq 'datachannel'
        && ($_[0]{size} // 0) == 1024 }, timeout => 10);
    ok($m, 'the publisher got the 1024-byte POST');
    @e = $sse1->wait_events(3, timeout => 10);
    is($e[-1] && $e[-1]{data}, 'y' x 1024, 'SSE got it');
};

subtest 'webrtc_data_rate 20: a flood' => sub {
    my $before = $sse1->events;
    my $before2 = $sse2->events;
    my $d0 = data_of($id1);
    my $rate_re = qr/\[info\].*stream "lim1" sends more than 20 messages a second/;
    is(scalar(log_lines($rate_re)), 0, 'no rate line yet');

    sleep 1.2;      # a fresh second for the limit
    send_command($ctl1, { flood => 60, align => JSON::PP::true });
    $nsent1++;
    my $f = wait_sent($p1, $nsent1);
    ok($f && $f->{what} eq 'flood', 'aiortc sent 60 messages at once');
    # meanwhile, another stream
    send_command($ctl2, { messages => 10, interval => 0 });

    # a POST in the same second as the flood
    my $r = $t->http('POST', '/events/lim1?label=chat',
        headers => { 'Content-Type' => 'text/plain' }, body => 'posted in flood');
    my $same_second = $f && int(time) == int($f->{wall});
    SKIP: {
        skip 'the POST came after the flood\'s second', 1 unless $same_second;
        is($r->{status}, 429, 'POST in the flood\'s second: 429');
    }

    $sse1->wait_events($before + 20, timeout => 5);
    $sse1->poll(1);
    my @new = ($sse1->events)[$before .. $sse1->events - 1];
    my @flood = grep { $_->{data} =~ /^flood / } @new;
    cmp_ok(scalar @flood, '>=', 1, scalar(@flood) . ' flood messages passed');
    cmp_ok(scalar @flood, '<=', 20, 'at most 20 in that second');
    is_deeply([map { $_->{data} } @flood],
        [map { "flood $_" } 1 .. @flood], 'the first ones, in order');
    my $d1 = data_of($id1);
    is($d1->{dropped} - ($d0->{dropped} // 0), 60 - @flood,
        "publisher status: dropped +" . (60 - @flood));

    my @l = log_lines($rate_re);
    is(scalar @l, 1, 'error.log: one info line about the rate')
        or diag(join "\n", @l);

    my @e2 = $sse2->wait_events($before2 + 10, timeout => 10);
    is_deeply([map { $_->{data} } @e2[$before2 .. $#e2]],
        [map { my $m = WebRTCTest::dc_message($_);
               $m->[0] ? encode_base64($m->[1], '') : $m->[1] } 1 .. 10],
        'lim2 during the flood: its 10 messages, in order');
    is(data_of($id2)->{dropped}, 0, 'lim2: dropped 0');
    ok(!grep({ /stream "lim2" sends more than/ } split /\n/, $t->error_log),
        'no rate line for lim2');

    sleep 1.1;
    send_command($ctl1, { send => 'after the flood' });
    $nsent1++;
    my $n = $sse1->events;
    my @e = $sse1->wait_events($n + 1, timeout => 10);
    is($e[-1] && $e[-1]{data}, 'after the flood', 'lim1 works again');
    is($t->http('POST', '/events/lim1?label=chat',
        headers => { 'Content-Type' => 'text/plain' },
        body => 'posted later')->{status}, 204, 'POST: 204 again');
    @e = $sse1->wait_events($n + 2, timeout => 10);
    is($e[-1] && $e[-1]{data}, 'posted later', 'SSE got it');
};

###############################################################################
# bad input inside a real association

subtest 'invalid DCEP, stray streams, SCTP garbage: no harm' => sub {
    my $n = $sse1->events;
    my @cmds = (
        # PPID 50 (DCEP) that is no DCEP message
        { raw => '03', ppid => 50, sid => 7 },
        { raw => 'ff00000000000000', ppid => 50, sid => 7 },
        # DATA_CHANNEL_OPEN whose label length runs past the message
        { raw => '0300000000000000ffff0000' . '41' x 4, ppid => 50, sid => 9 },
        # protocol length past the end
        { raw => '03000000000000000001ffff' . '41', ppid => 50, sid => 11 },
        # an ACK for a channel nobody opened
        { raw => '02', ppid => 50, sid => 13 },
        # text on a stream with no channel
        { raw => unpack('H*', 'on no channel'), ppid => 51, sid => 15 },
        # an unknown PPID on the open channel (aiortc opened it on sid 1)
        { raw => unpack('H*', 'unknown ppid'), ppid => 99, sid => 1 },
        # SCTP: bad CRC; a chunk longer than the packet; unknown chunk
        # types (skip, skip and report); an ABORT with a wrong
        # verification tag; random bytes
        { sctp_packet => '00030010' . '00' x 12, crc => 'bad' },
        { sctp_packet => '0003400000000000' },
        { sctp_packet => '85000008deadbeef' },
        { sctp_packet => 'c5000008deadbeef' },
        { sctp_packet => '06000004', vtag => 'wrong' },
        { garbage => 300 },
        { garbage => 1 },
    );
    send_command($ctl1, $_) for @cmds;
    $nsent1 += @cmds;
    my $last = wait_sent($p1, $nsent1);
    ok($last, 'aiortc sent the ' . scalar(@cmds) . ' bad inputs')
        or diag(explain([grep { $_->{event} =~ /dc_sent|error/ } $p1->events]));

    sleep 0.5;
    send_command($ctl1, { send => 'still alive' });
    $nsent1++;
    my @e = $sse1->wait_events($n + 1, timeout => 10);
    $sse1->poll(0.5);
    @e = $sse1->events;
    is_deeply([map { $_->{data} } @e[$n .. $#e]], ['still alive'],
        'SSE: only the next real message (nothing from the stray streams)');
    ok(!grep({ $_->{event} eq 'disconnected' } $p1->events),
        'the publisher is still connected');
    is($t->session($id1) && $t->session($id1)->{state}, 'connected',
        'status: session connected');
    cmp_ok(scalar(log_lines(qr/\[info\].*invalid DCEP message dropped/)),
        '>=', 1, 'error.log: "invalid DCEP message dropped" at info');
    is(data_of($id1)->{channels}, 1, 'status: still one channel');

    # POST still reaches the publisher
    is($t->http('POST', '/events/lim1?label=chat',
        headers => { 'Content-Type' => 'text/plain' },
        body => 'after garbage')->{status}, 204, 'POST: 204');
    ok($p1->wait_event(sub { $_[0]{event} eq 'datachannel'
        && ($_[0]{data} // '') eq 'after garbage' }, timeout => 10),
        'the publisher got it');
};

subtest 'a closed channel' => sub {
    send_command($ctl1, { close_channel => 'chat' });
    $nsent1++;
    wait_sent($p1, $nsent1);
    ok($t->wait_for(sub { (data_of($id1)->{channels} // 1) == 0 },
        timeout => 5), 'status: channels 0 after the peer closed it');
    # a new channel with another label works
    my $n = $sse1->events;
    send_command($ctl1, { send => 'on a new channel', label => 'chat2' });
    $nsent1++;
    my @e = $sse1->wait_events($n + 1, timeout => 10);
    is_deeply($e[-1] && [@{ $e[-1] }{qw(event data)}],
        ['chat2', 'on a new channel'], 'a new channel "chat2" works');
};

# last: a protocol violation (a chunk whose length is below its own
# header's, valid CRC and tag). usrsctp may end this peer's association
# for it; what matters is that nothing else is hurt.
subtest 'an SCTP protocol violation: only that peer is affected' => sub {
    send_command($ctl1, { sctp_packet => '00000002' });
    $nsent1++;
    ok(wait_sent($p1, $nsent1), 'aiortc sent a chunk of length 2');
    sleep 1;
    my @w = $t->worker_pids;
    is(scalar @w, 2, 'two workers still');
    is($t->session($id1) && $t->session($id1)->{state}, 'connected',
        'lim1 session still listed, connected');
    my $n = $sse2->events;
    send_command($ctl2, { send => 'lim2 after the violation' });
    my @e = $sse2->wait_events($n + 1, timeout => 10);
    is($e[-1] && $e[-1]{data}, 'lim2 after the violation',
        'lim2 keeps working');
    # is lim1's association still up? (informational)
    my $m = $sse1->events;
    send_command($ctl1, { send => 'lim1 after the violation' });
    $nsent1++;
    $sse1->wait_events($m + 1, timeout => 3);
    note('lim1 channel after the violation: ' . ($sse1->events > $m
        ? 'still works' : 'ended (usrsctp aborted the association)'));
};

$t->leave($p1, 'publisher lim1');
$t->leave($p2, 'publisher lim2');
$sse1->close;
$sse2->close;
ok($t->wait_idle, 'no session left');

$t->done;

###############################################################################
# reload and quit with an SSE reader connected

subtest 'reload and quit with an SSE reader' => sub {
    my $q = WebRTCTest->new(name => 'sse-shutdown', workers => 1);
    $q->write_conf($q->default_conf(
        server => 'location /events/ { webrtc_events; }'));
    $q->start;

    # the stream exists once it has a publisher (no media needed)
    my $r = $q->http('POST', '/whip/q1',
        headers => { 'Content-Type' => 'application/sdp' },
        body => WebRTCTest::test_offer('chromium'));
    is($r->{status}, 201, 'a publisher makes stream q1');

    my $s1 = $q->sse_open('/events/q1');
    is($s1->status, 200, 'SSE reader connected');
    my ($w) = $q->worker_pids;
    ok($q->reload, 'reload');
    $q->wait_for(sub { !pid_alive($w) }, timeout => 5);
    $s1->poll(1);
    my @alerts = grep { /\[alert\]/ } split /\n/, $q->error_log;
    is(scalar @alerts, 0, 'reload: no [alert] (the old worker ends the'
        . ' event stream before it exits)') or diag(join "\n", @alerts);
    ok(!pid_alive($w) ? $s1->eof : 1,
        'the reader of the old worker saw its response end');

    my $s2 = $q->sse_open('/events/q1');
    is($s2->status, 200, 'a new reader after the reload');
    $r = $q->http('POST', '/events/q1?label=x',
        headers => { 'Content-Type' => 'text/plain' }, body => 'hi');
    is($r->{status}, 204, 'POST: 204');
    my @e = $s2->wait_events(1, timeout => 5);
    is($e[0] && $e[0]{data}, 'hi', 'it gets messages');

    $q->stop;
    $s2->poll(1);
    ok($s2->eof, 'quit: the response ended');
    @alerts = grep { /\[alert\]/ } split /\n/, $q->error_log;
    is(scalar @alerts, 0, 'quit: no [alert]') or diag(join "\n", @alerts);
    $s1->close;
    $s2->close;
    $q->done;
};

###############################################################################
# event streams of streams that do not exist: no shared memory, a cap

subtest 'event streams of unknown streams cost no shared memory' => sub {
    my $z = WebRTCTest->new(name => 'sse-unknown', workers => 1);
    $z->write_conf($z->default_conf(
        http   => "webrtc_zone_size 16m;\n    webrtc_events_max_clients 30;"
            . "\n    webrtc_data_rate 0;",
        server => 'location /events/ { webrtc_events; }'));
    $z->start;

    # a stream costs about 4 MiB of the zone: 16m holds a few, not 29
    my @w = map { $z->sse_open("/events/nobody$_") } 1 .. 29;
    is(scalar(grep { $_->status == 200 } @w), 29,
        '29 event streams of unknown streams: all 200 (they wait)');

    my $sdp = { 'Content-Type' => 'application/sdp' };
    my $r = $z->http('POST', '/whip/real1', headers => $sdp,
        body => WebRTCTest::test_offer('chromium'));
    is($r->{status}, 201, 'a publisher still gets 201: the zone is free');

    my $over = $z->sse_open('/events/nobody-more');
    my $last = $z->sse_open('/events/nobody-last');
    is($over->status, 200, 'the 30th event stream: 200');
    is($last->status, 503, 'the 31st: 503 (webrtc_events_max_clients 30)');
    $_->close for $over, $last;

    # a waiting reader gets the stream's messages once it appears
    my $early = $w[0];
    $r = $z->http('POST', '/whip/nobody1', headers => $sdp,
        body => WebRTCTest::test_offer('chromium'));
    is($r->{status}, 201, 'stream nobody1 gets a publisher');
    $r = $z->http('POST', '/events/nobody1?label=x',
        headers => { 'Content-Type' => 'text/plain' }, body => 'first');
    is($r->{status}, 204, 'a message into it: 204');
    my @e = $early->wait_events(1, timeout => 5);
    is($e[0] && $e[0]{data}, 'first',
        'the reader that waited gets it (within the 1 s poll)');

    # a client's memory stays one buffer however many messages it gets
    my ($wpid) = $z->worker_pids;
    my $rss = sub {
        open my $fh, '<', "/proc/$wpid/status" or return 0;
        my ($kb) = join('', <$fh>) =~ /^VmRSS:\s+(\d+)/m;
        return $kb // 0;
    };
    my $before = $rss->();
    my $n = 400;
    for my $i (1 .. $n) {
        $z->http('POST', '/events/nobody1?label=x',
            headers => { 'Content-Type' => 'text/plain' },
            body => "m$i " . ('x' x 1000));
    }
    @e = $early->wait_events(1 + $n, timeout => 20);
    is(scalar @e, 1 + $n, "$n more messages delivered, none lost");
    my $grew = $rss->() - $before;
    cmp_ok($grew, '<', 4096,
        "worker RSS after $n messages to one client: +$grew KiB (< 4 MiB)");

    is($z->http('POST', '/events/nobody2?label=x',
        headers => { 'Content-Type' => 'text/plain' }, body => 'x')->{status},
        404, 'POST to a stream that does not exist: 404');

    $_->close for @w;
    $z->done;
};

note(sprintf 'total %.1f s', time - $T0);

done_testing;
