/*
 * Copyright (C) nginx WebRTC module authors
 *
 * libFuzzer target for the simulcast parsers that face the network: the
 * WHEP layer request body (ngx_webrtc_layer.c) and the RTP stream id
 * header extensions (ngx_webrtc_rtp_rid).  What they return points into
 * the input, within it; a rid is 1..16 id characters.
 */


#include <stdlib.h>

#include "ngx_webrtc_layer.h"
#include "ngx_webrtc_rtp.h"


#define check(cond)  do { if (!(cond)) __builtin_trap(); } while (0)


static void
ngx_webrtc_fuzz_within(ngx_webrtc_str_t *s, u_char *p, size_t len)
{
    if (s->len) {
        check(s->data >= p && s->data + s->len <= p + len);
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char                  *p;
    size_t                   i;
    unsigned                 id;
    ngx_webrtc_str_t         rid;
    ngx_webrtc_rtp_t         rtp;
    ngx_webrtc_layer_req_t   req;

    /* an exact-size copy: ASan sees any read past the end */
    p = malloc(size ? size : 1);
    if (p == NULL) {
        return 0;
    }

    memcpy(p, data, size);

    if (ngx_webrtc_layer_parse(&req, p, size) == NGX_WEBRTC_PARSE_OK) {
        ngx_webrtc_fuzz_within(&req.media_id, p, size);
        ngx_webrtc_fuzz_within(&req.encoding_id, p, size);

    } else {
        check(req.error != NULL);
    }

    if (ngx_webrtc_rtp_parse(&rtp, p, size) == NGX_WEBRTC_PARSE_OK) {
        for (id = 0; id < 16; id++) {
            if (ngx_webrtc_rtp_rid(&rtp, id, &rid) != NGX_WEBRTC_PARSE_OK) {
                continue;
            }

            check(rid.len >= 1 && rid.len <= NGX_WEBRTC_RID_MAX);
            ngx_webrtc_fuzz_within(&rid, p, size);

            for (i = 0; i < rid.len; i++) {
                check(rid.data[i] == '-' || rid.data[i] == '_'
                      || (rid.data[i] >= '0' && rid.data[i] <= '9')
                      || (rid.data[i] >= 'a' && rid.data[i] <= 'z')
                      || (rid.data[i] >= 'A' && rid.data[i] <= 'Z'));
            }
        }
    }

    free(p);

    return 0;
}
