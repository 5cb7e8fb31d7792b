#!/usr/bin/perl

# Many anonymous GETs of a whole segment from clients that do not read
# (a 4 KiB receive buffer each, nothing read; the server's send buffer
# 16 KiB): the workers' anonymous
# memory grows by a chunk per request, not by a segment per request;
# later, each response read to its end is either the segment's exact
# bytes or cut short and closed (the store overwrote the rest while it
# waited: never other bytes); the workers live on.  (It also caught a
# segment larger than the socket could take at once being answered twice:
# "header already sent", the response cut.)

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes qw(time sleep);
use Socket qw(PF_INET SOCK_STREAM SOL_SOCKET SO_RCVBUF pack_sockaddr_in
              inet_aton);
use IO::Handle;
use IO::Select;
use WebRTCTest qw(skip_unless_peers);
use HLSPlaylist;

skip_unless_peers('aiortc');

my $clients = 300;

my $t = WebRTCTest->new(name => 'hls-slow', workers => 2);
# sndbuf: the kernel takes 16 KiB of each response, what is not sent yet
# stays with nginx (without it Linux would buffer a whole segment)
my $conf = $t->default_conf(
    http      => 'webrtc_hls_fragment 2s; webrtc_hls_part 300ms; '
                 . 'webrtc_hls_size 2m;',
    server    => 'location /hls/ { webrtc_hls; }',
);
$conf =~ s/(listen 127\.0\.0\.1:%%HTTP_PORT%%)/$1 sndbuf=16k/
    or die 'no listen';
$t->write_conf($conf);
$t->start;

sub rss_anon {
    my $kb = 0;
    for my $pid ($t->worker_pids) {
        my $s = $t->read_file("/proc/$pid/status") // '';
        $kb += $1 if $s =~ /^RssAnon:\s+(\d+) kB/m;
    }
    return $kb;
}

my ($pub, $id) = $t->spawn_publisher('aiortc', 'cam1', '--seconds', 90,
    '--video-codec', 'h264', '--keyframe-interval', 2,
    '--video-size', '1280x720');
ok($id, 'aiortc publishes H.264 at 1280x720') or BAIL_OUT('no publisher');

# the largest complete segment of the window
my ($seg, $body);
ok($t->wait_for(sub {
    my $r = $t->http(GET => '/hls/cam1/index.m3u8');
    return 0 unless $r->{status} == 200;
    my $pl = HLSPlaylist::parse($r->{body});
    return 0 unless @{ $pl->{segments} } >= 2;
    my $best = 0;
    for my $s (@{ $pl->{segments} }) {
        my $g = $t->http(GET => "/hls/cam1/$s->{uri}");
        next unless $g->{status} == 200 && length $g->{body} > $best;
        ($seg, $body, $best) = ($s->{uri}, $g->{body}, length $g->{body});
    }
    return $best >= 128 * 1024;
}, timeout => 40, interval => 1), sprintf('a segment of at least 128 KiB: '
   . '%s, %d KiB', $seg // '-', length($body // '') / 1024))
    or BAIL_OUT('no large segment');

my $rss0 = rss_anon();

# the requests, none read
my @socks;
for my $i (1 .. $clients) {
    socket(my $s, PF_INET, SOCK_STREAM, 0) or die "socket: $!";
    setsockopt($s, SOL_SOCKET, SO_RCVBUF, 4096) or die "SO_RCVBUF: $!";
    connect($s, pack_sockaddr_in($t->http_port, inet_aton('127.0.0.1')))
        or die "connect: $!";
    $s->autoflush(1);
    print $s "GET /hls/cam1/$seg HTTP/1.1\r\nHost: x\r\nConnection: close"
             . "\r\n\r\n";
    push @socks, $s;
}

sleep 2;

my $grew = rss_anon() - $rss0;
my $whole = $clients * length($body) / 1024;
cmp_ok($grew, '<', $clients * 64, sprintf('%d unread requests for a %d KiB '
       . 'segment: the workers grew by %d KiB (a copy each would be %d KiB)',
       $clients, length($body) / 1024, $grew, $whole));

# then read them all, the last ones after the store went round (2 MiB)
sleep 15;

my ($exact, $short, $wrong) = (0, 0, 0);
my $sel = IO::Select->new(@socks);
my %buf;
my $deadline = time + 30;
while ($sel->count && time < $deadline) {
    for my $s ($sel->can_read(1)) {
        my $n = sysread($s, my $chunk, 65536);
        if ($n) {
            $buf{fileno $s} .= $chunk;
            next;
        }
        $sel->remove($s);
    }
}

for my $s (@socks) {
    my ($head, $got) = split /\r\n\r\n/, $buf{fileno $s} // '', 2;
    $got //= '';
    if ($got eq $body) {
        $exact++;
    } elsif (length $got < length $body
             && $got eq substr($body, 0, length $got))
    {
        $short++;
    } else {
        $wrong++;
    }
    close $s;
}

is($sel->count, 0, 'every connection ended within 30 s');
is($wrong, 0, sprintf('%d responses read late: %d the exact segment, %d cut '
   . 'short and closed, none with other bytes', $clients, $exact, $short));
like($t->error_log, qr/overwritten while it was sent/,
     'the cut ones are logged (info)') if $short;

my $r = $t->http(GET => '/hls/cam1/index.m3u8');
is($r->{status}, 200, 'the playlist is still served');

$pub->kill;
$t->done;
done_testing;
