
/*
 * Copyright (C) nginx WebRTC module authors
 */


/*
 * The codec files' bit reader (MSB first, optionally without H.26x
 * emulation prevention bytes, Exp-Golomb codes) and the picture size
 * check they share.
 *
 * A picture of the house shows an arrow from here up to
 * ngx_webrtc_codec.c: it is the include of ngx_webrtc_codec.h for the
 * codec types (frame info, decoder configuration), which that file's
 * dispatch shares; nothing here calls into ngx_webrtc_codec.c.
 */


#include "ngx_webrtc_codec_bits.h"


void
ngx_webrtc_bits_init(ngx_webrtc_bits_t *b, u_char *p, size_t len,
    unsigned epb)
{
    b->pos = p;
    b->last = p + len;
    b->cur = 0;
    b->left = 0;
    b->zeros = 0;
    b->epb = epb;
    b->error = 0;
}


uint32_t
ngx_webrtc_bits_read(ngx_webrtc_bits_t *b, unsigned n)
{
    unsigned  c;
    uint32_t  v;

    v = 0;

    while (n--) {

        if (b->left == 0) {
            if (b->pos >= b->last) {
                b->error = 1;
                return 0;
            }

            c = *b->pos++;

            if (b->epb && b->zeros >= 2 && c == 3) {
                b->zeros = 0;

                if (b->pos >= b->last) {
                    b->error = 1;
                    return 0;
                }

                c = *b->pos++;
            }

            b->zeros = (c == 0) ? b->zeros + 1 : 0;
            b->cur = c;
            b->left = 8;
        }

        b->left--;
        v = (v << 1) | ((b->cur >> b->left) & 1);
    }

    return v;
}


void
ngx_webrtc_bits_skip(ngx_webrtc_bits_t *b, unsigned n)
{
    while (n > 32 && !b->error) {
        (void) ngx_webrtc_bits_read(b, 32);
        n -= 32;
    }

    (void) ngx_webrtc_bits_read(b, n);
}


uint32_t
ngx_webrtc_bits_ue(ngx_webrtc_bits_t *b)
{
    unsigned  lz;

    lz = 0;

    while (ngx_webrtc_bits_read(b, 1) == 0) {
        if (b->error || ++lz > 31) {
            b->error = 1;
            return 0;
        }
    }

    return ((1u << lz) - 1) + ngx_webrtc_bits_read(b, lz);
}


int32_t
ngx_webrtc_bits_se(ngx_webrtc_bits_t *b)
{
    uint32_t  k;

    k = ngx_webrtc_bits_ue(b);

    if (k & 1) {
        return (int32_t) (k >> 1) + 1;
    }

    return -(int32_t) (k >> 1);
}


int
ngx_webrtc_set_size(ngx_webrtc_frame_info_t *info, uint64_t width,
    uint64_t height)
{
    if (width == 0 || height == 0
        || width > NGX_WEBRTC_MAX_DIMENSION
        || height > NGX_WEBRTC_MAX_DIMENSION)
    {
        return -1;
    }

    info->width = (unsigned) width;
    info->height = (unsigned) height;
    info->has_size = 1;

    return 0;
}
