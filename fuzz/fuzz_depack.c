/*
 * Copyright (C) nginx WebRTC module authors
 *
 * libFuzzer target for ngx_webrtc_depack.c and ngx_webrtc_fmp4.c: a
 * sequence of RTP payloads (each: a control byte with the marker, an
 * end() before it, a jump in the packet index and a timestamp step; a
 * length byte; the payload) through the H.264, H.265, AV1, VP9 or Opus
 * depacketizer into a small frame buffer, then the configuration record,
 * an init segment, the CODECS string and a fragment of the frames it
 * returned, each checked for its exact size.
 */


#include "ngx_webrtc_depack.h"
#include "ngx_webrtc_fmp4.h"


#define FUZZ_FRAME_SIZE    512
#define FUZZ_MAX_SAMPLES   64


static u_char                    frame[FUZZ_FRAME_SIZE];
static u_char                    data[FUZZ_MAX_SAMPLES * FUZZ_FRAME_SIZE];
static u_char                    out[65536];
static ngx_webrtc_fmp4_sample_t  samples[FUZZ_MAX_SAMPLES];


static ngx_webrtc_codec_e  codecs[] = {
    NGX_WEBRTC_CODEC_H264,
    NGX_WEBRTC_CODEC_OPUS,
    NGX_WEBRTC_CODEC_H265,
    NGX_WEBRTC_CODEC_AV1,
    NGX_WEBRTC_CODEC_VP9
};


/* AV1: OBUs with size fields fill the frame exactly, no delimiters */

static void
fuzz_check_obus(ngx_webrtc_depack_t *d)
{
    u_char    *p, *last;
    uint64_t   size;

    p = d->buf;
    last = p + d->len;

    while (p < last) {
        if (!(p[0] & 0x02) || ((p[0] >> 3) & 0x0f) == 2) {
            __builtin_trap();
        }

        p += 1 + ((p[0] >> 2) & 1);

        if (ngx_webrtc_av1_leb128(&p, last, &size) != 0
            || size > (uint64_t) (last - p))
        {
            __builtin_trap();
        }

        p += size;
    }
}


/* the 4-byte length prefixes of an H.264 or H.265 frame fill it exactly */

static void
fuzz_check_frame(ngx_webrtc_depack_t *d)
{
    size_t   n, left;
    u_char  *p;

    if (d->len > d->size) {
        __builtin_trap();
    }

    if (d->codec == NGX_WEBRTC_CODEC_AV1) {
        fuzz_check_obus(d);
        return;
    }

    if (d->codec != NGX_WEBRTC_CODEC_H264
        && d->codec != NGX_WEBRTC_CODEC_H265)
    {
        return;
    }

    p = d->buf;
    left = d->len;

    while (left) {
        if (left < 5) {
            __builtin_trap();
        }

        n = ngx_webrtc_be32(p);

        if (n == 0 || n > left - 4
            || (d->codec == NGX_WEBRTC_CODEC_H264 && (p[4] & 0x1f) == 9)
            || (d->codec == NGX_WEBRTC_CODEC_H265
                && (n < 2 || ((p[4] >> 1) & 0x3f) == 35)))
        {
            __builtin_trap();
        }

        p += 4 + n;
        left -= 4 + n;
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *in, size_t size)
{
    int                      rc;
    u_char                   avcc[1024], str[64], *p, *last, ctl;
    size_t                   len, n, nsamples, total, expect;
    uint32_t                 ts;
    uint64_t                 seq;
    ngx_webrtc_depack_t      d;
    ngx_webrtc_fmp4_run_t    run;
    ngx_webrtc_fmp4_track_t  track;

    if (size < 1) {
        return 0;
    }

    p = (u_char *) in;
    last = p + size;

    memset(&d, 0, sizeof(ngx_webrtc_depack_t));
    d.codec = codecs[*p++ % (sizeof(codecs) / sizeof(codecs[0]))];
    d.buf = frame;
    d.size = FUZZ_FRAME_SIZE;

    seq = 0xfff0;
    ts = 0;
    nsamples = 0;
    total = 0;

    while (last - p >= 2) {
        ctl = *p++;
        len = *p++;

        if (len > (size_t) (last - p)) {
            len = last - p;
        }

        seq += 1 + ((ctl >> 2) & 3) * (ctl & 0x10 ? 1 : 0);

        if (ctl & 0x20) {
            ts += 3000;

            rc = ngx_webrtc_depack_end(&d);

        } else {
            rc = NGX_WEBRTC_DEPACK_MORE;
        }

        if (rc == NGX_WEBRTC_DEPACK_MORE) {
            rc = ngx_webrtc_depack_add(&d, seq, ts, ctl & 1, p, len);
            p += len;
        }

        if (rc < -1 || rc > NGX_WEBRTC_DEPACK_DROPPED) {
            __builtin_trap();
        }

        if (rc != NGX_WEBRTC_DEPACK_FRAME) {
            continue;
        }

        fuzz_check_frame(&d);

        if (nsamples < FUZZ_MAX_SAMPLES) {
            memcpy(data + total, d.buf, d.len);
            samples[nsamples].size = (uint32_t) d.len;
            samples[nsamples].duration = 3000;
            samples[nsamples].cts_offset = (int32_t) (ts & 0xff) - 128;
            samples[nsamples].sync = d.keyframe;
            total += d.len;
            nsamples++;
        }
    }

    if (d.sps_len > NGX_WEBRTC_DEPACK_PS_MAX
        || d.pps_len > NGX_WEBRTC_DEPACK_PS_MAX
        || d.vps_len > NGX_WEBRTC_DEPACK_PS_MAX)
    {
        __builtin_trap();
    }

    n = ngx_webrtc_depack_config(&d, avcc, sizeof(avcc));

    if (n && ngx_webrtc_depack_config(&d, avcc, n - 1) != 0) {
        __builtin_trap();
    }

    switch (d.codec) {
    case NGX_WEBRTC_CODEC_H264:
        if (n && (avcc[0] != 1 || n < 11 + d.sps_len + d.pps_len
                  || ngx_webrtc_depack_avcc(&d, avcc, sizeof(avcc)) != n))
        {
            __builtin_trap();
        }
        break;
    case NGX_WEBRTC_CODEC_H265:
        if (n && (avcc[0] != 1
                  || n != 38 + d.vps_len + d.sps_len + d.pps_len))
        {
            __builtin_trap();
        }
        break;
    case NGX_WEBRTC_CODEC_AV1:
        if (n && (avcc[0] != 0x81 || n != 4 + d.sps_len)) {
            __builtin_trap();
        }
        break;
    case NGX_WEBRTC_CODEC_VP9:
        if (n && n != 8) {
            __builtin_trap();
        }
        break;
    default:
        if (n) {
            __builtin_trap();
        }
        break;
    }

    memset(&track, 0, sizeof(ngx_webrtc_fmp4_track_t));
    track.id = 1;
    track.codec = d.codec;
    track.timescale = (d.codec == NGX_WEBRTC_CODEC_OPUS) ? 48000 : 90000;
    track.width = d.width;
    track.height = d.height;
    track.config = avcc;
    track.config_len = n;
    track.channels = 2;

    if ((n || d.codec == NGX_WEBRTC_CODEC_OPUS)
        && ngx_webrtc_fmp4_init(out, sizeof(out), &track, 1) == 0)
    {
        __builtin_trap();
    }

    if (n || d.codec == NGX_WEBRTC_CODEC_OPUS) {
        len = ngx_webrtc_fmp4_codecs(str, sizeof(str), &track);

        if (len == 0 || len > sizeof(str)
            || (len > 1
                && ngx_webrtc_fmp4_codecs(str, len - 1, &track) != 0))
        {
            __builtin_trap();
        }
    }

    run.id = 1;
    run.base_time = seq;
    run.samples = samples;
    run.nsamples = nsamples;
    run.data = data;
    run.len = total;

    expect = 8 + 16 + 8 + 16 + 20 + 20 + 16 * nsamples + 8 + total;
    n = ngx_webrtc_fmp4_fragment(out, sizeof(out), 1, &run, 1);

    if (expect <= sizeof(out) ? n != expect : n != 0) {
        __builtin_trap();
    }

    if (n && (ngx_webrtc_fmp4_fragment(out, n - 1, 1, &run, 1) != 0
              || memcmp(out + n - total, data, total) != 0))
    {
        __builtin_trap();
    }

    return 0;
}
