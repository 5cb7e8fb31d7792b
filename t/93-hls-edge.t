#!/usr/bin/perl

# The LL-HLS edge of conf/hls-edge.conf: a stock nginx (no WebRTC module)
# with proxy_cache and proxy_cache_lock in front of an origin that
# publishes a WebRTC stream as LL-HLS.  Many players on the edge at once:
#   - 50 blocking reloads for the next part, sent before it exists, and
#     50 requests for that part (the preload hint) at the same time;
#   - 50 requests for a whole segment and for the init segment;
#   - 50 plain playlist reloads;
#   - parts, segments and init segments have an ETag (If-None-Match: 304);
# every player gets a 200 with the same bytes as the origin's, and the
# origin's access log shows one request per object.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use IO::Socket::INET;
use IO::Select;
use Time::HiRes qw(time sleep);
use WebRTCTest qw(skip_unless_peers);
use HLSPlaylist;

skip_unless_peers('aiortc');

my $players = 50;

my $o = WebRTCTest->new(name => 'hls-origin', workers => 2);
$o->write_conf($o->default_conf(
    reuseport => 1,
    http      => 'webrtc_hls_fragment 2s; webrtc_hls_part 300ms; '
                 . 'log_format uri \'$request_uri $status\';',
    server    => 'location /hls/ { webrtc_hls; access_log logs/hls.log uri; }',
));
$o->start;

# the example as shipped, with the test's ports, in stock nginx: Debian's
# binary, whichever nginx (a sanitized one) the module is tested in
my $e = WebRTCTest->new(name => 'hls-edge', workers => 2,
                        nginx => '/usr/sbin/nginx');
my $conf = $e->read_file($e->root . '/conf/hls-edge.conf');
my $op = $o->http_port;
my $ep = $e->http_port;
ok($conf =~ s/server 127\.0\.0\.1:8080;/server 127.0.0.1:$op;/
   && $conf =~ s/listen 127\.0\.0\.1:8081;/listen 127.0.0.1:$ep;/,
   'conf/hls-edge.conf: origin and listen addresses found');
$e->write_conf($conf);
$e->start;

my ($pub, $pub_id) = $o->spawn_publisher('aiortc', 'cam1', '--seconds', 120,
    '--video-codec', 'h264', '--keyframe-interval', 2);
ok($pub_id, 'aiortc publishes H.264 and Opus to the origin')
    or BAIL_OUT('no publisher');

# GET of every path at once, one connection each: [{ status, headers,
# body, time }] in the order of the paths; bounded by $timeout
sub parallel_get {
    my ($port, $timeout, @paths) = @_;

    my $sel = IO::Select->new;
    my (@res, %of);
    my $t0 = time;

    for my $i (0 .. $#paths) {
        $res[$i] = { status => 599, raw => '' };
        my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
                                      Proto => 'tcp', Timeout => 5)
            or next;
        $s->autoflush(1);
        print {$s} "GET $paths[$i] HTTP/1.1\r\nHost: edge\r\n"
                   . "Connection: close\r\n\r\n";
        $s->blocking(0);
        $sel->add($s);
        $of{fileno $s} = $i;
    }

    while ($sel->count && time - $t0 < $timeout) {
        for my $s ($sel->can_read(0.05)) {
            my $i = $of{fileno $s};
            my $n = sysread($s, my $buf, 65536);
            next if !defined $n && $!{EAGAIN};
            if ($n) {
                $res[$i]{raw} .= $buf;
                next;
            }
            $res[$i]{time} = time - $t0;
            $sel->remove($s);
            close $s;
        }
    }

    for my $r (@res) {
        my ($head, $body) = split /\r\n\r\n/, delete $r->{raw}, 2;
        next unless defined $body && $head =~ m{^HTTP/1\.\d (\d+)};
        $r->{status} = $1;
        $r->{body} = $body;
        while ($head =~ /^([^:\r\n]+):[ \t]*([^\r\n]*)/mg) {
            $r->{headers}{lc $1} = $2;
        }
    }

    $_->close for $sel->handles;
    return @res;
}

# the origin's requests since the last call: { uri => count }; a worker
# logs a request after its last byte is sent, so a client may read the
# response before the line is written: wait until the log is still for
# 300 ms (at most 3 s)
my $log_pos = 0;
sub origin_requests {
    my $log = $o->read_file('logs/hls.log');
    for (1 .. 10) {
        select(undef, undef, undef, 0.3);
        my $again = $o->read_file('logs/hls.log');
        last if length $again == length $log;
        $log = $again;
    }
    my %n;
    $n{(split / /, $_)[0]}++ for split /\n/, substr($log, $log_pos);
    $log_pos = length $log;
    return \%n;
}

# every player: 200, the same bytes; returns those bytes
sub same_for_all {
    my ($what, @res) = @_;
    my @bad = grep { $_->{status} != 200 } @res;
    my %bodies = map { ($_->{body} // '') => 1 } @res;
    my @t = sort { $a <=> $b } map { $_->{time} // 99 } @res;
    my %cs;
    $cs{$_->{headers}{'x-cache-status'} // '-'}++ for @res;
    ok(!@bad && keys %bodies == 1, sprintf('%s: %d players, all 200, the '
       . 'same %d bytes (answered in %.3f to %.3f s; %s)', $what,
       scalar @res, length $res[0]{body} // 0, $t[0], $t[-1],
       join(' ', map { "$_ $cs{$_}" } sort keys %cs)))
        or diag(join ' ', map { $_->{status} } @bad);
    is($cs{MISS} // 0, 1, "$what: one MISS on the edge");
    return $res[0]{body};
}

my ($r, $pl);
ok($e->wait_for(sub {
    $r = $e->http(GET => '/hls/cam1/index.m3u8');
    $pl = $r->{status} == 200 ? HLSPlaylist::parse($r->{body}) : undef;
    return $pl && @{ $pl->{segments} } >= 2 && $pl->{hint};
}, timeout => 30, interval => 0.5), 'the playlist through the edge, two '
   . 'segments within 30 s') or BAIL_OUT("no playlist: $r->{status}");

is($r->{headers}{'cache-control'}, 'max-age=1, stale-while-revalidate=2',
   "the origin's Cache-Control reaches the player");
ok(defined $r->{headers}{'x-cache-status'}, 'X-Cache-Status: '
   . ($r->{headers}{'x-cache-status'} // 'none'));

# --- the next part, three times: blocking reloads and the hint at once -

# as a player does: the hint of each blocking response is the next one
# asked for (a plain playlist may be a second or two old on the edge)

$r = $o->http(GET => '/hls/cam1/index.m3u8');
$pl = HLSPlaylist::parse($r->{body});
origin_requests();

for my $round (1 .. 3) {
    my $hint = $pl->{hint}{URI};
    my ($m, $p) = HLSPlaylist::uri_msn($hint);
    my $block = "/hls/cam1/index.m3u8?_HLS_msn=$m&_HLS_part=$p";

    my @res = parallel_get($ep, 10,
        (map { $block } 1 .. $players), (map { "/hls/cam1/$hint" } 1 .. $players));

    my $pbody = same_for_all("round $round: $players blocking reloads for "
                             . "$m.$p", @res[0 .. $players - 1]);
    like($pbody, qr/\Q-$m.$p.m4s"/, "round $round: the playlist lists part "
         . "$m.$p");
    $pl = HLSPlaylist::parse($pbody);
    my $part = same_for_all("round $round: $players requests for the hinted "
                            . "part $hint", @res[$players .. $#res]);
    like($res[-1]{headers}{'cache-control'} // '', qr/immutable/,
         "round $round: the part is immutable on the edge too");

    my $n = origin_requests();
    is_deeply($n, { $block => 1, "/hls/cam1/$hint" => 1 },
              "round $round: the origin saw one request for each")
        or diag(explain($n));

    my $direct = $o->http(GET => "/hls/cam1/$hint");
    ok($direct->{status} == 200 && $direct->{body} eq $part,
       "round $round: the part's bytes are the origin's");
    origin_requests();

    # at the edge, later: a HIT without the origin
    my ($again) = parallel_get($ep, 5, "/hls/cam1/$hint");
    is($again->{headers}{'x-cache-status'}, 'HIT',
       "round $round: the part asked again is a HIT");
}

# --- a whole segment and the init segment -----------------------------

$r = $e->http(GET => '/hls/cam1/index.m3u8');
$pl = HLSPlaylist::parse($r->{body});
my $seg = $pl->{segments}[-1]{uri};
my $init = $pl->{maps}[-1];
origin_requests();

my @res = parallel_get($ep, 10, (map { "/hls/cam1/$seg" } 1 .. $players),
                       (map { "/hls/cam1/$init" } 1 .. $players));
my $sbody = same_for_all("segment $seg", @res[0 .. $players - 1]);
my $ibody = same_for_all("init $init", @res[$players .. $#res]);
my $n = origin_requests();
is_deeply($n, { "/hls/cam1/$seg" => 1, "/hls/cam1/$init" => 1 },
          'the origin saw one request for the segment and one for the init')
    or diag(explain($n));
is($o->http(GET => "/hls/cam1/$seg")->{body}, $sbody,
   "the segment's bytes are the origin's");
is($o->http(GET => "/hls/cam1/$init")->{body}, $ibody,
   "the init's bytes are the origin's");

# --- revalidation: the name is the version, and the ETag

my $g = $o->http(GET => "/hls/cam1/$seg");
my $etag = $g->{headers}{etag} // '';
like($etag, qr/^"[0-9a-f]{8}-\d+"$/, "the segment has an ETag: $etag");
is($o->http(GET => "/hls/cam1/$seg",
            headers => { 'If-None-Match' => $etag })->{status}, 304,
   'If-None-Match with it: 304');
is($res[0]{headers}{etag}, $etag, 'the edge passes the ETag on');
like($o->http(GET => "/hls/cam1/$init")->{headers}{etag} // '',
     qr/^"[0-9a-f]{8}-init\d+"$/, 'the init segment has an ETag');

# --- plain reloads: one origin request per expiry ---------------------

# players reload together, again and again: the edge's entry expires
# between the rounds (not missing, which the lock covers), and
# stale-while-revalidate makes the players that arrive while one request
# refetches it take the expired one instead of going to the origin too
origin_requests();
my $rounds = 5;
my ($t0, @bad) = (time);
for my $round (1 .. $rounds) {
    @res = parallel_get($ep, 10, map { '/hls/cam1/index.m3u8' } 1 .. $players);
    push @bad, grep { $_->{status} != 200
                      || !HLSPlaylist::parse($_->{body})->{hint} } @res;
    sleep 0.8;
}
my $took = time - $t0;
ok(!@bad, "$rounds x $players plain reloads: all 200, all playlists");
$n = origin_requests();
cmp_ok($n->{'/hls/cam1/index.m3u8'} // 0, '<=', 2 + int $took,
       sprintf('the origin saw %d plain playlist requests for %d rounds of '
               . '%d players (%.1f s)', $n->{'/hls/cam1/index.m3u8'} // 0,
               $rounds, $players, $took));

$pub->signal('USR1');
$pub->finish(timeout => 15);

$e->done;
$o->done;
done_testing;
