
/*
 * Copyright (C) nginx WebRTC module authors
 */


#include "ngx_webrtc_tcp_frame.h"


ssize_t
ngx_webrtc_tcp_frame_read(ngx_webrtc_tcp_frame_t *f, u_char *p, size_t n,
    u_char **pkt, size_t *pkt_len)
{
    size_t   k;
    u_char  *start, *end;

    start = p;
    end = p + n;

    *pkt = NULL;
    *pkt_len = 0;

    while (f->nhdr < 2 && p < end) {
        f->hdr[f->nhdr++] = *p++;

        if (f->nhdr == 2) {
            f->len = ngx_webrtc_be16(f->hdr);
            f->have = 0;

            if (f->len == 0 || f->len > NGX_WEBRTC_TCP_FRAME_MAX) {
                return -1;
            }
        }
    }

    if (f->nhdr < 2) {
        return p - start;
    }

    if (f->have == 0 && (size_t) (end - p) >= f->len) {
        /* whole in the input: no copy */
        *pkt = p;
        *pkt_len = f->len;
        f->nhdr = 0;

        return p + f->len - start;
    }

    k = f->len - f->have;
    if (k > (size_t) (end - p)) {
        k = end - p;
    }

    memcpy(f->buf + f->have, p, k);
    f->have += k;
    p += k;

    if (f->have == f->len) {
        *pkt = f->buf;
        *pkt_len = f->len;
        f->nhdr = 0;
        f->have = 0;
    }

    return p - start;
}
