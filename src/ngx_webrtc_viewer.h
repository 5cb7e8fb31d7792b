
/*
 * Copyright (C) nginx WebRTC module authors
 */


#ifndef _NGX_WEBRTC_VIEWER_H_INCLUDED_
#define _NGX_WEBRTC_VIEWER_H_INCLUDED_


#include "ngx_webrtc_session.h"


void ngx_webrtc_viewer_init(void);
void ngx_webrtc_viewer_shutdown(void);
ngx_int_t ngx_webrtc_viewer_join(ngx_webrtc_session_t *s);
void ngx_webrtc_viewer_pin(ngx_webrtc_session_t *s);


#endif /* _NGX_WEBRTC_VIEWER_H_INCLUDED_ */
