#!/usr/bin/perl

# nginx's debug log (error_log ... debug) with the module: nginx's timer
# debug lines read each timer event's data, so every event of the module
# must have one; workers keep running while a publisher streams and its
# sessions' timers come and go.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use WebRTCTest qw(skip_unless_peers);

BEGIN { $ENV{WEBRTC_DEBUG} = 1 }

skip_unless_peers('aiortc');

my $t = WebRTCTest->new(name => 'debuglog', workers => 2);
$t->write_conf($t->whep_conf(reuseport => 1,
                             server => 'location /events/ { webrtc_events; }'));
$t->start;

my @pids = sort $t->worker_pids;
is(scalar @pids, 2, 'two workers with the debug log');

my ($pub, $id) = $t->spawn_publisher('aiortc', 'cam1', '--seconds', 3,
    '--datachannel', '--dc-messages', 3);
ok($id, 'a publisher with a data channel connects');
my $sse = $t->http(GET => '/events/nosuch', timeout => 2);
$pub->finish(timeout => 20);
is($pub->{rc}, 0, 'it streams and leaves');

is_deeply([sort $t->worker_pids], \@pids, 'the same workers still run');
like($t->error_log, qr/event timer add/, 'the debug log has timer lines');

$t->done;

done_testing;
