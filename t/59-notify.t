#!/usr/bin/perl

# webrtc_notify: a publisher's and a viewer's start and end POSTed as
# JSON to a receiver of the test's (a small HTTP server in a child
# process that answers its first request 503, the rest 200): "publish"
# (tried again after the 503), "play", "stop" with the reason and the
# duration, "unpublish"; the Bearer token of token=; a location whose
# receiver is down publishes and plays all the same (nothing waits for
# a notification) and logs the undelivered ones at info.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use JSON::PP;
use IO::Socket::INET;
use POSIX ();
use Time::HiRes qw(time sleep);
use WebRTCTest qw(skip_unless_peers);

skip_unless_peers('aiortc');

my $t = WebRTCTest->new(name => 'notify', workers => 2);

# the receiver: one line of JSON per request in its file
my $srv = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                Listen => 64, ReuseAddr => 1)
    or die "listen: $!";
my $rport = $srv->sockport;
my $got = $t->prefix . '/notifications';
my $rpid = fork // die "fork: $!";
if ($rpid == 0) {
    # not the test's: no nginx to stop, no END blocks
    $SIG{$_} = 'DEFAULT' for qw(INT TERM HUP);
    my $n = 0;
    my $end = time + 120;
    local $SIG{ALRM} = sub { POSIX::_exit(0) };
    alarm 120;
    while (time < $end and my $c = $srv->accept) {
        my $head = '';
        while ($head !~ /\r\n\r\n/) {
            my $r = sysread($c, $head, 4096, length $head) or last;
        }
        my ($h, $body) = split /\r\n\r\n/, $head, 2;
        $body //= '';
        my ($len) = $h =~ /^Content-Length:\s*(\d+)/mi;
        while (defined $len && length $body < $len) {
            sysread($c, $body, $len - length $body, length $body) or last;
        }
        my ($line) = $h =~ /^([^\r\n]*)/;
        my ($auth) = $h =~ /^Authorization:\s*([^\r\n]*)/mi;
        my ($type) = $h =~ /^Content-Type:\s*([^\r\n]*)/mi;
        my $status = $n++ ? 200 : 503;
        open my $f, '>>', $got or die;
        print $f JSON::PP->new->canonical->encode({ line => $line,
            auth => $auth // '', type => $type // '', status => $status,
            body => $body }), "\n";
        close $f;
        print $c "HTTP/1.1 $status X\r\nContent-Length: 0\r\n"
                 . "Connection: close\r\n\r\n";
        close $c;
    }
    POSIX::_exit(0);
}
close $srv;

$t->write_conf($t->whep_conf(
    http => "webrtc_notify http://127.0.0.1:$rport/hooks/webrtc "
            . 'token=s3cret;',
    server => 'location /whip-quiet/ { webrtc_whip; '
              . 'webrtc_notify http://127.0.0.1:9/hooks; }',
));
$t->start;

sub received {
    return map { decode_json($_) }
           grep { length } split /\n/, $t->read_file($got) // '';
}

my ($pub, $pid) = $t->spawn_publisher('aiortc', 'cam1', '--seconds', 60,
    '--connect-timeout', 15);
ok($pid, 'aiortc publishes cam1') or BAIL_OUT;
my ($v, $vid) = $t->spawn_viewer({ timeout => 60, wait => 40 }, 'aiortc',
    'cam1', '--seconds', 60, '--connect-timeout', 15, '--frame-timeout', 15);
ok($vid, 'an aiortc viewer decodes a frame') or BAIL_OUT;
sleep 1;
$t->leave($v, 'viewer');
$t->leave($pub, 'publisher');

my @r;
ok($t->wait_for(sub {
    @r = received();
    return (grep { $_->{status} == 200 && $_->{body} =~ /"unpublish"/ } @r);
}, timeout => 10), 'the receiver got the events: '
   . join(', ', map { (decode_json($_->{body})->{event} // '?')
                      . " $_->{status}" } @r));

is($r[0]{line}, 'POST /hooks/webrtc HTTP/1.1', 'POSTed to the URL\'s path');
is($r[0]{type}, 'application/json', 'as JSON');
is($r[0]{auth}, 'Bearer s3cret', 'with the token');

my %ev;
for my $x (grep { $_->{status} == 200 } @r) {
    my $j = decode_json($x->{body});
    $ev{ $j->{event} } = $j;
}
my @first = map { decode_json($_->{body})->{event} } grep { $_->{status} == 503 } @r;
is_deeply(\@first, ['publish'], 'the first (publish) was answered 503');
ok($ev{publish}, '... and came again');

is($ev{publish}{session}, $pid, 'publish: the session id');
is($ev{publish}{stream}, 'cam1', 'publish: the stream');
is($ev{publish}{role}, 'publisher', 'publish: the role');
like($ev{publish}{remote} // '', qr/^127\.0\.0\.1:\d+$/, 'publish: the address');
like($ev{publish}{user_agent} // '', qr/aiortc/i, 'publish: the User-Agent');
is($ev{play}{session}, $vid, 'play: the viewer');
is($ev{stop}{session}, $vid, 'stop: the viewer');
is($ev{stop}{reason}, 'deleted', 'stop: the reason');
cmp_ok($ev{stop}{duration_ms} // 0, '>', 1000, "stop: the duration "
       . ($ev{stop}{duration_ms} // 'none') . ' ms');
is($ev{unpublish}{session}, $pid, 'unpublish: the publisher');
ok(!grep({ $_->{reason} } @ev{qw(publish play)}), 'starts carry no reason');

# a receiver that is down: the publish goes on, the notification is given up
my ($q, $qid) = $t->spawn_publisher('aiortc', '/whip-quiet/cam2',
    '--seconds', 30, '--connect-timeout', 15);
ok($qid, 'a publisher of a location whose receiver is down connects');
$t->check_media('cam2', name => 'that publisher', video => qr/./,
                timeout => 15);
ok($t->wait_for(sub { $t->error_log =~ /notification not delivered after 3 tries/ },
                timeout => 10), 'the notification is given up after 3 tries, '
   . 'at info');
$q->kill;

kill 'TERM', $rpid;
waitpid $rpid, 0;
$t->done;
done_testing;
