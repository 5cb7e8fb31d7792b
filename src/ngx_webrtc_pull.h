
/*
 * Copyright (C) nginx WebRTC module authors
 */


#ifndef _NGX_WEBRTC_PULL_H_INCLUDED_
#define _NGX_WEBRTC_PULL_H_INCLUDED_


#include "ngx_webrtc.h"
#include "ngx_webrtc_http_client.h"


/*
 * Cascading, the edge side: a stream the edge does not have is pulled
 * from an origin as a WHEP client, once per stream per edge (the stream
 * record in shared memory names the pulling worker), and the pulled
 * session is the stream's publisher on the edge.
 */


typedef struct {
    ngx_webrtc_http_peer_t      peer;         /* <url-prefix>, token */
    ngx_msec_t                  idle;         /* webrtc_pull_idle */
} ngx_webrtc_pull_conf_t;


/*
 * A viewer wants the stream: NGX_DONE it has a publisher, NGX_OK a pull
 * runs (ask again soon), NGX_DECLINED the pull fails (*status: the
 * origin's answer, 404 or 409, or 503: none), NGX_ERROR no memory.
 */
ngx_int_t ngx_webrtc_pull_want(ngx_webrtc_pull_conf_t *pc, ngx_str_t *name,
    ngx_uint_t *status);
void ngx_webrtc_pull_sweep(void);
void ngx_webrtc_pull_init(void);
void ngx_webrtc_pull_exit(void);


#endif /* _NGX_WEBRTC_PULL_H_INCLUDED_ */
