
/*
 * Copyright (C) nginx WebRTC module authors
 */


#ifndef _NGX_WEBRTC_UDP_H_INCLUDED_
#define _NGX_WEBRTC_UDP_H_INCLUDED_


#include "ngx_webrtc.h"


/*
 * The transport at the bottom: a worker's UDP socket.  It knows
 * datagrams and addresses, nothing above them; its owner installs the
 * handlers.  A second transport (TCP with RFC 4571 framing) offers the
 * same: a datagram handler with the peer's address, a send, a batch.
 */


#define NGX_WEBRTC_UDP_PKT_MAX    (12 + 1400 + 16 + 16)

#define NGX_WEBRTC_CTL_CLOSE      'C'
#define NGX_WEBRTC_CTL_WAKE       'W'
#define NGX_WEBRTC_CTL_KEYFRAME   'K'
#define NGX_WEBRTC_CTL_RESTART    'R'
#define NGX_WEBRTC_CTL_LAYER      'L'   /* a viewer's pin in its record */


typedef struct ngx_webrtc_udp_s  ngx_webrtc_udp_t;
typedef struct ngx_webrtc_batch_s  ngx_webrtc_batch_t;

/* one datagram from a peer */
typedef void (*ngx_webrtc_udp_recv_pt)(void *data, u_char *buf, size_t len,
    struct sockaddr *sa, socklen_t socklen);
/* a control datagram from a sibling worker, its key checked */
typedef void (*ngx_webrtc_udp_ctl_pt)(void *data, u_char type, u_char *id);
/* the end of a receive batch */
typedef void (*ngx_webrtc_udp_flush_pt)(void *data);
/* the worker is shutting down; NGX_DONE if the socket was closed */
typedef ngx_int_t (*ngx_webrtc_udp_close_pt)(void *data);


struct ngx_webrtc_udp_s {
    ngx_connection_t           *connection;
    in_port_t                   port;
    ngx_addr_t                 *listen;
    u_char                     *ctl_key;      /* NGX_WEBRTC_CTL_KEY_LEN */
    ngx_webrtc_batch_t         *batch;

    ngx_webrtc_udp_recv_pt      recv;
    ngx_webrtc_udp_ctl_pt       ctl;
    ngx_webrtc_udp_flush_pt     flush;
    ngx_webrtc_udp_close_pt     close;
    void                       *data;
};


ngx_int_t ngx_webrtc_udp_open(ngx_webrtc_udp_t *u, ngx_cycle_t *cycle,
    ngx_uint_t first, ngx_uint_t last);
void ngx_webrtc_udp_close(ngx_webrtc_udp_t *u);
ngx_int_t ngx_webrtc_udp_send(ngx_webrtc_udp_t *u, u_char *buf, size_t len,
    struct sockaddr *sa, socklen_t socklen, ngx_log_t *log);
ngx_int_t ngx_webrtc_udp_ctl_send(ngx_webrtc_udp_t *u, in_port_t port,
    u_char type, u_char *id);

u_char *ngx_webrtc_udp_batch_buf(ngx_webrtc_udp_t *u);
void ngx_webrtc_udp_batch_add(ngx_webrtc_udp_t *u, struct sockaddr *sa,
    socklen_t socklen, u_char *p, size_t len);
void ngx_webrtc_udp_batch_flush(ngx_webrtc_udp_t *u);


#endif /* _NGX_WEBRTC_UDP_H_INCLUDED_ */
