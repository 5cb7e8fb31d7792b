#!/usr/bin/perl

# The Debian package (tools/deb.sh, `make deb`) on this machine's stock
# Debian nginx: it depends on the nginx ABI it was built for and on its
# libraries; installing it enables the module in
# /etc/nginx/modules-enabled/; with Debian's own nginx.conf plus a
# WHIP/WHEP server in conf.d, `nginx -t` passes, the system nginx starts
# from its own configuration (inside this test's network namespace), an
# OBS-shaped publisher (libdatachannel) publishes and an aiortc viewer
# decodes its frames; remove parks the link, purge removes every file.
#
# It installs and purges a system package: it runs as root only, and only
# when no system nginx runs and the package is not installed already.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use WebRTCTest qw(skip_unless_peers skip_unless_netns);

skip_unless_netns();
skip_unless_peers('ndc', 'aiortc', 'ffmpeg');

my $root = "$FindBin::Bin/..";
my $so = "$root/build/modules/ngx_http_webrtc_module.so";
my $pkg = 'libnginx-mod-http-webrtc';
my $conf = '/etc/nginx/conf.d/zz-webrtc-deb-test.conf';
my $link = '/etc/nginx/modules-enabled/50-mod-http-webrtc.conf';
my $errlog = '/var/log/nginx/error.log';

plan skip_all => 'needs root' if $> != 0;
plan skip_all => "Debian's nginx is not installed"
    unless -x '/usr/sbin/nginx' && -f '/etc/nginx/nginx.conf';
plan skip_all => "no module built ($so)" unless -f $so;
plan skip_all => "$pkg is installed already: not touching it"
    if `dpkg-query -W -f '\${Status}' $pkg 2>/dev/null` =~ /installed/;
if (open my $f, '<', '/run/nginx.pid') {
    my $pid = <$f> // '';
    chomp $pid;
    plan skip_all => "the system nginx runs (pid $pid): not touching it"
        if $pid =~ /^\d+$/ && kill 0, $pid;
}

my $installed = 0;
my $started = 0;

sub cleanup {
    if ($started) {
        system('/usr/sbin/nginx', '-s', 'quit');
        for (1 .. 50) {
            last unless -e '/run/nginx.pid';
            select(undef, undef, undef, 0.1);
        }
        $started = 0;
    }
    unlink $conf;
    system("dpkg --purge $pkg >/dev/null 2>&1") if $installed;
    $installed = 0;
}
END { my $rc = $?; cleanup(); $? = $rc; }

# --- the package -------------------------------------------------------

my $deb = `$root/tools/deb.sh $so $root/build/deb 2>&1`;
chomp $deb;
ok(-f $deb, "tools/deb.sh builds $deb") or BAIL_OUT($deb);
like($deb, qr{/${pkg}_[^_]+_\w+\.deb$}, 'named <package>_<version>_<arch>.deb');

my $abi = `dpkg-query -W -f '\${Provides}' nginx`;
($abi) = $abi =~ /(nginx-abi-[\w.+~-]+)/;
my $depends = `dpkg-deb -f $deb Depends`;
like($depends, qr/(^|, )\Q$abi\E(,|$)/m,
     "it depends on the ABI of the nginx it was built for ($abi)");
like($depends, qr/libnice\d+ .*libsrtp2-\d+ .*libssl3 .*libusrsctp\d/,
     'and on the libraries it links: ' . ($depends =~ s/\n//r));

my @files = split /\n/, `dpkg-deb -c $deb`;
ok((grep { m{ \./usr/lib/nginx/modules/ngx_http_webrtc_module\.so$} } @files)
   && (grep { m{ \./usr/share/nginx/modules-available/mod-http-webrtc\.conf$} }
       @files)
   && (grep { m{ \./usr/share/doc/$pkg/README\.Debian$} } @files),
   'the module, its load snippet and README.Debian where Debian puts them');

is(system("dpkg -i $deb >/dev/null 2>&1"), 0, 'dpkg -i installs it')
    or BAIL_OUT('dpkg -i failed: ' . `dpkg -i $deb 2>&1`);
$installed = 1;
is(readlink($link), '/usr/share/nginx/modules-available/mod-http-webrtc.conf',
   "enabled: $link");

# --- the system nginx, its own configuration plus a WHIP/WHEP server ---

my $t = WebRTCTest->new(name => 'deb', workers => 2);
my ($http, $udp) = ($t->http_port, $t->udp_port(0));

open my $c, '>', $conf or die "$conf: $!";
print $c <<"EOF";
webrtc_listen 127.0.0.1:$udp;
webrtc_candidate 127.0.0.1;

server {
    listen 127.0.0.1:$http;

    location /whip/ {
        webrtc_whip;
        webrtc_token obs-key;
    }

    location /whep/ {
        webrtc_whep;
    }

    location = /webrtc/status {
        webrtc_status;
    }
}
EOF
close $c;

my $test = `/usr/sbin/nginx -t 2>&1`;
is($?, 0, 'nginx -t with the stock nginx.conf and the server in conf.d')
    or diag($test);

my $log0 = -s $errlog // 0;
is(system('/usr/sbin/nginx'), 0, 'the system nginx starts') or BAIL_OUT('no');
$started = 1;
ok($t->wait_for(sub { $t->status }, timeout => 10),
   'its status answers on 127.0.0.1:' . $http);

my $h264 = $t->test_h264(size => '640x360');
my ($pub, $id) = $t->spawn_publisher('ndc', 'obs', '--token', 'obs-key',
    '--h264', $h264, '--seconds', 40, '--connect-timeout', 15);
ok($id, 'an OBS-shaped publisher (libdatachannel) connects');
$t->check_media('obs', name => 'OBS-shaped publisher', audio => 'opus',
    video => 'H264', width => 640, height => 360, timeout => 20);

my ($v, $vid, $ff) = $t->spawn_viewer({ timeout => 60, wait => 40 },
    'aiortc', 'obs', '--seconds', 10, '--connect-timeout', 15,
    '--frame-timeout', 15);
ok($vid, 'an aiortc viewer decodes a frame');
my $s = $v->wait_event(sub { $_[0]{event} eq 'stats'
    && ($_[0]{video_frames} // 0) > 10 }, timeout => 10);
ok($s, 'and goes on decoding: ' . ($s ? "$s->{video_frames} frames" : 'no'));

$v->kill;
$pub->kill;
my $workers = () = `pgrep -u www-data -f 'nginx: worker'`;
cmp_ok($workers, '>=', 1, "workers run as Debian's www-data");

system('/usr/sbin/nginx', '-s', 'quit');
ok($t->wait_for(sub { !-e '/run/nginx.pid' }, timeout => 10), 'it stops');
$started = 0;

my $log = '';
if (open my $f, '<', $errlog) {
    seek $f, $log0, 0;
    local $/;
    $log = <$f> // '';
}
ok($log !~ /\[(alert|emerg|crit)\]/, 'no alert, emerg or crit in '
   . $errlog) or diag($log);

# --- remove, reinstall, purge ------------------------------------------

is(system("dpkg -r $pkg >/dev/null 2>&1"), 0, 'dpkg -r removes it');
ok(!-e $link && -l "$link.removed", 'its link is parked as .removed');
ok(!-e '/usr/lib/nginx/modules/ngx_http_webrtc_module.so',
   'the module is gone');
unlink $conf;
my $after = `/usr/sbin/nginx -t 2>&1`;
is($?, 0, 'stock nginx -t passes without it') or diag($after);

is(system("dpkg -i $deb >/dev/null 2>&1"), 0, 'reinstalled');
ok(-l $link && !-e "$link.removed", 'the link is back');

is(system("dpkg --purge $pkg >/dev/null 2>&1"), 0, 'dpkg --purge');
$installed = 0;
ok(!-e $link && !-l $link && !-l "$link.removed"
   && !-e '/usr/share/nginx/modules-available/mod-http-webrtc.conf'
   && !-e "/usr/share/doc/$pkg",
   'purge leaves nothing behind');
is(`dpkg-query -W -f '\${Status}' $pkg 2>/dev/null`, '',
   'dpkg knows it no more');

done_testing;
