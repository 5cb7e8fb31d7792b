
/*
 * Copyright (C) nginx WebRTC module authors
 */


#ifndef _NGX_WEBRTC_PUBLISHER_H_INCLUDED_
#define _NGX_WEBRTC_PUBLISHER_H_INCLUDED_


#include "ngx_webrtc_session.h"


ngx_int_t ngx_webrtc_publisher_start(ngx_webrtc_session_t *s);
void ngx_webrtc_publisher_request_keyframes(ngx_webrtc_session_t *s);


#endif /* _NGX_WEBRTC_PUBLISHER_H_INCLUDED_ */
