
/*
 * Copyright (C) nginx WebRTC module authors
 */


#ifndef _NGX_WEBRTC_NOTIFY_H_INCLUDED_
#define _NGX_WEBRTC_NOTIFY_H_INCLUDED_


#include "ngx_webrtc.h"
#include "ngx_webrtc_registry.h"
#include "ngx_webrtc_http_client.h"


/* webrtc_notify: what a session's start and end POST as JSON */
#define NGX_WEBRTC_NOTIFY_START      0    /* publish, play */
#define NGX_WEBRTC_NOTIFY_END        1    /* unpublish, stop */


/*
 * POSTs the event of a session (its registry record) to peer, without
 * waiting: a failed POST is tried again twice (1 s, then 2 s later);
 * age: milliseconds since its POST; reason: why it ended (END only)
 */
void ngx_webrtc_notify(ngx_webrtc_http_peer_t *peer, ngx_uint_t event,
    ngx_webrtc_shm_session_t *ss, ngx_msec_t age, const char *reason);
void ngx_webrtc_notify_exit(void);


#endif /* _NGX_WEBRTC_NOTIFY_H_INCLUDED_ */
