
/*
 * Copyright (C) nginx WebRTC module authors
 */


#ifndef _NGX_WEBRTC_CODEC_BITS_H_INCLUDED_
#define _NGX_WEBRTC_CODEC_BITS_H_INCLUDED_


/*
 * What the codec files share (ngx_webrtc_codec.c, ngx_webrtc_codec_av1.c,
 * ngx_webrtc_codec_bits.c):
 * the bit reader, the picture size check, and the AV1 entry points the
 * codec dispatch calls.  Not for other files.
 */


#include "ngx_webrtc_codec.h"


#define NGX_WEBRTC_MAX_DIMENSION       65536


/* MSB-first bit reader, optionally dropping H.26x emulation prevention */
typedef struct {
    u_char                     *pos;
    u_char                     *last;
    unsigned                    cur;
    unsigned                    left;
    unsigned                    zeros;
    unsigned                    epb:1;
    unsigned                    error:1;
} ngx_webrtc_bits_t;


void ngx_webrtc_bits_init(ngx_webrtc_bits_t *b, u_char *p, size_t len,
    unsigned epb);
uint32_t ngx_webrtc_bits_read(ngx_webrtc_bits_t *b, unsigned n);
void ngx_webrtc_bits_skip(ngx_webrtc_bits_t *b, unsigned n);
uint32_t ngx_webrtc_bits_ue(ngx_webrtc_bits_t *b);
int32_t ngx_webrtc_bits_se(ngx_webrtc_bits_t *b);
int ngx_webrtc_set_size(ngx_webrtc_frame_info_t *info, uint64_t width,
    uint64_t height);

int ngx_webrtc_av1_inspect(u_char *p, size_t len,
    ngx_webrtc_frame_info_t *info);
int ngx_webrtc_av1_seq_parse(u_char *p, size_t len,
    ngx_webrtc_codec_config_t *cf);


#endif /* _NGX_WEBRTC_CODEC_BITS_H_INCLUDED_ */
