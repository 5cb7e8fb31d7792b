/*
 * Copyright (C) nginx WebRTC module authors
 *
 * libFuzzer target for the SRTCP side of ngx_webrtc_gcm.c.  Any bytes fed
 * to ngx_webrtc_gcm_unprotect_rtcp() as a received packet must be refused
 * (no valid tag can be guessed) without touching memory outside the
 * packet; the same bytes as an RTCP packet must survive protect ->
 * unprotect unchanged, once: the second time they are a replay.
 */


#include <stdlib.h>
#include <string.h>

#include "ngx_webrtc_gcm.h"


#define check(cond)  do { if (!(cond)) __builtin_trap(); } while (0)


static ngx_webrtc_gcm_t     tx, rx;
static ngx_webrtc_replay_t  replay[NGX_WEBRTC_SRTCP_REPLAY];
static uint32_t             index_next;


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    u_char  master[28];
    size_t  i;

    for (i = 0; i < sizeof(master); i++) {
        master[i] = (u_char) (i * 7 + 1);
    }

    if (ngx_webrtc_gcm_init(&tx, master, master + 16, 1, 0) != 0
        || ngx_webrtc_gcm_init(&rx, master, master + 16, 1, 1) != 0)
    {
        abort();
    }

    return 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char   *p, *copy;
    size_t    room;
    ssize_t   n, m;

    room = NGX_WEBRTC_GCM_TAG_LEN + NGX_WEBRTC_SRTCP_TRAILER;

    /* exactly the packet's size: ASan sees any read or write past it */
    p = malloc(size ? size : 1);
    check(p != NULL);
    memcpy(p, data, size);
    check(ngx_webrtc_gcm_unprotect_rtcp(&rx, p, size, replay) == -1);
    free(p);

    if (size < 8 || size > 1500) {
        return 0;
    }

    p = malloc(size + room);
    copy = malloc(size + room);
    check(p != NULL && copy != NULL);
    memcpy(p, data, size);

    n = ngx_webrtc_gcm_protect_rtcp(&tx, p, size, index_next++);
    check(n == (ssize_t) (size + room));
    memcpy(copy, p, n);

    m = ngx_webrtc_gcm_unprotect_rtcp(&rx, p, n, replay);
    check(m == (ssize_t) size && memcmp(p, data, size) == 0);

    check(ngx_webrtc_gcm_unprotect_rtcp(&rx, copy, n, replay) == -1);

    free(p);
    free(copy);

    return 0;
}
