
/*
 * Copyright (C) nginx WebRTC module authors
 *
 * Unit tests of ngx_webrtc_depack.c (RTP payloads to frames of H.264,
 * H.265, AV1, VP9 and Opus; the avcC, hvcC, av1C and vpcC records) and ngx_webrtc_fmp4.c (init segment and fragments, read back
 * box by box), TAP output.
 */


#include <stdio.h>
#include <stdlib.h>

#include "ngx_webrtc_depack.h"
#include "ngx_webrtc_fmp4.h"

#include "tap.h"
#include "rtp_vectors.h"


#define V(name)  rtpv_##name, sizeof(rtpv_##name)

#define MORE     NGX_WEBRTC_DEPACK_MORE
#define FRAME    NGX_WEBRTC_DEPACK_FRAME
#define DROPPED  NGX_WEBRTC_DEPACK_DROPPED


static u_char  frame[65536];


static void
depack_init(ngx_webrtc_depack_t *d, ngx_webrtc_codec_e codec, size_t size)
{
    memset(d, 0, sizeof(ngx_webrtc_depack_t));
    d->codec = codec;
    d->buf = frame;
    d->size = size;
}


/* the NAL units of a frame: each a 4-byte length, exactly filling it */

static int
nal_count(u_char *p, size_t len, unsigned *types)
{
    int     n;
    size_t  l;

    for (n = 0; len > 0; n++) {
        if (len < 4) {
            return -1;
        }

        l = ngx_webrtc_be32(p);

        if (l == 0 || l > len - 4) {
            return -1;
        }

        if (types) {
            types[n] = p[4] & 0x1f;
        }

        p += 4 + l;
        len -= 4 + l;
    }

    return n;
}


static void
test_depack_vectors(void)
{
    int                  rc, n;
    u_char               end[sizeof(rtpv_h264_fu_mid)];
    size_t               expect;
    unsigned             types[8];
    ngx_webrtc_depack_t  d;

    depack_init(&d, NGX_WEBRTC_CODEC_H264, sizeof(frame));

    /* the keyframe: STAP-A SPS+PPS, FU-A IDR start, middle, end */
    memcpy(end, rtpv_h264_fu_mid, sizeof(end));
    end[1] = (end[1] & 0x1f) | 0x40;

    ok(ngx_webrtc_depack_add(&d, 100, 3000, 0, V(h264_stap_a)) == MORE,
       "depack: STAP-A goes on");
    ok(d.sps_len == sizeof(rtpv_h264_sps)
       && memcmp(d.sps, rtpv_h264_sps, d.sps_len) == 0,
       "depack: SPS kept from the STAP-A");
    ok(d.pps_len == 5 && d.pps[0] == 0x68, "depack: PPS kept");
    ok(d.config_changed && d.width == 320 && d.height == 240,
       "depack: config changed, 320x240 from the SPS");

    ok(ngx_webrtc_depack_add(&d, 101, 3000, 0, V(h264_fu_start)) == MORE,
       "depack: FU-A start");
    ok(ngx_webrtc_depack_add(&d, 102, 3000, 0, V(h264_fu_mid)) == MORE,
       "depack: FU-A middle");
    rc = ngx_webrtc_depack_add(&d, 103, 3000, 1, end, sizeof(end));
    ok(rc == FRAME, "depack: FU-A end with marker is a frame (%d)", rc);

    n = nal_count(d.buf, d.len, types);
    expect = 4 + sizeof(rtpv_h264_sps) + 4 + 5
             + 4 + 1 + (sizeof(rtpv_h264_fu_start) - 2)
             + 2 * (sizeof(rtpv_h264_fu_mid) - 2);

    ok(n == 3 && types[0] == 7 && types[1] == 8 && types[2] == 5
       && d.len == expect, "depack: SPS, PPS, IDR length-prefixed (%d, %zu)",
       n, d.len);
    ok(d.buf[4 + sizeof(rtpv_h264_sps) + 4 + 5 + 4] == 0x65,
       "depack: IDR NAL header rebuilt from the FU indicator and header");
    ok(memcmp(d.buf + expect - (sizeof(end) - 2), end + 2, sizeof(end) - 2)
       == 0, "depack: FU-A bytes in order");
    ok(d.keyframe && d.ts == 3000 && d.config_changed,
       "depack: keyframe, its timestamp, config changed");

    /* a P frame: the change was seen, the same SPS again is no change */
    ok(ngx_webrtc_depack_add(&d, 104, 6000, 0, V(h264_stap_a)) == MORE
       && ngx_webrtc_depack_add(&d, 105, 6000, 1, V(h264_p_single)) == FRAME,
       "depack: P frame after a repeated STAP-A");
    ok(!d.keyframe && !d.config_changed && d.ts == 6000,
       "depack: P frame is no keyframe, same SPS/PPS is no change");
    ok(nal_count(d.buf, d.len, types) == 3 && types[2] == 1,
       "depack: P frame NAL units");

    ok(ngx_webrtc_depack_add(&d, 106, 9000, 1, V(h264_p_single)) == FRAME
       && d.len == 4 + sizeof(rtpv_h264_p_single)
       && memcmp(d.buf + 4, rtpv_h264_p_single, d.len - 4) == 0,
       "depack: single NAL unit frame");

    /* a new SPS: high profile, 318x238 */
    ok(ngx_webrtc_depack_add(&d, 107, 12000, 0, V(h264_318_stap_a)) == MORE
       && d.config_changed && d.width == 318 && d.height == 238,
       "depack: new SPS changes the config and the size");
    ok(ngx_webrtc_depack_add(&d, 108, 12000, 1, V(h264_318_p_single))
       == FRAME && d.config_changed, "depack: changed with its frame");
    ok(ngx_webrtc_depack_add(&d, 109, 15000, 1, V(h264_318_p_single))
       == FRAME && !d.config_changed, "depack: and not with the next");
}


static void
test_depack_synthetic(void)
{
    int                  rc;
    u_char               nal[3000], pkt[1500];
    size_t               i;
    unsigned             types[8];
    ngx_webrtc_depack_t  d;

    static u_char  stap_split[] = {
        0x78, 0x00, 0x03, 0x06, 0x05, 0x01,      /* SEI */
        0x00, 0x04, 0x65, 0x88, 0x80, 0x40        /* IDR */
    };

    static u_char  aud[] = { 0x09, 0xf0 };
    static u_char  p_slice[] = { 0x41, 0x9a, 0x01, 0x02 };

    for (i = 0; i < sizeof(nal); i++) {
        nal[i] = (u_char) (i * 7 + 1);
    }

    nal[0] = 0x65;

    /* FU-A across 3 packets: 1000 + 1000 + 999 bytes of the NAL body */
    depack_init(&d, NGX_WEBRTC_CODEC_H264, sizeof(frame));

    for (i = 0; i < 3; i++) {
        pkt[0] = (nal[0] & 0xe0) | 28;
        pkt[1] = (nal[0] & 0x1f) | (i == 0 ? 0x80 : 0) | (i == 2 ? 0x40 : 0);
        memcpy(pkt + 2, nal + 1 + i * 1000, i < 2 ? 1000 : 999);

        rc = ngx_webrtc_depack_add(&d, 65535 + i, 90, i == 2, pkt,
                                   2 + (i < 2 ? 1000 : 999));
        ok(rc == (i == 2 ? FRAME : MORE), "depack: FU-A packet %zu", i);
    }

    ok(d.len == 4 + 3000 && ngx_webrtc_be32(d.buf) == 3000
       && memcmp(d.buf + 4, nal, 3000) == 0 && d.keyframe,
       "depack: FU-A reassembled across 3 packets");
    ok(d.sps_len == 0 && ngx_webrtc_depack_avcc(&d, pkt, sizeof(pkt)) == 0,
       "depack: no avcC without SPS and PPS");

    /* a gap inside a frame: DROPPED */
    pkt[1] = 0x85;
    ok(ngx_webrtc_depack_add(&d, 200, 180, 0, pkt, 100) == MORE
       && ngx_webrtc_depack_add(&d, 202, 180, 1, pkt, 100) == DROPPED,
       "depack: gap in seq drops the frame");

    /* a gap before a frame: its first packet may be the lost one */
    ok(ngx_webrtc_depack_add(&d, 204, 270, 1, V(h264_p_single)) == DROPPED,
       "depack: gap before a frame drops it");
    ok(ngx_webrtc_depack_add(&d, 205, 360, 1, V(h264_p_single)) == FRAME,
       "depack: next frame whole again");

    /* FU-A middle without its start; FU-A start without its end */
    pkt[1] = 0x05;
    ok(ngx_webrtc_depack_add(&d, 206, 450, 1, pkt, 100) == DROPPED,
       "depack: FU-A without start dropped");
    pkt[1] = 0x85;
    ok(ngx_webrtc_depack_add(&d, 207, 540, 0, pkt, 100) == MORE
       && ngx_webrtc_depack_add(&d, 208, 540, 1, V(h264_p_single))
          == DROPPED, "depack: FU-A without end dropped");

    /* STAP-A split: SEI + IDR in one packet, a P slice... in the next */
    ok(ngx_webrtc_depack_add(&d, 209, 630, 0, aud, sizeof(aud)) == MORE
       && ngx_webrtc_depack_add(&d, 210, 630, 0, stap_split,
                                sizeof(stap_split)) == MORE
       && ngx_webrtc_depack_add(&d, 211, 630, 1, p_slice, sizeof(p_slice))
          == FRAME, "depack: AUD, STAP-A, single NAL");
    ok(nal_count(d.buf, d.len, types) == 3 && types[0] == 6
       && types[1] == 5 && types[2] == 1 && d.keyframe
       && d.len == 4 + 3 + 4 + 4 + 4 + 4,
       "depack: AUD dropped, STAP-A units taken apart");

    /* end(): the caller saw a new timestamp, the marker was lost */
    ok(ngx_webrtc_depack_end(&d) == MORE, "depack: end without a frame");
    ok(ngx_webrtc_depack_add(&d, 212, 720, 0, p_slice, sizeof(p_slice))
       == MORE && ngx_webrtc_depack_end(&d) == FRAME && d.ts == 720,
       "depack: end() of a frame whose marker was lost");
    ok(ngx_webrtc_depack_add(&d, 213, 810, 0, pkt, 100) == MORE
       && ngx_webrtc_depack_end(&d) == DROPPED,
       "depack: end() inside an FU-A drops");

    /* parameter sets alone are no frame */
    ok(ngx_webrtc_depack_add(&d, 214, 900, 1, V(h264_stap_a)) == MORE
       && d.sps_len > 0 && !d.started, "depack: SPS/PPS alone: no frame");

    /* the caller did not end the frame before a new timestamp */
    ok(ngx_webrtc_depack_add(&d, 215, 990, 0, p_slice, sizeof(p_slice))
       == MORE && ngx_webrtc_depack_add(&d, 216, 1080, 1, p_slice,
                                        sizeof(p_slice)) == DROPPED,
       "depack: two timestamps in a frame drop it");

    /* malformed payloads */
    pkt[0] = 0x00;
    ok(ngx_webrtc_depack_add(&d, 217, 1170, 0, pkt, 10) == -1,
       "depack: NAL type 0 is malformed");
    ok(ngx_webrtc_depack_add(&d, 218, 1170, 1, V(h264_p_single)) == DROPPED,
       "depack: the frame after it is broken");

    pkt[0] = 0x7c;
    ok(ngx_webrtc_depack_add(&d, 219, 1260, 1, pkt, 1) == -1 && !d.started,
       "depack: FU-A of 1 byte malformed, the frame ended by its marker");
    pkt[0] = 0x7c;
    pkt[1] = 0x80 | 28;
    ok(ngx_webrtc_depack_add(&d, 220, 1350, 1, pkt, 10) == -1,
       "depack: FU-A carrying type 28 malformed");
    pkt[0] = 0x79;                                /* STAP-B */
    ok(ngx_webrtc_depack_add(&d, 221, 1440, 1, pkt, 10) == -1,
       "depack: STAP-B malformed in non-interleaved mode");
    ok(ngx_webrtc_depack_add(&d, 222, 1530, 1, rtpv_h264_stap_a,
                             sizeof(rtpv_h264_stap_a) - 1) == -1,
       "depack: STAP-A with a truncated unit");
    ok(ngx_webrtc_depack_add(&d, 223, 1620, 1, stap_split, 1) == -1
       && ngx_webrtc_depack_add(&d, 224, 1710, 1, stap_split, 2) == -1,
       "depack: STAP-A without units, with half a size");
    pkt[0] = 0x78;
    pkt[1] = 0;
    pkt[2] = 0;
    ok(ngx_webrtc_depack_add(&d, 225, 1800, 1, pkt, 3) == -1,
       "depack: STAP-A unit of 0 bytes");
    ok(ngx_webrtc_depack_add(&d, 226, 1890, 1, pkt, 0) == -1,
       "depack: empty payload");

    /* a buffer too short */
    depack_init(&d, NGX_WEBRTC_CODEC_H264, 40);

    ok(ngx_webrtc_depack_add(&d, 1, 0, 1, V(h264_p_single)) == DROPPED,
       "depack: frame bigger than the buffer dropped");
    ok(ngx_webrtc_depack_add(&d, 2, 90, 1, p_slice, sizeof(p_slice))
       == FRAME, "depack: a small one fits");
    pkt[0] = 0x7c;
    pkt[1] = 0x85;
    ok(ngx_webrtc_depack_add(&d, 3, 180, 0, pkt, 30) == MORE
       && ngx_webrtc_depack_add(&d, 4, 180, 1, pkt + 1, 1) == DROPPED
       && d.len <= 40, "depack: FU-A overflowing the buffer dropped");
    pkt[1] = 0x45;
    ok(ngx_webrtc_depack_add(&d, 5, 270, 0, pkt, 20) == MORE
       && ngx_webrtc_depack_add(&d, 6, 270, 1, pkt, 20) == DROPPED,
       "depack: FU-A end whose start overflowed dropped");

    /* Opus: every packet is a frame */
    depack_init(&d, NGX_WEBRTC_CODEC_OPUS, 100);

    ok(ngx_webrtc_depack_add(&d, 1, 960, 0, p_slice, 4) == FRAME
       && d.len == 4 && d.ts == 960 && memcmp(d.buf, p_slice, 4) == 0,
       "depack: Opus packet is a frame");
    ok(ngx_webrtc_depack_add(&d, 5, 1920, 1, p_slice, 3) == FRAME
       && d.len == 3, "depack: Opus after a gap still a frame");
    ok(ngx_webrtc_depack_add(&d, 6, 2880, 0, pkt, 101) == DROPPED,
       "depack: Opus packet bigger than the buffer dropped");
    ok(ngx_webrtc_depack_add(&d, 7, 3840, 0, pkt, 0) == -1,
       "depack: empty Opus packet malformed");
    ok(ngx_webrtc_depack_end(&d) == MORE, "depack: Opus end() no frame");

    depack_init(&d, NGX_WEBRTC_CODEC_VP8, 100);
    ok(ngx_webrtc_depack_add(&d, 1, 0, 1, p_slice, 4) == -1,
       "depack: VP8 not depacketized");
}


/* every captured payload, whole and cut short, through one depacketizer */

static void
test_depack_all(void)
{
    int                  rc, bad;
    size_t               i, len;
    uint64_t             seq;
    ngx_webrtc_depack_t  d;

    depack_init(&d, NGX_WEBRTC_CODEC_H264, 256);

    bad = 0;
    seq = 0;

    for (i = 0; i < sizeof(rtpv_all) / sizeof(rtpv_all[0]); i++) {
        for (len = 0; len <= rtpv_all[i].len; len++) {
            rc = ngx_webrtc_depack_add(&d, seq, (uint32_t) (seq / 3),
                                       (seq % 3) == 2, rtpv_all[i].data, len);
            seq++;

            if (rc < -1 || rc > DROPPED || d.len > d.size
                || (rc == FRAME && nal_count(d.buf, d.len, NULL) < 1))
            {
                bad++;
            }
        }
    }

    ok(bad == 0, "depack: all vectors, every length: frames well formed");
}


static void
test_avcc(void)
{
    size_t               n, len;
    u_char               avcc[512];
    ngx_webrtc_depack_t  d;

    depack_init(&d, NGX_WEBRTC_CODEC_H264, sizeof(frame));
    (void) ngx_webrtc_depack_add(&d, 1, 0, 0, V(h264_stap_a));

    n = ngx_webrtc_depack_avcc(&d, avcc, sizeof(avcc));
    len = 6 + 2 + sizeof(rtpv_h264_sps) + 3 + 5;

    ok(n == len, "avcC: baseline size %zu", n);
    ok(avcc[0] == 1 && avcc[1] == 0x42 && avcc[2] == 0xc0 && avcc[3] == 0x0b
       && avcc[4] == 0xff && avcc[5] == 0xe1,
       "avcC: version, profile, compatibility, level, 4-byte lengths, 1 SPS");
    ok(ngx_webrtc_be16(avcc + 6) == sizeof(rtpv_h264_sps)
       && memcmp(avcc + 8, rtpv_h264_sps, sizeof(rtpv_h264_sps)) == 0,
       "avcC: the SPS");
    ok(avcc[8 + sizeof(rtpv_h264_sps)] == 1
       && ngx_webrtc_be16(avcc + 9 + sizeof(rtpv_h264_sps)) == 5
       && memcmp(avcc + 11 + sizeof(rtpv_h264_sps), rtpv_h264_stap_a + 29, 5)
          == 0, "avcC: 1 PPS");

    for (len = 0; len < n; len++) {
        if (ngx_webrtc_depack_avcc(&d, avcc, len) != 0) {
            break;
        }
    }

    ok(len == n, "avcC: 0 for every short buffer");

    /* high profile: chroma_format_idc 1, 8 bits, no SPS extensions */
    (void) ngx_webrtc_depack_add(&d, 2, 0, 0, V(h264_318_stap_a));
    n = ngx_webrtc_depack_avcc(&d, avcc, sizeof(avcc));

    ok(n == 6 + 2 + 25 + 3 + 6 + 4 && avcc[1] == 100,
       "avcC: high profile has 4 more bytes");
    ok(avcc[n - 4] == 0xfd && avcc[n - 3] == 0xf8 && avcc[n - 2] == 0xf8
       && avcc[n - 1] == 0, "avcC: 4:2:0, 8 bits, no extensions");

    (void) ngx_webrtc_depack_add(&d, 3, 0, 0, V(h264_444_stap_a));
    n = ngx_webrtc_depack_avcc(&d, avcc, sizeof(avcc));

    ok(n > 4 && avcc[1] == 244 && avcc[n - 4] == 0xff,
       "avcC: high 4:4:4 says chroma_format_idc 3");
    ok(ngx_webrtc_depack_avcc(&d, avcc, n - 1) == 0,
       "avcC: high profile, 1 byte short");
}


/* boxes read back */

static u_char *
box(u_char *p, size_t len, const char *type, unsigned nth, size_t *size)
{
    size_t  n;

    while (len >= 8) {
        n = ngx_webrtc_be32(p);

        if (n < 8 || n > len) {
            return NULL;
        }

        if (memcmp(p + 4, type, 4) == 0 && nth-- == 0) {
            *size = n;
            return p;
        }

        p += n;
        len -= n;
    }

    return NULL;
}


/* the boxes inside a box, after skip bytes of its own fields, fill it */

static int
box_children_fill(u_char *p, size_t skip)
{
    size_t  n, len;

    len = ngx_webrtc_be32(p) - 8 - skip;
    p += 8 + skip;

    while (len > 0) {
        if (len < 8) {
            return 0;
        }

        n = ngx_webrtc_be32(p);

        if (n < 8 || n > len) {
            return 0;
        }

        p += n;
        len -= n;
    }

    return 1;
}


/* a path of boxes, each inside the last: "moov/trak#1/mdia" */

static u_char *
box_path(u_char *p, size_t len, const char *path, size_t *size)
{
    char         type[5];
    size_t       skip;
    unsigned     nth;
    const char  *s;

    for (s = path; *s; ) {
        memcpy(type, s, 4);
        type[4] = '\0';
        s += 4;
        nth = 0;

        if (*s == '#') {
            nth = s[1] - '0';
            s += 2;
        }

        if (*s == '/') {
            s++;
        }

        p = box(p, len, type, nth, size);
        if (p == NULL) {
            return NULL;
        }

        if (*s == '\0') {
            return p;
        }

        /* the fields before the children */
        skip = 0;

        if (strcmp(type, "stsd") == 0 || strcmp(type, "dref") == 0) {
            skip = 8;

        } else if (strcmp(type, "avc1") == 0 || strcmp(type, "hvc1") == 0
                   || strcmp(type, "av01") == 0 || strcmp(type, "vp09") == 0)
        {
            skip = 78;

        } else if (strcmp(type, "Opus") == 0) {
            skip = 28;
        }

        if (!box_children_fill(p, skip)) {
            return NULL;
        }

        len = *size - 8 - skip;
        p += 8 + skip;
    }

    return NULL;
}


/* the sample entry of a codec with its record, and its CODECS string */

static void
codec_init(ngx_webrtc_codec_e codec, const char *path, u_char *config,
    size_t len, const char *expect)
{
    size_t                   n, size;
    u_char                   buf[2048], codecs[64], *b;
    ngx_webrtc_fmp4_track_t  t;

    memset(&t, 0, sizeof(t));
    t.id = 1;
    t.codec = codec;
    t.timescale = 90000;
    t.width = 320;
    t.height = 240;
    t.config = config;
    t.config_len = len;

    n = ngx_webrtc_fmp4_init(buf, sizeof(buf), &t, 1);
    b = box_path(buf, n, path, &size);

    ok(n > 0 && b != NULL
       && size == 8 + (codec == NGX_WEBRTC_CODEC_VP9 ? 4 : 0) + len
       && memcmp(b + size - len, config, len) == 0,
       "init: %s holds the record", path);

    n = ngx_webrtc_fmp4_codecs(codecs, sizeof(codecs), &t);
    ok(n == strlen(expect) && memcmp(codecs, expect, n) == 0,
       "CODECS %.*s", (int) n, codecs);
    ok(ngx_webrtc_fmp4_codecs(codecs, n - 1, &t) == 0,
       "CODECS: 0 for a short buffer");
}


static void
test_h265(void)
{
    int                  rc;
    size_t               n;
    unsigned             types[8];
    u_char               pkt[64], rec[512];
    ngx_webrtc_depack_t  d;

    depack_init(&d, NGX_WEBRTC_CODEC_H265, sizeof(frame));

    ok(ngx_webrtc_depack_add(&d, 1, 0, 0, V(h265_ap)) == MORE
       && d.vps_len == 23 && d.sps_len == 44 && d.pps_len == 8
       && d.config_changed && d.width == 320 && d.height == 240,
       "h265: AP keeps VPS, SPS, PPS; 320x240");
    ok(ngx_webrtc_depack_add(&d, 2, 0, 0, V(h265_fu_start)) == MORE
       && ngx_webrtc_depack_add(&d, 3, 0, 0, V(h265_fu_mid)) == MORE,
       "h265: FU start, middle");

    /* FU end of the IDR_N_LP (20) */
    memcpy(pkt, "\x62\x01\x54\xaa\xbb\xcc", 6);
    rc = ngx_webrtc_depack_add(&d, 4, 0, 1, pkt, 6);

    ok(rc == FRAME && d.keyframe && nal_count(d.buf, d.len, types) == 4
       && ((d.buf[4] >> 1) & 0x3f) == 32,
       "h265: FU end: a keyframe of VPS, SPS, PPS, IRAP (%d)", rc);

    n = d.len - (4 + 23 + 4 + 44 + 4 + 8);
    ok(n == 4 + 2 + 48 + 48 + 3
       && d.buf[d.len - n + 4] == 0x28 && d.buf[d.len - n + 5] == 0x01
       && d.buf[d.len - 1] == 0xcc,
       "h265: the IRAP rebuilt with its 2-byte header, %zu bytes", n);

    /* an AUD (35) left out, a trailing picture (1) not a keyframe */
    memcpy(pkt, "\x60\x01\x00\x03\x46\x01\x50\x00\x03\x02\x01\xd0", 12);
    ok(ngx_webrtc_depack_add(&d, 5, 3000, 1, pkt, 12) == FRAME
       && !d.keyframe && nal_count(d.buf, d.len, types) == 1
       && d.len == 4 + 3, "h265: AP with an AUD and a slice");

    /* FU without its start; a PACI */
    memcpy(pkt, "\x62\x01\x41\xaa", 4);
    ok(ngx_webrtc_depack_add(&d, 6, 6000, 1, pkt, 4) == DROPPED,
       "h265: FU end without start dropped");
    memcpy(pkt, "\x64\x01\x00\x00", 4);
    ok(ngx_webrtc_depack_add(&d, 7, 9000, 1, pkt, 4) == -1,
       "h265: PACI refused");
    ok(ngx_webrtc_depack_add(&d, 8, 12000, 1, pkt, 1) == -1,
       "h265: 1-byte payload refused");

    n = ngx_webrtc_depack_config(&d, rec, sizeof(rec));
    ok(n == 23 + 15 + 23 + 44 + 8 && rec[0] == 1 && rec[1] == 0x04
       && memcmp(rec + 2, "\x08\x00\x00\x00\x9e\x08\x00\x00\x00\x00\x3c", 11)
          == 0,
       "hvcC: profile_tier_level without emulation prevention (%zu)", n);
    ok(rec[16] == (0xfc | 3) && rec[17] == 0xf8 && rec[18] == 0xf8
       && rec[21] == ((1 << 3) | (1 << 2) | 3) && rec[22] == 3
       && rec[23] == 0xa0 && ngx_webrtc_be16(rec + 26) == 23
       && rec[28 + 23] == 0xa1 && rec[28 + 23 + 5 + 44] == 0xa2,
       "hvcC: 4:4:4 (RExt), 8 bits, 1 layer nested, VPS/SPS/PPS arrays");
    ok(ngx_webrtc_depack_config(&d, rec, n - 1) == 0,
       "hvcC: 0 for a short buffer");

    codec_init(NGX_WEBRTC_CODEC_H265,
               "moov/trak/mdia/minf/stbl/stsd/hvc1/hvcC", rec, n,
               "hvc1.4.10.L60.9E.8");
}


static void
test_av1(void)
{
    int                  rc;
    size_t               n;
    u_char               pkt[64], rec[512];
    ngx_webrtc_depack_t  d;

    depack_init(&d, NGX_WEBRTC_CODEC_AV1, sizeof(frame));

    /* N, W=2: the sequence header, the frame OBU going on (Y) */
    ok(ngx_webrtc_depack_add(&d, 1, 0, 0, V(av1_key)) == MORE
       && d.sps_len == 15 && d.sps[0] == 0x0a && d.sps[1] == 13
       && d.width == 320 && d.height == 240 && d.config_changed,
       "av1: the sequence header kept with its size field, 320x240");

    /* Z, W=1: the end of the frame OBU */
    memcpy(pkt, "\x90\x11\x22\x33", 4);
    rc = ngx_webrtc_depack_add(&d, 2, 0, 1, pkt, 4);

    n = sizeof(rtpv_av1_key) - 2 - 14 - 1 + 3;  /* the frame OBU's payload */
    ok(rc == FRAME && d.keyframe && d.len == 15 + 1 + 1 + n
       && d.buf[15] == (0x30 | 0x02) && d.buf[16] == n
       && d.buf[d.len - 1] == 0x33,
       "av1: a keyframe, the OBU joined across packets (%d, %zu)", rc,
       d.len);

    /* W=0: a temporal delimiter left out, a size field kept, a tail cut */
    memcpy(pkt, "\x00\x02\x12\x00\x06\x32\x03\x30\x00\x00\xff", 11);
    rc = ngx_webrtc_depack_add(&d, 3, 3000, 1, pkt, 11);
    ok(rc == FRAME && !d.keyframe && d.len == 5
       && memcmp(d.buf, "\x32\x03\x30\x00\x00", 5) == 0,
       "av1: no temporal delimiter, an inter frame (%d)", rc);

    /* Z without a fragment going on; a lost packet inside a unit */
    memcpy(pkt, "\x90\x11\x22\x33", 4);
    ok(ngx_webrtc_depack_add(&d, 4, 6000, 1, pkt, 4) == DROPPED,
       "av1: a continuation without its start dropped");
    memcpy(pkt, "\x50\x30\x30\x00", 4);
    ok(ngx_webrtc_depack_add(&d, 5, 9000, 0, pkt, 4) == MORE
       && ngx_webrtc_depack_add(&d, 7, 9000, 1, pkt, 4) == DROPPED,
       "av1: a gap drops the unit");

    /* malformed: W=2 with one element, an empty element, length past */
    ok(ngx_webrtc_depack_add(&d, 8, 12000, 1, (u_char *) "\x20\x01\x30",
                             3) == -1, "av1: W=2 with one element refused");
    ok(ngx_webrtc_depack_add(&d, 9, 15000, 1, (u_char *) "\x00\x00\x30",
                             3) == -1, "av1: an empty element refused");
    ok(ngx_webrtc_depack_add(&d, 10, 18000, 1, (u_char *) "\x00\x05\x30",
                             3) == -1, "av1: an element past the end refused");

    /* a sequence header alone is no sample */
    pkt[0] = 0x10;
    memcpy(pkt + 1, rtpv_av1_key + 2, 14);
    ok(ngx_webrtc_depack_add(&d, 11, 21000, 1, pkt, 15) == MORE,
       "av1: a sequence header alone: no frame");

    /* the vector is profile 1: 4:4:4, 8 bits, level 2.0 */
    n = ngx_webrtc_depack_config(&d, rec, sizeof(rec));
    ok(n == 4 + 15 && rec[0] == 0x81 && rec[1] == 0x20 && rec[2] == 0
       && rec[3] == 0 && memcmp(rec + 4, d.sps, 15) == 0,
       "av1C: profile 1, level 0, 4:4:4, the sequence header OBU");
    ok(ngx_webrtc_depack_config(&d, rec, n - 1) == 0,
       "av1C: 0 for a short buffer");

    codec_init(NGX_WEBRTC_CODEC_AV1,
               "moov/trak/mdia/minf/stbl/stsd/av01/av1C", rec, n,
               "av01.1.00M.08");
}


static void
test_vp9(void)
{
    size_t               n;
    u_char               rec[64];
    ngx_webrtc_depack_t  d;

    depack_init(&d, NGX_WEBRTC_CODEC_VP9, sizeof(frame));

    ok(ngx_webrtc_depack_add(&d, 1, 0, 0, V(vp9_key_ss)) == MORE
       && d.keyframe && d.width == 320 && d.height == 240
       && d.config_changed, "vp9: key frame start, 320x240");
    ok(ngx_webrtc_depack_add(&d, 2, 0, 1, V(vp9_key_cont)) == FRAME
       && d.keyframe
       && d.len == sizeof(rtpv_vp9_key_ss) - 11
                   + sizeof(rtpv_vp9_key_cont) - 3
       && memcmp(d.buf, rtpv_vp9_key_ss + 11, 4) == 0,
       "vp9: the frame without descriptors");

    ok(ngx_webrtc_depack_add(&d, 3, 3000, 0, V(vp9_key_sid1)) == MORE
       && !d.started, "vp9: spatial layer 1 left out");
    ok(ngx_webrtc_depack_add(&d, 4, 6000, 1, V(vp9_key)) == FRAME
       && d.keyframe && !d.config_changed,
       "vp9: key frame in one packet (marker), same configuration");
    ok(ngx_webrtc_depack_add(&d, 5, 9000, 1, V(vp9_inter)) == FRAME
       && !d.keyframe, "vp9: inter frame");
    ok(ngx_webrtc_depack_add(&d, 7, 12000, 1, V(vp9_key_cont)) == DROPPED,
       "vp9: a frame without its first packet dropped");
    ok(ngx_webrtc_depack_add(&d, 8, 15000, 1, (u_char *) "\x88", 1) == -1,
       "vp9: a descriptor without payload refused");

    /* the vector is profile 1 RGB: 4:4:4, full range, identity matrix */
    n = ngx_webrtc_depack_config(&d, rec, sizeof(rec));
    ok(n == 8 && memcmp(rec, "\x01\x14\x87\x02\x02\x00\x00\x00", 8) == 0,
       "vpcC: profile 1, level 2, 8 bits, 4:4:4, full range, RGB");

    codec_init(NGX_WEBRTC_CODEC_VP9,
               "moov/trak/mdia/minf/stbl/stsd/vp09/vpcC", rec, n,
               "vp09.01.20.08");
}


static void
test_init(void)
{
    size_t                   n, size, i;
    u_char                   buf[2048], codecs[32], avcc[64], *b;
    ngx_webrtc_fmp4_track_t  tracks[2];

    static const char  *paths[] = {
        "moov/mvhd", "moov/trak/tkhd", "moov/trak/mdia/mdhd",
        "moov/trak/mdia/hdlr", "moov/trak/mdia/minf/vmhd",
        "moov/trak/mdia/minf/dinf/dref/url ",
        "moov/trak/mdia/minf/stbl/stts", "moov/trak/mdia/minf/stbl/stsc",
        "moov/trak/mdia/minf/stbl/stsz", "moov/trak/mdia/minf/stbl/stco",
        "moov/trak#1/mdia/minf/smhd", "moov/trak#1/mdia/minf/stbl/stco",
        "moov/mvex/trex", "moov/mvex/trex#1"
    };

    memcpy(avcc, "\x01\x64\x00\x1f\xff\xe1", 6);

    memset(tracks, 0, sizeof(tracks));

    tracks[0].id = 1;
    tracks[0].codec = NGX_WEBRTC_CODEC_H264;
    tracks[0].timescale = 90000;
    tracks[0].width = 1280;
    tracks[0].height = 720;
    tracks[0].config = avcc;
    tracks[0].config_len = 20;

    tracks[1].id = 2;
    tracks[1].codec = NGX_WEBRTC_CODEC_OPUS;
    tracks[1].timescale = 48000;
    tracks[1].channels = 2;
    tracks[1].pre_skip = 312;
    tracks[1].sample_rate = 48000;

    n = ngx_webrtc_fmp4_init(buf, sizeof(buf), tracks, 2);
    ok(n > 0, "init: written, %zu bytes", n);

    b = box(buf, n, "ftyp", 0, &size);
    ok(b == buf && size == 28 && memcmp(b + 8, "iso6", 4) == 0
       && memcmp(b + 16, "iso6cmfcmp41", 12) == 0, "init: ftyp");

    b = box(buf, n, "moov", 0, &size);
    ok(b == buf + 28 && size == n - 28, "init: moov fills the rest");

    for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        ok(box_path(buf, n, paths[i], &size) != NULL, "init: %s", paths[i]);
    }

    b = box_path(buf, n, "moov/mvhd", &size);
    ok(b && size == 108 && ngx_webrtc_be32(b + 20) == 1000
       && ngx_webrtc_be32(b + 104) == 3, "init: mvhd, next_track_ID 3");

    b = box_path(buf, n, "moov/trak/tkhd", &size);
    ok(b && size == 92 && ngx_webrtc_be32(b + 8) == 3
       && ngx_webrtc_be32(b + 20) == 1
       && ngx_webrtc_be32(b + 84) == 1280u << 16
       && ngx_webrtc_be32(b + 88) == 720u << 16, "init: tkhd video");

    b = box_path(buf, n, "moov/trak/mdia/mdhd", &size);
    ok(b && size == 32 && ngx_webrtc_be32(b + 20) == 90000,
       "init: video mdhd timescale");

    b = box_path(buf, n, "moov/trak/mdia/hdlr", &size);
    ok(b && memcmp(b + 16, "vide", 4) == 0, "init: hdlr vide");

    b = box_path(buf, n, "moov/trak/mdia/minf/stbl/stsd/avc1", &size);
    ok(b && size == 86 + 8 + 20 && ngx_webrtc_be16(b + 32) == 1280
       && ngx_webrtc_be16(b + 34) == 720, "init: avc1 %zu", size);

    b = box_path(buf, n, "moov/trak/mdia/minf/stbl/stsd/avc1/avcC", &size);
    ok(b && size == 28 && memcmp(b + 8, avcc, 20) == 0,
       "init: avcC is the record given");

    b = box_path(buf, n, "moov/trak#1/tkhd", &size);
    ok(b && ngx_webrtc_be32(b + 20) == 2 && ngx_webrtc_be16(b + 44) == 0x100,
       "init: tkhd audio");

    b = box_path(buf, n, "moov/trak#1/mdia/mdhd", &size);
    ok(b && ngx_webrtc_be32(b + 20) == 48000, "init: audio mdhd 48000");

    b = box_path(buf, n, "moov/trak#1/mdia/hdlr", &size);
    ok(b && memcmp(b + 16, "soun", 4) == 0, "init: hdlr soun");

    b = box_path(buf, n, "moov/trak#1/mdia/minf/stbl/stsd/Opus", &size);
    ok(b && size == 36 + 19 && ngx_webrtc_be16(b + 24) == 2
       && ngx_webrtc_be16(b + 26) == 16
       && ngx_webrtc_be32(b + 32) == 48000u << 16, "init: Opus entry");

    b = box_path(buf, n, "moov/trak#1/mdia/minf/stbl/stsd/Opus/dOps", &size);
    ok(b && size == 19
       && memcmp(b + 8, "\x00\x02\x01\x38\x00\x00\xbb\x80\x00\x00\x00", 11)
          == 0, "init: dOps");

    b = box_path(buf, n, "moov/mvex/trex#1", &size);
    ok(b && size == 32 && ngx_webrtc_be32(b + 12) == 2
       && ngx_webrtc_be32(b + 16) == 1, "init: trex of track 2");

    for (size = 0; size < n; size++) {
        if (ngx_webrtc_fmp4_init(buf, size, tracks, 2) != 0) {
            break;
        }
    }

    ok(size == n, "init: 0 for every short buffer");

    ok(ngx_webrtc_fmp4_init(buf, sizeof(buf), tracks, 1) > 0
       && box_path(buf, sizeof(buf), "moov/trak#1", &size) == NULL,
       "init: one track");

    tracks[0].codec = NGX_WEBRTC_CODEC_VP8;
    ok(ngx_webrtc_fmp4_init(buf, sizeof(buf), tracks, 2) == 0,
       "init: VP8 refused");
    tracks[0].codec = NGX_WEBRTC_CODEC_H264;

    /* CODECS */
    n = ngx_webrtc_fmp4_codecs(codecs, sizeof(codecs), &tracks[0]);
    ok(n == 11 && memcmp(codecs, "avc1.64001f", 11) == 0,
       "codecs: avc1.64001f");
    ok(ngx_webrtc_fmp4_codecs(codecs, 10, &tracks[0]) == 0,
       "codecs: short buffer");
    n = ngx_webrtc_fmp4_codecs(codecs, sizeof(codecs), &tracks[1]);
    ok(n == 4 && memcmp(codecs, "opus", 4) == 0, "codecs: opus");
    ok(ngx_webrtc_fmp4_codecs(codecs, 3, &tracks[1]) == 0,
       "codecs: opus short buffer");
    tracks[0].config_len = 3;
    ok(ngx_webrtc_fmp4_codecs(codecs, sizeof(codecs), &tracks[0]) == 0,
       "codecs: no avcC, no string");
}


static void
test_fragment(void)
{
    size_t                    n, size, moof_size, i;
    u_char                    buf[1024], vdata[60], adata[7], *b, *t;
    ngx_webrtc_fmp4_run_t     runs[2];
    ngx_webrtc_fmp4_sample_t  vs[3], as[2];

    for (i = 0; i < sizeof(vdata); i++) {
        vdata[i] = (u_char) i;
    }

    memcpy(adata, "opusOPU", 7);

    vs[0] = (ngx_webrtc_fmp4_sample_t) { 30, 3000, 0, 1 };
    vs[1] = (ngx_webrtc_fmp4_sample_t) { 20, 3000, 6000, 0 };
    vs[2] = (ngx_webrtc_fmp4_sample_t) { 10, 3000, -3000, 0 };
    as[0] = (ngx_webrtc_fmp4_sample_t) { 3, 960, 0, 1 };
    as[1] = (ngx_webrtc_fmp4_sample_t) { 4, 960, 0, 1 };

    runs[0].id = 1;
    runs[0].base_time = 0x100000000ULL + 90000;
    runs[0].samples = vs;
    runs[0].nsamples = 3;
    runs[0].data = vdata;
    runs[0].len = 60;

    runs[1].id = 2;
    runs[1].base_time = 48000;
    runs[1].samples = as;
    runs[1].nsamples = 2;
    runs[1].data = adata;
    runs[1].len = 7;

    n = ngx_webrtc_fmp4_fragment(buf, sizeof(buf), 7, runs, 2);
    moof_size = 8 + 16 + 2 * (8 + 16 + 20 + 20) + 5 * 16;

    ok(n == moof_size + 8 + 67, "fragment: size %zu", n);

    b = box(buf, n, "moof", 0, &size);
    ok(b == buf && size == moof_size, "fragment: moof");

    b = box(buf, n, "mdat", 0, &size);
    ok(b == buf + moof_size && size == 8 + 67
       && memcmp(b + 8, vdata, 60) == 0 && memcmp(b + 68, adata, 7) == 0,
       "fragment: mdat holds the runs in order");

    b = box_path(buf, n, "moof/mfhd", &size);
    ok(b && size == 16 && ngx_webrtc_be32(b + 12) == 7, "fragment: mfhd");

    b = box_path(buf, n, "moof/traf/tfhd", &size);
    ok(b && size == 16 && ngx_webrtc_be32(b + 8) == 0x020000
       && ngx_webrtc_be32(b + 12) == 1, "fragment: tfhd default-base-is-moof");

    b = box_path(buf, n, "moof/traf/tfdt", &size);
    ok(b && size == 20 && b[8] == 1 && ngx_webrtc_be32(b + 12) == 1
       && ngx_webrtc_be32(b + 16) == 90000, "fragment: tfdt version 1");

    t = box_path(buf, n, "moof/traf/trun", &size);
    ok(t && size == 20 + 3 * 16 && ngx_webrtc_be32(t + 8) == 0x01000f01
       && ngx_webrtc_be32(t + 12) == 3
       && ngx_webrtc_be32(t + 16) == moof_size + 8,
       "fragment: video trun, its data offset");

    ok(t && ngx_webrtc_be32(t + 20) == 3000 && ngx_webrtc_be32(t + 24) == 30
       && ngx_webrtc_be32(t + 28) == 0x02000000 && ngx_webrtc_be32(t + 32) == 0
       && ngx_webrtc_be32(t + 44) == 0x01010000
       && ngx_webrtc_be32(t + 48) == 6000
       && ngx_webrtc_be32(t + 56) == 10
       && (int32_t) ngx_webrtc_be32(t + 64) == -3000,
       "fragment: video samples: durations, sizes, flags, cts offsets");

    b = box_path(buf, n, "moof/traf#1/tfhd", &size);
    ok(b && ngx_webrtc_be32(b + 12) == 2, "fragment: audio tfhd");

    t = box_path(buf, n, "moof/traf#1/trun", &size);
    ok(t && ngx_webrtc_be32(t + 12) == 2
       && ngx_webrtc_be32(t + 16) == moof_size + 8 + 60
       && memcmp(buf + ngx_webrtc_be32(t + 16), "opusOPU", 7) == 0
       && ngx_webrtc_be32(t + 24) == 3 && ngx_webrtc_be32(t + 40) == 4
       && ngx_webrtc_be32(t + 28) == 0x02000000,
       "fragment: audio trun data offset points at its bytes");

    for (size = 0; size < n; size++) {
        if (ngx_webrtc_fmp4_fragment(buf, size, 7, runs, 2) != 0) {
            break;
        }
    }

    ok(size == n, "fragment: 0 for every short buffer");

    vs[0].size = 31;
    ok(ngx_webrtc_fmp4_fragment(buf, sizeof(buf), 7, runs, 2) == 0,
       "fragment: sample sizes not adding up to the data refused");
    vs[0].size = 30;

    n = ngx_webrtc_fmp4_fragment(buf, sizeof(buf), 8, runs, 0);
    ok(n == 8 + 16 + 8 && ngx_webrtc_be32(buf + 24) == 8
       && memcmp(buf + 28, "mdat", 4) == 0, "fragment: empty");
}


int
main(void)
{
    test_depack_vectors();
    test_depack_synthetic();
    test_depack_all();
    test_avcc();
    test_init();
    test_fragment();
    test_h265();
    test_av1();
    test_vp9();

    return done_testing();
}
