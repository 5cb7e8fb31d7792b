
/*
 * Copyright (C) nginx WebRTC module authors
 */


/*
 * libFuzzer target: parse a PATCH body (trickle-ice-sdpfrag), write the
 * server's restart fragment from it and parse that again.  A fragment
 * that parsed must give one that parses, with the server's credentials.
 */

#include <stdlib.h>

#include "ngx_webrtc_sdp.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t                   n;
    u_char                  *copy;
    ngx_webrtc_sdp_answer_t  ans;
    ngx_webrtc_sdp_frag_t    f, re;
    static u_char            buf[4096];

    copy = malloc(size ? size : 1);
    if (copy == NULL) {
        return 0;
    }

    memcpy(copy, data, size);

    if (ngx_webrtc_sdp_frag_parse(&f, copy, size) != NGX_WEBRTC_PARSE_OK) {
        if (f.error == NULL) {
            abort();
        }

        goto done;
    }

    if (f.ncandidates > NGX_WEBRTC_SDP_MAX_CANDIDATES
        || (f.ufrag.len && (f.ufrag.len < 4 || f.pwd.len < 22)))
    {
        abort();
    }

    memset(&ans, 0, sizeof(ans));
    ans.ufrag.data = (u_char *) "srvU";
    ans.ufrag.len = 4;
    ans.pwd.data = (u_char *) "serverpasswordserverpass";
    ans.pwd.len = 24;
    ans.candidate_addrs[0].data = (u_char *) "192.0.2.1";
    ans.candidate_addrs[0].len = 9;
    ans.ncandidate_addrs = 1;
    ans.port = 8189;

    n = ngx_webrtc_sdp_frag_answer(buf, sizeof(buf), &f, &ans);

    if (n == 0) {
        /* only a long echoed m= line or mid may not fit */
        if (f.media.len + f.mid.len < 3000) {
            abort();
        }

        goto done;
    }

    if (ngx_webrtc_sdp_frag_parse(&re, buf, n) != NGX_WEBRTC_PARSE_OK
        || re.ufrag.len != 4 || memcmp(re.ufrag.data, "srvU", 4) != 0
        || re.ncandidates != 1 || !re.end_of_candidates)
    {
        abort();
    }

done:

    free(copy);

    return 0;
}
