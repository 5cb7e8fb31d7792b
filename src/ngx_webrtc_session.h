
/*
 * Copyright (C) nginx WebRTC module authors
 */


#ifndef _NGX_WEBRTC_SESSION_H_INCLUDED_
#define _NGX_WEBRTC_SESSION_H_INCLUDED_


#include "ngx_webrtc.h"
#include "ngx_webrtc_ice.h"
#include "ngx_webrtc_ice_client.h"
#include "ngx_webrtc_dtls.h"
#include "ngx_webrtc_srtp.h"
#include "ngx_webrtc_data.h"
#include "ngx_webrtc_registry.h"
#include "ngx_webrtc_stream.h"
#include "ngx_webrtc_tcp.h"
#include "ngx_webrtc_notify.h"


/*
 * A session: one peer connection in the worker that answered its offer.
 * It orchestrates its layers (ICE, DTLS, SRTP, SCTP), which return what
 * happened; its role (publisher, viewer) plugs in through a handler.
 */


/* a connected session moves to a new address only after this silence */
#define NGX_WEBRTC_PATH_IDLE         2000


typedef struct ngx_webrtc_session_s  ngx_webrtc_session_t;


typedef struct {
    /* DTLS is up and the SRTP keys are set; NULL: nothing to do */
    void                      (*connected)(ngx_webrtc_session_t *s);
    /* an RTP or RTCP packet, unprotected */
    void                      (*rtp)(ngx_webrtc_session_t *s, u_char *buf,
                                     size_t len);
    void                      (*rtcp)(ngx_webrtc_session_t *s, u_char *buf,
                                      size_t len);
    /* every webrtc_rtcp_interval once connected: receiver/sender reports */
    void                      (*report)(ngx_webrtc_session_t *s);
    /* the session ends: the role lets go of its stream */
    void                      (*close)(ngx_webrtc_session_t *s);
} ngx_webrtc_role_t;


struct ngx_webrtc_session_s {
    ngx_pool_t                 *pool;
    ngx_log_t                   log;
    ngx_queue_t                 queue;
    ngx_rbtree_node_t           ufrag_node;
    ngx_rbtree_node_t           addr_node;

    u_char                      id[NGX_WEBRTC_ID_LEN];
    ngx_str_t                   stream;
    ngx_str_t                   record;       /* publisher: a directory */
    ngx_webrtc_http_peer_t     *notify;       /* webrtc_notify, or NULL */
    ngx_uint_t                  role;
    ngx_uint_t                  state;
    ngx_msec_t                  created;
    ngx_msec_t                  path_rx;      /* authenticated, from peer */

    struct sockaddr_storage     peer;
    socklen_t                   peer_len;
    ngx_webrtc_tcp_conn_t      *tcp;          /* the path; NULL: UDP */

    ngx_webrtc_ice_t            ice;
    ngx_webrtc_ice_client_t    *icc;          /* cascading: we check */
    ngx_webrtc_dtls_t           dtls;
    ngx_webrtc_srtp_t           srtp;
    ngx_webrtc_data_t           data;         /* data.sctp.port 0: none */

    uint32_t                    local_ssrc;
    unsigned                    rid_ext;      /* header extension ids */
    unsigned                    rrid_ext;     /* (simulcast), 0: none */
    ngx_msec_t                  layers_since; /* the first layer's size */
    ngx_uint_t                  ntracks;
    ngx_webrtc_track_t          tracks[NGX_WEBRTC_MAX_TRACKS];
    ngx_event_t                 rtcp_timer;   /* the role's */

    ngx_webrtc_shm_session_t   *shm;
    ngx_webrtc_stream_t        *st;

    const ngx_webrtc_role_t    *handler;
    void                       *ctx;          /* the role's */

    unsigned                    has_peer:1;
    unsigned                    tcp_owned:1;  /* ICE-TCP connections */
    unsigned                    in_addr_tree:1;
    unsigned                    close_viewers:1;  /* publisher: on leave */
    unsigned                    closing:1;
};


void ngx_webrtc_session_init(void);
void ngx_webrtc_session_close_all(void);
ngx_webrtc_session_t *ngx_webrtc_session_create(ngx_str_t *stream,
    ngx_uint_t role);
ngx_int_t ngx_webrtc_session_activate(ngx_webrtc_session_t *s);
ngx_int_t ngx_webrtc_session_connect(ngx_webrtc_session_t *s,
    struct sockaddr *sa, socklen_t socklen, ngx_str_t *remote_ufrag,
    ngx_str_t *remote_pwd);
void ngx_webrtc_session_close(ngx_webrtc_session_t *s, const char *reason);
void ngx_webrtc_session_end(ngx_pid_t pid, in_port_t port, u_char *id);
ngx_int_t ngx_webrtc_session_restart(ngx_webrtc_shm_restart_t *rs,
    u_char *ufrag, u_char *pwd);
void ngx_webrtc_session_ice_restart(ngx_webrtc_session_t *s);
ngx_webrtc_session_t *ngx_webrtc_session_find(u_char *id);
ngx_webrtc_session_t *ngx_webrtc_session_by_addr(struct sockaddr *sa,
    socklen_t socklen);
ngx_uint_t ngx_webrtc_session_count(void);

void ngx_webrtc_session_stun(u_char *buf, size_t len, struct sockaddr *sa,
    socklen_t socklen, ngx_webrtc_tcp_conn_t *tc);
void ngx_webrtc_session_tcp_closed(ngx_webrtc_session_t *s,
    ngx_webrtc_tcp_conn_t *tc);
void ngx_webrtc_session_dtls(ngx_webrtc_session_t *s, u_char *buf,
    size_t len);
void ngx_webrtc_session_srtp(ngx_webrtc_session_t *s, u_char *buf,
    size_t len);

ngx_int_t ngx_webrtc_session_send(ngx_webrtc_session_t *s, u_char *buf,
    size_t len);
ngx_int_t ngx_webrtc_session_send_rtcp(ngx_webrtc_session_t *s, u_char *buf,
    size_t len);
void ngx_webrtc_session_release_dtls(ngx_webrtc_session_t *s);


#endif /* _NGX_WEBRTC_SESSION_H_INCLUDED_ */
