
/*
 * Copyright (C) nginx WebRTC module authors
 */


#ifndef _NGX_WEBRTC_SCTP_H_INCLUDED_
#define _NGX_WEBRTC_SCTP_H_INCLUDED_


#include "ngx_webrtc.h"
#include "ngx_webrtc_registry.h"


/*
 * Data channels of one session: SCTP (usrsctp, AF_CONN) over the
 * session's DTLS, and DCEP (RFC 8832).  Packets leave through the output
 * handler and messages arrive through the message handler, both
 * installed by the owner.
 */


typedef struct ngx_webrtc_channel_s  ngx_webrtc_channel_t;

typedef ngx_int_t (*ngx_webrtc_sctp_output_pt)(void *data, u_char *buf,
    size_t len);
typedef void (*ngx_webrtc_sctp_message_pt)(void *data, ngx_str_t *label,
    ngx_uint_t binary, u_char *buf, size_t len);


typedef struct {
    struct socket              *sock;
    ngx_uint_t                  port;         /* the peer's; 0: none */
    ngx_webrtc_channel_t       *channels;
    uint16_t                    next_sid;
    u_char                     *reasm;
    size_t                      reasm_len;
    size_t                      max_message;  /* the peer's, and ours */

    ngx_pool_t                 *pool;
    ngx_log_t                  *log;
    ngx_webrtc_shm_session_t   *stats;

    ngx_webrtc_sctp_output_pt   output;
    void                       *output_data;
    ngx_webrtc_sctp_message_pt  message;
    void                       *data;

    unsigned                    closing:1;
    unsigned                    client:1;     /* DTLS client: even ids */
} ngx_webrtc_sctp_t;


void ngx_webrtc_sctp_init(ngx_log_t *log);
ngx_int_t ngx_webrtc_sctp_start(ngx_webrtc_sctp_t *sctp, size_t sndbuf);
void ngx_webrtc_sctp_input(ngx_webrtc_sctp_t *sctp, u_char *buf, size_t len);
void ngx_webrtc_sctp_close(ngx_webrtc_sctp_t *sctp);
ngx_int_t ngx_webrtc_sctp_send(ngx_webrtc_sctp_t *sctp, ngx_str_t *label,
    ngx_uint_t binary, u_char *data, size_t len);


#endif /* _NGX_WEBRTC_SCTP_H_INCLUDED_ */
