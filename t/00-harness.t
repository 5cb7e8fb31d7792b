#!/usr/bin/perl

# Tests of the test library itself (t/lib/WebRTCTest.pm), against plain
# nginx without the WebRTC module: runs on any machine with nginx.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes qw(time);
use WebRTCTest qw(parse_events pid_alive skip_unless_exec);

skip_unless_exec($ENV{WEBRTC_NGINX} // '/usr/sbin/nginx');

note('private network namespace: '
    . (WebRTCTest::_in_private_netns() ? 'yes' : 'no'));

###############################################################################
# configuration

my $t = WebRTCTest->new(name => 'harness', workers => 2);

ok(-d $t->prefix . "/$_", "prefix has $_/") for qw(logs tmp/body clients);
like($t->prefix, qr{/build/t/harness-$$(-\d+)?$}, 'prefix under build/t');
ok($t->http_port > 0 && $t->udp_port > 0, 'ports chosen');
is($t->udp_port(3), $t->udp_port + 3, 'udp_port($i)');

my $def = $t->default_conf(whip => 'webrtc_token secret1;',
    server => '# SERVER-EXTRA', http => '# HTTP-EXTRA', main => '# MAIN');
like($def, qr/%%LOAD_MODULE%%/, 'default conf loads the module');
like($def, qr{location /whip/ \{\s*webrtc_whip;\s*webrtc_token secret1;}s,
    'whip extra inside location /whip/');
like($def, qr/webrtc_listen 127\.0\.0\.1:%%UDP_PORT%%;/, 'webrtc_listen');
like($def, qr/location = \/webrtc\/status \{\s*webrtc_status;/, 'status');
like($def, qr/# HTTP-EXTRA.*server \{.*# SERVER-EXTRA/s, 'http/server extras');
unlike($t->default_conf(webrtc => 0), qr/webrtc|LOAD_MODULE/,
    'webrtc => 0 has no webrtc directives');

{
    local $ENV{WEBRTC_STATIC};
    my $c = $t->write_conf("%%LOAD_MODULE%%\n%%WORKERS%% %%HTTP_PORT%%");
    like($c, qr{^load_module /\S+/build/modules/ngx_http_webrtc_module\.so;},
        'LOAD_MODULE substituted');
    like($c, qr/^2 \d+$/m, 'WORKERS, HTTP_PORT substituted');
}
ok(!eval { $t->write_conf('%%NO_SUCH%%'); 1 }, 'unknown placeholder dies');

# plain nginx: the default template without the webrtc parts, plus a
# location serving files from the prefix and one with repeated headers
my $conf = $t->write_conf($t->default_conf(webrtc => 0, server => <<'EOF'));
        location /files/ {
            alias %%PREFIX%%/html/;
        }

        location = /links {
            add_header Link '<stun:127.0.0.1:3478>; rel="ice-server"' always;
            add_header Link '<turn:127.0.0.1:3478?transport=udp>; rel="ice-server"' always;
            add_header X-Method $request_method always;
            return 201 "created\n";
        }
EOF
like($conf, qr/listen 127\.0\.0\.1:\d+;/, 'conf written');
unlike($conf, qr/%%/, 'no placeholder left');

$t->write_file('html/hello.txt', "hello, world\n");

###############################################################################
# process control

my $t0 = time;
$t->start;
ok($t->master_pid, 'started, master ' . $t->master_pid);
note(sprintf 'start took %.2f s', time - $t0);

my @w = $t->worker_pids;
is(scalar @w, 2, 'two workers');

###############################################################################
# HTTP

is($t->url('/x'), 'http://127.0.0.1:' . $t->http_port . '/x', 'url');
is($t->url('http://a/b'), 'http://a/b', 'absolute url unchanged');

my $r = $t->http('GET', '/files/hello.txt');
is($r->{status}, 200, 'GET static file');
is($r->{body}, "hello, world\n", 'body');
is($r->{headers}{'content-type'}, 'text/plain', 'lowercased header names');

$r = $t->http('GET', '/files/nothing');
is($r->{status}, 404, 'GET missing file: 404');

$r = $t->http('POST', '/links', body => 'v=0',
    headers => { 'Content-Type' => 'application/sdp' });
is($r->{status}, 201, 'POST');
is($r->{headers}{'x-method'}, 'POST', 'method sent');
my @links = $t->header_values($r, 'link');
is(scalar @links, 2, 'both Link headers');
like($links[0], qr/^<stun:/, 'first Link');
like($links[1], qr/^<turn:/, 'second Link');
is(ref $r->{headers}{link}, 'ARRAY', 'repeated header is an arrayref');
is_deeply($r->{all_headers}{'x-method'}, ['POST'], 'all_headers arrayref');

$r = $t->http('DELETE', '/files/hello.txt');
is($r->{status}, 405, 'DELETE on static: 405');

my $raw = $t->http_raw("GET /files/hello.txt HTTP/1.0\r\nHost: x\r\n\r\n");
like($raw, qr{^HTTP/1\.1 200 .*\r\n\r\nhello, world\n$}s, 'http_raw');

is($t->status, undef, 'status undef without the module');

###############################################################################
# wait_for

my $n = 0;
is($t->wait_for(sub { ++$n >= 3 && "v$n" }, interval => 0.01), 'v3',
    'wait_for returns the true value');
$t0 = time;
is($t->wait_for(sub { 0 }, timeout => 0.5, interval => 0.1), undef,
    'wait_for times out');
cmp_ok(time - $t0, '<', 2, 'bounded');

###############################################################################
# reload

my %old = map { $_ => 1 } @w;
ok($t->reload, 'reload');
my @new = $t->worker_pids;
is(scalar @new, 2, 'two workers after reload');
ok(!grep({ $old{$_} } @new), 'all workers are new');
is($t->http('GET', '/files/hello.txt')->{status}, 200, 'serves after reload');

# a config the running nginx refuses: old workers stay
my $good = $t->read_file('nginx.conf');
my @before = $t->worker_pids;
$t->write_file('nginx.conf', $good . "\nno_such_directive on;\n");
{
    local $SIG{__WARN__} = sub {};
    my $diag = Test::More->builder->no_diag;
    Test::More->builder->no_diag(1);
    ok(!$t->reload(timeout => 1), 'reload with a bad config fails');
    Test::More->builder->no_diag($diag);
}
is_deeply([$t->worker_pids], \@before, 'old workers still serve');
$t->write_file('nginx.conf', $good);

###############################################################################
# clients

my ($rc, $out, $err) = $t->run_client('sh', '-c',
    'echo "{\"event\":\"answer\",\"status\":201}"; echo noise;'
    . ' echo "{\"event\":\"connected\"}"; echo oops >&2; exit 3');
is($rc, 3, 'client exit code');
is($err, "oops\n", 'client stderr');
my @ev = parse_events($out);
is_deeply([map { $_->{event} } @ev], ['answer', 'connected'], 'events');
is($ev[0]{status}, 201, 'event field');

$t0 = time;
($rc, $out, $err) = $t->run_client({ timeout => 1 },
    'sh', '-c', 'echo started; sleep 30 & sleep 30; echo never');
is($rc, 124, 'client timeout: 124');
like($out, qr/^started\n$/, 'output before the timeout kept');
like($err, qr/timeout/, 'stderr says timeout');
cmp_ok(time - $t0, '<', 5, 'timeout bounded');

($rc) = $t->run_client('sh', '-c', 'kill -TERM $$');
is($rc, 128 + 15, 'killed by signal: 128+signal');

($rc, $out, $err) = $t->run_client('/nonexistent/client');
is($rc, 127, 'exec failure: 127');

my ($py_rc) = $t->run_client({ env => { WEBRTC_X => 'y' } },
    $t->client_command('x.py', '-c'));
is(($t->client_command('x.py'))[0], '/usr/bin/python3', 'py client');
is(($t->client_command('x.js'))[0], 'node', 'js client');

my $c = $t->spawn_client({ timeout => 10, env => { WEBRTC_X => 'val' } },
    'sh', '-c', 'echo "{\"event\":\"x\",\"v\":\"$WEBRTC_X\"}"; sleep 30');
my $e = $c->wait_event('x', timeout => 5);
is($e && $e->{v}, 'val', 'spawned client event, env passed');
ok($c->running, 'still running');
is($c->wait_event('nope', timeout => 0.3), undef, 'wait_event times out');
$c->kill;
ok(!$c->running, 'killed');

SKIP: {
    skip 'no ffmpeg', 2 unless grep { -x "$_/ffmpeg" } split /:/, $ENV{PATH};
    my $h264 = $t->test_h264;
    ok(-s $h264, 'test_h264 made ' . $h264);
    open my $fh, '<:raw', $h264 or die;
    read $fh, my $head, 5;
    is(unpack('H*', $head), '0000000167', 'starts with a start code + SPS');
}

# left running on purpose: done must kill it
my $left = $t->spawn_client('sleep', '30');

###############################################################################
# done

my $master = $t->master_pid;
my $port = $t->http_port;
$t->done(allow => qr/unknown directive "no_such_directive"/);
ok(!pid_alive($master), 'master gone after done');
ok(!$left->running, 'leftover client killed by done');
ok(!IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port", Proto => 'tcp'),
    'port closed');
like($t->error_log, qr/start worker process/, 'error_log readable');

my $before = Test::More->builder->current_test;
$t->done;
is(Test::More->builder->current_test, $before, 'done is idempotent');

###############################################################################
# a config nginx refuses: start dies with the log

my $bad = WebRTCTest->new(name => 'harness-bad');
$bad->write_conf($bad->default_conf(webrtc => 0,
    http => 'no_such_directive on;'));
ok(!eval { $bad->start; 1 }, 'start fails on a bad config');
like($@, qr/unknown directive "no_such_directive"/, 'error explains why');
$bad->done(allow => qr/unknown directive "no_such_directive"/);

###############################################################################
# forgetting done: nginx is stopped at exit (checked by the END below)

my $forgot = WebRTCTest->new(name => 'harness-forgot');
$forgot->write_conf($forgot->default_conf(webrtc => 0));
$forgot->start;
my $forgot_pid = $forgot->master_pid;
ok(pid_alive($forgot_pid), 'third instance running');
undef $forgot;    # DESTROY stops it
ok(!pid_alive($forgot_pid), 'stopped when the object went away');

done_testing;
