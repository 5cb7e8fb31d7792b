
/*
 * Copyright (C) nginx WebRTC module authors
 */


#ifndef _NGX_WEBRTC_PUSH_H_INCLUDED_
#define _NGX_WEBRTC_PUSH_H_INCLUDED_


#include "ngx_webrtc.h"
#include "ngx_webrtc_http_client.h"


/*
 * Cascading, the sending side: each stream published to a WHIP location
 * with webrtc_push is forwarded to another WHIP endpoint
 * (<url><stream>) as a WHIP client, by a viewer-like session of the
 * stream in the publisher's worker, for as long as that publisher stays.
 */


ngx_int_t ngx_webrtc_push_start(ngx_array_t *peers, ngx_str_t *stream,
    u_char *publisher_id);
void ngx_webrtc_push_init(void);
void ngx_webrtc_push_exit(void);


#endif /* _NGX_WEBRTC_PUSH_H_INCLUDED_ */
