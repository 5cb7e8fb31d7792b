#!/usr/bin/perl

# What an operator logs. $webrtc_session, $webrtc_stream and $webrtc_role
# in a log_format on WHIP and WHEP locations: a POST logs the session it
# made, a DELETE the one it ended; a request the module refused logs "-".
# webrtc_session_log: one line per ended session (time, role, stream,
# id, the peer's address, duration, media bytes and packets, reason,
# User-Agent), for an aiortc publisher and viewer; after the file is
# moved and nginx gets USR1, the next line goes to a new file.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes qw(sleep);
use WebRTCTest qw(skip_unless_peers);

skip_unless_peers('aiortc');

my $t = WebRTCTest->new(name => 'logs', workers => 2);
my $alog = 'access_log logs/webrtc.log webrtc;';
$t->write_conf($t->whep_conf(
    http => 'log_format webrtc \'$request_method $uri $status '
            . 'role=$webrtc_role stream=$webrtc_stream '
            . 'session=$webrtc_session\'; '
            . 'webrtc_session_log logs/sessions.log;',
    whip => $alog,
    whep => $alog,
));
$t->start;

my ($pub, $pid) = $t->spawn_publisher('aiortc', 'cam1', '--seconds', 60,
    '--connect-timeout', 15);
ok($pid, 'aiortc publishes cam1') or BAIL_OUT;
my ($v, $vid) = $t->spawn_viewer({ timeout => 60, wait => 40 }, 'aiortc',
    'cam1', '--seconds', 60, '--connect-timeout', 15, '--frame-timeout', 15);
ok($vid, 'an aiortc viewer decodes a frame') or BAIL_OUT;
sleep 2;
$t->leave($v, 'viewer');

my $bad = $t->http(POST => '/whep/cam1', body => 'not sdp',
                   headers => { 'Content-Type' => 'text/plain' });
is($bad->{status}, 415, 'a refused POST: 415');

sub lines {
    my ($file) = @_;
    return grep { length } split /\n/, $t->read_file($file) // '';
}

my @a;
ok($t->wait_for(sub { @a = lines('logs/webrtc.log'); @a >= 4 },
                timeout => 5), 'the access log has the requests');
ok((grep { $_ eq "POST /whip/cam1 201 role=publisher stream=cam1 "
                   . "session=$pid" } @a),
   "the publisher's POST names its session") or diag(join "\n", @a);
ok((grep { $_ eq "POST /whep/cam1 201 role=viewer stream=cam1 "
                   . "session=$vid" } @a),
   "the viewer's POST names its session");
ok((grep { $_ eq "DELETE /whep/cam1/$vid 200 role=viewer stream=cam1 "
                   . "session=$vid" } @a), 'the DELETE names the session');
ok((grep { $_ eq 'POST /whep/cam1 415 role=viewer stream=cam1 session=-' }
    @a), 'a refused POST has no session');

# the session log: the viewer's line
my $re = qr{^\[(\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d[ ][+-]\d{4})\][ ](publisher|viewer)
            [ ](\S+)[ ]([0-9a-f]+)[ ](\S+)[ ](\d+\.\d{3})[ ](\d+)[ ](\d+)
            [ ]"([^"]*)"[ ]"([^"]*)"$}x;
my @s;
ok($t->wait_for(sub { @s = lines('logs/sessions.log'); @s >= 1 },
                timeout => 5), 'the session log has a line');
my ($line) = grep { /\b$vid\b/ } @s;
my @f = ($line // '') =~ $re;
ok(@f, "the viewer's line has the fields: " . ($line // 'none'));
is($f[1], 'viewer', 'role');
is($f[2], 'cam1', 'stream');
like($f[4] // '', qr/^127\.0\.0\.1:\d+$/, 'the peer address');
cmp_ok($f[5] // 0, '>=', 2, "duration $f[5] s");
cmp_ok($f[6] // 0, '>', 10000, "media bytes sent $f[6]");
cmp_ok($f[7] // 0, '>', 50, "packets sent $f[7]");
is($f[8], 'deleted', 'the reason');
like($f[9] // '', qr/aiortc|python/i, "the User-Agent ($f[9])");

# moved away and reopened on USR1, as logrotate does
rename($t->prefix . '/logs/sessions.log', $t->prefix . '/logs/sessions.log.1')
    or die "rename: $!";
kill 'USR1', $t->master_pid;
sleep 1;
$t->leave($pub, 'publisher');
ok($t->wait_for(sub { (lines('logs/sessions.log'))[0] }, timeout => 5),
   'after USR1 the next line is in a new file');
my ($pl) = lines('logs/sessions.log');
like($pl // '', qr/^\[[^]]+\] publisher cam1 $pid 127\.0\.0\.1:\d+ [\d.]+ \d+ \d+ "deleted" /,
     "the publisher's line: " . ($pl // 'none'));
is(scalar(() = grep { /\b$pid\b/ } lines('logs/sessions.log.1')), 0,
   'not in the old file');

$t->done;
done_testing;
