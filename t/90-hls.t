#!/usr/bin/perl

# LL-HLS of a live WebRTC stream, served by any worker of a 2-worker nginx:
#   - unknown streams and bad names: 404, nothing allocated;
#   - an aiortc publisher (H.264 with a keyframe every 2 s, Opus): the
#     playlist keeps the rules of RFC 8216bis (t/lib/HLSPlaylist.pm: part
#     and segment durations against their targets, numbering, INDEPENDENT
#     parts, hold-back, the preload hint);
#   - a blocking reload for the next part is answered when the part
#     exists, with the part in it; too far ahead, malformed: 400;
#   - the preload-hinted part is answered once written; a segment is its
#     parts one after another; caching headers;
#   - init + segments decode with ffmpeg: H.264 at the published frame
#     rate and size, Opus audio, no decoder error;
#   - the publisher leaves: the playlist ends (EXT-X-ENDLIST); a new
#     publisher continues it: the media sequence goes on after an
#     EXT-X-DISCONTINUITY and a new init segment;
#   - a VP8 publisher: 415 with the reason, WebRTC goes on.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use JSON::PP;
use Time::HiRes qw(time sleep);
use WebRTCTest qw(skip_unless_peers);
use HLSPlaylist;

skip_unless_peers('ffmpeg', 'ffprobe', 'aiortc');

my $t = WebRTCTest->new(name => 'hls', workers => 2);
$t->write_conf($t->default_conf(
    reuseport => 1,
    http      => 'webrtc_hls_fragment 2s; webrtc_hls_part 300ms;',
    server    => 'location /hls/ { webrtc_hls; }',
));
$t->start;

# --- nothing for names that are not streams --------------------------

for my $path ('/hls/nosuch/index.m3u8', '/hls/nosuch/0000abcd-1.m4s',
              '/hls/%2e%2e/index.m3u8', '/hls/cam1/other.txt',
              '/hls/cam1/zzzzzzzz-1.m4s', '/hls/index.m3u8')
{
    my $r = $t->http(GET => $path);
    is($r->{status}, 404, "GET $path: 404 ($r->{body})" =~ s/\n//r);
}

my $s = $t->status;
ok(!grep({ ($_->{name} // '') eq 'nosuch' } @{ $s->{streams} // [] }),
   'an unknown stream asked for is not created');

is($t->http(POST => '/hls/cam1/index.m3u8')->{status}, 405, 'POST: 405');

# --- a live stream ----------------------------------------------------

my ($pub, $pub_id) = $t->spawn_publisher('aiortc', 'cam1', '--seconds', 120,
    '--video-codec', 'h264', '--keyframe-interval', 2);
ok($pub_id, 'aiortc publishes H.264 and Opus') or BAIL_OUT('no publisher');

sub playlist {
    my ($q) = @_;
    my $r = $t->http(GET => '/hls/cam1/index.m3u8' . ($q // ''));
    return ($r, $r->{status} == 200 ? HLSPlaylist::parse($r->{body}) : undef);
}

my ($r, $pl);
ok($t->wait_for(sub {
    ($r, $pl) = playlist();
    return $pl && @{ $pl->{segments} } >= 4;
}, timeout => 30, interval => 0.5), 'four whole segments within 30 s')
    or diag($r->{status}, $r->{body});

is_deeply([HLSPlaylist::problems($pl)], [], 'the playlist keeps the rules')
    or diag($r->{body});
my ($hs) = grep { $_->{stream} eq 'cam1' } @{ ($t->status // {})->{hls} // [] };
ok($hs && $hs->{segments} >= 4 && $hs->{parts} > 20 && $hs->{bytes} > 0
   && !$hs->{ended}, "the status shows the store: $hs->{segments} segments, "
   . "$hs->{parts} parts, $hs->{bytes} bytes") or diag(explain($hs));
is($r->{headers}{'content-type'}, 'application/vnd.apple.mpegurl',
   'playlist type');
is($r->{headers}{'cache-control'}, 'max-age=1, stale-while-revalidate=2',
   'a plain playlist lives 1 s, 2 s more in a cache while it fetches anew');
ok(defined $r->{headers}{'access-control-allow-origin'}, 'CORS');
cmp_ok(scalar @{ $pl->{segments}[-1]{parts} }, '>=', 5,
       'the last segment lists its parts');
# aiortc's encoder puts its first keyframes 1.2 to 1.7 s apart, then 2 s
ok($pl->{target} >= 2 && $pl->{target} <= 3,
   "TARGETDURATION $pl->{target} for a 2 s GOP");

# every playlist seen while playing keeps the rules, from either worker
my @bad;
for (1 .. 12) {
    my ($r2, $p2) = playlist();
    push @bad, HLSPlaylist::problems($p2), ($p2 ? () : "status $r2->{status}");
    sleep 0.25;
}
is_deeply(\@bad, [], 'twelve more playlists in 3 s keep the rules');

# --- blocking reload --------------------------------------------------

($r, $pl) = playlist();
my ($hm, $hp) = HLSPlaylist::uri_msn($pl->{hint}{URI});
my $t0 = time;
my ($rb, $pb) = playlist("?_HLS_msn=$hm&_HLS_part=$hp");
my $waited = time - $t0;
is($rb->{status}, 200, "blocking reload for $hm.$hp: 200");
my @all = (@{ $pb->{segments} }, $pb->{open} ? $pb->{open} : ());
ok(grep({ grep { $_->{uri} =~ /-$hm\.$hp\.m4s$/ } @{ $_->{parts} } } @all),
   sprintf('it holds part %d.%d (answered in %.3f s)', $hm, $hp, $waited));
cmp_ok($waited, '<', 2, 'answered within a few parts');
like($rb->{headers}{'cache-control'}, qr/^max-age=\d+$/,
     'a blocking response may be cached: ' . $rb->{headers}{'cache-control'});

my $far = $hm + 3;
is((playlist("?_HLS_msn=$far"))[0]{status}, 400,
   "_HLS_msn=$far, three segments ahead: 400");
is((playlist('?_HLS_msn=abc'))[0]{status}, 400, 'malformed _HLS_msn: 400');
is((playlist('?_HLS_part=1'))[0]{status}, 400, '_HLS_part alone: 400');
is((playlist('?_HLS_msn=1&_HLS_part=-1'))[0]{status}, 400,
   'negative _HLS_part: 400');

# --- parts and segments -----------------------------------------------

($r, $pl) = playlist();
my $hint = $pl->{hint}{URI};
$t0 = time;
my $rh = $t->http(GET => "/hls/cam1/$hint");
is($rh->{status}, 200, sprintf('the preload-hinted part, asked before it '
   . 'exists, comes when written (%.3f s)', time - $t0));
is($rh->{headers}{'content-type'}, 'video/mp4', 'part type');
like($rh->{headers}{'cache-control'}, qr/immutable/, 'a part is immutable');
is(substr($rh->{body}, 4, 4), 'moof', 'a part is a CMAF fragment');

my ($whole) = grep { @{ $_->{parts} } } @{ $pl->{segments} };
my $seg = $t->http(GET => "/hls/cam1/$whole->{uri}");
is($seg->{status}, 200, "segment $whole->{uri}");
my $joined = join '', map { $t->http(GET => "/hls/cam1/$_->{uri}")->{body} }
                      @{ $whole->{parts} };
ok($joined eq $seg->{body}, 'a segment is its parts one after another ('
   . scalar(@{ $whole->{parts} }) . ' parts, ' . length($joined) . ' bytes)');

my $head = $t->http(HEAD => "/hls/cam1/$whole->{uri}");
is($head->{status}, 200, 'HEAD of a segment');
is($head->{headers}{'content-length'}, length $seg->{body},
   'HEAD: its length');

# --- what a decoder makes of it ---------------------------------------

my $dir = $t->prefix . '/media';
mkdir $dir;
my $init = $t->http(GET => "/hls/cam1/$pl->{maps}[0]");
is($init->{status}, 200, "init segment $pl->{maps}[0]");
my $media = $init->{body};
my $duration = 0;
for my $sg (@{ $pl->{segments} }) {
    my $g = $t->http(GET => "/hls/cam1/$sg->{uri}");
    is($g->{status}, 200, "GET $sg->{uri}") or next;
    $media .= $g->{body};
    $duration += $sg->{duration};
}
$t->write_file("$dir/all.mp4", $media);

my $entries = 'stream=codec_type,codec_name,width,height,nb_read_frames';
my $probe = qx{ffprobe -v error -count_frames -show_entries $entries -of json $dir/all.mp4 2>&1};
my $j = eval { decode_json($probe) } // {};
my ($v) = grep { $_->{codec_type} eq 'video' } @{ $j->{streams} // [] };
my ($a) = grep { $_->{codec_type} eq 'audio' } @{ $j->{streams} // [] };
ok($v && $v->{codec_name} eq 'h264', 'video: H.264') or diag($probe);
is(($v->{width} // 0) . 'x' . ($v->{height} // 0), '640x360',
   'at the published size');
my $fps = ($v->{nb_read_frames} // 0) / ($duration || 1);
ok($fps > 28 && $fps < 31.5, sprintf('%d frames decoded in %.2f s of '
   . 'segments: %.2f fps, the published 30', $v->{nb_read_frames} // 0,
   $duration, $fps));
ok($a && $a->{codec_name} eq 'opus', 'audio: Opus') or diag($probe);
cmp_ok($a->{nb_read_frames} // 0, '>', $duration * 40,
       'audio frames: ' . ($a->{nb_read_frames} // 0));
my $errors = `ffmpeg -v error -i $dir/all.mp4 -f null - 2>&1`;
is($errors, '', 'ffmpeg decodes it all without an error');

# --- the end ----------------------------------------------------------

$pub->signal('USR1');
ok($t->wait_for(sub { my (undef, $p) = playlist(); $p && $p->{ended} },
                timeout => 10, interval => 0.3),
   'the publisher left: the playlist ends');
($r, $pl) = playlist();
is_deeply([HLSPlaylist::problems($pl)], [], 'the ended playlist keeps the '
    . 'rules') or diag($r->{body});
$pub->finish(timeout => 15);

# --- a new publisher continues the playlist ---------------------------

my $last_old = $pl->{segments}[-1]{uri};
my ($pub2, $pub2_id) = $t->spawn_publisher('aiortc', 'cam1', '--seconds',
    60, '--video-codec', 'h264', '--keyframe-interval', 2);
ok($pub2_id, 'a second publisher of cam1');
ok($t->wait_for(sub {
    ($r, $pl) = playlist();
    return $pl && !$pl->{ended}
        && grep { $_->{discontinuity} } @{ $pl->{segments} };
}, timeout => 20, interval => 0.5), 'the playlist goes on with a '
   . 'discontinuity') or diag($r->{body});
is_deeply([HLSPlaylist::problems($pl)], [], 'and keeps the rules')
    or diag($r->{body});
my ($d) = grep { $_->{discontinuity} } @{ $pl->{segments} };
ok($d && $d->{map} && $d->{map} ne $pl->{maps}[0],
   'a new init segment at the discontinuity: ' . ($d->{map} // 'none'));
my ($old_msn) = HLSPlaylist::uri_msn($last_old);
my ($new_msn) = HLSPlaylist::uri_msn($d->{uri});
cmp_ok($new_msn, '>', $old_msn, "the media sequence goes on ($old_msn, "
       . "then $new_msn)");
my $mi = $t->http(GET => "/hls/cam1/$d->{map}");
my $ms = $t->http(GET => "/hls/cam1/$d->{uri}");
$t->write_file("$dir/second.mp4", $mi->{body} . $ms->{body});
$errors = `ffmpeg -v error -i $dir/second.mp4 -f null - 2>&1`;
is($errors, '', 'the new publisher\'s first segment decodes');
$pub2->signal('USR1');
$pub2->finish(timeout => 15);

# --- a codec HLS cannot carry -----------------------------------------

my ($vp8, $vp8_id) = $t->spawn_publisher('aiortc', 'cam8', '--seconds', 30,
    '--video-codec', 'vp8');
ok($vp8_id, 'a VP8 publisher');
my $rv = $t->http(GET => '/hls/cam8/index.m3u8');
is($rv->{status}, 415, "VP8: 415 ($rv->{body})" =~ s/\n//r);
$vp8->signal('USR1');
$vp8->finish(timeout => 15);

$t->done;
done_testing;
