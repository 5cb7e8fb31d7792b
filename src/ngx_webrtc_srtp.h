
/*
 * Copyright (C) nginx WebRTC module authors
 */


#ifndef _NGX_WEBRTC_SRTP_H_INCLUDED_
#define _NGX_WEBRTC_SRTP_H_INCLUDED_


#include "ngx_webrtc.h"
#include "ngx_webrtc_gcm.h"

#include <srtp2/srtp.h>


/*
 * SSRCs a peer may send from: libsrtp2 keeps a stream for each (searched
 * linearly for every packet), and each has its own SRTCP replay window
 */
#define NGX_WEBRTC_SRTP_SSRCS  NGX_WEBRTC_SRTCP_REPLAY


/* the SRTP contexts of one session, both ways */
typedef struct {
    srtp_t                      in;
    srtp_t                      out;

    /* the peer's SSRCs: offered, or learned from authentic packets */
    uint32_t                    ssrcs[NGX_WEBRTC_SRTP_SSRCS];
    ngx_uint_t                  nssrcs;
    uint64_t                    ssrc_dropped; /* packets of other SSRCs */

    /* a viewer with AES-GCM: OpenSSL instead of libsrtp2 */
    ngx_webrtc_gcm_t            rtp_out;
    ngx_webrtc_gcm_t            rtcp_out;
    ngx_webrtc_gcm_t            rtcp_in;
    ngx_webrtc_replay_t         rtcp_replay[NGX_WEBRTC_SRTCP_REPLAY];
    uint32_t                    rtcp_index;

    ngx_log_t                  *log;
    unsigned                    ready:1;
} ngx_webrtc_srtp_t;


ngx_int_t ngx_webrtc_srtp_init(ngx_log_t *log);
void ngx_webrtc_srtp_ssrc_add(ngx_webrtc_srtp_t *sr, uint32_t ssrc);
ngx_int_t ngx_webrtc_srtp_create(ngx_webrtc_srtp_t *sr, ngx_pool_t *pool,
    ngx_uint_t profile, u_char *material, ngx_uint_t gcm);
ssize_t ngx_webrtc_srtp_protect(ngx_webrtc_srtp_t *sr, uint64_t index,
    u_char *pkt, u_char *payload, size_t plen);
ngx_int_t ngx_webrtc_srtp_unprotect(ngx_webrtc_srtp_t *sr, u_char *buf,
    size_t *len);
ngx_int_t ngx_webrtc_srtcp_unprotect(ngx_webrtc_srtp_t *sr, u_char *buf,
    size_t *len);
ngx_int_t ngx_webrtc_srtcp_protect(ngx_webrtc_srtp_t *sr, u_char *buf,
    size_t *len);


#endif /* _NGX_WEBRTC_SRTP_H_INCLUDED_ */
