
/*
 * Copyright (C) nginx WebRTC module authors
 */


#ifndef _NGX_WEBRTC_WORKER_H_INCLUDED_
#define _NGX_WEBRTC_WORKER_H_INCLUDED_


#include "ngx_webrtc.h"


ngx_int_t ngx_webrtc_worker_init(ngx_cycle_t *cycle, ngx_webrtc_conf_t *conf);
void ngx_webrtc_worker_exit(ngx_cycle_t *cycle);


#endif /* _NGX_WEBRTC_WORKER_H_INCLUDED_ */
