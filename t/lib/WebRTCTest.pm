package WebRTCTest;

# A small test library for the nginx WebRTC module: runs a private nginx
# in a fresh prefix, talks HTTP to it, runs peer clients with hard time
# limits and checks the error log at the end. Core Perl modules only.

=head1 NAME

WebRTCTest - run a private nginx for the WebRTC module tests

=head1 SYNOPSIS

    use FindBin;
    use lib "$FindBin::Bin/lib";
    use Test::More;
    use WebRTCTest qw(skip_unless_peers);

    skip_unless_peers('aiortc', 'chromium');

    my $t = WebRTCTest->new(name => 'whip', workers => 2);
    $t->write_conf($t->default_conf(whip => 'webrtc_token secret1;'));
    $t->start;

    my $r = $t->http('POST', '/whip/cam1',
        headers => { 'Content-Type' => 'application/sdp' }, body => $offer);
    is($r->{status}, 201, 'created');
    my @links = $t->header_values($r, 'link');

    my ($rc, $out, $err) = $t->run_client({ timeout => 30 },
        $t->client_command('aiortc_publish.py',
            '--url', $t->url('/whip/cam1'), '--seconds', 3));
    my @events = WebRTCTest::parse_events($out);

    my ($pub, $id) = $t->spawn_publisher('aiortc', 'cam2',
        '--seconds', 60);
    my ($viewer, $vid, $first) = $t->spawn_viewer('chromium', 'cam2',
        '--seconds', 60);
    $t->leave($viewer, 'viewer');

    $t->done(allow => qr/some expected alert/);
    done_testing;

=head1 DESCRIPTION

Every object owns one nginx instance in its own prefix directory,
F<build/t/E<lt>nameE<gt>-E<lt>pidE<gt>/> under the repository, with
F<logs/>, F<tmp/> (temp paths), F<clients/> (captured client output) and
F<sanitizer/> (reports of a sanitized nginx).
The prefix is removed at exit when all tests passed, unless
C<WEBRTC_KEEP=1>.

nginx is C<$ENV{WEBRTC_NGINX}> or F</usr/sbin/nginx>, started with
C<-p PREFIX/ -c PREFIX/nginx.conf -e PREFIX/logs/error.log>, in daemon
mode with a master process. nginx is always stopped when the test ends,
even if the test forgot to call C<done> or died (END block, DESTROY, and
SIGINT/SIGTERM handlers that exit through END).

=head2 Environment

=over

=item WEBRTC_NGINX - nginx binary (default F</usr/sbin/nginx>)

=item WEBRTC_STATIC=1 - the module is linked in: C<%%LOAD_MODULE%%> is empty

=item WEBRTC_MODULE - path of the dynamic module (default
F<build/modules/ngx_http_webrtc_module.so>)

=item WEBRTC_DEBUG=1 - C<error_log ... debug> in the default config

=item WEBRTC_KEEP=1 - keep the prefix directory even when all tests passed

=item WEBRTC_ALLOW_HOST_NET=1 - let C<skip_unless_netns> run on the host
network

=item WEBRTC_PYTHON - python for F<*.py> clients (default F</usr/bin/python3>)

=item WEBRTC_NODE - node for F<*.js> clients (default C<node>)

=back

=head2 Constructor and accessors

=over

=item new(name => 'http', workers => 1, allow => qr/.../, leak_check => 0, nginx => PATH)

Creates the prefix and picks ports: a free TCP port for HTTP and a UDP
base port P such that P .. P+workers+3 are all free on 127.0.0.1.
C<allow> and C<leak_check> are defaults for C<done>. C<nginx> is the
binary to run (default C<$ENV{WEBRTC_NGINX}>, else F</usr/sbin/nginx>).

=item prefix, http_port, udp_port, udp_port($i) (= base + $i), workers,
nginx, module_path, root (repository), html (repository F<html/>)

=back

=head2 Configuration

=over

=item write_conf($template)

Substitutes C<%%LOAD_MODULE%%>, C<%%PREFIX%%>, C<%%HTTP_PORT%%>,
C<%%UDP_PORT%%>, C<%%WORKERS%%>, C<%%HTML%%>, C<%%ROOT%%> and writes
F<PREFIX/nginx.conf>. An unknown C<%%NAME%%> placeholder dies. Returns
the text written.

=item default_conf(main => '', http => '', server => '', whip => '', webrtc => 1, reuseport => 0)

Returns the standard template (placeholders not yet substituted) with
the given text inserted at top level (C<main>), in C<http{}>, in the
C<server{}> and in C<location /whip/{}>. With C<webrtc =E<gt> 0> every
webrtc directive (and C<%%LOAD_MODULE%%>) is left out: plain nginx.
C<reuseport =E<gt> 1> adds C<reuseport> to the HTTP C<listen>, so that
the kernel spreads connections over all workers (without it one idle
worker tends to accept them all).
The pages of F<html/> are served at C</>, and hls.js (for the watch
page's HLS mode) at C</vendor/> from F<node_modules/hls.js/dist/>.

=back

=head2 Process control

=over

=item start

Runs nginx and waits (at most 10 s) until the HTTP port accepts; dies
with the tail of the error log on failure.

=item stop

QUIT, then TERM after 10 s, then KILL; waits (bounded) for the master
to exit. Safe to call when not running.

=item reload(timeout => 10)

HUP, then waits until C<workers> new worker processes run (old ones may
still be shutting down). Returns true on success, false (with a diag)
if no new workers appeared, e.g. because the new config was refused.

=item master_pid, worker_pids(all => 0)

Worker pids are the master's children whose title is
C<nginx: worker process>; with C<all =E<gt> 1> also those that are
shutting down.

=back

=head2 HTTP

=over

=item url($path)

C<http://127.0.0.1:PORT$path>; an absolute URL is returned unchanged.

=item http($method, $path_or_url, headers => {...}, body => $str, timeout => 10)

Returns C<{ status, reason, headers, all_headers, body }>. C<headers>
has lowercased names; a repeated header (Link) is an arrayref of all
its values, as HTTP::Tiny returns it. C<all_headers> maps every name
to an arrayref, always. Redirects are not followed. Status 599 means a
connection error (body says which).

=item header_values($response, $name)

All values of a header as a list (works for single and repeated ones).

=item http_raw($bytes, timeout => 10)

Sends raw bytes on a new connection and returns everything read until
the server closes (or the timeout).

=item status

Decoded JSON of C<GET /webrtc/status>, or undef.

=item wait_for(sub { ... }, timeout => 10, interval => 0.2)

Polls the sub until it returns a true value (returned) or the timeout
expires (undef).

=back

=head2 Status helpers

C<GET /webrtc/status> returns
C<{ pid, time, sessions, streams =E<gt> [{ name, publisher, viewers }] }>;
a session is C<{ id, worker, port, remote, state, uptime, user_agent,
tracks =E<gt> [{ kind, codec, packets, bytes, keyframes, lost, bitrate,
plis_sent, width, height }] }>.

=over

=item publisher($stream [, $status])

The publisher session of C<$stream> in the given decoded status (or a
fresh C<status>), or undef.

=item session($id [, $status]), session_ids([$status])

The session (publisher or viewer) with that id, or undef; all session
ids.

=item track($session, $kind)

The first track of that kind (C<audio>, C<video>) of a session, or
undef. Also callable as C<WebRTCTest::track($session, $kind)>.

=item session_id($location)

The last path segment of a Location (the session id).

=item wait_gone($id, timeout => 10)

Waits until a status (answered with 200) no longer lists the session;
returns the seconds it took, or undef on timeout.

=item wait_idle(timeout => 10)

Waits until a status (answered with 200) counts no session at all;
true on success, undef on timeout.

=item check_media($stream, audio => 'opus', video => 'H264' | qr/.../,
width => N, height => N, user_agent => qr/.../, remote => qr/.../,
timeout => 20, interval => 1.2, name => 'label')

A subtest on what C</webrtc/status> shows for a live publisher: waits
(bounded) until the session is C<connected>, every expected track has
packets and the video track a keyframe and a size; then takes two
samples C<interval> seconds apart and checks that packets and bytes of
every expected track grow, bitrate E<gt> 0, keyframes E<gt>= 1, the
codec names, the video size (exact if given, else E<gt> 0), the remote
address (default C<127.0.0.1:port>) and the user agent. A kind given as
C<0> must have no track. Returns the last publisher record seen.

=back

=head2 Clients

=over

=item client_command($name, @args)

The command list to run F<t/clients/$name>: F<*.py> with
C</usr/bin/python3>, F<*.js> with C<node>, anything else directly.

=item run_client([{ timeout => 60, env => {...} },] @cmd)

Runs the command in its own process group with a hard timeout (the
whole group is killed with TERM, then KILL). Returns
C<($exit_code, $stdout, $stderr)>; the exit code is 124 on timeout and
128+signal if killed by a signal.

=item spawn_client([{ timeout => 60, env => {...} },] @cmd)

Starts a client in the background and returns a L<WebRTCTest::Client>:
C<pid>, C<running>, C<stdout>, C<stderr>, C<events> (decoded JSON lines
so far; C<events($name)> only those whose C<event> is C<$name>),
C<event($name)> (the first of them, or undef),
C<wait_event($name_or_sub, timeout =E<gt> 10)>,
C<next_events($name, $n, timeout =E<gt> $n + 5, interval =E<gt> 0.1)>
(waits, bounded, until C<$n> more such events than now have arrived;
returns the new ones, fewer on timeout),
C<finish(timeout =E<gt> ...)> (returns like run_client), C<kill>,
C<signal($sig)> (to the client process only, e.g. C<USR1>, which the
publisher and viewer clients take as "stop now": DELETE and exit).
Clients still running at C<done> or exit are killed.

=item spawn_publisher([{ timeout => 90, wait => 30, until => 'connected' },] $kind, $stream, @args)

=item spawn_viewer([{ timeout => 90, wait => 30, until => ... },] $kind, $stream, @args)

Starts a peer client of C<$kind>: C<aiortc> (F<aiortc_publish.py>,
F<aiortc_watch.py>), C<chromium> (F<chromium_publish.js>,
F<chromium_watch.js>), C<ndc> (node-datachannel: F<ndc_publish.js>,
F<ndc_watch.js>) or C<gstreamer> (webrtcbin: F<gst_publish.py>,
F<gst_watch.py>), for C<$stream>: C<--url> of C</whip/$stream> or
C</whep/$stream> (C<$stream> may be a path instead, e.g. C</whep1/cam>),
or for Chromium C<--base> and C<--stream>; then C<@args>. Waits (at
most C<wait> seconds, 40 for Chromium) until the client is up: a
publisher's C<connected> event, a viewer's first picture
(C<first_frame>; C<first_keyframe> from node-datachannel), or the
event named by C<until> (C<'datachannel open'>: the event
C<datachannel> whose C<state> is C<open>); or until an C<error>.
C<timeout> is the client's hard limit (as for spawn_client). Returns C<($client, $session_id, $event)>: the session id from the
Location the client printed, and the event it was up with; when it is
not up, C<$session_id> is undef, C<$event> the error event (or undef),
and the client's events and stderr are in a diag.

=item check_ended($client, $id, stream => $stream)

After a client's DELETE: tests that its session C<$id> leaves the
status (within 10 s), that C<$stream> (if given) has no publisher any
more, and that the client exits 0 (within 20 s).

=item leave($client, $what)

Ends a publisher or viewer as its user would: C<SIGUSR1> makes it
DELETE its session; tests C<"$what: DELETE 200"> and waits (bounded)
for the client to exit. Returns like C<finish>.

=item test_h264(%opts)

Path of an Annex B H.264 test pattern (640x360, 30 fps, 4 s, baseline,
GOP 30, no B-frames), encoded once with ffmpeg into
F<build/media/> and reused; pass it to F<ndc_publish.js> as
C<--h264 FILE> to save each client the encoding. Options: C<size>,
C<rate>, C<seconds>, C<gop>, C<profile> (x264's: C<baseline>, C<main>,
C<high>). Dies if ffmpeg fails.

=item test_offer($name)

The SDP of F<t/data/offers/$name.sdp> (captured from real peers), as
bytes. Dies if there is no such file.

=item parse_events($stdout)

Decodes the JSON lines of a client's stdout (other lines are ignored)
into a list of hashrefs.

=back

=head2 WHEP helpers

=over

=item whep_conf(whep => '', whep_location => '/whep/', %default_conf)

C<default_conf> plus a C<location /whep/ { webrtc_whep; ... }> with the
text of C<whep> in it (in the C<server{}>). The other arguments
(C<http>, C<whip>, C<server>, C<main>, C<reuseport>) go to
C<default_conf>.

=item viewers($stream [, $status])

The viewer sessions of C<$stream> (a list, possibly empty).

=item wait_session($id, timeout => 10, state => 'connected')

Waits (bounded) until the session is listed in that state (any state
with C<state =E<gt> undef>); returns its record or undef.

=item check_viewer($stream, $id, audio => 'opus', video => 'H264' | qr/.../,
timeout => 15, interval => 1.2, name => 'label')

A subtest on the viewer C<$id> of C<$stream> in C</webrtc/status>:
waits until it is listed under the stream, C<connected>, and has sent
packets of every expected kind; then two samples C<interval> seconds
apart: same id and stream, state C<connected>, C<packets> and C<bytes>
of every expected track grow, the codec names. Returns the last record.

=item sdp_fmtp($sdp, $kind, $codec)

The C<a=fmtp> parameters (string) of the first payload type of C<$codec>
(case-insensitive) in the first C<m=$kind> section, or undef.

=item h264_profile_level_id($annexb_bytes)

The profile-level-id (6 lower-case hex digits: profile_idc, constraint
flags, level_idc) of the first SPS in an Annex B H.264 stream, or undef.

=item freeze_max(@stats_events)

From C<stats> events of F<chromium_watch.js> (or anything with a
C<framesDecoded> field, in order), the longest time in seconds during
which C<framesDecoded> did not grow, measured by the events' arrival
order (one per second): the number of consecutive samples without
progress. Returns 0 when every sample progressed.

=back

=head2 Data channel helpers

=over

=item sse_open($path, headers => {...}, timeout => 5)

Opens C<GET $path> (HTTP/1.1, C<Accept: text/event-stream>, plus the
given headers, e.g. C<'Last-Event-ID' =E<gt> 12>) on a new connection and
reads the response header (bounded by C<timeout>). Returns a
L<WebRTCTest::SSE>: C<status>, C<header($name)>, C<head> (raw),
C<poll($seconds)> (reads what arrives within that time, decodes chunked
bodies, parses records; returns the number of new events),
C<events> (all records so far, in order: C<{ id, event, data }>,
C<event> undef when the record had no C<event:> field, C<data> the
C<data:> lines joined with "\n"), C<comments>, C<wait_events($n,
timeout =E<gt> 10)> (until at least C<$n> events; returns them all),
C<wait_until(sub { ... }, timeout =E<gt> 10)> (the sub gets the events
list), C<eof>, C<raw> (the decoded body so far) and C<close>. Every read
is bounded; a connection error gives status 599.

=item control_file($name)

Creates the empty control file F<clients/$name.ctl> in the prefix and
returns its path, for the clients that read commands from a file
(F<aiortc_publish.py --dc-control>, F<chromium_chat.js --control>).

=item send_command($file, $command)

Appends C<$command> (a hashref) to a control file as one JSON line.

=item dc_message($k)

The C<$k>-th message (1-based) of the numbered sequence that
F<aiortc_publish.py --dc-messages> sends: C<[$binary, $bytes]>.

=back

=head2 Logs

=over

=item error_log

Content of F<logs/error.log>.

=item done(allow => qr/.../, leak_check => 1)

Idempotent. Kills leftover clients, stops nginx, then runs these as
tests on the error log, ignoring lines that match C<allow>: no
C<[alert]>, no C<[emerg]>, no C<[crit]>, no "exited on signal" (core
dumps included), no "exited with fatal code", and no non-empty
sanitizer report (the first 20 lines of each are shown): nginx is started
with C<log_path=PREFIX/sanitizer/nginx> added to C<ASAN_OPTIONS> and
C<UBSAN_OPTIONS>, so that a sanitized nginx writes F<nginx.PID> files
there. With C<leak_check> also:
no AddressSanitizer / LeakSanitizer / UBSan ("runtime error:") report
and no "open socket ... left in connection".

=back

=head2 Functions (exportable)

=over

=item skip_unless_netns()

C<plan skip_all> unless we run in a private network namespace (only
C<lo> in F</proc/net/dev>) or C<WEBRTC_ALLOW_HOST_NET=1>.

=item skip_unless_module()

C<plan skip_all> unless the dynamic module is built (or
C<WEBRTC_STATIC=1>).

=item skip_unless_exec($path_or_name, ...)

C<plan skip_all> unless every program is found.

=item skip_unless_peers($need, ...)

What an end-to-end test needs: C<skip_unless_netns>,
C<skip_unless_module>, then for each need C<plan skip_all> unless it is
there: C<chromium> (node and C<$ENV{CHROMIUM}> or
F</usr/bin/chromium>), C<ndc> (node), C<aiortc> (the python, which
must import aiortc), C<gstreamer> (the python, which must import
GStreamer's and libnice's bindings and find webrtcbin and the elements
F<gst_publish.py> and F<gst_watch.py> use), or any other name: that program (C<ffmpeg>,
C<ip>).

=item pid_alive($pid)

True if the process exists and is not a zombie (a daemonized nginx
master is reparented to PID 1, which may reap it late).

=back

=cut

use strict;
use warnings;

use Carp qw(croak);
use Compress::Zlib ();
use Cwd qw(abs_path);
use Digest::SHA ();
use Errno qw(ESRCH EINTR);
use Exporter qw(import);
use File::Basename qw(dirname);
use File::Path qw(make_path remove_tree);
use File::Spec;
use HTTP::Tiny;
use IO::Socket::INET;
use JSON::PP;
use POSIX qw(WNOHANG setsid _exit);
use Scalar::Util qw(weaken);
use Test::More ();
use Time::HiRes qw(sleep time);

our @EXPORT_OK = qw(skip_unless_netns skip_unless_module skip_unless_exec
    skip_unless_peers parse_events pid_alive test_offer send_command
    stun_request);

our $ROOT = abs_path(dirname(abs_path(__FILE__)) . '/../..');

my @INSTANCES;      # for END: every object created by this process
my $OWNER_PID = $$;

###############################################################################
# construction

sub new {
    my ($class, %args) = @_;

    my $name = $args{name} // 'test';
    $name =~ s/[^A-Za-z0-9_.-]/_/g;

    my $self = bless {
        name       => $name,
        workers    => $args{workers} // 1,
        allow      => $args{allow},
        leak_check => $args{leak_check},
        nginx      => $args{nginx} // $ENV{WEBRTC_NGINX} // '/usr/sbin/nginx',
        static     => $ENV{WEBRTC_STATIC} ? 1 : 0,
        module     => $ENV{WEBRTC_MODULE}
                      // "$ROOT/build/modules/ngx_http_webrtc_module.so",
        root       => $ROOT,
        html       => "$ROOT/html",
        clients    => [],
        done       => 0,
        owner      => $$,
    }, $class;

    my $prefix = "$ROOT/build/t/$name-$$";
    my $n = 0;
    $prefix = "$ROOT/build/t/$name-$$-" . ++$n while -e $prefix;
    $self->{prefix} = $prefix;

    make_path(map { "$prefix/$_" } qw(logs clients sanitizer
        tmp/body tmp/proxy tmp/fastcgi tmp/uwsgi tmp/scgi));
    # workers may run as nobody: let them write temp files and reports
    chmod 0777, "$prefix/sanitizer",
        map { "$prefix/tmp/$_" } qw(body proxy fastcgi uwsgi scgi);

    $self->{http_port} = _free_port('tcp', 1);
    $self->{udp_port} = _free_port('udp', $self->{workers} + 4);

    push @INSTANCES, $self;
    weaken($INSTANCES[-1]);
    _install_signal_handlers();

    return $self;
}

sub prefix      { $_[0]{prefix} }
sub http_port   { $_[0]{http_port} }
sub workers     { $_[0]{workers} }
sub nginx       { $_[0]{nginx} }
sub module_path { $_[0]{module} }
sub root        { $_[0]{root} }
sub html        { $_[0]{html} }

sub udp_port {
    my ($self, $i) = @_;
    return $self->{udp_port} + ($i // 0);
}

# A port P (random, below the ephemeral range so that clients' own sockets
# do not take it) with P .. P+count-1 all bindable on 127.0.0.1.
sub _free_port {
    my ($proto, $count) = @_;

    for (1 .. 500) {
        my $base = 10000 + int(rand(20000));
        my @socks;
        my $ok = 1;
        for my $p ($base .. $base + $count - 1) {
            my $s = IO::Socket::INET->new(
                LocalAddr => '127.0.0.1',
                LocalPort => $p,
                Proto     => $proto,
                ($proto eq 'tcp' ? (Listen => 1, ReuseAddr => 1) : ()),
            );
            unless ($s) { $ok = 0; last }
            push @socks, $s;
        }
        close $_ for @socks;
        return $base if $ok;
    }
    croak "no free $proto port range of $count on 127.0.0.1";
}

###############################################################################
# configuration

sub default_conf {
    my ($self, %x) = @_;

    my $webrtc = $x{webrtc} // 1;
    my $reuseport = $x{reuseport} ? ' reuseport' : '';
    my $level = $ENV{WEBRTC_DEBUG} ? 'debug' : 'info';
    my ($main, $http, $server, $whip) =
        map { $x{$_} // '' } qw(main http server whip);

    my $load = $webrtc ? "%%LOAD_MODULE%%\n" : '';
    my $listen = $webrtc ? <<'EOF' : '';
    webrtc_listen 127.0.0.1:%%UDP_PORT%%;
    webrtc_candidate 127.0.0.1;
EOF
    my $locations = $webrtc ? <<"EOF" : '';
        location /whip/ {
            webrtc_whip;
            $whip
        }

        location = /webrtc/status {
            webrtc_status;
        }
EOF

    return <<"EOF";
${load}worker_processes %%WORKERS%%;
daemon on;
master_process on;
error_log logs/error.log $level;
pid logs/nginx.pid;
$main

events {
    worker_connections 1024;
}

http {
    access_log logs/access.log;
    client_body_temp_path tmp/body;
    proxy_temp_path tmp/proxy;
    fastcgi_temp_path tmp/fastcgi;
    uwsgi_temp_path tmp/uwsgi;
    scgi_temp_path tmp/scgi;

$listen
    $http

    server {
        listen 127.0.0.1:%%HTTP_PORT%%$reuseport;

        location / {
            root %%HTML%%;
        }

        location /vendor/ {
            alias %%ROOT%%/node_modules/hls.js/dist/;
            types { application/javascript js; application/json map; }
        }

$locations
        $server
    }
}
EOF
}

sub write_conf {
    my ($self, $template) = @_;

    my %v = (
        LOAD_MODULE => $self->{static} ? ''
                       : "load_module $self->{module};",
        PREFIX      => $self->{prefix},
        HTTP_PORT   => $self->{http_port},
        UDP_PORT    => $self->{udp_port},
        WORKERS     => $self->{workers},
        HTML        => $self->{html},
        ROOT        => $self->{root},
    );

    (my $conf = $template) =~ s{%%([A-Z_]+)%%}{
        exists $v{$1} ? $v{$1} : croak "unknown placeholder %%$1%%"
    }ge;

    $self->write_file('nginx.conf', $conf);
    $self->{conf} = $conf;
    $self->{uses_module} = $template =~ /%%LOAD_MODULE%%/ ? 1 : 0;
    return $conf;
}

# write a file relative to the prefix (or absolute)
sub write_file {
    my ($self, $name, $content) = @_;
    my $path = File::Spec->file_name_is_absolute($name)
        ? $name : "$self->{prefix}/$name";
    make_path(dirname($path));
    open my $fh, '>', $path or croak "$path: $!";
    binmode $fh;
    print {$fh} $content;
    close $fh or croak "$path: $!";
    return $path;
}

sub read_file {
    my ($self, $name) = @_;
    my $path = File::Spec->file_name_is_absolute($name)
        ? $name : "$self->{prefix}/$name";
    open my $fh, '<', $path or return '';
    binmode $fh;
    local $/;
    my $c = <$fh>;
    return $c // '';
}

###############################################################################
# process control

sub master_pid {
    my ($self) = @_;
    my $pid = $self->read_file('logs/nginx.pid');
    return ($pid =~ /^(\d+)/) ? $1 : undef;
}

sub pid_alive { _alive(@_) }

sub _alive {
    my ($pid) = @_;
    return 0 unless $pid;
    return 0 unless kill 0, $pid;
    # a zombie is dead for our purposes
    if (open my $fh, '<', "/proc/$pid/stat") {
        my $stat = <$fh> // '';
        return 0 if $stat =~ /\)\s+Z\s/;
    }
    return 1;
}

sub start {
    my ($self) = @_;

    croak "write_conf first" unless defined $self->{conf};
    croak "nginx already running" if $self->{running};

    # nginx takes inherited listening sockets from $NGINX
    delete $ENV{NGINX};

    if ($self->{uses_module} && !$self->{static} && !-f $self->{module}) {
        croak "module $self->{module} not built (make module)";
    }

    my $p = $self->{prefix};
    unlink "$p/logs/nginx.pid";

    my $stderr = "$p/logs/stderr.log";
    my @cmd = ($self->{nginx}, '-p', "$p/", '-c', "$p/nginx.conf",
        '-e', "$p/logs/error.log");

    # a sanitized nginx writes its reports there, one file per process
    # (done fails on any); other binaries ignore these variables
    my %env = map {
        $_ => join(':', grep { defined && length } $ENV{$_},
                   "log_path=$p/sanitizer/nginx")
    } qw(ASAN_OPTIONS UBSAN_OPTIONS);

    my ($rc, $out, $err) = $self->_run_sync(20, \@cmd, \%env);
    if ($rc != 0) {
        croak "nginx failed to start (exit $rc):\n$out$err\n"
            . $self->_log_tail;
    }

    my $deadline = time + 10;
    my $pid;
    until ($pid = $self->master_pid) {
        croak "no pid file after 10 s\n" . $self->_log_tail
            if time > $deadline;
        sleep 0.05;
    }
    $self->{running} = 1;
    $self->{pid} = $pid;

    until ($self->_port_accepts) {
        if (!_alive($pid) || time > $deadline) {
            my $why = _alive($pid) ? 'port does not accept' : 'master died';
            $self->stop;
            croak "nginx did not come up ($why)\n" . $self->_log_tail;
        }
        sleep 0.05;
    }

    # and the workers are there
    $self->wait_for(sub {
        scalar(() = $self->worker_pids) >= $self->{workers}
    }, timeout => $deadline - time > 1 ? $deadline - time : 1);

    return $self;
}

sub _port_accepts {
    my ($self) = @_;
    my $s = IO::Socket::INET->new(
        PeerAddr => '127.0.0.1',
        PeerPort => $self->{http_port},
        Proto    => 'tcp',
        Timeout  => 1,
    );
    return 0 unless $s;
    close $s;
    return 1;
}

sub stop {
    my ($self) = @_;

    return $self unless $self->{running};
    my $pid = $self->{pid} // $self->master_pid;
    my @workers = $self->worker_pids(all => 1);

    if ($pid && _alive($pid)) {
        kill 'QUIT', $pid;
        unless (_wait_gone(10, $pid)) {
            Test::More::diag("nginx $pid: no exit 10 s after QUIT, TERM");
            kill 'TERM', $pid;
            unless (_wait_gone(5, $pid)) {
                Test::More::diag("nginx $pid: no exit after TERM, KILL");
                kill 'KILL', $pid, @workers;
                _wait_gone(5, $pid);
            }
        }
    }

    # workers die with the master; make sure of it
    if (my @left = grep { _alive($_) } @workers) {
        _wait_gone(5, @left) or kill 'KILL', @left;
    }

    $self->{running} = 0;
    delete $self->{pid};
    return $self;
}

sub _wait_gone {
    my ($timeout, @pids) = @_;
    my $deadline = time + $timeout;
    while (time < $deadline) {
        return 1 unless grep { _alive($_) } @pids;
        sleep 0.05;
    }
    return !grep { _alive($_) } @pids;
}

sub reload {
    my ($self, %args) = @_;
    my $timeout = $args{timeout} // 10;

    croak "nginx is not running" unless $self->{running};
    my %old = map { $_ => 1 } $self->worker_pids(all => 1);

    kill 'HUP', $self->{pid} or croak "HUP $self->{pid}: $!";

    my $ok = $self->wait_for(sub {
        my @new = grep { !$old{$_} } $self->worker_pids;
        @new >= $self->{workers};
    }, timeout => $timeout);

    Test::More::diag("reload: no new workers after $timeout s\n"
        . $self->_log_tail) unless $ok;
    return $ok ? 1 : 0;
}

# children of the master, by their process title
sub worker_pids {
    my ($self, %args) = @_;
    my $master = $self->{pid} // $self->master_pid or return;

    my @pids;
    opendir my $dh, '/proc' or return;
    for my $pid (grep { /^\d+$/ } readdir $dh) {
        open my $fh, '<', "/proc/$pid/stat" or next;
        my $stat = <$fh> // next;
        # pid (comm) state ppid ...; comm may contain anything
        my ($state, $ppid) = $stat =~ /\)\s+(\S)\s+(\d+)/ or next;
        next unless $ppid == $master && $state ne 'Z';
        open my $ch, '<', "/proc/$pid/cmdline" or next;
        my $title = do { local $/; <$ch> } // '';
        $title =~ s/\0+$//;
        $title =~ tr/\0/ /;
        next unless $title =~ /worker process/;
        next if !$args{all} && $title =~ /shutting down/;
        push @pids, $pid;
    }
    closedir $dh;
    return sort { $a <=> $b } @pids;
}

###############################################################################
# HTTP

sub url {
    my ($self, $path) = @_;
    $path //= '/';
    return $path if $path =~ m{^[a-z][a-z0-9+.-]*://}i;
    $path = "/$path" unless $path =~ m{^/};
    return "http://127.0.0.1:$self->{http_port}$path";
}

sub http {
    my ($self, $method, $path, %args) = @_;

    my $ua = HTTP::Tiny->new(
        timeout      => $args{timeout} // 10,
        max_redirect => 0,
        keep_alive   => 0,
        agent        => $args{agent} // 'WebRTCTest/1',
    );

    my %opts;
    $opts{headers} = $args{headers} if $args{headers};
    $opts{content} = $args{body} if defined $args{body};

    my $r = $ua->request(uc $method, $self->url($path), \%opts);

    my %all;
    for my $k (keys %{ $r->{headers} }) {
        my $v = $r->{headers}{$k};
        $all{lc $k} = ref $v ? [@$v] : [$v];
    }

    return {
        status      => $r->{status},
        reason      => $r->{reason},
        headers     => { map { lc($_) => $r->{headers}{$_} }
                         keys %{ $r->{headers} } },
        all_headers => \%all,
        body        => $r->{content} // '',
    };
}

sub header_values {
    my ($self, $r, $name) = @_;
    my $v = $r->{all_headers}{lc $name} or return;
    return @$v;
}

sub http_raw {
    my ($self, $bytes, %args) = @_;
    my $timeout = $args{timeout} // 10;

    my $s = IO::Socket::INET->new(
        PeerAddr => '127.0.0.1',
        PeerPort => $self->{http_port},
        Proto    => 'tcp',
        Timeout  => $timeout,
    ) or croak "connect: $!";
    $s->autoflush(1);
    print {$s} $bytes;

    my $deadline = time + $timeout;
    my $data = '';
    my $sel = '';
    vec($sel, fileno($s), 1) = 1;
    while (time < $deadline) {
        my $rin = $sel;
        my $n = select($rin, undef, undef, $deadline - time);
        last if $n <= 0;
        my $got = sysread($s, my $buf, 65536);
        last unless $got;
        $data .= $buf;
    }
    close $s;
    return $data;
}

sub status {
    my ($self) = @_;
    my $r = $self->http('GET', '/webrtc/status');
    return undef unless $r->{status} == 200;
    my $j = eval { JSON::PP->new->decode($r->{body}) };
    return $j;
}

sub wait_for {
    my ($self, $cb, %args) = @_;
    my $timeout = $args{timeout} // 10;
    my $interval = $args{interval} // 0.2;

    my $deadline = time + $timeout;
    while (1) {
        my $v = $cb->();
        return $v if $v;
        last if time >= $deadline;
        sleep $interval;
    }
    return undef;
}

###############################################################################
# status helpers

sub publisher {
    my ($self, $stream, $st) = @_;
    $st //= $self->status or return undef;
    for my $s (@{ $st->{streams} || [] }) {
        return $s->{publisher} if defined $s->{name} && $s->{name} eq $stream;
    }
    return undef;
}

sub _all_sessions {
    my ($st) = @_;
    return map { ($_->{publisher} ? ($_->{publisher}) : ()),
                 @{ $_->{viewers} || [] } } @{ $st->{streams} || [] };
}

sub session {
    my ($self, $id, $st) = @_;
    $st //= $self->status or return undef;
    for my $s (_all_sessions($st)) {
        return $s if defined $s->{id} && $s->{id} eq $id;
    }
    return undef;
}

sub session_ids {
    my ($self, $st) = @_;
    $st //= $self->status or return;
    return map { $_->{id} } _all_sessions($st);
}

sub track {
    shift if ref $_[0] && eval { $_[0]->isa(__PACKAGE__) };
    my ($session, $kind) = @_;
    return undef unless ref $session eq 'HASH';
    for my $tr (@{ $session->{tracks} || [] }) {
        return $tr if ($tr->{kind} // '') eq $kind;
    }
    return undef;
}

sub session_id {
    my ($self, $location) = @_;
    return undef unless defined $location;
    (my $id = $location) =~ s{[?#].*}{};
    $id =~ s{.*/}{};
    return $id;
}

sub wait_idle {
    my ($self, %args) = @_;
    return $self->wait_for(sub {
        my $st = $self->status;
        return $st && !$st->{sessions};
    }, timeout => $args{timeout} // 10);
}

sub wait_gone {
    my ($self, $id, %args) = @_;
    my $t0 = time;
    my $ok = $self->wait_for(sub {
        my $st = $self->status or return 0;
        return !$self->session($id, $st);
    }, timeout => $args{timeout} // 10, interval => $args{interval} // 0.1);
    return $ok ? time - $t0 : undef;
}

sub check_media {
    my ($self, $stream, %o) = @_;
    my $label = $o{name} // "stream $stream";
    my $timeout = $o{timeout} // 20;
    my $gap = $o{interval} // 1.2;
    my @kinds = grep { $o{$_} } qw(audio video);
    my $last;

    my $dump = sub {
        Test::More::diag("$label: last status of the publisher: "
            . (defined $last
               ? JSON::PP->new->canonical->encode($last) : 'none'));
    };

    Test::More::subtest("$label: publishing, media flows" => sub {
        my $p1 = $self->wait_for(sub {
            my $p = $self->publisher($stream) or return;
            $last = $p;
            return unless ($p->{state} // '') eq 'connected';
            for my $k (@kinds) {
                my $tr = track($p, $k) or return;
                return unless ($tr->{packets} // 0) > 0;
                return if $k eq 'video' && !(($tr->{keyframes} // 0) >= 1
                    && ($tr->{width} // 0) > 0);
            }
            return $p;
        }, timeout => $timeout);

        unless (Test::More::ok($p1, "connected with media"
            . ($o{video} ? ' and a keyframe' : '') . " within $timeout s"))
        {
            $dump->();
            return;
        }

        my $t1 = time;
        sleep $gap;
        my $p2 = $self->publisher($stream);
        my $dt = time - $t1;
        unless (Test::More::ok($p2, sprintf 'still listed %.1f s later',
            $dt))
        {
            return;
        }
        $last = $p2;

        Test::More::is($p2->{id}, $p1->{id}, 'same session id');
        Test::More::is($p2->{state}, 'connected', 'state connected');
        Test::More::like($p2->{remote},
            $o{remote} // qr/^127\.0\.0\.1:\d+$/,
            'remote ' . ($p2->{remote} // 'undef'));
        Test::More::like($p2->{user_agent}, $o{user_agent},
            'user agent ' . ($p2->{user_agent} // 'undef'))
            if $o{user_agent};

        for my $k (qw(audio video)) {
            next unless exists $o{$k};
            my @tr = grep { ($_->{kind} // '') eq $k }
                @{ $p2->{tracks} || [] };
            Test::More::is(scalar @tr, $o{$k} ? 1 : 0,
                $o{$k} ? "one $k track" : "no $k track");
        }

        for my $k (@kinds) {
            my ($a, $b) = (track($p1, $k), track($p2, $k));
            next unless $a && $b;
            if (ref $o{$k} eq 'Regexp') {
                Test::More::like($b->{codec}, $o{$k}, "$k codec $b->{codec}");
            } else {
                Test::More::is($b->{codec}, $o{$k}, "$k codec");
            }
            Test::More::cmp_ok($b->{packets}, '>', $a->{packets},
                sprintf "$k packets grow (%d -> %d in %.1f s)",
                $a->{packets}, $b->{packets}, $dt);
            Test::More::cmp_ok($b->{bytes}, '>', $a->{bytes},
                "$k bytes grow ($a->{bytes} -> $b->{bytes})");
            Test::More::cmp_ok($b->{bitrate}, '>', 0,
                "$k bitrate $b->{bitrate}");
            next unless $k eq 'video';
            Test::More::cmp_ok($b->{keyframes}, '>=', 1,
                "keyframes $b->{keyframes}");
            for my $d (qw(width height)) {
                if (defined $o{$d}) {
                    Test::More::is($b->{$d}, $o{$d}, "$d $o{$d}");
                } else {
                    Test::More::cmp_ok($b->{$d}, '>', 0, "$d $b->{$d}");
                }
            }
        }
        $dump->() unless Test::More->builder->is_passing;
    });

    return $last;
}

###############################################################################
# clients

sub client_path {
    my ($self, $name) = @_;
    return "$ROOT/t/clients/$name";
}

sub client_command {
    my ($self, $name, @args) = @_;
    my $path = $self->client_path($name);
    return ($ENV{WEBRTC_PYTHON} // '/usr/bin/python3', $path, @args)
        if $name =~ /\.py$/;
    return ($ENV{WEBRTC_NODE} // 'node', $path, @args)
        if $name =~ /\.m?js$/;
    return ($path, @args);
}

sub spawn_client {
    my ($self, @cmd) = @_;
    my $opts = ref $cmd[0] eq 'HASH' ? shift @cmd : {};
    croak "no command" unless @cmd;

    my $n = ++$self->{client_seq};
    (my $tag = $cmd[1] // $cmd[0]) =~ s{.*/}{};
    $tag =~ s/[^A-Za-z0-9_.-]/_/g;
    my $base = "$self->{prefix}/clients/$n-$tag";

    my $c = WebRTCTest::Client->_spawn(
        cmd     => \@cmd,
        stdout  => "$base.out",
        stderr  => "$base.err",
        timeout => $opts->{timeout} // 60,
        env     => $opts->{env} // {},
        stdin   => $opts->{stdin},
    );
    push @{ $self->{clients} }, $c;
    return $c;
}

sub run_client {
    my ($self, @cmd) = @_;
    my $c = $self->spawn_client(@cmd);
    return $c->finish;
}

# the peer clients by kind: [publisher, viewer, viewer's first picture]
my %PEERS = (
    aiortc   => ['aiortc_publish.py', 'aiortc_watch.py', 'first_frame'],
    chromium => ['chromium_publish.js', 'chromium_watch.js', 'first_frame'],
    ndc      => ['ndc_publish.js', 'ndc_watch.js', 'first_keyframe'],
    gstreamer => ['gst_publish.py', 'gst_watch.py', 'first_frame'],
);

sub spawn_publisher {
    my ($self, @args) = @_;
    my $o = ref $args[0] eq 'HASH' ? shift @args : {};
    return $self->_spawn_peer('publisher', $o, @args);
}

sub spawn_viewer {
    my ($self, @args) = @_;
    my $o = ref $args[0] eq 'HASH' ? shift @args : {};
    return $self->_spawn_peer('viewer', $o, @args);
}

# spawns a publisher or viewer client of $kind for $stream (a name, or a
# path: /whep1/cam) and waits for the event that says it is up, or an
# error; returns ($client, $session_id, $event), $session_id undef when
# it is not up (then $event is the error event or undef)
sub _spawn_peer {
    my ($self, $role, $o, $kind, $stream, @args) = @_;
    my $peer = $PEERS{$kind} or croak "unknown peer kind $kind";
    my $viewer = $role eq 'viewer';
    my ($up, $state) = split / /, $o->{until}
        // ($viewer ? $peer->[2] : 'connected');
    my $is_up = sub { $_[0]{event} eq $up
        && (!defined $state || ($_[0]{state} // '') eq $state) };

    my @where;
    if ($kind eq 'chromium') {
        croak "chromium takes a stream name, not $stream" if $stream =~ m{/};
        @where = ('--base', $self->url('/'), '--stream', $stream);
    } else {
        my $path = $stream =~ m{^/} ? $stream
            : ($viewer ? '/whep/' : '/whip/') . $stream;
        @where = ('--url', $self->url($path));
    }
    my $c = $self->spawn_client({ timeout => $o->{timeout} // 90 },
        $self->client_command($peer->[$viewer ? 1 : 0], @where, @args));

    my $e = $c->wait_event(sub { $is_up->($_[0]) || $_[0]{event} eq 'error' },
        timeout => $o->{wait} // ($kind eq 'chromium' ? 40 : 30));
    unless ($e && $is_up->($e)) {
        Test::More::diag("$kind $role of $stream: ",
            Test::More::explain([$c->events]), $c->stderr);
        return ($c, undef, $e);
    }
    my ($with) = grep { defined $_->{location} } $c->events;
    return ($c, $self->session_id($with && $with->{location}), $e);
}

sub test_h264 {
    my ($self, %o) = @_;
    my $size = $o{size} // '640x360';
    my $rate = $o{rate} // 30;
    my $secs = $o{seconds} // 4;
    my $gop = $o{gop} // 30;
    my $profile = $o{profile} // 'baseline';
    croak "bad profile $profile" unless $profile =~ /^[a-z0-9]+$/;

    my $dir = "$ROOT/build/media";
    my $file = "$dir/testsrc-$size-$rate-$secs-g$gop"
        . ($profile eq 'baseline' ? '' : "-$profile") . '.h264';
    return $file if -s $file;

    make_path($dir);
    my $tmp = "$file.$$.tmp";
    my ($rc, undef, $err) = $self->run_client({ timeout => 60 },
        'ffmpeg', '-hide_banner', '-loglevel', 'error', '-nostdin', '-y',
        '-f', 'lavfi', '-i', "testsrc=size=$size:rate=$rate",
        '-t', $secs, '-pix_fmt', 'yuv420p', '-c:v', 'libx264',
        '-profile:v', $profile, '-g', $gop, '-bf', 0, '-f', 'h264', $tmp);
    if ($rc != 0 || !-s $tmp) {
        unlink $tmp;
        croak "ffmpeg failed ($rc): $err";
    }
    rename $tmp, $file or croak "rename $tmp: $!";
    return $file;
}

# STUN (RFC 8489) Binding requests as ICE agents send them, for tests
# that talk to the server's UDP port themselves

my $STUN_COOKIE = 0x2112A442;

sub _stun_attr {
    my ($type, $value) = @_;
    my $pad = (4 - length($value) % 4) % 4;
    return pack('nn', $type, length $value) . $value . ("\0" x $pad);
}

# a Binding request; key undef: no MESSAGE-INTEGRITY. Returns
# ($message, $transaction_id).
sub stun_request {
    my (%a) = @_;
    my $tid = $a{tid} // join '', map { chr(int(rand(256))) } 1 .. 12;
    my $attrs = '';
    $attrs .= _stun_attr(0x0006, $a{username}) if defined $a{username};
    $attrs .= _stun_attr(0x0024, pack('N', $a{priority} // 1853824767));
    $attrs .= _stun_attr(0x802A, pack('NN', rand(2**32), rand(2**32)))
        unless $a{controlled};
    $attrs .= _stun_attr(0x8029, pack('NN', rand(2**32), rand(2**32)))
        if $a{controlled};
    $attrs .= _stun_attr(0x0025, '') if $a{use_candidate};

    if (defined $a{key}) {
        # length includes the MESSAGE-INTEGRITY attribute (24 bytes)
        my $hdr = pack('nnN', 0x0001, length($attrs) + 24, $STUN_COOKIE)
            . $tid;
        $attrs .= _stun_attr(0x0008,
            Digest::SHA::hmac_sha1($hdr . $attrs, $a{key}));
    }
    unless ($a{no_fingerprint}) {
        my $hdr = pack('nnN', 0x0001, length($attrs) + 8, $STUN_COOKIE)
            . $tid;
        my $crc = (Compress::Zlib::crc32($hdr . $attrs) ^ 0x5354554e)
            & 0xffffffff;
        $attrs .= _stun_attr(0x8028, pack('N', $crc));
    }
    return (pack('nnN', 0x0001, length $attrs, $STUN_COOKIE) . $tid
        . $attrs, $tid);
}

sub test_offer {
    shift if ref $_[0] && eval { $_[0]->isa(__PACKAGE__) };
    my ($name) = @_;
    my $path = "$ROOT/t/data/offers/$name.sdp";
    open my $fh, '<:raw', $path or croak "$path: $!";
    local $/;
    return scalar <$fh>;
}

sub parse_events {
    my ($text) = @_;
    my @ev;
    my $json = JSON::PP->new->allow_nonref;
    for my $line (split /\n/, $text // '') {
        next unless $line =~ /^\s*\{/;
        my $e = eval { $json->decode($line) };
        push @ev, $e if ref $e eq 'HASH';
    }
    return @ev;
}

# run a short command synchronously (used for nginx itself)
sub _run_sync {
    my ($self, $timeout, $cmd, $env) = @_;
    my $n = ++$self->{client_seq};
    my $c = WebRTCTest::Client->_spawn(
        cmd     => $cmd,
        stdout  => "$self->{prefix}/logs/cmd-$n.out",
        stderr  => "$self->{prefix}/logs/cmd-$n.err",
        timeout => $timeout,
        env     => $env // {},
        # nginx's master daemonizes: do not kill the group after exit
        keep_group => 1,
    );
    return $c->finish;
}

###############################################################################
# logs

sub error_log {
    my ($self) = @_;
    return $self->read_file('logs/error.log');
}

sub _log_tail {
    my ($self, $lines) = @_;
    $lines //= 30;
    my @l = split /\n/, $self->error_log;
    @l = @l[-$lines .. -1] if @l > $lines;
    return join('', map { "    $_\n" } "--- $self->{prefix}/logs/error.log:", @l);
}

sub done {
    my ($self, %args) = @_;

    return if $self->{done};
    $self->{done} = 1;

    $self->_kill_clients;
    $self->stop;

    my $allow = $args{allow} // $self->{allow};
    my $leak = $args{leak_check} // $self->{leak_check};

    my @lines = split /\n/, $self->error_log;
    @lines = grep { $_ !~ $allow } @lines if $allow;

    my @checks = (
        [ 'no [alert] in error log',  qr/\[alert\]/ ],
        [ 'no [emerg] in error log',  qr/\[emerg\]/ ],
        [ 'no [crit] in error log',   qr/\[crit\]/ ],
        [ 'no process exited on signal', qr/exited on signal|core dumped/ ],
        [ 'no process exited with fatal code', qr/exited with fatal code/ ],
    );
    push @checks,
        [ 'no sanitizer report',
          qr/AddressSanitizer|LeakSanitizer|ThreadSanitizer|runtime error:/ ],
        [ 'no socket left open',  qr/open socket #\d+ left in connection/ ]
        if $leak;

    for my $c (@checks) {
        my ($name, $re) = @$c;
        my @bad = grep { $_ =~ $re } @lines;
        Test::More::ok(!@bad, "$self->{name}: $name")
            or Test::More::diag(join "\n", @bad[0 .. ($#bad < 9 ? $#bad : 9)]);
    }

    my @reports = $self->_sanitizer_reports;
    Test::More::ok(!@reports, "$self->{name}: no sanitizer report file")
        or Test::More::diag(@reports);

    return $self;
}

# the first 20 lines of every non-empty report of a sanitized nginx
sub _sanitizer_reports {
    my ($self) = @_;
    return map {
        my @l = split /\n/, $self->read_file($_);
        join "\n", "--- $_:", @l[0 .. ($#l < 19 ? $#l : 19)], '';
    } grep { -s } glob "$self->{prefix}/sanitizer/*";
}

sub _kill_clients {
    my ($self) = @_;
    for my $c (@{ $self->{clients} }) {
        $c->kill if $c->running;
    }
}

# stop everything without running tests (END, DESTROY, signals), then
# remove the prefix if every test so far passed
sub _cleanup {
    my ($self, $status) = @_;
    return unless $self->{owner} == $$;
    return if $self->{cleaned}++;

    $self->_kill_clients;
    if ($self->{running}) {
        Test::More::diag("$self->{name}: nginx still running at exit"
            . " (no \$t->done?), stopping it") unless $self->{done};
        $self->stop;
    }
    # a test that died before done: still show why nginx may have failed
    Test::More::diag($self->_sanitizer_reports) unless $self->{done};

    return unless -d $self->{prefix};
    my $passing = eval { Test::More->builder->is_passing } // 0;
    if ($passing && !$status && !$ENV{WEBRTC_KEEP} && !$self->{running}) {
        remove_tree($self->{prefix}, { error => \my $err });
    } elsif (!$passing || $status) {
        Test::More::diag("kept $self->{prefix}");
    }
}

sub DESTROY {
    my ($self) = @_;
    my $status = $?;    # non-zero when the test died
    local ($., $@, $!, $^E, $?);
    $self->_cleanup($status);
}

my $SIGNALS_SET;

sub _install_signal_handlers {
    return if $SIGNALS_SET++;
    for my $sig (qw(INT TERM HUP)) {
        next if defined $SIG{$sig} && $SIG{$sig} ne 'DEFAULT'
            && $SIG{$sig} ne '';
        $SIG{$sig} = sub {
            Test::More::diag("caught SIG$sig, stopping nginx");
            exit 128 + ($sig eq 'INT' ? 2 : $sig eq 'TERM' ? 15 : 1);
        };
    }
}

END {
    if ($$ == $OWNER_PID) {
        my $status = $?;
        $_->_cleanup($status) for grep { defined } @INSTANCES;
        @INSTANCES = ();
        $? = $status;
    }
}

###############################################################################
# WHEP helpers

sub whep_conf {
    my ($self, %x) = @_;
    my $whep = delete $x{whep} // '';
    my $loc = delete $x{whep_location} // '/whep/';

    $x{server} = ($x{server} // '') . <<"EOF2";

        location $loc {
            webrtc_whep;
            $whep
        }
EOF2
    return $self->default_conf(%x);
}

sub viewers {
    my ($self, $stream, $st) = @_;
    $st //= $self->status or return ();
    for my $s (@{ $st->{streams} || [] }) {
        return @{ $s->{viewers} || [] }
            if defined $s->{name} && $s->{name} eq $stream;
    }
    return ();
}

# Ends a client as its user would: SIGUSR1 makes it DELETE its session;
# checks the 200 and waits for the client to exit.
sub leave {
    my ($self, $c, $what) = @_;
    $c->signal('USR1');
    # (a client that fails exits: wait_event stops then)
    my $d = $c->wait_event('deleted', timeout => 15);
    Test::More::is($d && $d->{status}, 200, "$what: DELETE 200")
        or Test::More::diag(Test::More::explain($d
            // ['no "deleted" event', $c->events('error')]));
    $c->finish(timeout => 15);
}

sub check_ended {
    my ($self, $c, $id, %o) = @_;
    my $gone = defined $id ? $self->wait_gone($id, timeout => 10) : undef;
    Test::More::ok(defined $gone, sprintf
        'session gone from status (%.1f s)', $gone // -1);
    Test::More::ok(!$self->publisher($o{stream}),
        "stream $o{stream} no longer listed") if defined $o{stream};
    my ($rc, undef, $err) = $c->finish(timeout => 20);
    Test::More::is($rc, 0, 'client exit 0') or Test::More::diag($err);
}

sub wait_session {
    my ($self, $id, %o) = @_;
    my $want = exists $o{state} ? $o{state} : 'connected';
    return $self->wait_for(sub {
        my $s = $self->session($id) or return;
        return $s if !defined $want || ($s->{state} // '') eq $want;
        return;
    }, timeout => $o{timeout} // 10, interval => $o{interval} // 0.2);
}

sub check_viewer {
    my ($self, $stream, $id, %o) = @_;
    my $label = $o{name} // "viewer of $stream";
    my $timeout = $o{timeout} // 15;
    my $gap = $o{interval} // 1.2;
    my @kinds = grep { $o{$_} } qw(audio video);
    my $last;

    my $find = sub {
        for my $v ($self->viewers($stream)) {
            return $v if defined $v->{id} && defined $id && $v->{id} eq $id;
        }
        return undef;
    };

    Test::More::subtest("$label: listed, connected, sending" => sub {
        my $v1 = $self->wait_for(sub {
            my $v = $find->() or return;
            $last = $v;
            return unless ($v->{state} // '') eq 'connected';
            for my $k (@kinds) {
                my $tr = track($v, $k) or return;
                return unless ($tr->{packets} // 0) > 0;
            }
            return $v;
        }, timeout => $timeout);
        unless (Test::More::ok($v1, "viewer " . ($id // 'undef')
            . " of $stream connected with packets within $timeout s"))
        {
            Test::More::diag("$label: last record: " . (defined $last
                ? JSON::PP->new->canonical->encode($last) : 'none'));
            return;
        }

        my $t1 = time;
        sleep $gap;
        my $v2 = $find->();
        my $dt = time - $t1;
        Test::More::ok($v2, sprintf 'still listed under %s %.1f s later',
            $stream, $dt) or return;
        $last = $v2;
        Test::More::is($v2->{state}, 'connected', 'state connected');
        for my $k (@kinds) {
            my ($a, $b) = (track($v1, $k), track($v2, $k));
            Test::More::ok($b, "$k track") or next;
            if (ref $o{$k} eq 'Regexp') {
                Test::More::like($b->{codec}, $o{$k}, "$k codec $b->{codec}");
            } else {
                Test::More::is(lc($b->{codec} // ''), lc $o{$k},
                    "$k codec " . ($b->{codec} // 'undef'));
            }
            Test::More::cmp_ok($b->{packets}, '>', $a->{packets},
                sprintf "$k packets sent grow (%d -> %d in %.1f s)",
                $a->{packets}, $b->{packets}, $dt);
            Test::More::cmp_ok($b->{bytes}, '>', $a->{bytes},
                "$k bytes sent grow ($a->{bytes} -> $b->{bytes})");
        }
        Test::More::diag("$label: last record: "
            . JSON::PP->new->canonical->encode($last))
            unless Test::More->builder->is_passing;
    });
    return $last;
}

sub sdp_fmtp {
    shift if ref $_[0] && eval { $_[0]->isa(__PACKAGE__) };
    my ($sdp, $kind, $codec) = @_;
    my @sections = split /\r?\n(?=m=)/, $sdp // '';
    my ($m) = grep { /^m=\Q$kind\E / } @sections or return undef;
    my ($pt) = $m =~ m{^a=rtpmap:(\d+) \Q$codec\E/}mi or return undef;
    my ($fmtp) = $m =~ m{^a=fmtp:$pt ([^\r\n]*)}m;
    return $fmtp;
}

sub h264_profile_level_id {
    shift if ref $_[0] && eval { $_[0]->isa(__PACKAGE__) };
    my ($bytes) = @_;
    return undef unless defined $bytes;
    while ($bytes =~ /\x00\x00\x01(.)(...)/gs) {
        next unless (ord($1) & 0x1f) == 7;
        return unpack 'H6', $2;
    }
    return undef;
}

sub freeze_max {
    shift if ref $_[0] && eval { $_[0]->isa(__PACKAGE__) };
    my @s = grep { defined $_->{framesDecoded} } @_;
    my ($max, $run) = (0, 0);
    for my $i (1 .. $#s) {
        if ($s[$i]{framesDecoded} > $s[$i - 1]{framesDecoded}) {
            $run = 0;
        } else {
            $run++;
            $max = $run if $run > $max;
        }
    }
    return $max;
}

###############################################################################
# skips

sub _in_private_netns {
    open my $fh, '<', '/proc/net/dev' or return 0;
    my @ifs;
    while (<$fh>) {
        push @ifs, $1 if /^\s*([^:\s]+):/;
    }
    return @ifs == 1 && $ifs[0] eq 'lo';
}

sub skip_unless_netns {
    return if $ENV{WEBRTC_ALLOW_HOST_NET};
    return if _in_private_netns();
    Test::More::plan(skip_all => 'not in a private network namespace'
        . ' (run under tools/netns.sh, or set WEBRTC_ALLOW_HOST_NET=1)');
}

sub skip_unless_module {
    return if $ENV{WEBRTC_STATIC};
    my $so = $ENV{WEBRTC_MODULE}
        // "$ROOT/build/modules/ngx_http_webrtc_module.so";
    return if -f $so;
    Test::More::plan(skip_all => "$so not built (make module)");
}

sub skip_unless_exec {
    for my $prog (@_) {
        my $found = $prog =~ m{/} ? -x $prog
            : grep { -x "$_/$prog" } split /:/, $ENV{PATH} // '';
        Test::More::plan(skip_all => "$prog not found") unless $found;
    }
}

sub skip_unless_peers {
    skip_unless_netns();
    skip_unless_module();
    my $node = $ENV{WEBRTC_NODE} // 'node';
    my $python = $ENV{WEBRTC_PYTHON} // '/usr/bin/python3';
    my %needs = (
        chromium => [$node, $ENV{CHROMIUM} // '/usr/bin/chromium'],
        ndc      => [$node],
        aiortc   => [$python],
        gstreamer => [$python],
    );
    # what the python must import (gstreamer: webrtcbin, the encoders
    # and decoders the clients use, libnice's bindings)
    my %imports = (
        aiortc    => 'import aiortc',
        gstreamer => join('; ',
            'import gi',
            map({ "gi.require_version('$_', '1.0')" }
                qw(Gst GstWebRTC GstSdp)),
            "gi.require_version('Nice', '0.1')",
            'from gi.repository import Gst, GstWebRTC, GstSdp, Nice',
            'Gst.init(None)',
            'import sys',
            'sys.exit(any(Gst.ElementFactory.find(e) is None for e in '
            . '"webrtcbin nicesrc x264enc opusenc rtph264pay rtpopuspay '
            . 'rtph264depay rtpopusdepay avdec_h264 opusdec".split()))'),
    );
    for my $need (@_) {
        skip_unless_exec(@{ $needs{$need} // [$need] });
        my $import = $imports{$need} or next;
        Test::More::plan(skip_all => "$need not importable by $python")
            if system($python, '-c', $import) != 0;
    }
}

###############################################################################

package WebRTCTest::Client;

use strict;
use warnings;

use Carp qw(croak);
use POSIX qw(WNOHANG setsid _exit);
use Time::HiRes qw(sleep time);

sub _spawn {
    my ($class, %a) = @_;

    my $self = bless {%a, started => time}, $class;

    my $pid = fork;
    croak "fork: $!" unless defined $pid;

    if ($pid == 0) {
        # own process group (and session): the whole tree can be killed
        setsid();
        open STDIN, '<', $a{stdin} // '/dev/null';
        open STDOUT, '>', $a{stdout} or _exit(126);
        open STDERR, '>', $a{stderr} or _exit(126);
        $ENV{$_} = $a{env}{$_} for keys %{ $a{env} };
        $ENV{PYTHONUNBUFFERED} = 1;
        { exec { $a{cmd}[0] } @{ $a{cmd} }; }
        print STDERR "exec $a{cmd}[0]: $!\n";
        _exit(127);
    }

    $self->{pid} = $pid;
    $self->{deadline} = $self->{started} + $a{timeout};
    return $self;
}

sub pid { $_[0]{pid} }

sub running {
    my ($self) = @_;
    return 0 if defined $self->{rc};
    $self->_reap(0);
    return !defined $self->{rc};
}

sub _reap {
    my ($self, $block) = @_;
    return if defined $self->{rc};
    # keep the caller's $?: at exit it tells END whether the test died
    local $?;
    my $r = waitpid($self->{pid}, $block ? 0 : WNOHANG);
    if ($r == $self->{pid}) {
        my $st = $?;
        $self->{rc} = ($st & 127) ? 128 + ($st & 127) : $st >> 8;
    } elsif ($r == -1) {
        $self->{rc} //= -1;
    }
}

sub _slurp {
    my ($path) = @_;
    open my $fh, '<', $path or return '';
    local $/;
    my $c = <$fh>;
    return $c // '';
}

sub stdout { _slurp($_[0]{stdout}) }
sub stderr { _slurp($_[0]{stderr}) }

sub events {
    my ($self, $name) = @_;
    my @ev = WebRTCTest::parse_events($self->stdout);
    return defined $name ? grep { ($_->{event} // '') eq $name } @ev : @ev;
}

sub event {
    my ($self, $name) = @_;
    my ($e) = $self->events($name);
    return $e;
}

sub next_events {
    my ($self, $name, $n, %args) = @_;
    my $have = () = $self->events($name);
    my $deadline = time + ($args{timeout} // $n + 5);
    while (time < $deadline && $self->events($name) < $have + $n) {
        sleep $args{interval} // 0.1;
    }
    my @ev = $self->events($name);
    return @ev[$have .. $#ev];
}

# wait for an event named $what (or for which $what->($event) is true)
sub wait_event {
    my ($self, $what, %args) = @_;
    my $timeout = $args{timeout} // 10;
    my $match = ref $what eq 'CODE' ? $what
        : sub { ($_[0]{event} // '') eq $what };

    my $deadline = time + $timeout;
    while (1) {
        for my $e ($self->events) {
            return $e if $match->($e);
        }
        last if time >= $deadline || !$self->running;
        sleep 0.1;
    }
    # one more look: it may have printed the event and exited
    for my $e ($self->events) {
        return $e if $match->($e);
    }
    return undef;
}

# wait for exit (bounded by the client's own deadline, or timeout => N
# from now); kills the process group when the time is up.
sub finish {
    my ($self, %args) = @_;

    my $deadline = defined $args{timeout}
        ? time + $args{timeout} : $self->{deadline};

    while (!defined $self->{rc}) {
        $self->_reap(0);
        last if defined $self->{rc};
        if (time >= $deadline) {
            $self->kill;
            $self->{timed_out} = 1;
            $self->{rc} = 124;
            last;
        }
        sleep 0.05;
    }

    # stray children left in the group (not for nginx, which daemonizes)
    CORE::kill('KILL', -$self->{pid}) unless $self->{keep_group};

    my $err = $self->stderr;
    $err .= "\n[timeout after " . sprintf('%.1f', time - $self->{started})
        . " s, killed]\n" if $self->{timed_out};
    return ($self->{rc}, $self->stdout, $err);
}

sub timed_out { $_[0]{timed_out} }

# a signal to the client process itself (not its group), if still running
sub signal {
    my ($self, $sig) = @_;
    return 0 unless $self->running;
    return CORE::kill($sig, $self->{pid});
}

sub kill {
    my ($self, $sig) = @_;
    return if defined $self->{rc} && $self->{keep_group};

    my $pgrp = -$self->{pid};
    CORE::kill($sig // 'TERM', $pgrp);
    my $deadline = time + 3;
    while (time < $deadline) {
        $self->_reap(0);
        last if defined $self->{rc};
        sleep 0.05;
    }
    CORE::kill('KILL', $pgrp);
    $self->_reap(1) unless defined $self->{rc};
    $self->{rc} //= 137;
}

###############################################################################
# data channel helpers

package WebRTCTest;

sub sse_open {
    my ($self, $path, %o) = @_;
    return WebRTCTest::SSE->_open(port => $self->{http_port}, path => $path,
        headers => $o{headers} // {}, timeout => $o{timeout} // 5);
}

sub control_file {
    my ($self, $name) = @_;
    return $self->write_file("clients/$name.ctl", '');
}

sub send_command {
    shift if ref $_[0] && eval { $_[0]->isa(__PACKAGE__) };
    my ($file, $cmd) = @_;
    open my $fh, '>>', $file or croak "$file: $!";
    print {$fh} JSON::PP->new->utf8->canonical->encode($cmd), "\n";
    close $fh or croak "$file: $!";
}

sub dc_message {
    shift if ref $_[0] && eval { $_[0]->isa(__PACKAGE__) };
    my ($k) = @_;
    return [1, chr($k % 256) x (7 + $k)] if $k % 5 == 0;
    return [0, "msg $k\nsecond line of $k"] if $k % 5 == 3;
    return [0, ''] if $k % 7 == 6;
    return [0, "msg $k \xc3\xa9"];    # UTF-8 bytes of "msg k é"
}

package WebRTCTest::SSE;

use strict;
use warnings;

use IO::Socket::INET;
use Time::HiRes qw(sleep time);

sub _open {
    my ($class, %a) = @_;
    my $self = bless { status => 599, head => '', body => '', raw => '',
        events => [], comments => [], eof => 0, chunked => 0,
        pending => '', cur => undef }, $class;

    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
        PeerPort => $a{port}, Proto => 'tcp', Timeout => $a{timeout});
    unless ($s) {
        $self->{error} = "connect: $!";
        $self->{eof} = 1;
        return $self;
    }
    $s->autoflush(1);
    $self->{sock} = $s;

    my $req = "GET $a{path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        . "Accept: text/event-stream\r\n";
    $req .= "$_: $a{headers}{$_}\r\n" for sort keys %{ $a{headers} };
    syswrite($s, "$req\r\n");

    my $deadline = time + $a{timeout};
    while (time < $deadline && $self->{head} eq '') {
        $self->_read($deadline - time) or last;
        if ($self->{raw} =~ s/^(.*?\r\n)\r\n//s) {
            $self->{head} = $1;
            ($self->{status}) = $self->{head} =~ m{^HTTP/1\.[01] (\d{3})};
            $self->{status} //= 599;
            $self->{chunked} = $self->{head}
                =~ /^Transfer-Encoding:\s*chunked/mi ? 1 : 0;
            $self->_decode;
        }
    }
    return $self;
}

sub status { $_[0]{status} }
sub head   { $_[0]{head} }
sub events { @{ $_[0]{events} } }
sub comments { @{ $_[0]{comments} } }
sub eof    { $_[0]{eof} }
sub raw    { $_[0]{body} }

sub header {
    my ($self, $name) = @_;
    my ($v) = $self->{head} =~ /^\Q$name\E:\s*([^\r\n]*)/mi;
    return $v;
}

# one read of at most $wait seconds into {raw}; false on EOF or timeout
sub _read {
    my ($self, $wait) = @_;
    my $s = $self->{sock} or return 0;
    my $rin = '';
    vec($rin, fileno($s), 1) = 1;
    my $n = select($rin, undef, undef, $wait > 0 ? $wait : 0);
    return 0 unless $n > 0;
    my $got = sysread($s, my $buf, 65536);
    unless ($got) {
        $self->{eof} = 1;
        return 0;
    }
    $self->{raw} .= $buf;
    return 1;
}

# raw (after the header) -> body, chunked decoding
sub _decode {
    my ($self) = @_;
    return if $self->{head} eq '';
    unless ($self->{chunked}) {
        $self->{body_new} .= $self->{raw};
        $self->{raw} = '';
        return;
    }
    while ($self->{raw} =~ /^([0-9a-fA-F]+)[^\r\n]*\r\n/) {
        my $len = hex $1;
        my $hl = length($&);
        if ($len == 0) {
            $self->{eof} = 1;
            $self->{raw} = '';
            last;
        }
        last if length($self->{raw}) < $hl + $len + 2;
        $self->{body_new} .= substr($self->{raw}, $hl, $len);
        substr($self->{raw}, 0, $hl + $len + 2) = '';
    }
}

sub _parse {
    my ($self) = @_;
    my $new = delete $self->{body_new} // '';
    return 0 if $new eq '';
    $self->{body} .= $new;
    $self->{pending} .= $new;
    my $count = 0;
    while ($self->{pending} =~ s/^([^\r\n]*)(?:\r\n|\n|\r(?=.))//s) {
        my $line = $1;
        if ($line eq '') {
            if (my $c = $self->{cur}) {
                if (defined $c->{data}) {
                    push @{ $self->{events} }, $c;
                    $count++;
                }
            }
            $self->{cur} = undef;
            next;
        }
        if ($line =~ /^:(.*)/s) {
            push @{ $self->{comments} }, $1;
            next;
        }
        my ($f, $v) = $line =~ /^([^:]*)(?::(.*))?$/s;
        $v //= '';
        $v =~ s/^ //;
        my $c = $self->{cur} //= { id => undef, event => undef, data => undef };
        if ($f eq 'data') {
            $c->{data} = defined $c->{data} ? "$c->{data}\n$v" : $v;
        } elsif ($f eq 'event') {
            $c->{event} = $v;
        } elsif ($f eq 'id') {
            $c->{id} = $v;
        } else {
            $c->{other}{$f} = $v;
        }
    }
    return $count;
}

sub poll {
    my ($self, $seconds) = @_;
    my $deadline = time + ($seconds // 0);
    my $count = 0;
    while (1) {
        my $left = $deadline - time;
        my $got = $self->_read($left > 0 ? $left : 0);
        $self->_decode;
        $count += $self->_parse;
        last if !$got || $self->{eof};
        # drain what is already there, then stop at the deadline
        last if time >= $deadline;
    }
    return $count;
}

sub wait_until {
    my ($self, $cb, %o) = @_;
    my $deadline = time + ($o{timeout} // 10);
    while (1) {
        my $r = $cb->($self->events);
        return $r if $r;
        last if time >= $deadline || $self->{eof};
        $self->poll(0.1);
    }
    return $cb->($self->events);
}

sub wait_events {
    my ($self, $n, %o) = @_;
    $self->wait_until(sub { @_ >= $n }, %o);
    return $self->events;
}

sub close {
    my ($self) = @_;
    close $self->{sock} if $self->{sock};
    delete $self->{sock};
    $self->{eof} = 1;
}

sub DESTROY { $_[0]->close }


1;
