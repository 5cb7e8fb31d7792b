/*
 * Copyright (C) nginx WebRTC module authors
 *
 * libFuzzer target for RTCP feedback as a viewer's worker takes it
 * (ngx_webrtc_viewer_rtcp): ngx_webrtc_rtcp_parse() on any bytes, then
 * ngx_webrtc_rtcp_nacks() with a callback that counts NACKed packets as
 * ngx_webrtc_viewer_nack() does.  The first input byte is nacks()'s
 * limit, the rest the packet, copied to its exact size for ASan.
 * Checked: the summary fits the packet; nacks() calls back at most limit
 * times (at most 17 NACKed packets each), never for a packet it refuses,
 * only with pairs and media SSRCs that are in the packet, pairs in order;
 * what parse() accepts nacks() accepts.
 */


#include <stdlib.h>
#include <string.h>

#include "ngx_webrtc_rtcp.h"


#define check(cond)  do { if (!(cond)) __builtin_trap(); } while (0)


typedef struct {
    u_char                     *p;
    size_t                      len;
    size_t                      next;         /* past the last pair */
    unsigned                    calls;
    unsigned                    packets;      /* NACKed: pid and blp's */
} fuzz_nack_t;


/* the word's offset: 4-aligned (RTCP lengths are words), at from or after */

static size_t
fuzz_find(u_char *p, size_t len, size_t from, uint32_t word)
{
    size_t  off;

    for (off = from; off + 4 <= len; off += 4) {
        if (ngx_webrtc_be32(p + off) == word) {
            return off;
        }
    }

    return len;
}


static void
fuzz_nack(void *data, uint32_t media_ssrc, uint16_t pid, uint16_t blp)
{
    size_t        off;
    fuzz_nack_t  *ctx;

    ctx = data;

    /*
     * the pair after the last one, with the media SSRC before it (the
     * earliest such place: a later pair then still finds its own)
     */
    off = ctx->next;

    for ( ;; ) {
        off = fuzz_find(ctx->p, ctx->len, off, (uint32_t) pid << 16 | blp);
        check(off < ctx->len);

        if (off >= 12 && fuzz_find(ctx->p, off, 8, media_ssrc) < off) {
            break;
        }

        off += 4;
    }

    ctx->next = off + 4;
    ctx->calls++;
    ctx->packets += 1 + __builtin_popcount(blp);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                      n, rc;
    u_char                  *p;
    size_t                   len;
    unsigned                 max;
    fuzz_nack_t              ctx;
    ngx_webrtc_rtcp_info_t   info;

    if (size < 1) {
        return 0;
    }

    max = data[0];
    len = size - 1;

    p = malloc(len ? len : 1);
    check(p != NULL);
    memcpy(p, data + 1, len);

    rc = ngx_webrtc_rtcp_parse(&info, p, len);

    if (rc == 0) {
        /* a PLI or generic NACK takes 12 bytes at least, a FIR 20 */
        check(info.nreports <= NGX_WEBRTC_RTCP_MAX_REPORTS
              && (size_t) info.pli * 12 + (size_t) info.fir * 20
                 + (size_t) info.nack_packets * 12 <= len);
    }

    memset(&ctx, 0, sizeof(fuzz_nack_t));
    ctx.p = p;
    ctx.len = len;

    n = ngx_webrtc_rtcp_nacks(p, len, max, fuzz_nack, &ctx);

    if (n < 0) {
        check(rc != 0 && ctx.calls == 0);

    } else {
        /* the limit bounds the resends a packet can ask for */
        check((unsigned) n == ctx.calls && ctx.calls <= max
              && ctx.packets <= 17 * max);
    }

    if (rc == 0 && info.nack_packets == 0) {
        check(ctx.calls == 0);
    }

    free(p);

    return 0;
}
