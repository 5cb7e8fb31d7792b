#!/usr/bin/perl

# Data channels end to end, with real peers on a 2-worker nginx:
#   - an aiortc publisher with a "chat" channel sends a numbered sequence
#     of text (UTF-8, multi-line, empty) and binary messages; Chromium
#     viewers on html/watch.html, on BOTH workers, get all of them in
#     order on their "chat" channel (window.chatLog; binary shown as
#     "[binary N bytes]"), and so does a Server-Sent Events reader
#     (event: = the label, binary in base64, one id per message);
#   - the WHEP 201 carries the server-sent-events Link;
#   - webrtc_data_from_viewers all: a viewer's message reaches the
#     publisher, the other viewers and SSE, never its sender;
#     webrtc_data_from_viewers publisher: the publisher and SSE, no viewer;
#     off (the default): nowhere, counted as dropped;
#   - POST /events/<stream> (text and binary) reaches the publisher, the
#     viewers and SSE; 404 for an unknown stream, 413 over the size limit;
#   - Last-Event-ID resumes with exactly the messages after that id;
#   - /webrtc/status counts the messages of each session;
#   - a POST on a label nobody has: the server opens a channel of that
#     name to the publisher and to each viewer.
# The pages (publish.html, events.html) are in 81-datachannel-pages.t,
# limits and node-datachannel in 81-datachannel-limits.t.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Encode qw(encode_utf8);
use JSON::PP;
use MIME::Base64 qw(decode_base64 encode_base64);
use Test::More;
use Time::HiRes qw(time sleep);
use WebRTCTest qw(skip_unless_peers test_offer send_command);

skip_unless_peers('chromium', 'aiortc');

my $T0 = time;
my $N = 20;                 # messages of the publisher's sequence
my $STREAM = 'chat1';

my $t = WebRTCTest->new(name => 'datachannel', workers => 2);
# keepalive_timeout 0: every request of a page opens a new connection, so
# with reuseport the WHEP POSTs of one browser land on both workers
$t->write_conf($t->whep_conf(reuseport => 1,
    http   => 'include /etc/nginx/mime.types;',
    whep   => 'webrtc_data_from_viewers all; webrtc_events_url /events/;',
    server => <<'EOF'));
        keepalive_timeout 0;

        location /whep-pub/ {
            webrtc_whep;
            webrtc_data_from_viewers publisher;
            webrtc_events_url /events/;
        }

        location /whep-off/ {
            webrtc_whep;    # webrtc_data_from_viewers: the default, off
        }

        location /events/ {
            webrtc_events;
        }
EOF
$t->start;

my %workers = map { $_ => 1 } $t->worker_pids;
is(scalar keys %workers, 2, 'two workers');

###############################################################################
# helpers

# the expected sequence as {binary, bytes}
sub expected {
    my ($from, $to) = @_;
    return map { my $m = WebRTCTest::dc_message($_);
                 +{ k => $_, binary => $m->[0], bytes => $m->[1] } }
        $from .. $to;
}

# what a message is, as bytes: [binary, bytes]; $utf8: the client's JSON
# came through Python's json.dumps (non-ASCII escaped: decode gives
# characters); node's JSON gives the UTF-8 bytes as they are
sub got_bytes {
    my ($e, $python) = @_;
    return [1, decode_base64($e->{data} // '')] if $e->{binary};
    my $d = $e->{data} // '';
    return [0, $python ? encode_utf8($d) : $d];
}

sub show {
    my ($m) = @_;
    my ($bin, $b) = @$m;
    return $bin ? sprintf('[binary %d bytes %s]', length $b,
        unpack('H16', $b)) : JSON::PP->new->allow_nonref->encode($b);
}

# compares received [binary, bytes] with expected {binary, bytes}, in order
sub same_sequence {
    my ($label, $got, $want) = @_;
    my @g = map { show($_) } @$got;
    my @w = map { show([$_->{binary}, $_->{bytes}]) } @$want;
    is_deeply(\@g, \@w, $label) or diag(explain({ got => \@g, want => \@w }));
}

# chat events of one tab of a chromium_chat client
sub chats {
    my ($c, $page) = @_;
    return grep { $_->{event} eq 'chat' && $_->{page} == $page } $c->events;
}

sub wait_chats {
    my ($c, $page, $n, $timeout) = @_;
    $t->wait_for(sub { chats($c, $page) >= $n }, timeout => $timeout // 10,
        interval => 0.1);
    return chats($c, $page);
}

# messages the aiortc publisher received
sub pub_messages {
    my ($p) = @_;
    return grep { $_->{event} eq 'datachannel' && exists $_->{data} }
        $p->events;
}


###############################################################################
# the publisher, an SSE reader, the WHEP Link

my $pctl = $t->control_file('publisher');
my ($pub, $pub_id) = $t->spawn_publisher(
    { timeout => 120, until => 'datachannel open' }, 'aiortc', $STREAM,
    '--datachannel', '--dc-label', 'chat', '--dc-control', $pctl,
    '--video-size', '160x120', '--seconds', 100, '--connect-timeout', 15);
ok($pub_id, 'aiortc publisher connected, its "chat" channel is open');

# SSE before any message
my $sse = $t->sse_open("/events/$STREAM");
is($sse->status, 200, 'GET /events/chat1: 200');
like($sse->header('Content-Type') // '', qr{^text/event-stream},
    'Content-Type: text/event-stream');

subtest 'the WHEP 201 links to the events' => sub {
    my $offer = test_offer('chromium-recvonly');
    for my $loc ('/whep/', '/whep-pub/') {
        my $r = $t->http('POST', "$loc$STREAM", body => $offer,
            headers => { 'Content-Type' => 'application/sdp' });
        is($r->{status}, 201, "POST $loc$STREAM: 201") or diag($r->{body});
        my @sse = grep { /server-sent-events/ } $t->header_values($r, 'link');
        is_deeply(\@sse, ["</events/$STREAM>; "
            . 'rel="urn:ietf:params:whep:ext:core:server-sent-events"'],
            'Link: </events/chat1>; rel="urn:ietf:params:whep:ext:core:'
            . 'server-sent-events"');
        my $d = $t->http('DELETE', $r->{headers}{location})
            if $r->{headers}{location};
        is($d && $d->{status}, 200, 'DELETE the probe viewer');
    }
};

###############################################################################
# Chromium viewers until both workers have one

my $cctl = $t->control_file('viewers');
my $view = $t->spawn_client({ timeout => 150 },
    $t->client_command('chromium_chat.js', '--base', $t->url('/'),
        '--stream', $STREAM, '--pages', 2, '--control', $cctl,
        '--timeout', 25, '--seconds', 120));

my %tab;        # page -> {id, worker}
sub refresh_tabs {
    my $st = $t->status or return;
    my %w = map { $_->{id} => $_->{worker} } $t->viewers($STREAM, $st);
    for my $e (grep { $_->{event} eq 'connected' } $view->events) {
        my $id = $t->session_id($e->{location});
        $tab{ $e->{page} } = { id => $id, worker => $w{$id},
            eventsUrl => $e->{eventsUrl} };
    }
}

# the tabs that are up (chat open), or undef after an error
sub tabs_up {
    my @e = $view->events;
    return undef if grep { $_->{event} eq 'error' } @e;
    return scalar grep { $_->{event} eq 'chat_open' } @e;
}

my $up = $t->wait_for(sub { my $n = tabs_up(); !defined $n || $n >= 2 },
    timeout => 60);
ok(tabs_up() && tabs_up() >= 2, 'two viewer tabs connected, chat open')
    or diag(explain([$view->events]), $view->stderr);

my $opened = 2;
for (1 .. 6) {
    refresh_tabs();
    my %seen = map { ($_->{worker} // 0) => 1 } values %tab;
    last if 2 <= grep { $workers{$_} } keys %seen;
    send_command($cctl, { cmd => 'open' });
    $opened++;
    $t->wait_for(sub { my $n = tabs_up(); !defined $n || $n >= $opened },
        timeout => 30);
}
refresh_tabs();
my @pages = sort { $a <=> $b } keys %tab;
my %by_worker;
push @{ $by_worker{ $tab{$_}{worker} // 'none' } }, $_ for @pages;
is(scalar(grep { $workers{$_} } keys %by_worker), 2,
    'viewer tabs on both workers: ' . join('; ', map {
        "$_: tabs @{ $by_worker{$_} }" } sort keys %by_worker));
is($tab{0}{eventsUrl}, $t->url("/events/$STREAM"),
    'the page found the events URL in the 201 Link');
note(sprintf 'viewers up at %.1f s', time - $T0);

###############################################################################
# the publisher's sequence

subtest "publisher's $N messages reach every viewer and SSE, in order" => sub {
    send_command($pctl, { messages => $N, interval => 0.02 });
    my @want = expected(1, $N);

    for my $p (@pages) {
        my @got = wait_chats($view, $p, $N, 15);
        is(scalar(grep { ($_->{label} // '') ne 'chat' } @got[0 .. $#got]), 0,
            "tab $p (worker $tab{$p}{worker}): label chat");
        same_sequence("tab $p: the $N messages in order",
            [map { got_bytes($_) } @got[0 .. ($#got < $N - 1 ? $#got : $N - 1)]],
            \@want);
        my @bin = grep { $_->{binary} } @want;
        is_deeply([map { $_->{size} } grep { $_->{binary} } @got],
            [map { length $_->{bytes} } @bin],
            "tab $p: binary sizes " . join(',', map { length $_->{bytes} } @bin));
    }

    # what the page shows
    send_command($cctl, { cmd => 'dom', page => 0 });
    my $dom = $view->wait_event('dom', timeout => 10);
    my @lines = @{ $dom ? $dom->{lines} : [] };
    ok(scalar(grep { $_ eq 'recv chat [binary 12 bytes]' } @lines),
        'tab 0 shows "chat [binary 12 bytes]" for message 5')
        or diag(explain(\@lines));
    ok(scalar(grep { $_ eq "recv chat msg 1 \xc3\xa9" } @lines),
        'tab 0 shows the UTF-8 text of message 1');
    is($dom && $dom->{state}, 'open', 'chat state "open" on the page');

    # SSE: event = label, data = text (lines joined) or base64
    my @ev = $sse->wait_events($N, timeout => 10);
    is(scalar @ev, $N, "SSE: $N events");
    is_deeply([map { $_->{event} } @ev], [('chat') x @ev], 'SSE: event: chat');
    my @ids = map { $_->{id} } @ev;
    ok(!grep({ !defined || !/^\d+$/ } @ids), 'SSE: numeric ids');
    is_deeply(\@ids, [map { $ids[0] + $_ } 0 .. $#ids],
        "SSE: consecutive ids $ids[0] .. $ids[-1]") if @ids;
    same_sequence('SSE: the sequence in order (binary as base64)',
        [map { my $w = $want[$_]; my $d = $ev[$_]{data} // '';
               $w->{binary} ? [1, decode_base64($d)] : [0, $d] } 0 .. $#ev],
        \@want);
    is_deeply([map { $ev[$_ - 1]{data} } grep { $_ % 5 == 0 && $_ <= @ev } 1 .. $N],
        [map { my $b = encode_base64(WebRTCTest::dc_message($_)->[1], '');
               $b } grep { $_ % 5 == 0 } 1 .. $N],
        'SSE: binary data is the base64 of the bytes');
    like($sse->raw, qr/\ndata: msg 3\ndata: second line of 3\n\n/,
        'SSE: a multi-line text is split into data: lines');
};

###############################################################################
# a viewer's message (webrtc_data_from_viewers all)

subtest 'from_viewers all: a viewer reaches the publisher, the others, SSE'
    => sub {
    my $text = "from tab 0 \xc3\xa9";
    my $n_before = { map { $_ => scalar chats($view, $_) } @pages };
    my $sse_before = $sse->events;
    send_command($cctl, { cmd => 'send', page => 0, text => "from tab 0 \x{e9}" });
    my $sent = $view->wait_event('sent', timeout => 10);
    ok($sent && $sent->{ok}, 'tab 0 sent it');

    my $m = $pub->wait_event(sub { $_[0]{event} eq 'datachannel'
        && defined $_[0]{data} && encode_utf8($_[0]{data}) eq $text },
        timeout => 10);
    ok($m, 'the publisher got it');
    is($m && $m->{label}, 'chat', 'on its "chat" channel');

    for my $p (grep { $_ != 0 } @pages) {
        my @c = wait_chats($view, $p, $n_before->{$p} + 1, 10);
        is(got_bytes($c[-1])->[1], $text, "tab $p got it");
    }
    my @e = $sse->wait_events($sse_before + 1, timeout => 10);
    is($e[-1] && $e[-1]{data}, $text, 'SSE got it');
    is($e[-1] && $e[-1]{event}, 'chat', 'SSE: event chat');

    sleep 1;
    is(scalar(chats($view, 0)), $n_before->{0},
        'the sender did not get its own message back');
};

###############################################################################
# POST /events/<stream>

subtest 'POST /events: reaches the publisher, the viewers, SSE' => sub {
    my $n_before = { map { $_ => scalar chats($view, $_) } @pages };
    my $sse_before = $sse->events;
    my $pub_before = pub_messages($pub);

    my $r = $t->http('POST', "/events/$STREAM?label=chat",
        headers => { 'Content-Type' => 'text/plain; charset=utf-8' },
        body => "posted \xc3\xa9");
    is($r->{status}, 204, 'POST text: 204');
    $r = $t->http('POST', "/events/$STREAM?label=chat",
        headers => { 'Content-Type' => 'application/octet-stream' },
        body => "\x00\x01\x02\xff");
    is($r->{status}, 204, 'POST binary: 204');

    my @want = ([0, "posted \xc3\xa9"], [1, "\x00\x01\x02\xff"]);

    $t->wait_for(sub { pub_messages($pub) >= $pub_before + 2 },
        timeout => 10, interval => 0.1);
    my @pm = (pub_messages($pub))[$pub_before .. $pub_before + 1];
    same_sequence('the publisher got both',
        [map { $_ ? got_bytes($_, 1) : [0, 'none'] } @pm],
        [map { +{ binary => $_->[0], bytes => $_->[1] } } @want]);
    is_deeply([map { $_ && $_->{label} } @pm], [qw(chat chat)],
        'on its "chat" channel');

    for my $p (@pages) {
        my @c = wait_chats($view, $p, $n_before->{$p} + 2, 10);
        my @new = @c[$n_before->{$p} .. $#c];
        same_sequence("tab $p got both",
            [map { got_bytes($_) } @new],
            [map { +{ binary => $_->[0], bytes => $_->[1] } } @want]);
        is_deeply([map { $_->{label} } @new], [qw(chat chat)],
            "tab $p: label chat");
    }

    my @e = $sse->wait_events($sse_before + 2, timeout => 10);
    my @new = @e[$sse_before .. $#e];
    is_deeply([map { [$_->{event}, $_->{data}] } @new],
        [['chat', "posted \xc3\xa9"], ['chat', 'AAEC/w==']],
        'SSE got both (binary in base64)');

    is($t->http('POST', '/events/no-such-stream?label=chat',
        headers => { 'Content-Type' => 'text/plain' }, body => 'x')->{status},
        404, 'POST to a stream that does not exist: 404');
    is($t->http('POST', "/events/$STREAM?label=chat",
        headers => { 'Content-Type' => 'text/plain' },
        body => 'x' x (64 * 1024 + 1))->{status},
        413, 'POST over webrtc_data_max_message (64k): 413');
};

###############################################################################
# Last-Event-ID

subtest 'Last-Event-ID resumes after that message' => sub {
    my @all = $sse->events;
    my $k = 9;
    my $last = $all[$k]{id};
    my @want = map { [$_->{id}, $_->{event}, $_->{data}] } @all[$k + 1 .. $#all];

    my $r = $t->sse_open("/events/$STREAM",
        headers => { 'Last-Event-ID' => $last });
    is($r->status, 200, "GET with Last-Event-ID: $last");
    $r->wait_events(scalar @want, timeout => 10);
    $r->poll(1);
    is_deeply([map { [$_->{id}, $_->{event}, $_->{data}] } $r->events],
        \@want, 'exactly the ' . @want . " messages after $last, in order");

    my $latest = $all[-1]{id};
    my $r2 = $t->sse_open("/events/$STREAM",
        headers => { 'Last-Event-ID' => $latest });
    $r2->poll(1);
    is(scalar($r2->events), 0, 'Last-Event-ID of the latest: nothing old');

    my $r3 = $t->sse_open("/events/$STREAM",
        headers => { 'Last-Event-ID' => 'bogus' });
    $r3->poll(1);
    is(scalar($r3->events), 0, 'a bogus Last-Event-ID: only new messages');

    # and they all get the next one
    send_command($pctl, { send => 'after resume' });
    for my $x ([$r, 'resumed'], [$r2, 'latest'], [$r3, 'bogus']) {
        my ($s, $name) = @$x;
        my $n = $s->events;
        my @e = $s->wait_events($n + 1, timeout => 10);
        is($e[-1] && $e[-1]{data}, 'after resume',
            "the $name reader gets the next message");
        $s->close;
    }
    $sse->wait_events(scalar(@all) + 1, timeout => 10);
};

###############################################################################
# webrtc_data_from_viewers publisher

subtest 'from_viewers publisher: only the publisher and SSE' => sub {
    my $base = $opened;
    send_command($cctl, { cmd => 'open', query => 'whep=/whep-pub/' });
    send_command($cctl, { cmd => 'open', query => 'whep=/whep-pub/' });
    $t->wait_for(sub { my $n = tabs_up(); !defined $n || $n >= $base + 2 },
        timeout => 40);
    my @pt = ($base, $base + 1);
    my @conn = grep { $_->{event} eq 'connected' && $_->{page} >= $base }
        $view->events;
    is(scalar @conn, 2, 'two tabs on /whep-pub/ connected')
        or return diag(explain([$view->events]), $view->stderr);
    like($_->{location}, qr{^/whep-pub/\Q$STREAM\E/}, "tab $_->{page}: "
        . $_->{location}) for @conn;
    $opened += 2;

    my %before = map { $_ => scalar chats($view, $_) } @pages, @pt;
    my $sse_before = $sse->events;
    send_command($cctl, { cmd => 'send', page => $pt[0], text => 'from pub-mode' });

    my $m = $pub->wait_event(sub { $_[0]{event} eq 'datachannel'
        && ($_[0]{data} // '') eq 'from pub-mode' }, timeout => 10);
    ok($m, 'the publisher got it');
    my @e = $sse->wait_events($sse_before + 1, timeout => 10);
    is($e[-1] && $e[-1]{data}, 'from pub-mode', 'SSE got it');
    sleep 1.5;
    is(scalar(chats($view, $pt[1])), $before{ $pt[1] },
        'the other /whep-pub/ viewer did not get it');
    is(scalar(chats($view, $pt[0])), $before{ $pt[0] },
        'the sender did not get it');

    # the sender's location decides where its messages go
    is(scalar(chats($view, $pages[0])), $before{ $pages[0] },
        "a viewer of the 'all' location (tab $pages[0]) did not get a"
        . " message of a 'publisher'-location viewer");

    # but the publisher's messages reach them
    send_command($pctl, { send => 'to everyone' });
    for my $p (@pt) {
        my @c = wait_chats($view, $p, $before{$p} + 1, 10);
        is($c[-1] && $c[-1]{data}, 'to everyone',
            "/whep-pub/ tab $p gets the publisher's messages");
    }
};

###############################################################################
# webrtc_data_from_viewers off (the default)

subtest 'from_viewers off: a viewer\'s message goes nowhere, counted' => sub {
    my $k = $opened;
    send_command($cctl, { cmd => 'open', query => 'whep=/whep-off/' });
    $t->wait_for(sub { my $n = tabs_up(); !defined $n || $n >= $k + 1 },
        timeout => 30);
    my ($c) = grep { $_->{event} eq 'connected' && $_->{page} == $k }
        $view->events;
    like($c && $c->{location}, qr{^/whep-off/\Q$STREAM\E/},
        "tab $k on /whep-off/ connected") or return;
    $opened++;
    my $id = $t->session_id($c->{location});
    ok(!defined $c->{eventsUrl}, 'no events Link without webrtc_events_url');

    $sse->poll(0.5);    # what is still on its way from earlier
    my $sse_before = $sse->events;
    my $d0 = ($t->session($id) // {})->{data} // {};
    send_command($cctl, { cmd => 'send', page => $k, text => 'from off' });
    my $sent = $view->wait_event(sub { $_[0]{event} eq 'sent'
        && $_[0]{page} == $k }, timeout => 10);
    ok($sent && $sent->{ok}, 'the page sent it');
    my $d1 = $t->wait_for(sub {
        my $d = ($t->session($id) // {})->{data} // {};
        ($d->{dropped} // 0) > ($d0->{dropped} // 0) ? $d : undef
    }, timeout => 5);
    ok($d1, 'status: the viewer\'s dropped counter moved ('
        . ($d1 ? $d1->{dropped} : '-') . '), messages_in '
        . ($d1 ? $d1->{messages_in} : '-'));
    $sse->poll(1);
    is_deeply([map { $_->{data} } ($sse->events)[$sse_before .. $sse->events - 1]],
        [], 'SSE did not get it');
    ok(!grep({ $_->{event} eq 'datachannel' && ($_->{data} // '') eq
        'from off' } $pub->events), 'the publisher did not get it');
    # it still gets the publisher's messages
    send_command($pctl, { send => 'to off too' });
    my @c = $t->wait_for(sub { grep { $_->{data} eq 'to off too' }
        chats($view, $k) }, timeout => 10);
    ok(scalar(@c), 'it gets the publisher\'s messages');
    $sse->wait_events($sse_before + 1, timeout => 5);
};

###############################################################################
# status counters

subtest '/webrtc/status counts the messages' => sub {
    my $st = $t->status;
    my $p = $t->publisher($STREAM, $st);
    my $d = $p && $p->{data};
    ok($d, 'publisher has "data"') or return diag(explain($p));
    is_deeply([sort keys %$d], [sort qw(channels messages_in bytes_in
        messages_out bytes_out dropped)], 'its fields');
    is($d->{channels}, 1, "channels $d->{channels} (chat)");
    cmp_ok($d->{messages_in}, '>=', $N + 2, "messages_in $d->{messages_in}");
    cmp_ok($d->{bytes_in}, '>', 0, "bytes_in $d->{bytes_in}");
    cmp_ok($d->{messages_out}, '>=', 4, "messages_out $d->{messages_out}");
    is($d->{dropped}, 0, 'dropped 0');
    my %vid = map { $_->{id} => 1 } grep { defined } values %tab;
    my @v = grep { $vid{ $_->{id} } } $t->viewers($STREAM, $st);
    ok(scalar(@v), scalar(@v) . ' viewers of the first tabs listed');
    for my $v (@v) {
        cmp_ok($v->{data}{messages_out} // 0, '>=', $N + 2,
            "viewer $v->{id}: messages_out $v->{data}{messages_out}");
    }
    my ($s0) = grep { $_->{id} eq ($tab{0}{id} // '') } @v;
    cmp_ok($s0 && $s0->{data}{messages_in} // 0, '>=', 1,
        'tab 0 viewer: messages_in >= 1');
};

###############################################################################
# a label nobody has: the server opens a channel of that name, to the
# publisher (whose own channel aiortc put on an odd stream id) and to the
# viewers. Last, because a stream id clash closes aiortc's association.

subtest 'POST on a new label: the server opens that channel' => sub {
    my %before = map { $_ => scalar chats($view, $_) } @pages;
    my $sse_before = $sse->events;
    my $pub_before = pub_messages($pub);
    my $r = $t->http('POST', "/events/$STREAM?label=news",
        headers => { 'Content-Type' => 'text/plain' }, body => 'on news');
    is($r->{status}, 204, 'POST ?label=news: 204');

    for my $p (@pages) {
        my @c = wait_chats($view, $p, $before{$p} + 1, 10);
        is_deeply($c[-1] && [@{ $c[-1] }{qw(label data)}], ['news', 'on news'],
            "tab $p got it on a \"news\" channel");
    }
    my @e = $sse->wait_events($sse_before + 1, timeout => 10);
    is_deeply($e[-1] && [@{ $e[-1] }{qw(event data)}], ['news', 'on news'],
        'SSE: event: news');

    my $m = $pub->wait_event(sub { $_[0]{event} eq 'disconnected'
        || ($_[0]{event} eq 'datachannel' && ($_[0]{data} // '') eq 'on news')
    }, timeout => 10);
    is_deeply($m && [@$m{qw(event label data)}],
        ['datachannel', 'news', 'on news'],
        'the publisher got it on a "news" channel')
        or diag('publisher: ', explain($m));
    ok(scalar(grep { $_->{event} eq 'datachannel'
        && ($_->{state} // '') eq 'remote' && $_->{label} eq 'news' }
        $pub->events), 'the server opened a "news" channel to the publisher');
    sleep 0.5;
    ok(!grep({ $_->{event} eq 'disconnected' } $pub->events),
        'the publisher is still connected')
        or diag(explain([grep { $_->{event} eq 'disconnected' } $pub->events]));
    ok($pub->stderr !~ /AssertionError/, 'no AssertionError in aiortc')
        or diag(join "\n", grep { /Error|assert/ } split /\n/, $pub->stderr);
};

send_command($cctl, { cmd => 'screenshot', page => 0,
    path => $t->prefix . '/watch.png' });
$view->wait_event('screenshot', timeout => 10);

send_command($cctl, { cmd => 'quit' });
my ($vrc, undef, $verr) = $view->finish(timeout => 30);
is($vrc, 0, 'viewers stopped (DELETE 200 each)') or diag($verr);
ok(!grep({ $_->{event} eq 'closed' && ($_->{status} // 0) != 200 }
    $view->events), 'every tab: DELETE 200');

$t->leave($pub, 'publisher');
$sse->close;

ok($t->wait_idle, 'no session left');

$t->done;
note(sprintf 'total %.1f s', time - $T0);

done_testing;
