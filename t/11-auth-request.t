#!/usr/bin/perl

# The README's admission example, as it is written there: auth_request
# to a location that proxies to the README's auth.py (taken from the
# README itself, run on 127.0.0.1:9000): a WHIP POST without the key,
# with a wrong one or for a stream not listed gets 403, with the key
# 201; the session's DELETE goes through the same check.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use POSIX ();
use WebRTCTest qw(skip_unless_netns);

skip_unless_netns();

my $t = WebRTCTest->new(name => 'auth-request', workers => 1);

my $readme = $t->read_file($t->root . '/README.md');
my ($py) = $readme =~ /```python\n(# auth\.py: .*?)```/s;
ok($py, "the README's auth.py") or BAIL_OUT('no auth.py in the README');
my ($loc) = $readme =~ /(location = \/auth \{.*?\n\})/s;
ok($loc, "the README's /auth location") or BAIL_OUT('no /auth location');
my $svc = $t->write_file('auth.py', $py);

my $conf = $t->default_conf(server => $loc);
$conf =~ s/(location \/whip\/ \{\n)/$1            auth_request \/auth;\n/
    or die 'no WHIP location';
$t->write_conf($conf);
$t->start;

my $pid = fork // die "fork: $!";
if ($pid == 0) {
    $SIG{$_} = 'DEFAULT' for qw(INT TERM HUP);
    exec '/usr/bin/python3', $svc or POSIX::_exit(1);
}

ok($t->wait_for(sub {
    IO::Socket::INET->new(PeerAddr => '127.0.0.1:9000', Proto => 'tcp')
}, timeout => 10, interval => 0.1), 'auth.py listens on 127.0.0.1:9000');

my $offer = $t->test_offer('chromium');
my %h = ('Content-Type' => 'application/sdp');
my $key = { %h, Authorization => 'Bearer s3cret' };

is($t->http(POST => '/whip/cam1', body => $offer, headers => \%h)->{status},
   403, 'no key: 403');
is($t->http(POST => '/whip/cam1', body => $offer,
            headers => { %h, Authorization => 'Bearer nope' })->{status},
   403, 'a wrong key: 403');
is($t->http(POST => '/whip/cam2', body => $offer, headers => $key)->{status},
   403, 'a stream not listed: 403');
my $r = $t->http(POST => '/whip/cam1', body => $offer, headers => $key);
is($r->{status}, 201, 'the key: 201');
my $session = $r->{headers}{location} // '';
is($t->http(DELETE => $session)->{status}, 403,
   'DELETE of the session without the key: 403');
is($t->http(DELETE => $session,
            headers => { Authorization => 'Bearer s3cret' })->{status},
   200, 'with it: 200');

kill 'TERM', $pid;
waitpid $pid, 0;
$t->done;
done_testing;
