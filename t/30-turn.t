#!/usr/bin/perl

# End to end through TURN: Debian's coturn runs on loopback with the TURN
# REST API shared secret; nginx hands out time-limited credentials for it
# (webrtc_ice_server ... secret=) in the ice-server Link headers. Chromium
# publishes with iceTransportPolicy "relay", so the only path it may use
# is an allocation on coturn made with the credentials the page read from
# the OPTIONS answer. The server sees the session coming from the relay
# address, media flows, and coturn logs the allocation.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Digest::SHA qw(hmac_sha1_base64);
use Test::More;
use Time::HiRes qw(time sleep);
use WebRTCTest qw(skip_unless_peers pid_alive);

skip_unless_peers('turnserver', 'chromium');

my $t = WebRTCTest->new(name => 'turn', workers => 2);
my $p = $t->prefix;

###############################################################################
# coturn

# ports below the ephemeral range, apart from nginx's (chosen, not bound yet)
my @taken = ($t->http_port, map { $t->udp_port($_) } 0 .. $t->workers + 3);
my $clash = sub {
    my ($lo, $hi) = @_;
    return grep { $_ >= $lo && $_ <= $hi } @taken;
};
my ($turn_port, $relay_min);
do { $turn_port = WebRTCTest::_free_port('udp', 1) }
    while $clash->($turn_port, $turn_port);
do { $relay_min = WebRTCTest::_free_port('udp', 40) }
    while $clash->($relay_min, $relay_min + 39)
    || ($turn_port >= $relay_min && $turn_port <= $relay_min + 39);
my $relay_max = $relay_min + 39;
my $secret = join '', map { ('a' .. 'z', 0 .. 9)[rand 36] } 1 .. 24;

my $coturn = $t->spawn_client({ timeout => 300 }, 'turnserver', '-n',
    '--listening-ip', '127.0.0.1', '--listening-port', $turn_port,
    '--relay-ip', '127.0.0.1',
    '--min-port', $relay_min, '--max-port', $relay_max,
    '--use-auth-secret', '--static-auth-secret', $secret, '--realm', 'test',
    '--no-tls', '--no-dtls', '--allow-loopback-peers', '--no-cli', '--verbose',
    '--simple-log', '--log-file', "$p/turn.log", '--no-stdout-log',
    '--pidfile', "$p/turn.pid", '--userdb', "$p/turndb");

my $ready = $t->wait_for(sub {
    return -1 unless $coturn->running;
    return $t->read_file('turn.log') =~ /Total General servers/;
}, timeout => 15);
unless (ok($ready && $ready != -1 && $coturn->running,
    "coturn runs on 127.0.0.1:$turn_port, relays $relay_min-$relay_max"))
{
    diag("coturn did not start:\n" . $t->read_file('turn.log')
        . $coturn->stderr);
    $coturn->kill;
    done_testing;
    exit 1;
}

###############################################################################
# nginx

$t->write_conf($t->whep_conf(whip =>
    "webrtc_ice_server turn:127.0.0.1:$turn_port?transport=udp"
    . " secret=$secret ttl=1h;",
    whep => "webrtc_ice_server turn:127.0.0.1:$turn_port?transport=tcp"
    . " secret=$secret ttl=1h;"));
$t->start;

# what the page reads: OPTIONS on the endpoint, ice-server Link headers
my $r = $t->http('OPTIONS', '/whip/relayed');
ok($r->{status} >= 200 && $r->{status} < 300, "OPTIONS $r->{status}");
my ($link) = grep { /^<turn:/ } $t->header_values($r, 'link');
like($link // '', qr{^<turn:127\.0\.0\.1:$turn_port\?transport=udp>;
    \s*rel="ice-server"}x, 'TURN Link header');
my ($user) = ($link // '') =~ /\busername="([^"]*)"/;
my ($cred) = ($link // '') =~ /\bcredential="([^"]*)"/;
like($user // '', qr/^\d+:/, 'username "<expiry>:..."');
my ($expiry) = ($user // '0') =~ /^(\d+)/;
cmp_ok(abs($expiry - (time + 3600)), '<', 120, 'expires in ttl=1h');
my $want = hmac_sha1_base64($user // '', $secret);
$want .= '=' x ((4 - length($want) % 4) % 4);
is($cred, $want, 'credential = base64(HMAC-SHA1(secret, username))');
like($link // '', qr/credential-type="password"/, 'credential-type');

###############################################################################
# Chromium, relay only

my $t0 = time;
my ($c, $id, $ev) = $t->spawn_publisher({ wait => 45 }, 'chromium',
    'relayed', '--relay', '--seconds', 40, '--timeout', 20);
ok($id, 'page connected with relay only')
    or diag("coturn log:\n", $t->read_file('turn.log'));
cmp_ok($ev && $ev->{iceServers} // 0, '>=', 1,
    'the page got ICE servers from the Link headers');

my $pub = $t->check_media('relayed',
    name       => 'relayed publisher',
    audio      => 'opus',
    video      => qr/^(H264|VP8|VP9|AV1)$/,
    user_agent => qr/Chrome/,
    remote     => qr/^127\.0\.0\.1:\d+$/,
    timeout    => 20);

my ($rport) = ($pub && $pub->{remote} // '') =~ /:(\d+)$/;
ok($rport && $rport >= $relay_min && $rport <= $relay_max,
    'remote is a coturn relay address: ' . ($pub && $pub->{remote} // '-'));

$c->signal('USR1');
my $del = $c->wait_event(sub { $_[0]{event} =~ /^(deleted|error)$/ },
    timeout => 20);
is($del && $del->{status}, 200, 'stopped, DELETE answered 200')
    or diag(explain($del // 'no event'));
$t->check_ended($c, $id);
note(sprintf 'relayed publish: %.1f s', time - $t0);

###############################################################################
# TURN over TCP: UDP to coturn's port dropped (nftables, in this test's
# namespace), a relay-only Chromium viewer reaches coturn over TCP and
# plays a Chromium publisher's stream

my $nft = WebRTCTest::_in_private_netns() && !system('sh', '-c',
    'command -v nft >/dev/null');
SKIP: {
    skip 'TURN over TCP needs nft and a private network namespace', 6
        unless $nft;

    eval 'END { local $?; system("nft delete table inet turntcp 2>/dev/null") }';
    is(system('sh', '-c', "nft add table inet turntcp && "
        . "nft 'add chain inet turntcp in { type filter hook input "
        . "priority 0; }' && "
        . "nft add rule inet turntcp in udp dport $turn_port drop"), 0,
        "nftables: UDP to coturn's port $turn_port dropped");

    my ($pc, $pid) = $t->spawn_publisher({ wait => 45 }, 'chromium',
        'tcprelay', '--seconds', 60, '--timeout', 20);
    ok($pid, 'a publisher (direct, UDP) for the TURN-TCP viewer');

    my ($vc, $vid) = $t->spawn_viewer({ wait => 60, timeout => 90 },
        'chromium', 'tcprelay', '--relay', '--seconds', 40,
        '--timeout', 40);
    ok($vid, 'relay-only viewer connected through TURN over TCP')
        or diag("coturn log:\n", $t->read_file('turn.log'));

    my $v = $vid && $t->wait_session($vid, timeout => 20);
    my ($vport) = ($v && $v->{remote} // '') =~ /:(\d+)$/;
    ok($vport && $vport >= $relay_min && $vport <= $relay_max,
        'viewer remote is a coturn relay address: '
        . ($v && $v->{remote} // '-'));

    my $frames = $t->wait_for(sub {
        my @s = $vc->events('stats');
        return @s && ($s[-1]{framesDecoded} // 0) > 30
            ? $s[-1]{framesDecoded} : undef;
    }, timeout => 20);
    ok($frames, 'the relayed viewer decodes (' . ($frames // 0)
        . ' frames)') or diag($vc->stderr);

    $t->leave($vc, 'TURN-TCP viewer') if $vid;
    $t->leave($pc, 'direct publisher') if $pid;
    system('nft', 'delete', 'table', 'inet', 'turntcp');   # (END too)
}

###############################################################################
# coturn's side

# coturn writes its log through a buffer: read it once coturn is stopped
my $cpid = $coturn->pid;
$coturn->kill('TERM');
ok(!$coturn->running && !pid_alive($cpid), 'coturn stopped');
# the page made its own OPTIONS request: same form, its own expiry
my $u = '\d+:relayed';
my $log = $t->read_file('turn.log');
like($log, qr/session \d+: new, realm=<test>, username=<$u>/,
    'coturn log: a session with a username from nginx')
    or diag($log);
like($log, qr/user <$u>: incoming packet ALLOCATE processed, success/,
    'coturn log: allocation');
like($log,
    qr/user <$u>: incoming packet CREATE_PERMISSION processed, success/,
    'coturn log: permission for the server');
# the first ALLOCATE without credentials gets the usual 401 challenge;
# with the credentials nothing may fail
my @bad = grep { /user <[^>]+>:.*error/ } split /\n/, $log;
ok(!@bad, 'coturn log: no error with credentials') or diag(join "\n", @bad);

$t->done;

done_testing;
