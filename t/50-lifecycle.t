#!/usr/bin/perl

# Sessions die cleanly, with real aiortc publishers:
#   - consent: a publisher that vanishes is dropped after
#     webrtc_consent_timeout;
#   - a DTLS close_notify from the peer ends the session at once;
#   - DELETE reaches a session on another worker;
#   - republish after a network drop (takeover of an idle stream), and
#     409 while the publisher is live;
#   - nginx -s reload: the old worker keeps serving its live session until
#     it ends, new sessions go to the new workers;
#   - nginx -s quit: sessions are closed and the worker exits at once.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use IO::Socket::INET;
use JSON::PP;
use Test::More;
use Time::HiRes qw(time sleep);
use WebRTCTest qw(skip_unless_peers pid_alive test_offer);

skip_unless_peers('aiortc');

my $TOKEN = 's3cret';
my $T_START = time;

# an aiortc publisher on $stream; waits (bounded) until it is connected.
# Returns ($client, $session_id, $location), $session_id undef on failure.
sub publish {
    my ($t, $stream, @extra) = @_;
    my ($c, $id) = $t->spawn_publisher('aiortc', $stream, '--token', $TOKEN,
        '--video-codec', 'vp8', '--seconds', 60, '--connect-timeout', 15,
        @extra);
    return ($c, $id, $id && $c->event('answer')->{location});
}

sub log_has {
    my ($t, $re) = @_;
    return scalar grep { $_ =~ $re } split /\n/, $t->error_log;
}

###############################################################################
# HTTP on one kept-alive connection, to choose the worker a request hits

sub _read_response {
    my ($s, $deadline) = @_;
    my $buf = '';
    my ($head, $len);
    while (time < $deadline) {
        if (!defined $head && $buf =~ /\r\n\r\n/) {
            ($head) = $buf =~ /^(.*?\r\n)\r\n/s;
            ($len) = $head =~ /^Content-Length:\s*(\d+)/mi;
            $len //= 0;
        }
        if (defined $head && length($buf) >= length($head) + 2 + $len) {
            my $body = substr($buf, length($head) + 2, $len);
            my ($status) = $head =~ m{^HTTP/1\.[01] (\d{3})};
            return { status => $status, head => $head, body => $body };
        }
        my $rin = '';
        vec($rin, fileno($s), 1) = 1;
        last unless select($rin, undef, undef, $deadline - time) > 0;
        my $n = sysread($s, $buf, 65536, length $buf);
        last unless $n;
    }
    return undef;
}

# DELETE $location on a connection accepted by a worker other than $not;
# returns (response, worker pid that answered) or () on failure
sub delete_via_other_worker {
    my ($t, $location, $not) = @_;
    for (1 .. 60) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
            PeerPort => $t->http_port, Proto => 'tcp', Timeout => 5)
            or next;
        my $deadline = time + 10;
        syswrite($s, "GET /webrtc/status HTTP/1.1\r\nHost: localhost\r\n\r\n");
        my $r = _read_response($s, $deadline) or next;
        my $st = eval { JSON::PP->new->decode($r->{body}) } or next;
        if ($st->{pid} == $not) {
            close $s;
            next;
        }
        syswrite($s, "DELETE $location HTTP/1.1\r\nHost: localhost\r\n"
            . "Authorization: Bearer $TOKEN\r\nConnection: close\r\n\r\n");
        my $d = _read_response($s, $deadline);
        close $s;
        return ($d, $st->{pid});
    }
    return ();
}

###############################################################################
# consent: a vanished peer is dropped after webrtc_consent_timeout

subtest 'consent expiry' => sub {
    my $t = WebRTCTest->new(name => 'consent', workers => 1);
    # 10 s: the smallest webrtc_consent_timeout nginx accepts
    $t->write_conf($t->default_conf(http => 'webrtc_consent_timeout 10s;',
        whip => "webrtc_token $TOKEN;"));
    $t->start;

    # sends for 1 s, then exits without DELETE and without DTLS close
    my ($c, $id) = publish($t, 'vanish', '--no-delete', '--seconds', 1);
    ok($id, 'publisher connected') or return $t->done;
    my $t_conn = time;

    my ($rc) = $c->finish(timeout => 20);
    my $t_exit = time;
    is($rc, 0, 'publisher exited without DELETE');

    my $gone = $t->wait_gone($id, timeout => 16);
    ok(defined $gone, sprintf 'session dropped %.1f s after the peer'
        . ' vanished (%.1f s after connecting)', $gone // -1,
        time - $t_conn);
    cmp_ok(time - $t_conn, '>=', 9.5,
        'not dropped before the consent timeout');
    cmp_ok(time - $t_conn, '<=', 15, 'dropped within timeout + slack');
    ok(log_has($t, qr/\[info\].*session closed: consent expired.*\Q$id\E/),
        'error.log: info "consent expired"');

    $t->done;
};

###############################################################################
# one 2-worker nginx for the next phases

# reuseport: the kernel spreads connections over both workers (without
# it one idle worker tends to accept them all)
my $t = WebRTCTest->new(name => 'lifecycle', workers => 2);
$t->write_conf($t->default_conf(reuseport => 1,
    whip => "webrtc_token $TOKEN;"));
$t->start;

subtest 'DTLS close_notify ends the session' => sub {
    my ($c, $id) = publish($t, 'dtls-close', '--close-no-delete',
        '--linger', 10);
    ok($id, 'publisher connected') or return;
    ok($t->wait_session($id), 'status: connected');

    $c->signal('USR1');
    my $ev = $c->wait_event('closed', timeout => 10);
    ok($ev, 'client closed its peer connection (no DELETE)');
    my $gone = $t->wait_gone($id, timeout => 5);
    ok(defined $gone && $gone < 3, sprintf 'session gone %.1f s later',
        $gone // -1);
    ok(log_has($t, qr/session closed: DTLS closed by peer.*\Q$id\E/),
        'error.log: "DTLS closed by peer"');
    $c->kill;
};

subtest 'DELETE through another worker' => sub {
    my (@pubs, %on);
    for my $n (1 .. 8) {
        my ($c, $id, $loc) = publish($t, "x$n");
        next unless $id;
        my $s = $t->wait_session($id);
        push @pubs, { c => $c, id => $id, loc => $loc, s => $s };
        next unless $s;
        $on{ $s->{worker} } //= $pubs[-1];
        last if keys %on >= 2;
    }
    is(scalar keys %on, 2, 'two publishers connected on different workers ('
        . join(', ', sort keys %on) . ')')
        or diag(explain([map { $_->{s} } @pubs]));

    for my $w (sort keys %on) {
        my $p = $on{$w};
        my ($r, $via) = delete_via_other_worker($t, $p->{loc}, $w);
        is($r && $r->{status}, 200,
            "DELETE of a session on worker $w through worker "
            . ($via // '?') . ': 200')
            or diag(explain($r));
        my $gone = $t->wait_gone($p->{id}, timeout => 5);
        ok(defined $gone, sprintf 'session gone from status (%.1f s)',
            $gone // -1);
        ok(log_has($t, qr/$w#\d+: .*session closed: deleted.*\Q$p->{id}\E/),
            "closed by its own worker $w");
        $p->{deleted} = 1;
    }

    # the peers learn it (DTLS close_notify): aiortc's connection leaves
    # "connected" (without it only consent failure, ~30 s, would tell)
    for my $p (grep { $_->{deleted} } @pubs) {
        my $ev = $p->{c}->wait_event('disconnected', timeout => 10);
        ok($ev, "publisher $p->{id} noticed the end: "
            . ($ev ? "DTLS $ev->{dtls}" : "no"));
    }

    for my $p (grep { !$_->{deleted} } @pubs) {
        $p->{c}->signal('USR1');
        my $d = $p->{c}->wait_event('deleted', timeout => 15);
        is($d && $d->{status}, 200, "extra publisher $p->{id} deleted");
    }
    $_->{c}->kill for @pubs;
    ok($t->wait_idle, 'no session left');
};

subtest 'republish: 409 while live, takeover after a drop' => sub {
    my ($p1, $id1) = publish($t, 'cam1');
    ok($id1, 'first publisher connected') or return;
    ok($t->wait_session($id1), 'status: connected');

    # a second publisher while the first one sends: 409
    my $c2 = $t->spawn_client({ timeout => 60 },
        $t->client_command('aiortc_publish.py',
            '--url', $t->url('/whip/cam1'), '--token', $TOKEN,
            '--seconds', 5, '--connect-timeout', 15));
    my $err = $c2->wait_event(
        sub { $_[0]{event} =~ /^(connected|error)$/ }, timeout => 30);
    is($err && $err->{status}, 409, 'second POST while live: 409')
        or diag(explain([$c2->events]));
    my ($rc2) = $c2->finish(timeout => 15);
    is($rc2, 2, 'second publisher gave up (HTTP error)');
    my $p = $t->publisher('cam1');
    is($p && $p->{id}, $id1, 'the first publisher still owns cam1');

    # the network drops: the first publisher vanishes
    $p1->kill('KILL');
    my $t_drop = time;

    # right after the drop the old session is still the publisher
    my $r = $t->http('POST', '/whip/cam1', body => test_offer('aiortc'),
        headers => { 'Content-Type' => 'application/sdp',
                     'Authorization' => "Bearer $TOKEN" });
    my $early = time - $t_drop;
    SKIP: {
        skip sprintf('POST came %.1f s after the drop', $early), 1
            if $early > 1.5;
        is($r->{status}, 409, sprintf 'POST %.1f s after the drop: 409',
            $early);
    }
    $t->http('DELETE', $r->{headers}{location},
        headers => { 'Authorization' => "Bearer $TOKEN" })
        if $r->{status} == 201 && $r->{headers}{location};

    # after webrtc_takeover_idle (2 s): a new publisher takes over
    sleep 3 - (time - $t_drop) if time - $t_drop < 3;
    my ($p3, $id3) = publish($t, 'cam1');
    ok($id3, sprintf 'new publisher %.1f s after the drop: 201, connected',
        time - $t_drop);
    ok($t->wait_session($id3), 'status: new session connected')
        if $id3;
    my $st = $t->status;
    $p = $t->publisher('cam1', $st);
    is($p && $p->{id}, $id3, 'status: cam1 is published by the new session');
    ok(!$t->session($id1, $st), 'the old session is gone');
    is(scalar(grep { $_->{name} eq 'cam1' } @{ $st->{streams} || [] }), 1,
        'one cam1 entry');

    $p3->signal('USR1');
    my $d = $p3->wait_event('deleted', timeout => 15);
    is($d && $d->{status}, 200, 'new publisher deleted');
    $p3->kill;
    ok(defined $t->wait_gone($id3 // '', timeout => 5), 'gone');
};

subtest 'reload with a live publisher' => sub {
    my ($old, $id) = publish($t, 'live');
    ok($id, 'publisher connected') or return;
    my $s = $t->wait_session($id);
    ok($s, 'status: connected') or return;
    my ($w, $port) = ($s->{worker}, $s->{port});

    ok($t->reload, 'reload');
    my %new = map { $_ => 1 } $t->worker_pids;
    ok(!$new{$w}, "worker $w is not one of the new workers");
    ok(pid_alive($w), "old worker $w still runs (it has a live session)");
    ok(scalar(grep { $_ == $w } $t->worker_pids(all => 1)),
        'old worker is shutting down');

    # every worker's status shows it, the new ones' too
    my %seen;
    for (1 .. 40) {
        my $st = $t->status or next;
        $seen{ $st->{pid} } = $t->session($id, $st) ? 1 : 0;
        last if grep { $new{$_} } keys %seen;
    }
    my @by_new = grep { $new{$_} } keys %seen;
    ok(@by_new && !grep({ !$seen{$_} } keys %seen),
        'status from a new worker (' . join(', ', @by_new)
        . ') lists the old worker\'s session')
        or diag(explain(\%seen));

    # the old session still works, whoever answers the status
    my $p = $t->check_media('live',
        name       => 'after reload',
        audio      => 'opus',
        video      => 'VP8',
        user_agent => qr/aiortc/,
        timeout    => 10);
    is($p && $p->{id}, $id, 'same session');
    is($p && $p->{worker}, $w, 'still on the old worker');
    ok(!grep({ $_->{event} eq 'disconnected' } $old->events),
        'publisher still connected');

    # new sessions go to the new workers
    my ($nc, $nid) = publish($t, 'fresh');
    ok($nid, 'new publisher after reload: connected');
    my $ns = $nid && $t->wait_session($nid);
    ok($ns && $new{ $ns->{worker} // 0 },
        'new session on a new worker (' . ($ns ? $ns->{worker} : '-') . ')');
    isnt($ns && $ns->{port}, $port,
        'its media port differs from the old worker\'s');
    if ($ns) {
        $nc->signal('USR1');
        my $d = $nc->wait_event('deleted', timeout => 15);
        is($d && $d->{status}, 200, 'new publisher deleted');
    }
    $nc->kill;

    # end the old session: the old worker exits
    $old->signal('USR1');
    my $d = $old->wait_event('deleted', timeout => 15);
    is($d && $d->{status}, 200, 'old session deleted');
    ok(defined $t->wait_gone($id, timeout => 5), 'old session gone');
    ok($t->wait_for(sub { !pid_alive($w) }, timeout => 10),
        "old worker $w exited");
    $old->kill;
};

$t->done;

###############################################################################
# quit with a live publisher: the session is closed, the worker exits

subtest 'shutdown with a live publisher' => sub {
    my $q = WebRTCTest->new(name => 'shutdown', workers => 1);
    $q->write_conf($q->default_conf(whip => "webrtc_token $TOKEN;"));
    $q->start;

    my ($c, $id) = publish($q, 'until-quit');
    ok($id, 'publisher connected');
    ok($id && $q->wait_session($id), 'status: connected');
    my @w = $q->worker_pids;

    my $t0 = time;
    $q->stop;
    my $took = time - $t0;
    cmp_ok($took, '<', 5, sprintf 'nginx -s quit took %.1f s', $took);
    ok(!grep({ pid_alive($_) } @w), 'worker exited');
    ok(!log_has($q, qr/SIGTERM/), 'no SIGTERM needed');
    ok(log_has($q, qr/session closed: worker exit.*\Q$id\E/),
        'error.log: "session closed: worker exit"') if $id;
    $c->kill;
    $q->done;
};

note(sprintf 'total %.1f s', time - $T_START);

done_testing;
