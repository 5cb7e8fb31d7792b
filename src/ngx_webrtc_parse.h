
/*
 * Copyright (C) nginx WebRTC module authors
 */


#ifndef _NGX_WEBRTC_PARSE_H_INCLUDED_
#define _NGX_WEBRTC_PARSE_H_INCLUDED_


/*
 * Types and helpers shared by the protocol parsers (SDP, RTP/RTCP, codecs).
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


/* ASCII case-insensitive comparison with a literal: SDP names, codecs */

static inline int
ngx_webrtc_caseeq(const u_char *p, size_t len, const char *lit)
{
    size_t  i;
    u_char  a, b;

    if (strlen(lit) != len) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        a = p[i];
        b = (u_char) lit[i];

        if (a >= 'A' && a <= 'Z') {
            a |= 0x20;
        }

        if (b >= 'A' && b <= 'Z') {
            b |= 0x20;
        }

        if (a != b) {
            return 0;
        }
    }

    return 1;
}


#endif /* _NGX_WEBRTC_PARSE_H_INCLUDED_ */
