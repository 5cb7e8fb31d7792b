
/*
 * Copyright (C) nginx WebRTC module authors
 */


#ifndef _NGX_WEBRTC_HTTP_PARSE_H_INCLUDED_
#define _NGX_WEBRTC_HTTP_PARSE_H_INCLUDED_


#include "ngx_webrtc_parse.h"


/*
 * The head of an HTTP/1.x response, as the cascading client reads it
 * from an origin: network input, so parsed without nginx (unit tests and
 * a fuzz target call it alone).  Strings point into the input.
 */


#define NGX_WEBRTC_HTTP_AGAIN        1    /* the head is not complete */
#define NGX_WEBRTC_HTTP_HEAD_MAX     8192


typedef struct {
    unsigned                    status;
    ngx_webrtc_str_t            location;
    ngx_webrtc_str_t            etag;
    ngx_webrtc_str_t            content_type;
    size_t                      content_length;
    unsigned                    retry_after;  /* seconds, 0: absent */
    size_t                      head_len;     /* through the empty line */
    unsigned                    has_length:1;
    unsigned                    chunked:1;
    unsigned                    keepalive:1;
    const char                 *error;
} ngx_webrtc_http_response_t;


/*
 * NGX_WEBRTC_PARSE_OK when the head is complete (res->head_len bytes),
 * NGX_WEBRTC_HTTP_AGAIN when more is needed (and len is below
 * NGX_WEBRTC_HTTP_HEAD_MAX), NGX_WEBRTC_PARSE_ERROR with res->error.
 */
int ngx_webrtc_http_parse_response(ngx_webrtc_http_response_t *res,
    u_char *buf, size_t len);


#endif /* _NGX_WEBRTC_HTTP_PARSE_H_INCLUDED_ */
