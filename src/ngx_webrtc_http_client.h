
/*
 * Copyright (C) nginx WebRTC module authors
 */


#ifndef _NGX_WEBRTC_HTTP_CLIENT_H_INCLUDED_
#define _NGX_WEBRTC_HTTP_CLIENT_H_INCLUDED_


#include "ngx_webrtc.h"
#include "ngx_webrtc_http_parse.h"

#include <ngx_event_connect.h>


/*
 * A small non-blocking HTTP/1.1 client for cascading and notifications:
 * one request on its own connection (Connection: close) to an address
 * resolved at configuration time, http:// only.  TLS, upstream groups,
 * keepalive or other authentication go through a local proxy location.
 * The handler is called once, from an event, and the request is freed
 * after it returns.
 */


#define NGX_WEBRTC_HTTP_BODY_MAX     32768


typedef struct ngx_webrtc_http_req_s  ngx_webrtc_http_req_t;

typedef void (*ngx_webrtc_http_handler_pt)(ngx_webrtc_http_req_t *hr);


/* where requests go: from webrtc_pull or webrtc_push */
typedef struct {
    ngx_addr_t                 *addr;
    ngx_str_t                   host;         /* the Host header */
    ngx_str_t                   uri;          /* the path (prefix) */
    ngx_str_t                   token;        /* Bearer, empty: none */
    ngx_msec_t                  timeout;
} ngx_webrtc_http_peer_t;


struct ngx_webrtc_http_req_s {
    ngx_pool_t                 *pool;
    ngx_log_t                  *log;
    ngx_peer_connection_t       peer;
    ngx_event_t                 timer;        /* the whole request */
    ngx_event_t                 done;         /* posted on early failure */
    ngx_buf_t                  *out;
    ngx_buf_t                  *in;

    ngx_webrtc_http_response_t  res;          /* status 0: no response */
    ngx_str_t                   body;
    const char                 *error;        /* no response: why */

    ngx_webrtc_http_handler_pt  handler;
    void                       *data;

    unsigned                    head:1;       /* res is parsed */
};


/* body NULL: none; else of the content type given */
ngx_webrtc_http_req_t *ngx_webrtc_http_request(ngx_webrtc_http_peer_t *peer,
    const char *method, ngx_str_t *uri, const char *type, ngx_str_t *body,
    ngx_webrtc_http_handler_pt handler, void *data, ngx_log_t *log);
void ngx_webrtc_http_abort(ngx_webrtc_http_req_t *hr);
char *ngx_webrtc_http_peer_parse(ngx_conf_t *cf, ngx_str_t *url,
    ngx_webrtc_http_peer_t *peer);


#endif /* _NGX_WEBRTC_HTTP_CLIENT_H_INCLUDED_ */
