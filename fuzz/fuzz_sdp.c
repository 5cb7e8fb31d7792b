
/*
 * Copyright (C) nginx WebRTC module authors
 */


/*
 * libFuzzer target: parse an offer, select, write an answer and parse the
 * answer again.  An answer to an accepted offer that does not parse is a
 * bug in the writer, so it aborts.  The input is also read as an origin's
 * answer to a cascading pull (ngx_webrtc_sdp_answer_read()), whose
 * results must point into it.
 */

#include <stdlib.h>

#include "ngx_webrtc_sdp.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t                       n;
    u_char                      *copy;
    ngx_webrtc_sdp_prefs_t       prefs;
    ngx_webrtc_sdp_answer_t      ans;
    ngx_webrtc_sdp_remote_t      remote;
    ngx_webrtc_sdp_selection_t   sel;
    static ngx_webrtc_sdp_t      sdp, re;
    static u_char                buf[16384];

    /* an exact-size heap copy so that ASan sees any read past the end */

    copy = malloc(size ? size : 1);
    if (copy == NULL) {
        return 0;
    }

    memcpy(copy, data, size);

    if (ngx_webrtc_sdp_parse(&sdp, copy, size) != NGX_WEBRTC_PARSE_OK) {
        if (sdp.error == NULL) {
            abort();
        }

        goto done;
    }

    if (ngx_webrtc_sdp_answer_read(&sdp, &remote) == NGX_WEBRTC_PARSE_OK) {
        if ((remote.audio < 0 && remote.video < 0)
            || remote.cand_port == 0 || remote.cand_port > 65535
            || remote.cand_addr.data < copy
            || remote.cand_addr.data + remote.cand_addr.len > copy + size
            || (remote.codec[0] == NULL && remote.codec[1] == NULL))
        {
            abort();
        }

    } else if (remote.error == NULL) {
        abort();
    }

    memset(&prefs, 0, sizeof(prefs));
    prefs.video_codecs[0] = NGX_WEBRTC_CODEC_H264;
    prefs.video_codecs[1] = NGX_WEBRTC_CODEC_VP8;
    prefs.video_codecs[2] = NGX_WEBRTC_CODEC_VP9;
    prefs.video_codecs[3] = NGX_WEBRTC_CODEC_AV1;
    prefs.video_codecs[4] = NGX_WEBRTC_CODEC_H265;
    prefs.nvideo_codecs = 5;
    prefs.audio_codecs[0] = NGX_WEBRTC_CODEC_OPUS;
    prefs.naudio_codecs = 1;
    prefs.ingest = (size & 1) == 0;

    if (ngx_webrtc_sdp_select(&sdp, &prefs, &sel) != NGX_WEBRTC_PARSE_OK) {
        if (sel.error == NULL) {
            abort();
        }

        goto done;
    }

    memset(&ans, 0, sizeof(ans));
    ans.ufrag.data = (u_char *) "srvU";
    ans.ufrag.len = 4;
    ans.pwd.data = (u_char *) "serverpasswordserverpass";
    ans.pwd.len = 24;
    ans.fingerprint.data = (u_char *) "sha-256 AA:BB:CC";
    ans.fingerprint.len = 16;
    ans.candidate_addrs[0].data = (u_char *) "192.0.2.1";
    ans.candidate_addrs[0].len = 9;
    ans.candidate_addrs[1].data = (u_char *) "2001:db8::1";
    ans.candidate_addrs[1].len = 11;
    ans.ncandidate_addrs = 2;
    ans.port = 8189;
    ans.session_version = size;
    ans.direction = prefs.ingest ? NGX_WEBRTC_DIR_RECVONLY
                                 : NGX_WEBRTC_DIR_SENDONLY;
    ans.ssrc_audio = 1;
    ans.ssrc_video = 2;
    ans.max_message = 65536;

    n = ngx_webrtc_sdp_answer(buf, sizeof(buf), &sdp, &sel, &ans);

    if (n == 0) {
        /* only a huge offer (long echoed strings) may not fit */
        if (size < 2048) {
            abort();
        }

        goto done;
    }

    if (ngx_webrtc_sdp_parse(&re, buf, n) != NGX_WEBRTC_PARSE_OK
        || re.nmedia != sdp.nmedia || !re.ice_lite)
    {
        abort();
    }

done:

    free(copy);

    return 0;
}
