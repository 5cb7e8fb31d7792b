#!/usr/bin/perl

# HTTP semantics of the WHIP endpoint (RFC 9725): status codes, headers,
# authentication, CORS, ICE server Links, session resources, one
# publisher per stream, the status page, and composition with nginx's
# own access control (allow/deny, limit_req, auth_request).
#
# No media flows here: every session stays in state "new".

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Digest::SHA qw(hmac_sha1_base64);
use IO::Socket::INET;
use Test::More;
use Time::HiRes qw(sleep time);
use WebRTCTest qw(skip_unless_netns skip_unless_module test_offer);

skip_unless_netns();
skip_unless_module();

my $T0 = time;

###############################################################################
# offers

my %offer = map { $_ => test_offer($_) }
    qw(chromium chromium-vp8 chromium-recvonly chromium-dc aiortc aiortc-dc
       gstreamer obs libdatachannel);

# the chromium offer with its video section repeated as mid 2
my $two_video = do {
    my $sdp = $offer{chromium};
    my ($video) = $sdp =~ /(m=video .*)\z/s;
    (my $v2 = $video) =~ s/a=mid:1\r\n/a=mid:2\r\n/;
    $sdp =~ s/a=group:BUNDLE 0 1\r\n/a=group:BUNDLE 0 1 2\r\n/;
    $sdp . $v2;
};

(my $no_rtcp_mux = $offer{chromium}) =~ s/a=rtcp-mux\r\n//g;
(my $no_fingerprint = $offer{chromium}) =~ s/a=fingerprint:[^\r\n]*\r\n//g;
(my $sha1_fingerprint = $offer{chromium})
    =~ s/a=fingerprint:sha-256 (?:[0-9A-F]{2}:){19}[0-9A-F]{2}[^\r\n]*/a=fingerprint:sha-1 5F:3A:71:0E:2B:9C:44:D1:08:6E:A0:17:C3:92:5B:EE:61:04:7D:AF/g;

# audio only, PCMU only
my $pcmu_only = join("\r\n",
    'v=0',
    'o=- 1 2 IN IP4 127.0.0.1',
    's=-',
    't=0 0',
    'a=group:BUNDLE 0',
    'a=ice-ufrag:abcd',
    'a=ice-pwd:abcdefghijklmnopqrstuvwx',
    'a=fingerprint:sha-256 9E:AE:0F:B5:47:6E:EB:BD:60:56:87:F2:13:02:FF:69'
        . ':41:4B:F1:A3:48:95:E0:42:80:E1:AC:92:F0:5C:BA:A2',
    'a=setup:actpass',
    'm=audio 9 UDP/TLS/RTP/SAVPF 0',
    'c=IN IP4 0.0.0.0',
    'a=mid:0',
    'a=sendonly',
    'a=rtcp-mux',
    'a=rtpmap:0 PCMU/8000',
    '') ;

###############################################################################
# the server

my $t = WebRTCTest->new(name => 'http', workers => 2);

my $ice = <<'EOF';
        webrtc_ice_server stun:stun.example.org:3478;
        webrtc_ice_server turn:turn.example.org:3478?transport=udp username=u1 credential=c1;
        webrtc_ice_server turn:rest.example.org:3478 secret=s3cr3t ttl=3600;
EOF

# sessions that never saw a STUN check keep a worker up after QUIT
# until they time out: end what is left after 2 s
my $conf = $t->default_conf(
    main => 'worker_shutdown_timeout 2s;',
    http => <<'EOF',
    webrtc_takeover_idle 1s;
    limit_req_zone $binary_remote_addr zone=one:1m rate=1r/m;
EOF
    server => <<"EOF");
$ice
        location /tok/ {
            webrtc_whip;
            webrtc_token secret1;
            webrtc_token other2;
        }

        location /vp8/ {
            webrtc_whip;
            webrtc_video_codecs VP8 H264;
        }

        location /whep/ {
            webrtc_whep;
        }

        location ~ ^/rx/[^/]*/live/ {
            webrtc_whip;
        }

        location /h264only/ {
            webrtc_whip;
            webrtc_video_codecs H264;
        }

        location /nocors/ {
            webrtc_whip;
            webrtc_allow_origin off;
        }

        location /acl/ {
            allow 127.0.0.2;
            deny all;
            webrtc_whip;
        }

        location /limited/ {
            limit_req zone=one;
            webrtc_whip;
        }

        location /authreq/ {
            auth_request /auth;
            webrtc_whip;
        }

        location = /auth {
            internal;
            if (\$http_x_user = "alice") {
                return 204;
            }
            return 401;
        }
EOF

# reuseport: the kernel spreads new connections over both workers, so
# that sessions and their DELETEs land on different ones
$conf =~ s/(listen 127\.0\.0\.1:%%HTTP_PORT%%)/$1 reuseport/;

$t->write_conf($conf);
$t->start;

my @workers = $t->worker_pids;
is(scalar @workers, 2, 'two workers');

###############################################################################
# helpers

my $SDP = { 'Content-Type' => 'application/sdp' };

sub post {
    my ($path, $sdp, %o) = @_;
    return $t->http('POST', $path,
        headers => { %$SDP, %{ $o{headers} // {} } },
        body => $sdp, ($o{agent} ? (agent => $o{agent}) : ()));
}

sub summary {
    my ($r) = @_;
    my $b = $r->{body};
    $b = substr($b, 0, 200) . '...' if length $b > 200;
    return "$r->{status} $r->{body}" =~ s/\s+$//r;
}

sub publisher {
    my ($st, $stream) = @_;
    return undef unless $st;
    for my $s (@{ $st->{streams} // [] }) {
        return $s->{publisher} if $s->{name} eq $stream;
    }
    return undef;
}

sub stream_names {
    my ($st) = @_;
    return sort map { $_->{name} } grep { $_->{publisher} }
        @{ $st->{streams} // [] };
}

# count the info lines of a webrtc error for a request line
sub logged {
    my ($status, $request_re) = @_;
    my @l = grep { /\[info\].*webrtc: $status: .*request: "$request_re/ }
        split /\n/, $t->error_log;
    return scalar @l;
}

# an error: status, text/plain, one line, logged once at info
sub error_ok {
    my ($r, $status, $body_re, $name, $log_re) = @_;
    my $ok = is($r->{status}, $status, "$name: $status")
        or diag(summary($r));
    like($r->{headers}{'content-type'} // '', qr{^text/plain\b},
        "$name: text/plain");
    like($r->{body}, qr/^[^\n]*\S[^\n]*\n?\z/, "$name: one-line reason")
        or diag($r->{body});
    like($r->{body}, $body_re, "$name: reason") if $body_re;
    is(logged($status, $log_re), 1, "$name: logged once at info")
        if $log_re;
    return $ok;
}

sub session_ok {
    my ($r, $stream, $name) = @_;
    is($r->{status}, 201, "$name: 201") or diag(summary($r));
    like($r->{headers}{location} // '',
        qr{^/[A-Za-z0-9/_.-]*/\Q$stream\E/[0-9a-f]{32}$},
        "$name: Location is an absolute path with a 128-bit id");
    return $r->{headers}{location};
}

###############################################################################
# POST: the 201

my $ua = 'Test "agent" back\\slash/1.0';
my $r = post('/whip/cam1', $offer{chromium}, agent => $ua);

is($r->{status}, 201, 'POST chromium offer: 201') or diag(summary($r));
like($r->{headers}{'content-type'}, qr{^application/sdp\b},
    'Content-Type: application/sdp');
my $loc = $r->{headers}{location} // '';
like($loc, qr{^/whip/cam1/[0-9a-f]{32}$},
    'Location: /whip/cam1/<32 lowercase hex>, a path, not a URL');
my ($id1) = $loc =~ m{/([0-9a-f]{32})$};

my $etag = $r->{headers}{etag} // '';
like($etag, qr/^"[^"\s]+"$/, "strong quoted ETag ($etag)");

my $ans = $r->{body};
like($ans, qr/^v=0\r\n/, 'answer starts with v=0');
like($ans, qr/^a=ice-lite\r?$/m, 'a=ice-lite');
like($ans, qr/^a=setup:passive\r?$/m, 'a=setup:passive');
like($ans, qr/^a=recvonly\r?$/m, 'a=recvonly');
unlike($ans, qr/^a=(sendonly|sendrecv)\r?$/m, 'not sending');
my @cands = $ans =~ /^a=candidate:(.*?)\r?$/mg;
ok(@cands, 'answer has candidates');
my @ports = map { /^\S+ 1 udp \d+ 127\.0\.0\.1 (\d+) typ host/ ? $1 : () }
    @cands;
is(scalar @ports, scalar @cands,
    'candidates are "127.0.0.1 <port> typ host"') or diag(join "\n", @cands);
ok(@ports && !grep({ $_ < $t->udp_port || $_ > $t->udp_port(3) } @ports),
    'candidate port is a worker port: ' . join(',', @ports));
like($ans, qr/^a=end-of-candidates\r?$/m, 'a=end-of-candidates');
my @m = $ans =~ /^m=(\w+)/mg;
is_deeply(\@m, ['audio', 'video'], 'answer has audio and video m-lines');
like($ans, qr/^a=rtpmap:\d+ H264\/90000\r?$/m, 'default prefs: H264');

# CORS
is($r->{headers}{'access-control-allow-origin'}, '*',
    'Access-Control-Allow-Origin: *');
my $expose = join ',', $t->header_values($r, 'access-control-expose-headers');
like($expose, qr/\bLocation\b/i, 'exposes Location');
like($expose, qr/\bETag\b/i, 'exposes ETag');
like($expose, qr/\bLink\b/i, 'exposes Link');

# Links
my @links = $t->header_values($r, 'link');
is(scalar @links, 3, 'one Link per ice server') or diag(join "\n", @links);
is($links[0], '<stun:stun.example.org:3478>; rel="ice-server"', 'STUN Link');
is($links[1], '<turn:turn.example.org:3478?transport=udp>; rel="ice-server";'
    . ' username="u1"; credential="c1"; credential-type="password"',
    'TURN Link with static credentials');

{
    my $l = $links[2] // '';
    my $now = time;
    like($l, qr{^<turn:rest\.example\.org:3478>;\ rel="ice-server";
        \ username="\d+:cam1";\ credential="[A-Za-z0-9+/=]+";
        \ credential-type="password"$}x, 'TURN REST Link shape');
    my ($user) = $l =~ /username="([^"]*)"/;
    my ($cred) = $l =~ /credential="([^"]*)"/;
    my ($exp) = ($user // '') =~ /^(\d+):/;
    ok(defined $exp && $exp >= int($now) + 3600 - 5
        && $exp <= int($now) + 3600 + 5,
        'TURN REST username expiry is now + ttl') or diag($user);
    my $want = hmac_sha1_base64($user // '', 's3cr3t');
    $want .= '=' while length($want) % 4;
    is($cred, $want, 'TURN REST credential = base64(HMAC-SHA1(secret, user))');
}

# unique ids
my $r2 = post('/whip/cam2', $offer{chromium});
my $loc2 = session_ok($r2, 'cam2', 'second stream');
isnt($loc2, $loc, 'a new id for every POST');
isnt($r2->{headers}{etag}, $etag, 'a new ETag for every session');

# the status page
my $st = $t->status;
ok($st, 'GET /webrtc/status decodes as JSON');
ok($st && $st->{pid} && $st->{time}, 'status has pid and time');
cmp_ok($st->{sessions} // 0, '>=', 2, 'status counts the sessions');
my $p = publisher($st, 'cam1');
ok($p, 'status lists stream cam1 with a publisher');
is($p->{id}, $id1, 'publisher id is the Location id');
ok((grep { $_ == ($p->{worker} // 0) } @workers), 'worker is a worker pid');
ok((grep { $_ == ($p->{port} // 0) } @ports), 'port is the answer\'s port');
like($p->{state} // '', qr/^(new|checking|connected)$/, 'state');
is($p->{user_agent}, $ua, 'user_agent as sent, quote and backslash escaped');
is_deeply([map { $_->{kind} } @{ $p->{tracks} // [] }], ['audio', 'video'],
    'tracks: audio, video');
is($p->{tracks}[0]{codec}, 'opus', 'audio codec opus');
is($p->{tracks}[1]{codec}, 'H264', 'video codec H264');
for my $k (qw(packets bytes keyframes lost bitrate width height)) {
    like($p->{tracks}[1]{$k} // '', qr/^\d+$/, "video track has $k");
}
like($p->{tracks}[1]{keyframe_requests} // $p->{tracks}[1]{plis_sent} // '',
    qr/^\d+$/, 'video track counts keyframe requests (PLI/FIR) sent');
is_deeply($st->{streams}[0]{viewers}, [], 'no viewers');

###############################################################################
# codecs and peers' offers

$r = post('/vp8/cam-vp8', $offer{chromium});
session_ok($r, 'cam-vp8', 'webrtc_video_codecs VP8 H264');
like($r->{body}, qr/^a=rtpmap:\d+ VP8\/90000\r?$/m, 'VP8 preferred');
unlike($r->{body}, qr/H264/, 'only the chosen video codec');
is(publisher($t->status, 'cam-vp8')->{tracks}[1]{codec}, 'VP8',
    'status shows VP8');

$r = post('/whip/obs', $offer{obs});
session_ok($r, 'obs', 'OBS offer');
$p = publisher($t->status, 'obs');
is(join(',', map { "$_->{kind}:$_->{codec}" } @{ $p->{tracks} // [] }),
    'audio:opus,video:H264', 'OBS: opus + H264');

for my $peer (qw(aiortc gstreamer libdatachannel chromium-vp8)) {
    $r = post("/whip/peer-$peer", $offer{$peer});
    is($r->{status}, 201, "$peer offer: 201") or diag(summary($r));
}

$r = post('/whip/cam-params', $offer{chromium},
    headers => { 'Content-Type' => 'application/sdp; charset=utf-8' });
is($r->{status}, 201, 'Content-Type with parameters: 201')
    or diag(summary($r));

###############################################################################
# POST errors

$r = $t->http('POST', '/whip/ct1', body => $offer{chromium},
    headers => { 'Content-Type' => 'text/plain' });
error_ok($r, 415, undef, 'wrong content type', 'POST /whip/ct1 ');

$r = $t->http('POST', '/whip/ct2', body => $offer{chromium});
error_ok($r, 415, undef, 'missing content type', 'POST /whip/ct2 ');

$r = $t->http('POST', '/whip/ct3', body => $offer{chromium},
    headers => { 'Content-Type' => 'application/sdpx' });
is($r->{status}, 415, 'application/sdpx: 415');

my $big = $offer{chromium} . ('a=x-pad:' . ('x' x 990) . "\r\n") x 70;
$r = post('/whip/big1', $big);
error_ok($r, 413, undef, 'body over 64k (Content-Length)', 'POST /whip/big1 ');

{
    my $chunked = '';
    for (my $i = 0; $i < length $big; $i += 8000) {
        my $c = substr($big, $i, 8000);
        $chunked .= sprintf("%x\r\n%s\r\n", length $c, $c);
    }
    $chunked .= "0\r\n\r\n";
    my $raw = $t->http_raw("POST /whip/big2 HTTP/1.1\r\nHost: x\r\n"
        . "Content-Type: application/sdp\r\nTransfer-Encoding: chunked\r\n"
        . "Connection: close\r\n\r\n$chunked", timeout => 10);
    like($raw, qr{^HTTP/1\.1 413 }, 'body over 64k (chunked): 413')
        or diag(substr($raw, 0, 300));
    is(logged(413, 'POST /whip/big2 '), 1, 'chunked 413 logged once');

    # a chunked body within the limit is fine
    my $ok = $offer{chromium};
    $raw = $t->http_raw("POST /whip/chunked-ok HTTP/1.1\r\nHost: x\r\n"
        . "Content-Type: application/sdp\r\nTransfer-Encoding: chunked\r\n"
        . "Connection: close\r\n\r\n"
        . sprintf("%x\r\n%s\r\n0\r\n\r\n", length $ok, $ok));
    like($raw, qr{^HTTP/1\.1 201 }, 'chunked offer within the limit: 201')
        or diag(substr($raw, 0, 300));
}

$r = post('/whip/empty', '');
error_ok($r, 400, undef, 'empty body', 'POST /whip/empty ');

$r = post('/whip/garbage', "this is not SDP\r\nat all\r\n");
error_ok($r, 400, undef, 'garbage', 'POST /whip/garbage ');

(my $no_v = $offer{chromium}) =~ s/^v=0\r\n//;
$r = post('/whip/nov', $no_v);
error_ok($r, 400, undef, 'no v=0', 'POST /whip/nov ');

my @unacceptable = (
    [ 'two video m-lines', '/whip/u-2video', $two_video ],
    [ 'recvonly offer', '/whip/u-recvonly', $offer{'chromium-recvonly'} ],
    [ 'no common video codec', '/h264only/u-vp8', $offer{'chromium-vp8'} ],
    [ 'audio PCMU only', '/whip/u-pcmu', $pcmu_only ],
    [ 'no rtcp-mux', '/whip/u-nomux', $no_rtcp_mux ],
    [ 'no fingerprint', '/whip/u-nofp', $no_fingerprint ],
);
for my $u (@unacceptable) {
    my ($name, $path, $sdp) = @$u;
    $r = post($path, $sdp);
    error_ok($r, 422, undef, $name, "POST \Q$path\E ");
}

like($sha1_fingerprint, qr/a=fingerprint:sha-1 /, 'a SHA-1 offer');
$r = post('/whip/u-sha1', $sha1_fingerprint);
error_ok($r, 422, qr/SHA-1 fingerprints are refused/, 'SHA-1 fingerprint',
    'POST /whip/u-sha1 ');

for my $dc (qw(chromium-dc aiortc-dc)) {
    $r = post("/whip/dc-$dc", $offer{$dc});
    is($r->{status}, 201, "$dc offer (with a data channel): 201");
    like($r->{body} // '', qr/^m=application 9 (UDP\/DTLS\/SCTP|DTLS\/SCTP)/m,
        "$dc answer accepts the data channel");

    next unless $dc eq 'chromium-dc';

    # the answer promises what the server enforces: webrtc_data_max_message
    like($r->{body} // '', qr/^a=max-message-size:65536\r$/m,
        'the answer advertises webrtc_data_max_message (64k)');
}

# none of the refused offers left a session behind
$st = $t->status;
is_deeply([grep { /^(u-|ct\d|big|empty|garbage|nov)/ } stream_names($st)], [],
    'refused offers leave no session');

###############################################################################
# methods

$r = post($loc, $offer{chromium});
error_ok($r, 405, undef, 'POST on a session URL', "POST \Q$loc\E ");
like($r->{headers}{allow} // '', qr/\bDELETE\b/, '405 carries Allow');

$r = $t->http('PUT', '/whip/cam1', body => 'x', headers => $SDP);
is($r->{status}, 405, 'PUT on the endpoint: 405');
like($r->{headers}{allow} // '', qr/\bPOST\b/, 'Allow lists POST');

$r = $t->http('PUT', $loc, body => 'x', headers => $SDP);
is($r->{status}, 405, 'PUT on a session: 405');
ok($r->{headers}{allow}, 'with Allow');

$r = $t->http('DELETE', '/whip/cam1');
is($r->{status}, 405, 'DELETE on the endpoint: 405');
ok($r->{headers}{allow}, 'with Allow');

for my $m (qw(GET HEAD)) {
    $r = $t->http($m, '/whip/cam1');
    is($r->{status}, 200, "$m endpoint: 200");
    is($r->{body}, '', "$m endpoint: empty body");
    $r = $t->http($m, $loc);
    is($r->{status}, 200, "$m live session: 200");
    is($r->{body}, '', "$m live session: empty body");
    $r = $t->http($m, '/whip/cam1/' . ('0' x 32));
    is($r->{status}, 404, "$m unknown session: 404");
}

my $unknown = '/whip/cam1/' . ('ab' x 16);
$r = $t->http('DELETE', $unknown);
error_ok($r, 404, undef, 'DELETE unknown session', "DELETE \Q$unknown\E ");
$r = $t->http('PATCH', $unknown,
    headers => { 'Content-Type' => 'application/trickle-ice-sdpfrag' },
    body => "a=mid:0\r\n");
is($r->{status}, 404, 'PATCH unknown session: 404') or diag(summary($r));

# a session id on the wrong stream is not that session
(my $wrong = $loc) =~ s{/cam1/}{/cam2/};
is($t->http('GET', $wrong)->{status}, 404, 'id under another stream: 404');

# stream names
for my $bad ('/whip/bad%20name', '/whip/', '/whip/' . ('a' x 65),
    '/whip/bad!name', '/whip/bad%2Fname')
{
    $r = post($bad, $offer{chromium});
    is($r->{status}, 404, "invalid stream name $bad: 404")
        or diag(summary($r));
}
$r = $t->http('GET', '/whip/' . ('a' x 64));
is($r->{status}, 200, '64-character stream name is valid');
$r = $t->http('GET', '/whip/A-z_0.9');
is($r->{status}, 200, 'stream name with . _ - is valid');

###############################################################################
# OPTIONS, CORS

$r = $t->http('OPTIONS', '/whip/cam1');
is($r->{status}, 204, 'OPTIONS: 204');
like($r->{headers}{allow} // '', qr/\bPOST\b/, 'OPTIONS: Allow');
is($r->{headers}{'accept-post'}, 'application/sdp',
    'plain OPTIONS: Accept-Post: application/sdp');
is(scalar(() = $t->header_values($r, 'link')), 3,
    'OPTIONS without tokens configured: ice-server Links');

$r = $t->http('OPTIONS', '/whip/cam1', headers => {
    'Origin' => 'http://example.org',
    'Access-Control-Request-Method' => 'POST',
    'Access-Control-Request-Headers' => 'authorization, content-type',
});
is($r->{status}, 204, 'CORS preflight: 204');
is($r->{headers}{'access-control-allow-origin'}, '*',
    'preflight: Access-Control-Allow-Origin');
my $methods = $r->{headers}{'access-control-allow-methods'} // '';
like($methods, qr/\b$_\b/, "preflight allows $_") for qw(POST DELETE PATCH);
my $hdrs = $r->{headers}{'access-control-allow-headers'} // '';
like($hdrs, qr/\bAuthorization\b/i, 'preflight allows Authorization');
like($hdrs, qr/\bContent-Type\b/i, 'preflight allows Content-Type');

$r = post('/nocors/cam-nocors', $offer{chromium},
    headers => { Origin => 'http://example.org' });
is($r->{status}, 201, 'webrtc_allow_origin off: 201');
ok(!exists $r->{headers}{'access-control-allow-origin'},
    'webrtc_allow_origin off: no Access-Control-Allow-Origin');
ok(!exists $r->{headers}{'access-control-expose-headers'},
    'webrtc_allow_origin off: no Access-Control-Expose-Headers');

###############################################################################
# tokens

# refused requests: each on its own stream, none may create a session
$r = post('/tok/na1', $offer{chromium});
is($r->{status}, 401, 'no token: 401') or diag(summary($r));
like($r->{headers}{'www-authenticate'} // '', qr/^Bearer\b/,
    'WWW-Authenticate: Bearer');
is(logged(401, 'POST /tok/na1 '), 1, '401 logged once');

$r = post('/tok/na2', $offer{chromium},
    headers => { Authorization => 'Bearer wrong' });
is($r->{status}, 403, 'wrong token: 403');

$r = post('/tok/na3', $offer{chromium},
    headers => { Authorization => 'Basic c2VjcmV0MQ==' });
is($r->{status}, 401, 'Basic credentials are not a bearer token: 401');

$r = post('/tok/na4', $offer{chromium},
    headers => { Authorization => 'Bearer secret12' });
is($r->{status}, 403, 'token with a suffix: 403');

$r = post('/tok/na5?token=nope', $offer{chromium});
is($r->{status}, 403, '?token=nope: 403');

is_deeply([grep { /^na\d$/ } stream_names($t->status)], [],
    'no session created by a refused POST (401/403)');

$r = post('/tok/t1', $offer{chromium},
    headers => { Authorization => 'Bearer secret1' });
my $tloc = session_ok($r, 't1', 'Bearer secret1');

$r = post('/tok/t2', $offer{chromium},
    headers => { Authorization => 'bearer secret1' });
is($r->{status}, 201, 'lower-case "bearer": 201');

$r = post('/tok/t3', $offer{chromium},
    headers => { Authorization => 'Bearer other2' });
is($r->{status}, 201, 'the second token: 201');

$r = post('/tok/t4?token=secret1', $offer{chromium});
is($r->{status}, 201, '?token=secret1: 201') or diag(summary($r));
like($r->{headers}{location} // '', qr{^/tok/t4/[0-9a-f]{32}$},
    'Location has no query string');

# a regex location's Location comes from the decoded URI: escaped again,
# %0D%0A in it cannot start a header line
$r = post('/rx/a%0D%0AX-Injected:%20yes/live/rx1', $offer{chromium});
is($r->{status}, 201, 'regex location, %0D%0A in its prefix: 201')
    or diag(summary($r));
ok(!exists $r->{headers}{'x-injected'}, 'no header injected');
like($r->{headers}{location} // '',
    qr{^/rx/a%0D%0AX-Injected:%20yes/live/rx1/[0-9a-f]{32}$},
    'Location escaped again');
is($t->http('DELETE', $r->{headers}{location} // '/rx/x/live/rx1')->{status},
    200, 'DELETE through the escaped Location: 200');

my $frag = "a=mid:0\r\na=candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host\r\n";
my $TRICKLE = { 'Content-Type' => 'application/trickle-ice-sdpfrag' };

$r = $t->http('PATCH', $tloc, headers => $TRICKLE, body => $frag);
is($r->{status}, 401, 'PATCH without token: 401');
$r = $t->http('PATCH', $tloc, body => $frag,
    headers => { %$TRICKLE, Authorization => 'Bearer secret1' });
is($r->{status}, 204, 'PATCH with token: 204') or diag(summary($r));

$r = $t->http('DELETE', $tloc);
is($r->{status}, 401, 'DELETE without token: 401');
$r = $t->http('DELETE', $tloc, headers => { Authorization => 'Bearer x' });
is($r->{status}, 403, 'DELETE with a wrong token: 403');
ok(publisher($t->status, 't1'), 'session still there');

# a session resource answers only through the location that created it:
# not through a public WHEP location, nor another WHIP location
for my $other ('/whep/', '/whip/') {
    (my $u = $tloc) =~ s{^/tok/}{$other};
    $r = $t->http('DELETE', $u);
    is($r->{status}, 404, "DELETE of a /tok/ publisher through $other: 404");
    $r = $t->http('PATCH', $u, headers => $TRICKLE, body => $frag);
    is($r->{status}, 404, "PATCH of a /tok/ publisher through $other: 404");
    $r = $t->http('GET', $u);
    is($r->{status}, 404, "GET of a /tok/ publisher through $other: 404");
}
ok(publisher($t->status, 't1'), 'the publisher survived them');

$r = $t->http('OPTIONS', '/tok/t9', headers => {
    'Origin' => 'http://example.org',
    'Access-Control-Request-Method' => 'POST',
    'Access-Control-Request-Headers' => 'authorization, content-type',
});
is($r->{status}, 204, 'preflight needs no token');

$r = $t->http('OPTIONS', '/tok/t9');
is($r->{status}, 204, 'plain OPTIONS needs no token');
is(scalar(() = $t->header_values($r, 'link')), 0,
    'plain OPTIONS without token: no ice-server Links');

$r = $t->http('OPTIONS', '/tok/t9',
    headers => { Authorization => 'Bearer secret1' });
is($r->{status}, 204, 'OPTIONS with token: 204');
is(scalar(() = $t->header_values($r, 'link')), 3,
    'OPTIONS with token: ice-server Links');

$r = $t->http('DELETE', $tloc, headers => { Authorization => 'Bearer secret1' });
is($r->{status}, 200, 'DELETE with token: 200');

# the status counts why sessions ended
{
    my $st = $t->status;
    cmp_ok($st && $st->{ended}{deleted} // 0, '>=', 1,
        'status: "ended" counts "deleted"');
}

###############################################################################
# PATCH (trickle ICE)

$r = $t->http('PATCH', $loc, headers => $TRICKLE, body => $frag);
is($r->{status}, 204, 'PATCH trickle candidates: 204') or diag(summary($r));
is($r->{body}, '', 'PATCH 204: no body');

$r = $t->http('PATCH', $loc, headers => $TRICKLE,
    body => "a=end-of-candidates\r\n");
is($r->{status}, 204, 'PATCH end-of-candidates: 204');

$r = $t->http('PATCH', $loc, headers => $SDP, body => $frag);
error_ok($r, 415, undef, 'PATCH application/sdp', "PATCH \Q$loc\E ");

# ICE restart in detail: t/68-ice-restart.t
$r = $t->http('PATCH', $loc, headers => $TRICKLE,
    body => "a=ice-ufrag:EsAw\r\na=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\r\n"
        . "m=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\n");
is($r->{status}, 428, 'PATCH with a new ice-ufrag without If-Match: 428')
    or diag(summary($r));
like($r->{body}, qr/^ICE restart requires If-Match$/m, '428 reason');

$r = $t->http('PATCH', $loc, headers => $TRICKLE,
    body => "hello world\r\nthis is no sdpfrag\r\n");
error_ok($r, 400, undef, 'PATCH garbage', "PATCH \Q$loc\E ");

# after the garbage: its 400 is counted in the log
$r = $t->http('PATCH', $loc, body => $frag,
    headers => { %$TRICKLE, 'If-Match' => '*' });
is($r->{status}, 400, 'PATCH If-Match: * without ice-ufrag: 400');
like($r->{body}, qr/^ICE restart without ice-ufrag and ice-pwd$/m,
    '400 reason');

$r = $t->http('PATCH', '/whip/cam1', headers => $TRICKLE, body => $frag);
is($r->{status}, 405, 'PATCH on the endpoint: 405');

ok(publisher($t->status, 'cam1'), 'session survives the PATCHes');

###############################################################################
# one publisher per stream, takeover after webrtc_takeover_idle (1s)

$r = post('/whip/take', $offer{chromium});
my $la = session_ok($r, 'take', 'publisher A');
$r = post('/whip/take', $offer{obs});
error_ok($r, 409, qr/^stream already has a live publisher$/,
    'publisher B while A is live', 'POST /whip/take ');
is(publisher($t->status, 'take')->{id}, ($la =~ m{/(\w+)$})[0],
    'A is still the publisher');

sleep 1.5;

$r = post('/whip/take', $offer{obs});
my $lc = session_ok($r, 'take', 'publisher C after 1.5 s of silence');
my ($idc) = ($lc // '') =~ m{/(\w+)$};
ok($t->wait_for(sub {
    my $p = publisher($t->status, 'take');
    $p && $p->{id} eq ($idc // '');
}, timeout => 5), 'status shows C as the publisher');
# an ended session is a tombstone for a while: its DELETE still gets 200
# (clients close DTLS first, then DELETE), while GET and PATCH get 404
is($t->http('DELETE', $la)->{status}, 200,
    'A is gone: its late DELETE still 200');
is($t->http('GET', $la)->{status}, 404, 'A is gone: GET 404');
{
    my $n = grep { $_->{name} eq 'take' } @{ $t->status->{streams} // [] };
    is($n, 1, 'stream "take" listed once');
}
like($t->error_log, qr/\[info\].*publisher \w+ of stream "take" replaced/,
    'takeover logged');

###############################################################################
# DELETE

$r = $t->http('DELETE', $loc);
is($r->{status}, 200, 'DELETE session: 200') or diag(summary($r));
ok($t->wait_for(sub { !publisher($t->status, 'cam1') }, timeout => 5),
    'deleted session gone from the status');
is($t->http('DELETE', $loc)->{status}, 200,
    'second DELETE: 200 (idempotent while the tombstone lasts)');
is($t->http('PATCH', $loc, headers => {
        'Content-Type' => 'application/trickle-ice-sdpfrag' },
    body => "a=mid:0\r\n")->{status}, 404, 'PATCH of the ended session: 404');
is($t->http('GET', $loc)->{status}, 404, 'GET deleted session: 404');

# the stream is free again at once
$r = post('/whip/cam1', $offer{obs});
my $loc1b = session_ok($r, 'cam1', 'new publisher after DELETE');
is($t->http('DELETE', $loc1b)->{status}, 200, 'and DELETE it');

###############################################################################
# DELETE reaching the other worker: POST and DELETE on new connections

{
    my (@sess, %seen);
    my $deadline = time + 20;
    for my $i (1 .. 30) {
        last if time > $deadline;
        my $r = post("/whip/mw$i", $offer{chromium});
        next unless $r->{status} == 201;
        my $p = publisher($t->status, "mw$i") or next;
        push @sess, [ $r->{headers}{location}, "mw$i" ];
        $seen{ $p->{worker} }++;
        last if keys %seen >= 2 && @sess >= 8;
    }
    cmp_ok(scalar(keys %seen), '>=', 2,
        'sessions on both workers: ' . join(', ',
            map { "$_ x$seen{$_}" } sort keys %seen));

    my @codes = map { $t->http('DELETE', $_->[0])->{status} } @sess;
    is_deeply(\@codes, [(200) x @sess], 'every DELETE: 200');

    my %want = map { $_->[1] => 1 } @sess;
    ok($t->wait_for(sub {
        !grep { $want{$_} } stream_names($t->status);
    }, timeout => 5), 'all of them ended, whichever worker DELETE reached')
        or diag(join ' ', grep { $want{$_} } stream_names($t->status));
    my @left = grep { $t->http('GET', $_->[0])->{status} != 404 } @sess;
    is(scalar @left, 0, 'their URLs give 404');
}

###############################################################################
# nginx's own access control in front of the endpoint

$r = post('/acl/cam-acl', $offer{chromium});
is($r->{status}, 403, 'allow 127.0.0.2; deny all: 403 from nginx');
ok(!publisher($t->status, 'cam-acl'), 'no session');

$r = post('/limited/lim1', $offer{chromium});
is($r->{status}, 201, 'limit_req: first POST 201');
$r = post('/limited/lim2', $offer{chromium});
is($r->{status}, 503, 'limit_req 1r/m: second POST 503');
ok(!publisher($t->status, 'lim2'), 'no session for the refused POST');

$r = post('/authreq/ar1', $offer{chromium});
is($r->{status}, 401, 'auth_request denies: 401');
ok(!publisher($t->status, 'ar1'), 'no session');
$r = post('/authreq/ar1', $offer{chromium},
    headers => { 'X-User' => 'alice' });
is($r->{status}, 201, 'auth_request allows X-User: alice: 201')
    or diag(summary($r));
like($r->{headers}{location} // '', qr{^/authreq/ar1/[0-9a-f]{32}$},
    'Location under the auth_request location');
like($r->{body}, qr/^a=ice-lite/m, 'the answer is the body');

###############################################################################

is_deeply([sort $t->worker_pids], [sort @workers], 'same workers all along');
cmp_ok(time - $T0, '<', 60, 'under 60 s');

$t->done;

# a stream's readers have room for two generations of 64 workers: more
# are refused when the configuration is read, not when joins fail
{
    my $big = WebRTCTest->new(name => 'http-workers', workers => 65);
    $big->write_conf($big->default_conf);
    ok(!eval { $big->start; 1 }, 'worker_processes 65: nginx does not start');
    like($@, qr/webrtc supports at most 64 worker processes/,
        'and says why');
    $big->stop if $big->{running};
}
done_testing;
