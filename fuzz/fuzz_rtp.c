/*
 * Copyright (C) nginx WebRTC module authors
 *
 * libFuzzer target for ngx_webrtc_rtp.c, ngx_webrtc_rtcp.c and
 * ngx_webrtc_codec.c: RTP header and extensions, every codec inspector and
 * the H.264 profile lookup, RTCP walks and the receiver statistics.
 */


#include "ngx_webrtc_rtp.h"
#include "ngx_webrtc_rtcp.h"
#include "ngx_webrtc_codec.h"


static void
ngx_webrtc_fuzz_nack(void *data, uint32_t media_ssrc, uint16_t pid,
    uint16_t blp)
{
    unsigned  *n = data;

    *n += pid ^ blp ^ media_ssrc;
}


static void
ngx_webrtc_fuzz_inspect(u_char *p, size_t len)
{
    u_char                   profile[3];
    ngx_webrtc_codec_e       c;
    ngx_webrtc_frame_info_t  info;

    for (c = NGX_WEBRTC_CODEC_UNKNOWN; c < NGX_WEBRTC_CODEC_LAST; c++) {
        if (ngx_webrtc_frame_inspect(c, p, len, &info) == 0
            && info.has_size && (info.width == 0 || info.height == 0))
        {
            __builtin_trap();
        }
    }

    (void) ngx_webrtc_h264_profile(p, len, profile);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char                   *p, *e, buf[64];
    size_t                    i, n;
    unsigned                  id, count;
    uint32_t                  ts;
    ngx_webrtc_rtp_t          rtp;
    ngx_webrtc_rtcp_info_t    info;
    ngx_webrtc_rtp_source_t   s;

    p = (u_char *) data;

    if (ngx_webrtc_rtp_parse(&rtp, p, size) == 0) {
        if (rtp.payload + rtp.payload_len > p + size
            || (rtp.ext && rtp.ext + rtp.ext_len > p + size))
        {
            __builtin_trap();
        }

        for (id = 0; id < 257; id++) {
            e = ngx_webrtc_rtp_ext_find(&rtp, id, &n);

            if (e && (e < rtp.ext || e + n > rtp.ext + rtp.ext_len)) {
                __builtin_trap();
            }
        }

        ngx_webrtc_fuzz_inspect(rtp.payload, rtp.payload_len);
    }

    ngx_webrtc_fuzz_inspect(p, size);

    (void) ngx_webrtc_rtcp_parse(&info, p, size);

    count = 0;
    (void) ngx_webrtc_rtcp_nacks(p, size, 1000, ngx_webrtc_fuzz_nack, &count);
    (void) ngx_webrtc_rtcp_nacks(p, size, 1, ngx_webrtc_fuzz_nack, &count);

    /* statistics: each 2 bytes a sequence number, timestamps from them */
    memset(&s, 0, sizeof(ngx_webrtc_rtp_source_t));

    for (i = 0; i + 2 <= size; i += 2) {
        ts = (uint32_t) data[i] * 0x01010101u;
        (void) ngx_webrtc_rtp_source_update(&s,
                   (uint16_t) ((data[i] << 8) | data[i + 1]), ts,
                   ts * 7 + (uint32_t) i * 0x9e3779b9u);

        if (data[i] == 0xff) {
            (void) ngx_webrtc_rtcp_write_rr(buf, sizeof(buf), 1, 2, &s, 0, 0);
        }

        if (s.received > s.cycles + (uint32_t) s.max_seq - s.base_seq + 1
            && s.started && !s.probation)
        {
            __builtin_trap();
        }
    }

    (void) ngx_webrtc_rtp_source_lost(&s);
    n = ngx_webrtc_rtcp_write_rr(buf, sizeof(buf), 1, 2, &s, 0, 0);

    if (n != 32 || ngx_webrtc_rtcp_parse(&info, buf, n) != 0) {
        __builtin_trap();
    }

    return 0;
}
