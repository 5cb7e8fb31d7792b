
/*
 * Copyright (C) nginx WebRTC module authors
 */


/*
 * libFuzzer target for ngx_webrtc_tcp_frame.c, the RFC 4571 reader of
 * ICE-TCP streams: the input is cut into reads at sizes taken from its
 * first byte; every packet must lie within the input or the reader's
 * buffer and be 1 to NGX_WEBRTC_TCP_FRAME_MAX bytes long.
 */


#include "ngx_webrtc_tcp_frame.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char                  *p, *end, *pkt;
    size_t                   len, step, k;
    ssize_t                  rc;
    volatile u_char          sink;
    ngx_webrtc_tcp_frame_t   f;

    if (size < 1) {
        return 0;
    }

    step = data[0] + 1;
    p = (u_char *) data + 1;
    end = (u_char *) data + size;

    memset(&f, 0, sizeof(f));

    while (p < end) {
        k = (size_t) (end - p) < step ? (size_t) (end - p) : step;

        rc = ngx_webrtc_tcp_frame_read(&f, p, k, &pkt, &len);

        if (rc < 0) {
            return 0;
        }

        if ((size_t) rc > k || (rc == 0 && pkt == NULL)) {
            __builtin_trap();
        }

        if (pkt) {
            if (len == 0 || len > NGX_WEBRTC_TCP_FRAME_MAX) {
                __builtin_trap();
            }

            if (!((pkt >= p && pkt + len <= p + rc)
                  || (pkt >= f.buf && pkt + len <= f.buf + sizeof(f.buf))))
            {
                __builtin_trap();
            }

            sink = pkt[0] ^ pkt[len - 1];
            (void) sink;
        }

        p += rc;
    }

    return 0;
}
