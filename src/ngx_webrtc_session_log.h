
/*
 * Copyright (C) nginx WebRTC module authors
 */


#ifndef _NGX_WEBRTC_SESSION_LOG_H_INCLUDED_
#define _NGX_WEBRTC_SESSION_LOG_H_INCLUDED_


#include "ngx_webrtc_registry.h"


/*
 * webrtc_session_log: a line per ended session, like an access log's,
 * from its registry record; age: milliseconds since its POST
 */
void ngx_webrtc_session_log(ngx_webrtc_shm_session_t *ss, ngx_msec_t age,
    const char *reason);


#endif /* _NGX_WEBRTC_SESSION_LOG_H_INCLUDED_ */
