
/*
 * Copyright (C) nginx WebRTC module authors
 */


#ifndef _NGX_WEBRTC_ICE_H_INCLUDED_
#define _NGX_WEBRTC_ICE_H_INCLUDED_


#include "ngx_webrtc.h"


/*
 * ICE-lite (RFC 8445 2.5) and consent freshness (RFC 7675) of one
 * session.  The session owns the state and the consent timer; this layer
 * checks and answers connectivity checks and says what they mean.
 */


#define NGX_WEBRTC_ICE_REPLY_MAX     512
#define NGX_WEBRTC_ALERT_GRACE       4000   /* ms, see ngx_webrtc_ice_alert() */
#define NGX_WEBRTC_ICE_TIDS          8      /* checks remembered */


/* a check seen: its transaction id and the crc32 of its source */
typedef struct {
    u_char                      tid[12];
    uint32_t                    addr;
} ngx_webrtc_ice_tid_t;


typedef struct {
    u_char                      local_ufrag[NGX_WEBRTC_UFRAG_LEN];
    u_char                      local_pwd[NGX_WEBRTC_PWD_LEN];
    ngx_str_t                   remote_ufrag;
    u_char                     *remote_buf;   /* UFRAG_MAX, on restart */
    ngx_event_t                 consent_timer;
    ngx_msec_t                  last_consent;
    ngx_msec_t                  alert_time;   /* unauthenticated alert */
    ngx_webrtc_ice_tid_t        tids[NGX_WEBRTC_ICE_TIDS];
    ngx_uint_t                  ntids;
    ngx_uint_t                  restarts;
    unsigned                    alert:1;
    unsigned                    restarted:1;  /* no nomination since */
} ngx_webrtc_ice_t;


/* the ICE state of a local ufrag, or NULL */
typedef ngx_webrtc_ice_t *(*ngx_webrtc_ice_lookup_pt)(u_char *ufrag,
    size_t len);


typedef struct {
    ngx_webrtc_ice_t           *ice;          /* the check's session */
    u_char                     *reply;
    size_t                      reply_len;
    unsigned                    use_candidate:1;
    unsigned                    role_conflict:1;
    unsigned                    retransmit:1; /* seen from this source */
} ngx_webrtc_ice_check_t;


ngx_int_t ngx_webrtc_ice_init(ngx_log_t *log);
void ngx_webrtc_ice_create(ngx_webrtc_ice_t *ice, u_char *rnd);
void ngx_webrtc_ice_credentials(u_char *ufrag, u_char *pwd, u_char *rnd);
void ngx_webrtc_ice_restart(ngx_webrtc_ice_t *ice, u_char *ufrag,
    u_char *pwd, u_char *remote, size_t remote_len);
ngx_int_t ngx_webrtc_ice_input(u_char *buf, size_t len, struct sockaddr *sa,
    socklen_t socklen, ngx_webrtc_ice_lookup_pt lookup,
    ngx_webrtc_ice_check_t *chk);
void ngx_webrtc_ice_consent(ngx_webrtc_ice_t *ice);
ngx_int_t ngx_webrtc_ice_alert(ngx_webrtc_ice_t *ice);
ngx_int_t ngx_webrtc_ice_consent_check(ngx_webrtc_ice_t *ice,
    ngx_msec_t timeout, ngx_msec_t last_rx, const char **reason);


#endif /* _NGX_WEBRTC_ICE_H_INCLUDED_ */
