
/*
 * Copyright (C) nginx WebRTC module authors
 */


#ifndef _NGX_WEBRTC_PARSE_H_INCLUDED_
#define _NGX_WEBRTC_PARSE_H_INCLUDED_


/*
 * Types and byte helpers shared by the protocol parsers (SDP, RTP/RTCP,
 * codecs).
 *
 * The parsers take bytes and lengths and fill caller-provided structures:
 * no allocation, no nginx runtime, so that unit tests and fuzz targets link
 * them alone.  Only libc headers are used here on purpose.
 */

#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>


/* layout-compatible with ngx_str_t */
typedef struct {
    size_t      len;
    u_char     *data;
} ngx_webrtc_str_t;


#define NGX_WEBRTC_PARSE_OK      0
#define NGX_WEBRTC_PARSE_ERROR  -1


/* network byte order, for the binary parsers and writers */

static inline uint16_t
ngx_webrtc_be16(u_char *p)
{
    return (uint16_t) ((p[0] << 8) | p[1]);
}


static inline uint32_t
ngx_webrtc_be24(u_char *p)
{
    return ((uint32_t) p[0] << 16) | ((uint32_t) p[1] << 8) | p[2];
}


static inline uint32_t
ngx_webrtc_be32(u_char *p)
{
    return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16)
           | ((uint32_t) p[2] << 8) | p[3];
}


static inline u_char *
ngx_webrtc_put32(u_char *p, uint32_t v)
{
    p[0] = (u_char) (v >> 24);
    p[1] = (u_char) (v >> 16);
    p[2] = (u_char) (v >> 8);
    p[3] = (u_char) v;

    return p + 4;
}


typedef enum {
    NGX_WEBRTC_CODEC_UNKNOWN = 0,
    NGX_WEBRTC_CODEC_OPUS,
    NGX_WEBRTC_CODEC_H264,
    NGX_WEBRTC_CODEC_VP8,
    NGX_WEBRTC_CODEC_VP9,
    NGX_WEBRTC_CODEC_AV1,
    NGX_WEBRTC_CODEC_H265,
    NGX_WEBRTC_CODEC_RTX,
    NGX_WEBRTC_CODEC_RED,
    NGX_WEBRTC_CODEC_ULPFEC,
    NGX_WEBRTC_CODEC_PCMU,
    NGX_WEBRTC_CODEC_PCMA,
    NGX_WEBRTC_CODEC_G722,
    NGX_WEBRTC_CODEC_TELEPHONE_EVENT,
    NGX_WEBRTC_CODEC_CN,
    NGX_WEBRTC_CODEC_LAST
} ngx_webrtc_codec_e;


/* "opus", "H264", ... as used in status output and SDP answers */
const char *ngx_webrtc_codec_name(ngx_webrtc_codec_e codec);

/* case-insensitive lookup of an rtpmap encoding name */
ngx_webrtc_codec_e ngx_webrtc_codec_by_name(const u_char *name, size_t len);


#endif /* _NGX_WEBRTC_PARSE_H_INCLUDED_ */
