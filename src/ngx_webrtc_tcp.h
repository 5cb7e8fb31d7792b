
/*
 * Copyright (C) nginx WebRTC module authors
 */


#ifndef _NGX_WEBRTC_TCP_H_INCLUDED_
#define _NGX_WEBRTC_TCP_H_INCLUDED_


#include "ngx_webrtc.h"
#include "ngx_webrtc_tcp_frame.h"


/*
 * The second transport at the bottom, beside UDP: ICE-TCP (RFC 6544),
 * passive only.  A worker listens on the TCP port of the same number as
 * its UDP port; each accepted connection carries RFC 4571 frames, read
 * into packets and handed to the owner's handler with the connection,
 * and written from a bounded buffer when the socket is writable.  It
 * knows connections and packets, nothing above them: the owner (the
 * worker) installs the handlers and says which session a connection
 * belongs to.
 */


/*
 * What a connection may queue to its peer: 512 KiB is 1.5-2 s of a
 * 2-3 Mbit/s stream, enough to ride out a TCP retransmission timeout
 * without a loss, small enough that a viewer that far behind is better
 * served by a fresh keyframe than by old media, and that a thousand TCP
 * viewers cost at most 512 MiB.  It is allocated on the first send
 * (connections that never authenticate send nothing).
 */
#define NGX_WEBRTC_TCP_OUT         (512 * 1024)

/* connections that no session owns yet, per worker */
#define NGX_WEBRTC_TCP_PENDING_MAX 128


typedef struct ngx_webrtc_tcp_s  ngx_webrtc_tcp_t;
typedef struct ngx_webrtc_tcp_conn_s  ngx_webrtc_tcp_conn_t;

/* one packet from a connection */
typedef void (*ngx_webrtc_tcp_recv_pt)(void *data, ngx_webrtc_tcp_conn_t *tc,
    u_char *buf, size_t len);
/* a connection with an owner ended (peer, error); it is freed after */
typedef void (*ngx_webrtc_tcp_closed_pt)(void *data,
    ngx_webrtc_tcp_conn_t *tc, void *owner);
/* the end of a read */
typedef void (*ngx_webrtc_tcp_flush_pt)(void *data);


struct ngx_webrtc_tcp_s {
    ngx_connection_t           *connection;   /* the listening socket */
    in_port_t                   port;
    ngx_msec_t                  timeout;      /* to authenticate in */
    ngx_queue_t                 conns;
    ngx_uint_t                  npending;
    time_t                      refused_log;
    ngx_log_t                  *log;

    ngx_webrtc_tcp_recv_pt      recv;
    ngx_webrtc_tcp_closed_pt    closed;
    ngx_webrtc_tcp_flush_pt     flush;
    void                       *data;
};


struct ngx_webrtc_tcp_conn_s {
    ngx_queue_t                 queue;
    ngx_connection_t           *connection;
    ngx_webrtc_tcp_t           *tcp;
    void                       *owner;        /* NULL: not authenticated */
    ngx_sockaddr_t              sockaddr;
    socklen_t                   socklen;
    u_char                      addr[NGX_SOCKADDR_STRLEN];

    u_char                     *out;          /* NGX_WEBRTC_TCP_OUT */
    size_t                      pos;          /* sent up to */
    size_t                      last;         /* queued up to */
    size_t                      next;         /* the first frame not begun */

    unsigned                    busy:1;       /* in its read handler */
    unsigned                    close:1;      /* free when not busy */

    ngx_webrtc_tcp_frame_t      in;
};


ngx_int_t ngx_webrtc_tcp_open(ngx_webrtc_tcp_t *t, ngx_cycle_t *cycle,
    ngx_addr_t *addr, in_port_t port);
void ngx_webrtc_tcp_shutdown(ngx_webrtc_tcp_t *t);

void ngx_webrtc_tcp_set_owner(ngx_webrtc_tcp_conn_t *tc, void *owner);
void ngx_webrtc_tcp_close(ngx_webrtc_tcp_conn_t *tc);
void ngx_webrtc_tcp_close_owned(ngx_webrtc_tcp_t *t, void *owner);

/*
 * Sending: buf() gives room for a packet of up to size bytes in the
 * connection's buffer, or NULL when it is full; commit() queues the
 * len bytes written there as one frame.  send() does both with a copy
 * (handshakes, RTCP): NGX_AGAIN when full, the packet is dropped.
 */
u_char *ngx_webrtc_tcp_buf(ngx_webrtc_tcp_conn_t *tc, size_t size);
void ngx_webrtc_tcp_commit(ngx_webrtc_tcp_conn_t *tc, size_t len);
ngx_int_t ngx_webrtc_tcp_send(ngx_webrtc_tcp_conn_t *tc, u_char *buf,
    size_t len);
size_t ngx_webrtc_tcp_room(ngx_webrtc_tcp_conn_t *tc);
/* drops the queued frames not begun, returns how many */
ngx_uint_t ngx_webrtc_tcp_discard(ngx_webrtc_tcp_conn_t *tc);


#endif /* _NGX_WEBRTC_TCP_H_INCLUDED_ */
