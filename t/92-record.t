#!/usr/bin/perl

# Recording a publish (webrtc_record <dir>) on a 2-worker nginx:
#   - an aiortc publisher (H.264 with a keyframe every 2 s, Opus): the file
#     <dir>/<stream>-<UTC YYYYmmdd-HHMMSS>.mp4 plays while it grows; at
#     the end a notice with its path, and ffprobe finds 30 fps of H.264
#     for as long as the publish lasted, Opus, no decoder error;
#   - a file cut anywhere inside its last fragment still decodes up to
#     the fragment before (what a worker killed in a write leaves);
#   - the publisher's worker killed with SIGKILL mid-publish: the file
#     decodes without an error up to its last fragment;
#   - a name taken (another publish of the stream in the same second):
#     a suffix, the other file untouched;
#   - a directory the worker cannot write to: an error in the log, the
#     publish goes on and its viewers play it.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use JSON::PP;
use POSIX qw(strftime);
use Time::HiRes qw(time sleep);
use WebRTCTest qw(skip_unless_peers);

skip_unless_peers('ffmpeg', 'ffprobe', 'aiortc');

my $T0 = time;

my $t = WebRTCTest->new(name => 'record', workers => 2);
my $rec = $t->prefix . '/rec';
my $ro = $t->prefix . '/ro';
mkdir $_ for $rec, $ro;
# the workers run as nobody when nginx starts as root
chmod 0777, $rec;
chmod 0555, $ro;

$t->write_conf($t->whep_conf(
    reuseport => 1,
    main      => 'worker_shutdown_timeout 2s;',
    whip      => "webrtc_record $rec;",
    server    => "location /whipro/ { webrtc_whip; webrtc_record $ro; }",
));
$t->start;

sub files {
    my ($dir, $stream) = @_;
    opendir my $dh, $dir or return ();
    return sort grep { /^\Q$stream\E-/ } readdir $dh;
}

# frames, durations and errors of a file as ffprobe and ffmpeg see it
sub probe {
    my ($file) = @_;
    my $e = 'stream=codec_type,codec_name,nb_read_frames,duration'
            . ':format=duration';
    my $cmd = "ffprobe -v error -count_frames -show_entries $e -of json";
    my $out = qx{$cmd $file 2>/dev/null};
    my $j = eval { decode_json($out) } // {};
    my ($v) = grep { $_->{codec_type} eq 'video' } @{ $j->{streams} // [] };
    my ($a) = grep { $_->{codec_type} eq 'audio' } @{ $j->{streams} // [] };
    return {
        out      => $out,
        video    => $v && $v->{codec_name},
        audio    => $a && $a->{codec_name},
        vframes  => $v && $v->{nb_read_frames} // 0,
        aframes  => $a && $a->{nb_read_frames} // 0,
        vduration => $v && $v->{duration} // 0,
        duration => $j->{format}{duration} // 0,
        errors   => scalar `ffmpeg -v error -i $file -f null - 2>&1`,
    };
}

# the top-level boxes of an MP4: [type, offset, size]
sub boxes {
    my ($data) = @_;
    my ($off, @b) = (0);
    while ($off + 8 <= length $data) {
        my ($size, $type) = unpack 'Na4', substr($data, $off, 8);
        last if $size < 8;
        push @b, [$type, $off, $size];
        $off += $size;
    }
    return @b;
}

###############################################################################

subtest 'a publish recorded' => sub {
    my $start = time;
    my ($pub, $id) = $t->spawn_publisher('aiortc', 'cam1', '--seconds', 6,
        '--video-codec', 'h264', '--keyframe-interval', 2);
    ok($id, 'aiortc publishes H.264 and Opus') or return;
    my $connected = time;

    my @f;
    ok($t->wait_for(sub { @f = files($rec, 'cam1') }, timeout => 5),
       'a file appears') or return;
    is(scalar @f, 1, 'one file');
    like($f[0], qr/^cam1-(\d{8}-\d{6})\.mp4$/, "named $f[0]");
    my ($stamp) = $f[0] =~ /-(\d{8}-\d{6})\./;
    ok(grep({ $stamp eq strftime('%Y%m%d-%H%M%S', gmtime $_) }
            map { int($start) + $_ } 0 .. 10),
       'after the stream and its UTC start time');
    my $file = "$rec/$f[0]";

    # while it is written
    sleep 2.5;
    my $mid = probe($file);
    cmp_ok($mid->{vframes}, '>', 30, "the growing file plays: "
        . "$mid->{vframes} video, $mid->{aframes} audio frames")
        or diag($mid->{out});
    is($mid->{errors}, '', 'without a decoder error');

    my $d = $pub->wait_event('deleted', timeout => 15);
    my $published = time - $connected;
    $pub->finish(timeout => 15);

    my ($line, $bytes, $secs, $writes, $longest);
    ok($t->wait_for(sub {
        ($line) = grep { /recorded "\Q$file\E"/ } split /\n/, $t->error_log;
        return $line;
    }, timeout => 5), 'a notice with the path') or return;
    ($bytes, $secs, $writes, $longest) = $line
        =~ /: (\d+) bytes, ([\d.]+) s, (\d+) writes, the longest ([\d.]+) ms/;
    like($line, qr/\[notice\]/, 'at notice level');
    is($bytes, -s $file, "its size, $bytes bytes");
    note(sprintf 'stall: %d writes, the longest held the event loop %.3f ms',
         $writes // 0, $longest // 0);

    my $p = probe($file);
    is($p->{video}, 'h264', 'video: H.264') or diag($p->{out});
    is($p->{audio}, 'opus', 'audio: Opus');
    # (aiortc paces video by its timestamps: a loaded machine slows its
    # frames down, not their spacing; audio keeps to the clock)
    my $want = 30 * $p->{vduration};
    ok(abs($p->{vframes} - $want) <= 3, sprintf '%d video frames in %.3f s '
       . 'of video: 30 fps (%.1f)', $p->{vframes}, $p->{vduration}, $want);
    my $sent = $p->{aframes} * 0.02;
    ok(abs($p->{duration} - $sent) < 0.3, sprintf '%d Opus frames of 20 ms: '
       . '%.3f s, the duration %.3f s', $p->{aframes}, $sent,
       $p->{duration});
    ok(abs($p->{vduration} - $secs) < 0.3, sprintf 'the video as long as '
       . 'noticed (%.3f s)', $secs);
    ok(abs($p->{duration} - $published) < 1, sprintf 'the file as long as '
       . 'the publish: %.3f s, connected %.3f s', $p->{duration}, $published);
    is($p->{errors}, '', 'ffmpeg decodes it without an error');

    # a worker killed inside a write leaves its last fragment cut short,
    # its moof not yet renamed from free: players skip it
    my $data = $t->read_file($file);
    my @b = boxes($data);
    my @moof = grep { $_->[0] eq 'moof' } @b;
    cmp_ok(scalar @moof, '>=', 15, scalar(@moof) . ' fragments');
    ok(!grep({ $_->[0] eq 'free' } @b), 'every one renamed moof');
    my $last = $moof[-1][1];
    my $before = probe_cut(substr($data, 0, $last));
    substr($data, $last + 4, 4) = 'free';
    for my $cut ($last + 6, $last + 100, int(($last + length $data) / 2),
                 length($data) - 1, length $data)
    {
        my $c = probe_cut(substr($data, 0, $cut));
        ok($c->{vframes} == $before->{vframes}
           && $c->{aframes} == $before->{aframes} && $c->{errors} eq '',
           "cut at $cut of " . length($data) . ": the $before->{vframes} + "
           . "$before->{aframes} frames before it, no error")
            or diag($c->{out}, $c->{errors});
    }
};

sub probe_cut {
    return probe($t->write_file('cut.mp4', $_[0]));
}

###############################################################################

subtest 'the publisher\'s worker killed; a name taken' => sub {
    # another recording of cam2 took every name of the next 15 seconds
    my $now = time;
    my %taken = map {
        ("cam2-" . strftime('%Y%m%d-%H%M%S', gmtime($now + $_)) . '.mp4', 1)
    } 0 .. 15;
    $t->write_file("$rec/$_", "taken\n") for keys %taken;

    my ($pub, $id) = $t->spawn_publisher({ timeout => 60 }, 'aiortc', 'cam2',
        '--seconds', 40, '--video-codec', 'h264', '--keyframe-interval', 2);
    ok($id, 'a publisher of cam2') or return;
    my $pw = $t->wait_session($id)->{worker};
    ok($pw, "on worker $pw") or return;

    my @f;
    ok($t->wait_for(sub { @f = grep { !$taken{$_} } files($rec, 'cam2') },
                    timeout => 5), 'a file appears') or return;
    like($f[0], qr/^cam2-\d{8}-\d{6}-1\.mp4$/, "a suffix: $f[0]");
    is($t->read_file("$rec/" . (sort keys %taken)[0]), "taken\n",
       'the other file untouched');
    my $file = "$rec/$f[0]";

    sleep 3.5;
    kill 'KILL', $pw;
    my $killed = time;
    ok($t->wait_for(sub { !$t->publisher('cam2') }, timeout => 8,
                    interval => 0.2), 'the worker killed, its publisher gone');
    $pub->kill;

    my $p = probe($file);
    cmp_ok($p->{vframes}, '>', 60, sprintf 'the file plays: %d video, %d '
        . 'audio frames, %.3f s', $p->{vframes}, $p->{aframes},
        $p->{duration}) or diag($p->{out});
    is($p->{errors}, '', 'ffmpeg decodes it without an error');
    unlike($t->error_log, qr/recorded "\Q$file\E"/, 'no notice');
};

###############################################################################

subtest 'a directory the worker cannot write to' => sub {
    $t->wait_for(sub { scalar(my @w = $t->worker_pids) == 2 }, timeout => 10);

    my ($pub, $id) = $t->spawn_publisher('aiortc', '/whipro/cam3',
        '--seconds', 30, '--video-codec', 'h264', '--keyframe-interval', 2);
    ok($id, 'the publish is accepted') or return;
    my $err = qr{\[error\].*cannot record stream "cam3": open\(\) }
              . qr{"\Q$ro\E/cam3-\d{8}-\d{6}\.mp4" failed }
              . qr{\(13: Permission denied\)};
    ok($t->wait_for(sub { $t->error_log =~ $err }, timeout => 5),
       'an error in the log: permission denied');
    is_deeply([files($ro, 'cam3')], [], 'no file');

    my ($v, $vid) = $t->spawn_viewer('aiortc', 'cam3', '--seconds', 30);
    ok($vid, 'a viewer') or return;
    $t->check_viewer('cam3', $vid, audio => 'opus', video => 'H264');
    $v->kill;
    $pub->kill;
};

# the master logs the killed worker at alert: that is this test's doing
$t->done(allow => qr/worker process \d+ exited on signal 9\b/);

note(sprintf 'total %.1f s', time - $T0);

done_testing;
