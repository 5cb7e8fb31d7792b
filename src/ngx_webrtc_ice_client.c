
/*
 * Copyright (C) nginx WebRTC module authors
 */


#include "ngx_webrtc_ice_client.h"
#include "ngx_webrtc_stun.h"


/*
 * One transaction at a time: a check is retransmitted with the same
 * transaction id every NGX_WEBRTC_ICE_RTO until answered (at most 7
 * times, then a new one, so that a lost answer does not stall), and
 * once answered a new check every NGX_WEBRTC_ICE_KEEPALIVE keeps the
 * peer's consent.  The STUN agent keeps the password of an outstanding
 * transaction: it is forgotten before the session's pool goes.
 */


/* host candidate type preference 126, the highest local preference */
#define NGX_WEBRTC_ICE_PRIORITY  ((126u << 24) + (65535u << 8) + 255)


ngx_int_t
ngx_webrtc_ice_client_create(ngx_webrtc_ice_client_t *icc, ngx_pool_t *pool,
    ngx_str_t *remote_ufrag, ngx_str_t *remote_pwd, u_char *local_ufrag)
{
    u_char  *p;

    ngx_memzero(icc, sizeof(ngx_webrtc_ice_client_t));

    icc->username.len = remote_ufrag->len + 1 + NGX_WEBRTC_UFRAG_LEN;
    icc->username.data = ngx_pnalloc(pool, icc->username.len);

    icc->pwd.data = ngx_pstrdup(pool, remote_pwd);
    icc->pwd.len = remote_pwd->len;

    if (icc->username.data == NULL || icc->pwd.data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(icc->username.data, remote_ufrag->data, remote_ufrag->len);
    *p++ = ':';
    ngx_memcpy(p, local_ufrag, NGX_WEBRTC_UFRAG_LEN);

    return NGX_OK;
}


/* the check to send now, and when to ask again */

ngx_int_t
ngx_webrtc_ice_client_check(ngx_webrtc_ice_client_t *icc, u_char **buf,
    size_t *len, ngx_msec_t *next)
{
    if (icc->pending && icc->tries < 7) {
        /* a retransmission: the same transaction */
        icc->tries++;

        *buf = icc->check;
        *len = icc->check_len;
        *next = NGX_WEBRTC_ICE_RTO << ngx_min(icc->tries, 4);

        if (icc->answered) {
            *next = ngx_min(*next, NGX_WEBRTC_ICE_KEEPALIVE / 4);
        }

        return NGX_OK;
    }

    ngx_webrtc_ice_client_close(icc);

    icc->check_len = ngx_webrtc_stun_check_create(icc->check,
                                                  sizeof(icc->check),
                                                  icc->username.data,
                                                  icc->username.len,
                                                  icc->pwd.data,
                                                  icc->pwd.len,
                                                  NGX_WEBRTC_ICE_PRIORITY, 1,
                                                  icc->tid);
    if (icc->check_len == 0) {
        return NGX_ERROR;
    }

    icc->pending = 1;
    icc->tries = 0;
    icc->sent = ngx_current_msec;

    *buf = icc->check;
    *len = icc->check_len;
    *next = NGX_WEBRTC_ICE_RTO;

    return NGX_OK;
}


/* NGX_OK: the answer to our check, authenticated */

ngx_int_t
ngx_webrtc_ice_client_response(ngx_webrtc_ice_client_t *icc, u_char *buf,
    size_t len)
{
    u_char  tid[NGX_WEBRTC_STUN_TID_LEN];

    if (!icc->pending) {
        return NGX_DECLINED;
    }

    if (ngx_webrtc_stun_check_response(buf, len, tid) != NGX_WEBRTC_PARSE_OK
        || ngx_memcmp(tid, icc->tid, NGX_WEBRTC_STUN_TID_LEN) != 0)
    {
        return NGX_DECLINED;
    }

    icc->pending = 0;
    icc->answered = 1;

    return NGX_OK;
}


void
ngx_webrtc_ice_client_close(ngx_webrtc_ice_client_t *icc)
{
    if (icc->pending) {
        ngx_webrtc_stun_check_forget(icc->tid);
        icc->pending = 0;
    }
}
