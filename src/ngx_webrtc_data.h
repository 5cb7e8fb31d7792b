
/*
 * Copyright (C) nginx WebRTC module authors
 */


#ifndef _NGX_WEBRTC_DATA_H_INCLUDED_
#define _NGX_WEBRTC_DATA_H_INCLUDED_


#include "ngx_webrtc.h"
#include "ngx_webrtc_sctp.h"
#include "ngx_webrtc_stream.h"


/*
 * A session's data channels joined to its stream: what the peer sends
 * goes into the stream's message ring (webrtc_data_from_viewers decides
 * for a viewer), and the session reads the ring as one of the stream's
 * readers to send the peer what is for it.
 */


typedef struct {
    ngx_webrtc_sctp_t           sctp;
    ngx_webrtc_reader_t         reader;
    uint64_t                    cursor;
    ngx_webrtc_stream_t        *st;
    ngx_uint_t                  role;
    u_char                     *id;
    ngx_uint_t                  from_viewers; /* webrtc_data_from_viewers */
} ngx_webrtc_data_t;


ngx_int_t ngx_webrtc_data_start(ngx_webrtc_data_t *dc, size_t sndbuf);
void ngx_webrtc_data_close(ngx_webrtc_data_t *dc);


#endif /* _NGX_WEBRTC_DATA_H_INCLUDED_ */
