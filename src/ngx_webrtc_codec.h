
/*
 * Copyright (C) nginx WebRTC module authors
 */


#ifndef _NGX_WEBRTC_CODEC_H_INCLUDED_
#define _NGX_WEBRTC_CODEC_H_INCLUDED_


#include "ngx_webrtc_parse.h"


typedef struct {
    unsigned                    keyframe:1;   /* packet starts/holds a key */
    unsigned                    frame_start:1;
    unsigned                    has_size:1;
    unsigned                    width;
    unsigned                    height;
} ngx_webrtc_frame_info_t;


/*
 * Inspects one RTP payload of the given codec: H264 (RFC 6184: single NAL,
 * STAP-A, FU-A; IDR = keyframe; SPS gives the size), H265 (RFC 7798: IRAP
 * NAL types 16..21, AP, FU; SPS gives the size), VP8 (RFC 7741: payload
 * descriptor, keyframe bit and frame header size), VP9 (RFC 9628 draft
 * descriptor: P bit, SS data size), AV1 (RTP spec aggregation header N bit;
 * sequence header size when present).  Returns -1 when the payload is
 * malformed for that codec; info is cleared first.
 */
int ngx_webrtc_frame_inspect(ngx_webrtc_codec_e codec, u_char *p, size_t len,
    ngx_webrtc_frame_info_t *info);


#endif /* _NGX_WEBRTC_CODEC_H_INCLUDED_ */
