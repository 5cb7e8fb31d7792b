
/*
 * Copyright (C) nginx WebRTC module authors
 */


#ifndef _NGX_WEBRTC_ICE_CLIENT_H_INCLUDED_
#define _NGX_WEBRTC_ICE_CLIENT_H_INCLUDED_


#include "ngx_webrtc.h"
#include "ngx_webrtc_stun.h"


/*
 * The controlling ICE agent of a session the server opened itself (a
 * cascading pull or push): against an ICE-lite peer it has one pair, so
 * it nominates at once (USE-CANDIDATE on every check), retransmits the
 * check until answered and then keeps sending checks as consent
 * (RFC 7675).  Its owner runs the timer and sends what it is given.
 */


#define NGX_WEBRTC_ICE_CHECK_MAX     256
#define NGX_WEBRTC_ICE_RTO           100    /* ms, until answered */
#define NGX_WEBRTC_ICE_KEEPALIVE     2000   /* ms, once answered */


typedef struct {
    ngx_event_t                 timer;        /* handler: the owner's */
    ngx_str_t                   username;     /* "remote:local" */
    ngx_str_t                   pwd;          /* the remote's */
    u_char                      tid[NGX_WEBRTC_STUN_TID_LEN];
    u_char                      check[NGX_WEBRTC_ICE_CHECK_MAX];
    size_t                      check_len;
    ngx_msec_t                  sent;
    ngx_uint_t                  tries;        /* of this transaction */
    unsigned                    pending:1;    /* tid outstanding */
    unsigned                    answered:1;   /* ever */
} ngx_webrtc_ice_client_t;


ngx_int_t ngx_webrtc_ice_client_create(ngx_webrtc_ice_client_t *icc,
    ngx_pool_t *pool, ngx_str_t *remote_ufrag, ngx_str_t *remote_pwd,
    u_char *local_ufrag);
ngx_int_t ngx_webrtc_ice_client_check(ngx_webrtc_ice_client_t *icc,
    u_char **buf, size_t *len, ngx_msec_t *next);
ngx_int_t ngx_webrtc_ice_client_response(ngx_webrtc_ice_client_t *icc,
    u_char *buf, size_t len);
void ngx_webrtc_ice_client_close(ngx_webrtc_ice_client_t *icc);


#endif /* _NGX_WEBRTC_ICE_CLIENT_H_INCLUDED_ */
