#!/usr/bin/perl

# The depacketizer and the fMP4 writer judged by a real decoder: ffmpeg
# encodes 2 s of H.264 (constrained baseline, then high profile; 320x240,
# 25 fps, a keyframe a second, no B-frames) and of Opus; build/unit/fmp4_mux
# packetizes the H.264 as a WebRTC sender does (STAP-A, single NAL units,
# FU-A), takes it back through ngx_webrtc_depack_add() and writes
# init.mp4 and a fragment a second.  The fragments after the init segment
# make one MP4 file, and ffprobe/ffmpeg must find in it every published
# frame, the size, the keyframes, the same decoded pictures as from the
# source, decodable Opus, and 2 s.
#
# Then H.265 (libx265), AV1 (libaom-av1, realtime) and VP9 (libvpx-vp9,
# realtime), 160x120 for speed, through a 500-byte MTU so that the
# keyframes fragment: H.265 as AP and FU packets, AV1 in the aggregation
# format with OBUs fragmented across packets, VP9 with its descriptor;
# the same judgement, and the CODECS string against ffprobe's profile,
# level and pixel format.

use strict;
use warnings;

use FindBin;
use File::Temp qw(tempdir);
use Test::More;

my $top = "$FindBin::Bin/..";
my $mux = "$top/build/unit/fmp4_mux";

for my $tool (qw(ffmpeg ffprobe)) {
    plan skip_all => "$tool not installed"
        unless grep { -x "$_/$tool" } split /:/, $ENV{PATH};
}

plan skip_all => "$mux not built: run make unit" unless -x $mux;

my $dir = tempdir(CLEANUP => 1);

sub run {
    my ($cmd) = @_;
    my $out = `$cmd 2>&1`;
    is($?, 0, "runs: " . substr($cmd, 0, 60)) or diag($out);
    return $out;
}

run("ffmpeg -y -v error -f lavfi -i sine=frequency=440:sample_rate=48000 "
    . "-t 2 -ac 2 -c:a libopus -b:a 64k -f ogg $dir/a.opus");

for my $profile (qw(baseline high)) {
    my $d = "$dir/$profile";
    mkdir $d or die "mkdir: $!";

    run("ffmpeg -y -v error -f lavfi -i testsrc2=size=320x240:rate=25 -t 2 "
        . "-c:v libx264 -profile:v $profile -bf 0 -g 25 -keyint_min 25 "
        . "-sc_threshold 0 -crf 20 -pix_fmt yuv420p -f h264 $d/v.h264");

    my %pub = run("$mux $d/v.h264 $dir/a.opus $d 25") =~ /^(\w+) (\S+)$/mg;

    is($pub{access_units}, 50, "$profile: 50 access units in the source");
    is($pub{video_frames}, 50, "$profile: 50 frames out of the depacketizer");
    is($pub{dropped}, 0, "$profile: none dropped");
    ok($pub{stap_a_packets} >= 2 && $pub{fu_a_packets} > 50,
       "$profile: STAP-A and FU-A packets went through "
       . "($pub{stap_a_packets}, $pub{fu_a_packets})");
    is($pub{fragments}, 2, "$profile: 2 fragments");

    my @frags = sort glob("$d/frag*.m4s");
    run("cat $d/init.mp4 @frags > $d/out.mp4");

    my $probe = run("ffprobe -v error -count_frames -show_entries "
        . "stream=codec_name,profile,level,width,height,nb_read_frames "
        . "-show_entries format=duration -of default=nw=1 $d/out.mp4");
    my @streams = split /(?=codec_name=)/, $probe;
    my ($v) = grep { /codec_name=h264/ } @streams;
    my ($a) = grep { /codec_name=opus/ } @streams;

    ok($v, "$profile: an H.264 stream") or diag($probe);
    ok($a, "$profile: an Opus stream") or diag($probe);
    $v //= '';
    $a //= '';

    my ($frames) = $v =~ /nb_read_frames=(\d+)/;
    is($frames, $pub{video_frames}, "$profile: ffprobe counts every frame");
    like($v, qr/width=320\s+height=240/, "$profile: 320x240");

    my ($aframes) = $a =~ /nb_read_frames=(\d+)/;
    is($aframes, $pub{audio_frames}, "$profile: every Opus packet");

    my ($duration) = $probe =~ /duration=([\d.]+)/;
    ok(defined $duration && abs($duration - 2.0) <= 0.1,
       "$profile: duration 2 s (" . ($duration // 'none') . ")");

    # CODECS: avc1.PPCCLL against what the decoder says of the stream
    my ($level) = $v =~ /level=(\d+)/;
    my $ll = sprintf('%02x', $level // 0);
    my $pp = $profile eq 'high' ? '64' : '42';
    like($pub{codecs}, qr/^avc1\.$pp[0-9a-f]{2}$ll,opus$/,
         "$profile: CODECS $pub{codecs}");

    # sync samples: the trun flags
    my $keys = () = run("ffprobe -v error -select_streams v "
        . "-show_entries packet=flags -of csv=p=0 $d/out.mp4") =~ /K/g;
    is($keys, 2, "$profile: 2 keyframes flagged sync");

    my $errors = run("ffmpeg -v error -i $d/out.mp4 -f null -");
    is($errors, '', "$profile: decodes without an error");

    # the same pictures as the source decodes to
    my @md5 = map {
        [ run("ffmpeg -v error -i $_ -map 0:v -f framemd5 -")
          =~ /^\s*0,.*,\s*([0-9a-f]{32})$/mg ]
    } ("$d/v.h264", "$d/out.mp4");

    is(scalar @{ $md5[1] }, 50, "$profile: 50 pictures decoded");
    is_deeply($md5[1], $md5[0], "$profile: pictures identical to the source");

    # a player joining at the second fragment: init + that fragment alone
    run("cat $d/init.mp4 $frags[1] > $d/join.mp4");
    my $join = run("ffprobe -v error -count_frames -select_streams v "
        . "-show_entries stream=nb_read_frames -of csv=p=0 $d/join.mp4");
    is($join + 0, 25, "$profile: the second fragment alone decodes 25 frames");
}

my %enc = (
    h265 => "-c:v libx265 -preset ultrafast "
            . "-x265-params keyint=25:bframes=0:repeat-headers=1:log-level=error "
            . "-f hevc",
    av1  => "-c:v libaom-av1 -usage realtime -cpu-used 8 -g 25 "
            . "-keyint_min 25 -f ivf",
    vp9  => "-c:v libvpx-vp9 -deadline realtime -cpu-used 8 -g 25 "
            . "-keyint_min 25 -f ivf",
);

my %name = (h265 => 'hevc', av1 => 'av1', vp9 => 'vp9');

for my $codec (qw(h265 av1 vp9)) {
    my $d = "$dir/$codec";
    mkdir $d or die "mkdir: $!";

    my $in = "$d/v." . ($codec eq 'h265' ? 'h265' : 'ivf');

    run("ffmpeg -y -v error -f lavfi -i testsrc2=size=160x120:rate=25 -t 2 "
        . "-pix_fmt yuv420p $enc{$codec} $in");

    my %pub = run("$mux $codec 500 $in $dir/a.opus $d 25")
              =~ /^(\w+) (\S+)$/mg;

    is($pub{video_frames}, 50, "$codec: 50 frames out of the depacketizer");
    is($pub{dropped}, 0, "$codec: none dropped");
    is($pub{keyframes}, 2, "$codec: 2 keyframes");
    ok($pub{fragment_packets} > 25,
       "$codec: fragmented frames went through ($pub{fragment_packets} "
       . "fragments, $pub{aggregation_packets} aggregates)");
    ok($pub{aggregation_packets} >= 2, "$codec: aggregation packets")
        if $codec ne 'vp9';

    my @frags = sort glob("$d/frag*.m4s");
    is(scalar @frags, 2, "$codec: 2 fragments");
    run("cat $d/init.mp4 @frags > $d/out.mp4");

    my $probe = run("ffprobe -v error -count_frames -select_streams v "
        . "-show_entries stream=codec_name,codec_tag_string,profile,level,"
        . "width,height,pix_fmt,nb_read_frames -of default=nw=1 $d/out.mp4");

    like($probe, qr/codec_name=$name{$codec}\b/, "$codec: the stream");
    like($probe, qr/nb_read_frames=50\b/, "$codec: ffprobe counts 50 frames");
    like($probe, qr/width=160\s+height=120/, "$codec: 160x120");

    my ($profile) = $probe =~ /profile=(.*)/;
    my ($level) = $probe =~ /level=(-?\d+)/;
    my ($pix) = $probe =~ /pix_fmt=(\w+)/;
    my ($tag) = $probe =~ /codec_tag_string=(\w+)/;
    my $depth = ($pix // '') =~ /p(1[02])/ ? $1 : '08';

    # the CODECS string against what the decoder says of the stream
    if ($codec eq 'h265') {
        is($tag, 'hvc1', 'h265: hvc1 sample entry');
        my %p = (Main => 1, 'Main 10' => 2, Rext => 4);
        my $idc = $p{$profile // ''} // 'none';
        like($pub{codecs},
             qr/^hvc1\.$idc\.[0-9A-F]+\.L$level(\.[0-9A-F]{1,2})*,opus$/,
             "h265: CODECS $pub{codecs} (ffprobe: $profile, level $level)");

    } elsif ($codec eq 'av1') {
        is($tag, 'av01', 'av1: av01 sample entry');
        my %p = (Main => 0, High => 1, Professional => 2);
        my $want = sprintf('av01.%d.%02dM.%s', $p{$profile // ''} // -1,
                           $level, $depth);
        is($pub{codecs}, "$want,opus",
           "av1: CODECS $pub{codecs} (ffprobe: $profile, level $level, $pix)");

    } else {
        is($tag, 'vp09', 'vp9: vp09 sample entry');
        my ($p) = ($profile // '') =~ /Profile (\d)/;
        # ffprobe gives no VP9 level: 160x120 at 25 fps is level 1
        my $want = sprintf('vp09.%02d.10.%s', $p // -1, $depth);
        is($pub{codecs}, "$want,opus",
           "vp9: CODECS $pub{codecs} (ffprobe: $profile, $pix)");
    }

    my $keys = () = run("ffprobe -v error -select_streams v "
        . "-show_entries packet=flags -of csv=p=0 $d/out.mp4") =~ /K/g;
    is($keys, 2, "$codec: 2 keyframes flagged sync");

    my $errors = run("ffmpeg -v error -i $d/out.mp4 -f null -");
    is($errors, '', "$codec: decodes without an error");

    my @md5 = map {
        [ run("ffmpeg -v error -i $_ -map 0:v -f framemd5 -")
          =~ /^\s*0,.*,\s*([0-9a-f]{32})$/mg ]
    } ($in, "$d/out.mp4");

    is(scalar @{ $md5[1] }, 50, "$codec: 50 pictures decoded");
    is_deeply($md5[1], $md5[0], "$codec: pictures identical to the source");

    run("cat $d/init.mp4 $frags[1] > $d/join.mp4");
    my $join = run("ffprobe -v error -count_frames -select_streams v "
        . "-show_entries stream=nb_read_frames -of csv=p=0 $d/join.mp4");
    is($join + 0, 25, "$codec: the second fragment alone decodes 25 frames");
}

done_testing;
