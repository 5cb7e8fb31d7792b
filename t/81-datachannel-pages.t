#!/usr/bin/perl

# The demo pages with data channels, in headless Chromium:
#   - html/publish.html opens a "chat" channel before its offer; a viewer
#     on html/watch.html and a reader on html/events.html (fetch() of the
#     text/event-stream) see what the publisher page types, the publisher
#     page sees what the viewer page types, and a message POSTed from
#     events.html reaches both;
#   - screenshots of the three pages go to the test prefix
#     (WEBRTC_KEEP=1 keeps them).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use JSON::PP;
use Test::More;
use Time::HiRes qw(time sleep);
use WebRTCTest qw(skip_unless_peers send_command);

skip_unless_peers('chromium');

my $T0 = time;

my $t = WebRTCTest->new(name => 'datachannel-pages', workers => 2);
$t->write_conf($t->whep_conf(reuseport => 1,
    http   => 'include /etc/nginx/mime.types;',
    whep   => 'webrtc_data_from_viewers all; webrtc_events_url /events/;',
    server => <<'EOF'));
        location /events/ {
            webrtc_events;
        }
EOF
$t->start;


subtest 'publish.html chat -> watch.html and events.html' => sub {
    my $s = 'page1';
    my ($pc, $vc, $ec) = map { $t->control_file("page-$_") }
        qw(pub view events);
    my @common = ('--base', $t->url('/'), '--stream', $s, '--timeout', 25,
        '--seconds', 60);
    my $cp = $t->spawn_client({ timeout => 100 }, $t->client_command(
        'chromium_chat.js', @common, '--page', 'publish', '--control', $pc,
        '--query', 'resolution=320x240&fps=15'));
    ok($cp->wait_event(sub { $_[0]{event} =~ /^(chat_open|error)$/ },
        timeout => 40) && grep({ $_->{event} eq 'chat_open' } $cp->events),
        'publish.html connected, chat open')
        or return diag(explain([$cp->events]), $cp->stderr);

    my $cv = $t->spawn_client({ timeout => 100 }, $t->client_command(
        'chromium_chat.js', @common, '--page', 'watch', '--control', $vc));
    my $ce = $t->spawn_client({ timeout => 100 }, $t->client_command(
        'chromium_chat.js', @common, '--page', 'events', '--control', $ec));
    ok($cv->wait_event(sub { $_[0]{event} =~ /^(chat_open|error)$/ },
        timeout => 40) && grep({ $_->{event} eq 'chat_open' } $cv->events),
        'watch.html connected, chat open')
        or diag(explain([$cv->events]), $cv->stderr);
    ok($ce->wait_event(sub { $_[0]{event} =~ /^(connected|error)$/ },
        timeout => 30) && grep({ $_->{event} eq 'connected' } $ce->events),
        'events.html reading the stream')
        or diag(explain([$ce->events]), $ce->stderr);

    send_command($pc, { cmd => 'send', page => 0, text => 'hello from the page' });
    my $v = $cv->wait_event('chat', timeout => 10);
    is_deeply($v && [@$v{qw(label data binary)}],
        ['chat', 'hello from the page', JSON::PP::false],
        'the viewer page got the publisher page\'s message');
    my $e = $ce->wait_event('sse', timeout => 10);
    is_deeply($e && [@$e{qw(label data)}], ['chat', 'hello from the page'],
        'events.html shows it (event chat)');

    send_command($vc, { cmd => 'send', page => 0, text => 'hello publisher' });
    my $p = $cp->wait_event('chat', timeout => 10);
    is($p && $p->{data}, 'hello publisher',
        'the publisher page got the viewer page\'s message');

    send_command($ec, { cmd => 'post', page => 0, label => 'chat',
        data => 'from events.html' });
    my $posted = $ce->wait_event('posted', timeout => 10);
    is($posted && $posted->{status}, 204, 'events.html POST: 204');
    ok($cp->wait_event(sub { $_[0]{event} eq 'chat'
        && $_[0]{data} eq 'from events.html' }, timeout => 10),
        'the publisher page got the POSTed message');
    ok($cv->wait_event(sub { $_[0]{event} eq 'chat'
        && $_[0]{data} eq 'from events.html' }, timeout => 10),
        'the viewer page got the POSTed message');

    # binary, as the events page's "As: binary" sends it
    send_command($ec, { cmd => 'post', page => 0, label => 'chat',
        data => 'abc', type => 'application/octet-stream' });
    my $b = $cv->wait_event(sub { $_[0]{event} eq 'chat' && $_[0]{binary} },
        timeout => 10);
    is_deeply($b && [@$b{qw(label data size)}], ['chat', 'YWJj', 3],
        'the viewer page got 3 binary bytes (base64 YWJj in window.chatLog)');
    my $e2 = $ce->wait_event(sub { $_[0]{event} eq 'sse'
        && $_[0]{data} eq 'YWJj' }, timeout => 10);
    ok($e2, 'events.html shows it in base64');
    send_command($vc, { cmd => 'dom', page => 0 });
    my $dom = $cv->wait_event('dom', timeout => 10);
    ok($dom && grep({ $_ eq 'recv chat [binary 3 bytes]' } @{ $dom->{lines} }),
        'the viewer page shows "chat [binary 3 bytes]"')
        or diag(explain($dom));
    ok($dom && grep({ $_ eq 'sent chat hello publisher' } @{ $dom->{lines} }),
        'and what it sent');

    for my $x ([$cp, $pc, 'publish'], [$cv, $vc, 'watch'],
        [$ce, $ec, 'events'])
    {
        my ($c, $ctl, $name) = @$x;
        send_command($ctl, { cmd => 'screenshot', page => 0,
            path => $t->prefix . "/$name.png" });
        $c->wait_event('screenshot', timeout => 10);
        send_command($ctl, { cmd => 'quit' });
    }
    for my $x ([$cv, 'watch'], [$ce, 'events'], [$cp, 'publish']) {
        my ($rc, undef, $err) = $x->[0]->finish(timeout => 30);
        is($rc, 0, "$x->[1] page client exit 0") or diag($err);
    }
};


ok($t->wait_idle, 'no session left');

$t->done;
note(sprintf 'total %.1f s', time - $T0);

done_testing;
