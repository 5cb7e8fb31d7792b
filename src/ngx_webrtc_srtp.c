
/*
 * Copyright (C) nginx WebRTC module authors
 */


#include "ngx_webrtc.h"


/*
 * libsrtp2 contexts from the DTLS exporter (RFC 5764 4.2): client key,
 * server key, client salt, server salt.  We are the DTLS server, so the
 * client's half protects what we receive.  With AES-GCM, outgoing RTP
 * goes through ngx_webrtc_gcm.c (OpenSSL) instead of libsrtp2.
 */


static ngx_int_t ngx_webrtc_srtp_policy(ngx_webrtc_session_t *s,
    srtp_t *srtp, ngx_uint_t profile, u_char *key, ngx_uint_t inbound);


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


ngx_int_t
ngx_webrtc_srtp_create(ngx_webrtc_session_t *s, ngx_uint_t profile,
    u_char *material)
{
    size_t  klen, slen;
    u_char  in[32], out[32];

    klen = 16;
    slen = (profile == SRTP_AEAD_AES_128_GCM) ? 12 : 14;

    ngx_memcpy(in, material, klen);
    ngx_memcpy(in + klen, material + 2 * klen, slen);

    ngx_memcpy(out, material + klen, klen);
    ngx_memcpy(out + klen, material + 2 * klen + slen, slen);

    if (ngx_webrtc_srtp_policy(s, &s->srtp_in, profile, in, 1) != NGX_OK
        || ngx_webrtc_srtp_policy(s, &s->srtp_out, profile, out, 0) != NGX_OK)
    {
        goto failed;
    }

    if (profile == SRTP_AEAD_AES_128_GCM
        && ngx_webrtc_gcm_init(&s->rtp_out, out, out + klen) != 0)
    {
        ngx_ssl_error(NGX_LOG_ERR, &s->log, 0,
                      "webrtc: AES-GCM context not created");
        goto failed;
    }

    ngx_explicit_memzero(in, sizeof(in));
    ngx_explicit_memzero(out, sizeof(out));

    return NGX_OK;

failed:

    ngx_explicit_memzero(in, sizeof(in));
    ngx_explicit_memzero(out, sizeof(out));

    return NGX_ERROR;
}


static ngx_int_t
ngx_webrtc_srtp_policy(ngx_webrtc_session_t *s, srtp_t *srtp,
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
        ngx_log_error(NGX_LOG_ERR, &s->log, 0,
                      "webrtc: srtp_create() failed: %d", (int) rc);
        return NGX_ERROR;
    }

    return NGX_OK;
}


void
ngx_webrtc_srtp_cleanup(ngx_webrtc_session_t *s)
{
    if (s->srtp_in) {
        srtp_dealloc(s->srtp_in);
        s->srtp_in = NULL;
    }

    if (s->srtp_out) {
        srtp_dealloc(s->srtp_out);
        s->srtp_out = NULL;
    }

    ngx_webrtc_gcm_free(&s->rtp_out);
}
