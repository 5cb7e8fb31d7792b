/*
 * Copyright (C) nginx WebRTC module authors
 *
 * Unit tests of ngx_webrtc_codec.c, TAP output.  Codec payloads come from
 * real encoder output (t/unit/rtp_vectors.h, see t/data/rtp/mkvectors.py).
 */


#include <stdio.h>
#include <stdlib.h>

#include "ngx_webrtc_codec.h"
#include "rtp_vectors.h"

#include "tap.h"


#define V(name)  rtpv_##name, sizeof(rtpv_##name)
#define L(a)     a, sizeof(a)


/* inspects a copy of exactly len bytes, so ASan sees any over-read */
static int
inspect(ngx_webrtc_codec_e codec, u_char *p, size_t len,
    ngx_webrtc_frame_info_t *info)
{
    int      rc;
    u_char  *copy;

    copy = malloc(len ? len : 1);
    memcpy(copy, p, len);
    rc = ngx_webrtc_frame_inspect(codec, copy, len, info);
    free(copy);

    return rc;
}


static void
check_frame(const char *name, ngx_webrtc_codec_e codec, u_char *p,
    size_t len, int key, int start, unsigned w, unsigned h)
{
    int                      rc;
    ngx_webrtc_frame_info_t  info;

    rc = inspect(codec, p, len, &info);

    ok(rc == 0 && info.keyframe == (unsigned) key
       && info.frame_start == (unsigned) start
       && (w ? info.has_size && info.width == w && info.height == h
             : !info.has_size),
       "%s: rc %d key %u start %u size %ux%u", name, rc, info.keyframe,
       info.frame_start, info.has_size ? info.width : 0,
       info.has_size ? info.height : 0);
}


static void
test_frames(void)
{
    ngx_webrtc_frame_info_t  info;

    check_frame("h264 STAP-A SPS+PPS", NGX_WEBRTC_CODEC_H264,
                V(h264_stap_a), 1, 1, 320, 240);
    check_frame("h264 single SPS (emulation prevention)",
                NGX_WEBRTC_CODEC_H264, V(h264_sps), 1, 1, 320, 240);
    check_frame("h264 FU-A IDR start", NGX_WEBRTC_CODEC_H264,
                V(h264_fu_start), 1, 1, 0, 0);
    check_frame("h264 FU-A IDR middle", NGX_WEBRTC_CODEC_H264,
                V(h264_fu_mid), 0, 0, 0, 0);
    check_frame("h264 FU-A P start", NGX_WEBRTC_CODEC_H264,
                V(h264_p_fu_start), 0, 1, 0, 0);
    check_frame("h264 single P slice", NGX_WEBRTC_CODEC_H264,
                V(h264_p_single), 0, 1, 0, 0);
    check_frame("h264 high 318x238 cropping", NGX_WEBRTC_CODEC_H264,
                V(h264_318_stap_a), 1, 1, 318, 238);
    check_frame("h264 high scaling matrices", NGX_WEBRTC_CODEC_H264,
                V(h264_cqm_stap_a), 1, 1, 320, 240);
    check_frame("h264 high 4:4:4", NGX_WEBRTC_CODEC_H264,
                V(h264_444_stap_a), 1, 1, 320, 240);

    check_frame("h264 FU-A second slice of an IDR", NGX_WEBRTC_CODEC_H264,
                V(h264_slice2_fu_start), 1, 0, 0, 0);
    check_frame("h264 second slice of an IDR", NGX_WEBRTC_CODEC_H264,
                V(h264_slice2_single), 1, 0, 0, 0);

    check_frame("h265 AP VPS+SPS+PPS", NGX_WEBRTC_CODEC_H265,
                V(h265_ap), 1, 1, 320, 240);
    check_frame("h265 single SPS", NGX_WEBRTC_CODEC_H265,
                V(h265_sps), 1, 1, 320, 240);
    check_frame("h265 318x238 conformance window", NGX_WEBRTC_CODEC_H265,
                V(h265_318_ap), 1, 1, 318, 238);
    check_frame("h265 FU IRAP start", NGX_WEBRTC_CODEC_H265,
                V(h265_fu_start), 1, 1, 0, 0);
    check_frame("h265 FU IRAP middle", NGX_WEBRTC_CODEC_H265,
                V(h265_fu_mid), 0, 0, 0, 0);
    check_frame("h265 FU P start", NGX_WEBRTC_CODEC_H265,
                V(h265_p_fu_start), 0, 1, 0, 0);

    check_frame("h265 FU second slice of an IRAP", NGX_WEBRTC_CODEC_H265,
                V(h265_slice2_fu_start), 1, 0, 0, 0);

    check_frame("vp8 key, 15-bit picture id", NGX_WEBRTC_CODEC_VP8,
                V(vp8_key), 1, 1, 320, 240);
    check_frame("vp8 key, no extensions", NGX_WEBRTC_CODEC_VP8,
                V(vp8_key_short), 1, 1, 320, 240);
    check_frame("vp8 key, I L T extensions", NGX_WEBRTC_CODEC_VP8,
                V(vp8_key_tl), 1, 1, 320, 240);
    check_frame("vp8 key continuation", NGX_WEBRTC_CODEC_VP8,
                V(vp8_key_cont), 0, 0, 0, 0);
    check_frame("vp8 interframe", NGX_WEBRTC_CODEC_VP8,
                V(vp8_inter), 0, 1, 0, 0);

    check_frame("vp9 key with scalability structure", NGX_WEBRTC_CODEC_VP9,
                V(vp9_key_ss), 1, 1, 320, 240);
    check_frame("vp9 key, size from frame header", NGX_WEBRTC_CODEC_VP9,
                V(vp9_key), 1, 1, 320, 240);
    check_frame("vp9 spatial layer 1", NGX_WEBRTC_CODEC_VP9,
                V(vp9_key_sid1), 0, 1, 0, 0);
    check_frame("vp9 interframe", NGX_WEBRTC_CODEC_VP9,
                V(vp9_inter), 0, 1, 0, 0);
    check_frame("vp9 continuation", NGX_WEBRTC_CODEC_VP9,
                V(vp9_key_cont), 0, 0, 0, 0);

    check_frame("av1 N, W=2, sequence header", NGX_WEBRTC_CODEC_AV1,
                V(av1_key), 1, 1, 320, 240);
    check_frame("av1 W=0, sequence header without N", NGX_WEBRTC_CODEC_AV1,
                V(av1_key_w0), 1, 1, 320, 240);
    check_frame("av1 continuation", NGX_WEBRTC_CODEC_AV1,
                V(av1_key_cont), 0, 0, 0, 0);
    check_frame("av1 interframe", NGX_WEBRTC_CODEC_AV1,
                V(av1_inter), 0, 1, 0, 0);

    {
        static u_char  n_only[] = { 0x18, 0x32, 0x00 };  /* N, frame OBU */
        check_frame("av1 N bit alone", NGX_WEBRTC_CODEC_AV1,
                    n_only, sizeof(n_only), 1, 1, 0, 0);
    }

    info.keyframe = 1;
    ok(inspect(NGX_WEBRTC_CODEC_OPUS, (u_char *) "\x78\x01", 2, &info) == 0
       && !info.keyframe && !info.frame_start && !info.has_size,
       "opus: nothing, info cleared");
}


static void
test_frames_malformed(void)
{
    size_t                   i, len, n;
    u_char                   buf[128];
    ngx_webrtc_codec_e       c;
    ngx_webrtc_frame_info_t  info;

    static u_char  stap_long[] = { 0x78, 0x00, 0x20, 0x67, 0x42 };
    static u_char  stap_odd[] = { 0x78, 0x00, 0x01, 0x67, 0x00 };
    static u_char  fu_short[] = { 0x7c };
    static u_char  vp8_trunc[] = { 0x90, 0x80, 0x80 };
    static u_char  av1_big[] = { 0x00, 0x7f, 0x08 };
    static u_char  av1_leb[] = { 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                 0xff, 0xff, 0x01 };
    static u_char  vp9_pdiff[] = { 0xd8, 0x01, 0x03, 0x03, 0x03, 0x00 };

    ok(inspect(NGX_WEBRTC_CODEC_H264, stap_long, 0, &info) == -1
       && inspect(NGX_WEBRTC_CODEC_H265, stap_long, 1, &info) == -1
       && inspect(NGX_WEBRTC_CODEC_VP8, stap_long, 0, &info) == -1
       && inspect(NGX_WEBRTC_CODEC_VP9, stap_long, 0, &info) == -1
       && inspect(NGX_WEBRTC_CODEC_AV1, stap_long, 0, &info) == -1,
       "inspect: empty payloads refused");
    ok(inspect(NGX_WEBRTC_CODEC_H264, L(stap_long), &info) == -1,
       "h264: STAP-A NAL beyond payload refused");
    ok(inspect(NGX_WEBRTC_CODEC_H264, L(stap_odd), &info) == -1,
       "h264: STAP-A trailing byte refused");
    ok(inspect(NGX_WEBRTC_CODEC_H264, L(fu_short), &info) == -1,
       "h264: FU-A without FU header refused");
    ok(inspect(NGX_WEBRTC_CODEC_VP8, L(vp8_trunc), &info) == -1,
       "vp8: truncated descriptor refused");
    ok(inspect(NGX_WEBRTC_CODEC_AV1, L(av1_big), &info) == -1,
       "av1: OBU element beyond payload refused");
    ok(inspect(NGX_WEBRTC_CODEC_AV1, L(av1_leb), &info) == -1,
       "av1: overlong leb128 refused");
    ok(inspect(NGX_WEBRTC_CODEC_VP9, L(vp9_pdiff), &info) == -1,
       "vp9: more than 3 P_DIFF refused");

    memcpy(buf, rtpv_vp8_key, sizeof(rtpv_vp8_key));
    buf[4 + 3] = 0x9c;
    ok(inspect(NGX_WEBRTC_CODEC_VP8, buf, sizeof(rtpv_vp8_key), &info) == -1,
       "vp8: key frame with a bad start code refused");

    /* every prefix and a corrupted byte of every vector, every codec */
    n = 0;

    for (i = 0; i < sizeof(rtpv_all) / sizeof(rtpv_all[0]); i++) {
        for (len = 0; len <= rtpv_all[i].len; len++) {
            for (c = NGX_WEBRTC_CODEC_UNKNOWN; c < NGX_WEBRTC_CODEC_LAST; c++)
            {
                (void) inspect(c, rtpv_all[i].data, len, &info);

                if (len && len <= sizeof(buf)) {
                    memcpy(buf, rtpv_all[i].data, len);
                    buf[len - 1] ^= 0xff;
                    buf[len / 2] ^= 0x5a;
                    (void) inspect(c, buf, len, &info);
                }

                n++;
            }
        }
    }

    ok(n > 0, "inspect: %zu truncated or corrupted payloads survived", n);
}


static void
test_names(void)
{
    ok(ngx_webrtc_codec_by_name((u_char *) "oPuS", 4) == NGX_WEBRTC_CODEC_OPUS
       && ngx_webrtc_codec_by_name((u_char *) "h264", 4)
          == NGX_WEBRTC_CODEC_H264
       && ngx_webrtc_codec_by_name((u_char *) "H265", 4)
          == NGX_WEBRTC_CODEC_H265
       && ngx_webrtc_codec_by_name((u_char *) "TELEPHONE-EVENT", 15)
          == NGX_WEBRTC_CODEC_TELEPHONE_EVENT
       && ngx_webrtc_codec_by_name((u_char *) "opus2", 5)
          == NGX_WEBRTC_CODEC_UNKNOWN
       && ngx_webrtc_codec_by_name((u_char *) "", 0)
          == NGX_WEBRTC_CODEC_UNKNOWN,
       "codec names are case-insensitive");
    ok(strcmp(ngx_webrtc_codec_name(NGX_WEBRTC_CODEC_OPUS), "opus") == 0
       && strcmp(ngx_webrtc_codec_name(NGX_WEBRTC_CODEC_H265), "H265") == 0
       && strcmp(ngx_webrtc_codec_name(NGX_WEBRTC_CODEC_LAST), "unknown")
          == 0, "codec_name");
}


/* the SPS bytes the stream's H.264 profile-level-id is taken from */

static void
test_h264_profile(void)
{
    u_char  profile[3];

    /* the SPS of rtpv_h264_stap_a, its length field saying 24 bytes */
    static u_char  stap_cut[] = { 0x78, 0x00, 0x18, 0x67, 0x42, 0xc0, 0x0b };
    static u_char  sps_short[] = { 0x67, 0x42, 0xc0 };

    memset(profile, 0, sizeof(profile));
    ok(ngx_webrtc_h264_profile(V(h264_sps), profile) == NGX_WEBRTC_PARSE_OK
       && profile[0] == 0x42 && profile[1] == 0xc0 && profile[2] == 0x0b,
       "h264 profile: SPS as a single NAL");

    memset(profile, 0, sizeof(profile));
    ok(ngx_webrtc_h264_profile(V(h264_318_sps), profile)
       == NGX_WEBRTC_PARSE_OK
       && profile[0] == 0x64 && profile[1] == 0x00 && profile[2] == 0x0b,
       "h264 profile: High SPS as a single NAL");

    memset(profile, 0, sizeof(profile));
    ok(ngx_webrtc_h264_profile(V(h264_stap_a), profile)
       == NGX_WEBRTC_PARSE_OK
       && profile[0] == 0x42 && profile[1] == 0xc0 && profile[2] == 0x0b,
       "h264 profile: SPS in a STAP-A");

    memset(profile, 0, sizeof(profile));
    ok(ngx_webrtc_h264_profile(V(h264_444_stap_a), profile)
       == NGX_WEBRTC_PARSE_OK
       && profile[0] == 0xf4 && profile[1] == 0x00 && profile[2] == 0x0b,
       "h264 profile: High 4:4:4 SPS in a STAP-A");

    ok(ngx_webrtc_h264_profile(L(stap_cut), profile)
       == NGX_WEBRTC_PARSE_ERROR, "h264 profile: truncated STAP-A refused");
    ok(ngx_webrtc_h264_profile(L(sps_short), profile)
       == NGX_WEBRTC_PARSE_ERROR, "h264 profile: SPS too short refused");
    ok(ngx_webrtc_h264_profile(V(h264_fu_start), profile)
       == NGX_WEBRTC_PARSE_ERROR
       && ngx_webrtc_h264_profile(V(h264_p_single), profile)
          == NGX_WEBRTC_PARSE_ERROR,
       "h264 profile: none in FU-A or a P slice");
}


int
main(void)
{
    test_names();
    test_frames();
    test_frames_malformed();
    test_h264_profile();

    return done_testing();
}
