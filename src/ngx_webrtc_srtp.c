
/*
 * Copyright (C) nginx WebRTC module authors
 */


#include "ngx_webrtc_srtp.h"

#include <openssl/err.h>


/*
 * SRTP contexts from the DTLS exporter (RFC 5764 4.2): client key, server
 * key, client salt, server salt.  We are the DTLS server, so the client's
 * half protects what we receive.
 *
 * A viewer that negotiated AES-GCM (browsers do) gets OpenSSL contexts
 * (ngx_webrtc_gcm.c) for everything it needs: outgoing SRTP and SRTCP,
 * incoming SRTCP.  Publishers, and viewers with AES-CM-HMAC-SHA1-80, get
 * libsrtp2 contexts.
 *
 * A peer sends from a few SSRCs (audio, video, retransmissions; a viewer
 * its receivers').  For every SSRC that authenticates, libsrtp2's
 * ssrc_any_inbound adds a stream, half a KiB searched linearly for every
 * packet: the SSRCs offered and the first ones learned are accepted, up
 * to NGX_WEBRTC_SRTP_SSRCS, and packets of others are dropped before
 * decryption.
 */


static ngx_int_t ngx_webrtc_srtp_policy(ngx_webrtc_srtp_t *sr,
    srtp_t *srtp, ngx_uint_t profile, u_char *key, ngx_uint_t inbound);
static ngx_int_t ngx_webrtc_srtp_ssrc(ngx_webrtc_srtp_t *sr, uint32_t ssrc);
static void ngx_webrtc_srtp_ssrc_drop(ngx_webrtc_srtp_t *sr, uint32_t ssrc);
static void ngx_webrtc_srtp_cleanup(void *data);


static ngx_uint_t  ngx_webrtc_srtp_initialized;


ngx_int_t
ngx_webrtc_srtp_init(ngx_log_t *log)
{
    srtp_err_status_t  rc;

    if (ngx_webrtc_srtp_initialized) {
        return NGX_OK;
    }

    rc = srtp_init();
    if (rc != srtp_err_status_ok) {
        ngx_log_error(NGX_LOG_EMERG, log, 0, "webrtc: srtp_init() failed: %d",
                      (int) rc);
        return NGX_ERROR;
    }

    ngx_webrtc_srtp_initialized = 1;

    return NGX_OK;
}


/* an SSRC the peer offered, or one of its authentic packets came from */

void
ngx_webrtc_srtp_ssrc_add(ngx_webrtc_srtp_t *sr, uint32_t ssrc)
{
    if (ngx_webrtc_srtp_ssrc(sr, ssrc) == NGX_DECLINED) {
        sr->ssrcs[sr->nssrcs++] = ssrc;
    }
}


/*
 * NGX_OK: accepted; NGX_DECLINED: new, and there is room to learn it;
 * NGX_BUSY: new, and no room
 */

static ngx_int_t
ngx_webrtc_srtp_ssrc(ngx_webrtc_srtp_t *sr, uint32_t ssrc)
{
    ngx_uint_t  i;

    for (i = 0; i < sr->nssrcs; i++) {
        if (sr->ssrcs[i] == ssrc) {
            return NGX_OK;
        }
    }

    return (sr->nssrcs < NGX_WEBRTC_SRTP_SSRCS) ? NGX_DECLINED : NGX_BUSY;
}


/*
 * gcm: a viewer that negotiated AES-GCM.  The contexts are freed with
 * the session's pool.
 */

ngx_int_t
ngx_webrtc_srtp_create(ngx_webrtc_srtp_t *sr, ngx_pool_t *pool,
    ngx_uint_t profile, u_char *material, ngx_uint_t gcm)
{
    size_t               klen, slen;
    ngx_pool_cleanup_t  *cln;
    u_char               in[32], out[32];

    cln = ngx_pool_cleanup_add(pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_webrtc_srtp_cleanup;
    cln->data = sr;

    klen = 16;
    slen = (profile == SRTP_AEAD_AES_128_GCM) ? 12 : 14;

    ngx_memcpy(in, material, klen);
    ngx_memcpy(in + klen, material + 2 * klen, slen);

    ngx_memcpy(out, material + klen, klen);
    ngx_memcpy(out + klen, material + 2 * klen + slen, slen);

    if (profile == SRTP_AEAD_AES_128_GCM && gcm) {
        if (ngx_webrtc_gcm_init(&sr->rtp_out, out, out + klen, 0, 0) != 0
            || ngx_webrtc_gcm_init(&sr->rtcp_out, out, out + klen, 1, 0) != 0
            || ngx_webrtc_gcm_init(&sr->rtcp_in, in, in + klen, 1, 1) != 0)
        {
            ngx_ssl_error(NGX_LOG_ERR, sr->log, 0,
                          "webrtc: AES-GCM contexts not created");
            goto failed;
        }

    } else if (ngx_webrtc_srtp_policy(sr, &sr->in, profile, in, 1)
               != NGX_OK
               || ngx_webrtc_srtp_policy(sr, &sr->out, profile, out, 0)
                  != NGX_OK)
    {
        goto failed;
    }

    sr->ready = 1;

    ngx_explicit_memzero(in, sizeof(in));
    ngx_explicit_memzero(out, sizeof(out));

    return NGX_OK;

failed:

    ngx_explicit_memzero(in, sizeof(in));
    ngx_explicit_memzero(out, sizeof(out));

    return NGX_ERROR;
}


static ngx_int_t
ngx_webrtc_srtp_policy(ngx_webrtc_srtp_t *sr, srtp_t *srtp,
    ngx_uint_t profile, u_char *key, ngx_uint_t inbound)
{
    srtp_policy_t      policy;
    srtp_err_status_t  rc;

    ngx_memzero(&policy, sizeof(srtp_policy_t));

    if (profile == SRTP_AEAD_AES_128_GCM) {
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp);
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp);

    } else {
        srtp_crypto_policy_set_rtp_default(&policy.rtp);
        srtp_crypto_policy_set_rtcp_default(&policy.rtcp);
    }

    policy.ssrc.type = inbound ? ssrc_any_inbound : ssrc_any_outbound;
    policy.key = key;
    policy.window_size = 1024;
    policy.allow_repeat_tx = inbound ? 0 : 1;
    policy.next = NULL;

    rc = srtp_create(srtp, &policy);
    if (rc != srtp_err_status_ok) {
        *srtp = NULL;
        ngx_log_error(NGX_LOG_ERR, sr->log, 0,
                      "webrtc: srtp_create() failed: %d", (int) rc);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * an outgoing RTP packet: the header (12 bytes, its sequence number the
 * low 16 bits of the SRTP index) is at pkt, the payload is put after it
 * protected; pkt has room for the tag.  libsrtp2 estimates the index
 * itself, from the sequence number.  Returns the length.
 */

ssize_t
ngx_webrtc_srtp_protect(ngx_webrtc_srtp_t *sr, uint64_t index, u_char *pkt,
    u_char *payload, size_t plen)
{
    int  n;

    if (sr->rtp_out.ctx) {
        return ngx_webrtc_gcm_protect(&sr->rtp_out, pkt, 12, payload, plen,
                                      (uint32_t) (index >> 16));
    }

    ngx_memcpy(pkt + 12, payload, plen);

    n = (int) (12 + plen);

    if (srtp_protect(sr->out, pkt, &n) != srtp_err_status_ok) {
        return -1;
    }

    return n;
}


/*
 * incoming SRTP in place: publishers only (a viewer sends no media); buf
 * has at least the 12 bytes of an RTP header
 */

ngx_int_t
ngx_webrtc_srtp_unprotect(ngx_webrtc_srtp_t *sr, u_char *buf, size_t *len)
{
    int                n;
    uint32_t           ssrc;
    ngx_int_t          known;
    srtp_err_status_t  rc;

    if (sr->in == NULL) {
        return NGX_DECLINED;
    }

    ssrc = ngx_webrtc_be32(buf + 8);

    known = ngx_webrtc_srtp_ssrc(sr, ssrc);
    if (known == NGX_BUSY) {
        ngx_webrtc_srtp_ssrc_drop(sr, ssrc);
        return NGX_ERROR;
    }

    n = (int) *len;

    rc = srtp_unprotect(sr->in, buf, &n);
    if (rc != srtp_err_status_ok) {
        ngx_log_debug1(NGX_LOG_DEBUG_EVENT, sr->log, 0,
                       "webrtc: SRTP unprotect failed: %d", (int) rc);
        return NGX_ERROR;
    }

    if (known == NGX_DECLINED) {
        sr->ssrcs[sr->nssrcs++] = ssrc;
    }

    *len = n;

    return NGX_OK;
}


/* incoming SRTCP in place; buf has at least 8 bytes */

ngx_int_t
ngx_webrtc_srtcp_unprotect(ngx_webrtc_srtp_t *sr, u_char *buf, size_t *len)
{
    int                n;
    ssize_t            rc;
    uint32_t           ssrc;
    ngx_int_t          known;
    srtp_err_status_t  err;

    ssrc = ngx_webrtc_be32(buf + 4);

    known = ngx_webrtc_srtp_ssrc(sr, ssrc);
    if (known == NGX_BUSY) {
        ngx_webrtc_srtp_ssrc_drop(sr, ssrc);
        return NGX_ERROR;
    }

    if (sr->rtcp_in.ctx) {
        rc = ngx_webrtc_gcm_unprotect_rtcp(&sr->rtcp_in, buf, *len,
                                           sr->rtcp_replay);
        if (rc < 0) {
            ngx_log_debug0(NGX_LOG_DEBUG_EVENT, sr->log, 0,
                           "webrtc: SRTCP unprotect failed");
            return NGX_ERROR;
        }

        *len = rc;

    } else {
        n = (int) *len;

        err = srtp_unprotect_rtcp(sr->in, buf, &n);
        if (err != srtp_err_status_ok) {
            ngx_log_debug1(NGX_LOG_DEBUG_EVENT, sr->log, 0,
                           "webrtc: SRTCP unprotect failed: %d", (int) err);
            return NGX_ERROR;
        }

        *len = n;
    }

    if (known == NGX_DECLINED) {
        sr->ssrcs[sr->nssrcs++] = ssrc;
    }

    return NGX_OK;
}


/* a packet of an SSRC beyond the limit: counted, and told once */

static void
ngx_webrtc_srtp_ssrc_drop(ngx_webrtc_srtp_t *sr, uint32_t ssrc)
{
    if (sr->ssrc_dropped++ == 0) {
        ngx_log_error(NGX_LOG_INFO, sr->log, 0,
                      "webrtc: peer sends from more than %d SSRCs, "
                      "dropping the packets of others",
                      NGX_WEBRTC_SRTP_SSRCS);
    }

    ngx_log_debug1(NGX_LOG_DEBUG_EVENT, sr->log, 0,
                   "webrtc: packet of SSRC %uD dropped", ssrc);
}


/*
 * outgoing SRTCP in place; buf must have NGX_WEBRTC_SRTCP_ROOM bytes of
 * room after *len
 */

ngx_int_t
ngx_webrtc_srtcp_protect(ngx_webrtc_srtp_t *sr, u_char *buf, size_t *len)
{
    int                n;
    ssize_t            rc;
    srtp_err_status_t  err;

    if (sr->rtcp_out.ctx) {
        rc = ngx_webrtc_gcm_protect_rtcp(&sr->rtcp_out, buf, *len,
                                         sr->rtcp_index++);
        if (rc < 0) {
            return NGX_ERROR;
        }

        *len = rc;
        return NGX_OK;
    }

    n = (int) *len;

    err = srtp_protect_rtcp(sr->out, buf, &n);
    if (err != srtp_err_status_ok) {
        ngx_log_debug1(NGX_LOG_DEBUG_EVENT, sr->log, 0,
                       "webrtc: SRTCP protect failed: %d", (int) err);
        return NGX_ERROR;
    }

    *len = n;

    return NGX_OK;
}


static void
ngx_webrtc_srtp_cleanup(void *data)
{
    ngx_webrtc_srtp_t  *sr = data;

    sr->ready = 0;

    if (sr->in) {
        srtp_dealloc(sr->in);
        sr->in = NULL;
    }

    if (sr->out) {
        srtp_dealloc(sr->out);
        sr->out = NULL;
    }

    ngx_webrtc_gcm_free(&sr->rtp_out);
    ngx_webrtc_gcm_free(&sr->rtcp_out);
    ngx_webrtc_gcm_free(&sr->rtcp_in);
}
