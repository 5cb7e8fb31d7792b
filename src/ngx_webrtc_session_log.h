
/*
 * Copyright (C) nginx WebRTC module authors
 */


#ifndef _NGX_WEBRTC_SESSION_LOG_H_INCLUDED_
#define _NGX_WEBRTC_SESSION_LOG_H_INCLUDED_


#include "ngx_webrtc_session.h"


/* webrtc_session_log: a line per ended session, like an access log's */
void ngx_webrtc_session_log(ngx_webrtc_session_t *s, const char *reason);


#endif /* _NGX_WEBRTC_SESSION_LOG_H_INCLUDED_ */
